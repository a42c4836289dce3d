"""Builds the optional native kernel; everything else is declared in pyproject.toml.

`genai_tui/_native/f16gemm.c` (few-row products with float16 weights, see its
header) is compiled for any x86-64 CPU and picks its vector path at run time.
It is optional: where it does not
compile, generation runs on PyTorch alone, with the same results.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "genai_tui._native.f16gemm",
    sources=["genai_tui/_native/f16gemm.c"],
    extra_compile_args=["-O3", "-std=gnu11", "-fopenmp"],
    extra_link_args=["-fopenmp"],
    optional=True,
)])
