"""Builds the optional native kernel; everything else is declared in pyproject.toml.

`genai_tui/_native/f16gemm.c` (few-row products with float16 weights),
`gptdecode.c` (a whole decode pass in one call on top of them) and
`sampler.c` (the service's sampler chain and per-token X-ray; see their
headers) are compiled for any x86-64 CPU and pick their vector path at run
time. They are optional: where they do not compile, generation runs on
PyTorch alone, with the same results.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "genai_tui._native.f16gemm",
    sources=["genai_tui/_native/f16gemm.c", "genai_tui/_native/gptdecode.c",
             "genai_tui/_native/sampler.c"],
    depends=["genai_tui/_native/f16gemm.h", "genai_tui/_native/vecmath.h"],
    extra_compile_args=["-O3", "-std=gnu11", "-fopenmp", "-pthread"],
    extra_link_args=["-fopenmp", "-pthread"],
    optional=True,
)])
