"""The float16-weight kernel computes with exactly the weights PyTorch would."""

from __future__ import annotations

import pytest
import torch

from genai_tui._native import kernel
from genai_tui.models.fastlinear import HalfLinear, few_row_linear
from genai_tui.models.gpt import GPT
from tests.fixtures.lm import tiny_config

needs_kernel = pytest.mark.skipif(kernel() is None, reason="native kernel not built here")


def half_exact(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 0.1).half().float()




@needs_kernel
@pytest.mark.parametrize("rows", [1, 2, 3, 5, 6, 7, 13])
@pytest.mark.parametrize("k,n", [(1, 64), (7, 128), (256, 768), (1024, 256), (256, 4096)])
def test_kernel_equals_addmm_on_the_same_weights(rows, k, n, vector_path) -> None:
    w_t, bias = half_exact(k, n, seed=k + n), half_exact(n, seed=1)
    x = torch.randn(rows, k, generator=torch.Generator().manual_seed(rows))
    fast = few_row_linear(w_t, bias)
    assert isinstance(fast, HalfLinear)
    expected = torch.addmm(bias, x, w_t)
    assert torch.allclose(fast(x), expected, atol=1e-5 * k ** 0.5, rtol=1e-5)
    no_bias = few_row_linear(w_t, None)
    assert torch.allclose(no_bias(x), x @ w_t, atol=1e-5 * k ** 0.5, rtol=1e-5)
    assert torch.allclose(fast(x.t().contiguous().t()), expected, atol=1e-5 * k ** 0.5)  # strided


@needs_kernel
def test_kernel_shares_panels_among_torch_threads(vector_path) -> None:
    w_t = half_exact(256, 4096, seed=9)
    x = torch.randn(3, 256)
    fast = few_row_linear(w_t, None)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = fast(x)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(two, fast(x))  # each panel is computed the same way by any thread
    assert torch.allclose(two, x @ w_t, atol=1e-4)


@needs_kernel
def test_kernel_refuses_wrong_shapes() -> None:
    fast = few_row_linear(half_exact(8, 64), None)
    with pytest.raises(ValueError):
        fast(torch.zeros(2, 9))
    with pytest.raises(ValueError):
        fast(torch.zeros(2, 8, dtype=torch.float64))


def test_weights_float16_cannot_hold_stay_on_pytorch() -> None:
    """Rounding a weight to float16 would change the model: those stay float32."""
    exact_but_odd_width = few_row_linear(half_exact(8, 48), None)
    not_half = few_row_linear(torch.randn(8, 64), None)
    for fast in (exact_but_odd_width, not_half):
        assert not isinstance(fast, HalfLinear)
    x = torch.randn(3, 8)
    w = torch.randn(8, 64)
    assert torch.equal(few_row_linear(w, None)(x), x @ w)
    assert not isinstance(few_row_linear(half_exact(8, 64), None, native=False), HalfLinear)


@pytest.fixture(scope="module")
def half_model() -> GPT:
    """Weights exactly float16, as the bundled model's (stored as float16)."""
    torch.manual_seed(0)
    model = GPT(tiny_config(vocab_size=128, block_size=32, n_embd=64, n_head=2)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


@pytest.mark.parametrize("native", [True, False])
def test_decode_equals_forward_with_and_without_the_kernel(half_model, native) -> None:
    half_model.native_kernels = native
    ids = torch.randint(0, 128, (1, 20), generator=torch.Generator().manual_seed(4))
    try:
        with torch.inference_mode():
            full = half_model(ids)[0]
            cache = half_model.new_cache()
            half_model(ids[:, :6], cache)
            rows = [half_model.decode(ids[0, 6:11], cache)]  # a draft of five
            rows += [half_model.decode(ids[0, t:t + 1], cache) for t in range(11, 20)]
        kinds = {type(f) for f in half_model._fast_weights()[4][0][2:4]}
        assert (HalfLinear in kinds) == (native and kernel() is not None)
        assert torch.allclose(torch.cat(rows), full[6:], atol=1e-5)
    finally:
        half_model.native_kernels = True
