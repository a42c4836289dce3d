"""The optional native kernel (`f16gemm.c`, `gptdecode.c`, `sampler.c`), loaded with ctypes.

`kernel()` is the loaded library, or None when it was not built (no C
compiler at install time), has no vector path for this CPU, or the
environment sets ``GENAI_TUI_NATIVE=0``; callers then use PyTorch.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import os
from pathlib import Path


@functools.cache
def kernel() -> ctypes.CDLL | None:
    if os.environ.get("GENAI_TUI_NATIVE", "1") == "0":
        return None
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"f16gemm{suffix}"
        if not path.is_file():
            continue
        try:
            lib = ctypes.CDLL(str(path))  # CDLL releases the GIL during calls
        except OSError:
            return None
        ptr, i32 = ctypes.c_void_p, ctypes.c_int
        lib.f16_simd.restype = i32
        lib.f16_use.argtypes = [i32]
        lib.f16_use.restype = i32
        lib.f16_panel_cols.restype = i32
        lib.f16_pack.argtypes = [ptr, ptr, i32, i32]
        lib.f16_pack.restype = None
        lib.f16_gemm.argtypes = [ptr, ptr, ptr, ptr, i32, i32, i32, i32]
        lib.f16_gemm.restype = None
        lib.gpt_new.argtypes = [i32, i32, i32, i32, i32, ptr]
        lib.gpt_new.restype = ptr
        lib.gpt_free.argtypes = [ptr]
        lib.gpt_free.restype = None
        lib.gpt_max_rows.restype = i32
        lib.gpt_decode.argtypes = [ptr, ptr, i32, i32, ptr, ptr, ptr, i32, i32]
        lib.gpt_decode.restype = i32
        lib.gpt_threads_choice.argtypes = [ptr, i32]
        lib.gpt_threads_choice.restype = i32
        lib.gpt_fixed_threads.argtypes = [ptr, i32]
        lib.gpt_fixed_threads.restype = None
        lib.gpt_stats.argtypes = [ptr, ptr]
        lib.gpt_stats.restype = None
        lib.smp_prepare.argtypes = [ptr, i32, i32, ptr, ptr, ptr, ptr]
        lib.smp_prepare.restype = i32
        lib.smp_finish.argtypes = [i32, i32, i32, ctypes.c_float, i32, ptr, ptr, ptr, ptr, ptr,
                                   ptr, ptr]
        lib.smp_finish.restype = i32
        return lib if lib.f16_simd() else None
    return None
