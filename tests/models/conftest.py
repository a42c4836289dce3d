"""Fixtures shared by the native-kernel tests."""

from __future__ import annotations

import pytest

from genai_tui._native import kernel


@pytest.fixture(params=[512, 256])
def vector_path(request):
    """Each vector path this CPU can run (AVX-512, AVX2 + F16C + FMA)."""
    lib = kernel()
    if lib is None or lib.f16_simd() < request.param:
        pytest.skip(f"no {request.param}-bit path here")
    assert lib.f16_use(request.param) == request.param
    yield request.param
    lib.f16_use(lib.f16_simd())
