"""The fused native decode pass (`_native/gptdecode.c`) computes what the
PyTorch path computes: the same logits (to float rounding), the same cache
contents, and so the same tokens, with any thread count."""

from __future__ import annotations

import threading

import pytest
import torch

from genai_tui._native import kernel
from genai_tui.models.fastlinear import FusedDecode
from genai_tui.models.gpt import GPT, IncrementalDecoder
from genai_tui.service import generate as gen
from tests.fixtures.lm import tiny_config

needs_kernel = pytest.mark.skipif(kernel() is None, reason="native kernel not built here")


def half_exact_model(seed: int = 0, **overrides) -> GPT:
    """Weights exactly float16, as the bundled model's; shapes the fused pass takes."""
    torch.manual_seed(seed)
    shape = dict(vocab_size=128, block_size=40, n_layer=2, n_embd=64, n_head=2)
    shape.update(overrides)
    model = GPT(tiny_config(**shape)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((p * 4).half().float())  # larger than init: less uniform attention
    return model




def run_decode(model: GPT, ids: torch.Tensor, chunks: list[int], native: bool,
               threads: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prefill ids[:chunks[0]] by `forward`, then `decode` the rest in the given chunk sizes."""
    model.native_kernels = native
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            cache = model.new_cache()
            model(ids[None, :chunks[0]], cache)
            rows, at = [], chunks[0]
            for size in chunks[1:]:
                rows.append(model.decode(ids[at:at + size], cache))
                at += size
        return torch.cat(rows), cache.k[:, :, :, :at].clone(), cache.v[:, :, :, :at].clone()
    finally:
        torch.set_num_threads(before)
        model.native_kernels = True


@needs_kernel
@pytest.mark.parametrize("overrides", [{}, dict(n_head=8, bias=False), dict(n_embd=128, n_head=4)],
                         ids=["hs32", "hs8-nobias", "hs32-wide"])
def test_fused_pass_equals_the_pytorch_path(vector_path, overrides) -> None:
    model = half_exact_model(**overrides)
    assert isinstance(model._fused(), FusedDecode)
    ids = torch.randint(0, 128, (38,), generator=torch.Generator().manual_seed(1))
    # a first row at position 0 would need no prefill; here: prefill 3, then
    # single rows, drafts of 2..5 and a chunk of 16
    chunks = [3, 1, 1, 5, 1, 2, 3, 1, 1, 4, 16]
    fused, k, v = run_decode(model, ids, chunks, native=True)
    slow, k_ref, v_ref = run_decode(model, ids, chunks, native=False)
    assert fused.shape == slow.shape == (35, 128)
    assert (fused - slow).abs().max() < 1e-4
    assert torch.allclose(k, k_ref, atol=1e-4) and torch.allclose(v, v_ref, atol=1e-4)
    with torch.inference_mode():
        full = model(ids[None])[0, 3:]
    assert (fused - full).abs().max() < 1e-4


@needs_kernel
def test_one_and_two_threads_give_identical_bits() -> None:
    """Chunks (panels, heads) are computed the same way by whichever thread runs them."""
    model = half_exact_model(seed=2, n_layer=3)
    ids = torch.randint(0, 128, (30,), generator=torch.Generator().manual_seed(3))
    chunks = [4] + [1] * 10 + [3, 5] + [1] * 8
    one = run_decode(model, ids, chunks, native=True, threads=1)
    fused = model._fused()
    fused.fix_threads(True)  # every pass on 2 threads, whatever the timings say
    try:
        for _ in range(3):
            two = run_decode(model, ids, chunks, native=True, threads=2)
            for a, b in zip(one, two, strict=True):
                assert torch.equal(a, b)
    finally:
        fused.fix_threads(False)
    assert fused.stats()["pooled"] >= 3 * len(chunks[1:])
    assert fused.threads_choice(2) == 2


@needs_kernel
def test_longer_inputs_take_the_per_product_path() -> None:
    model = half_exact_model(seed=4, block_size=96)
    fused = model._fused()
    n = 4 + fused.max_rows + 3
    ids = torch.randint(0, 128, (n,), generator=torch.Generator().manual_seed(5))
    chunks = [4, fused.max_rows + 3]
    rows, _, _ = run_decode(model, ids, chunks, native=True)
    with torch.inference_mode():
        full = model(ids[None])[0, 4:]
    assert (rows - full).abs().max() < 1e-4


@needs_kernel
def test_a_long_prompt_is_prefilled_by_the_native_pass_in_chunks() -> None:
    """`IncrementalDecoder.prefill` feeds the prompt through the fused pass,
    max_rows at a time, asking for the last row's logits only."""
    model = half_exact_model(seed=10, block_size=160)
    max_rows = model._fused().max_rows
    ids = torch.randint(0, 128, (2 * max_rows + 9,), generator=torch.Generator().manual_seed(11))
    dec = IncrementalDecoder(model)
    with torch.inference_mode():
        last = dec.prefill(ids.tolist())
        full = model(ids[None])[0]
        after = dec.step(5)
        full_after = model(torch.cat([ids, torch.tensor([5])])[None])[0, -1]
        cache = model.new_cache()
        only_last = model.decode(ids[:7], cache, last_only=True)
    assert dec.cache.pos == len(ids) + 1
    assert (last - full[-1]).abs().max() < 1e-4
    assert (after - full_after).abs().max() < 1e-4
    assert only_last.shape == (1, 128) and (only_last[0] - full[6]).abs().max() < 1e-4


@needs_kernel
def test_bad_ids_and_unsuitable_shapes() -> None:
    model = half_exact_model(seed=6)
    with torch.inference_mode():
        cache = model.new_cache()
        with pytest.raises(IndexError):
            model.decode(torch.tensor([128]), cache)
        with pytest.raises(IndexError):
            model.decode(torch.tensor([3, -1]), cache)
    assert cache.pos == 0
    # float32 weights (not exactly float16) or a width that is no multiple of 64:
    # no fused pass, the PyTorch path runs
    assert GPT(tiny_config(vocab_size=128, n_embd=64)).eval()._fused() is None
    assert half_exact_model(n_embd=32)._fused() is None
    off = half_exact_model(seed=6)
    off.native_kernels = False
    assert off._fused() is None


@needs_kernel
def test_concurrent_generations_on_one_model_do_not_mix() -> None:
    """Two threads decoding with the same model at once (each its own cache):
    the second gets its own scratch buffers while the first holds the model's."""
    model = half_exact_model(seed=7)
    seqs = [torch.randint(0, 128, (36,), generator=torch.Generator().manual_seed(s))
            for s in (8, 9)]
    chunks = [2] + [1] * 34
    expected = [run_decode(model, s, chunks, native=True)[0] for s in seqs]
    got: dict[int, list[torch.Tensor]] = {0: [], 1: []}

    def work(i: int) -> None:
        for _ in range(15):
            got[i].append(run_decode(model, seqs[i], chunks, native=True)[0])

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in (0, 1):
        assert len(got[i]) == 15
        for rows in got[i]:
            assert torch.equal(rows, expected[i])


@pytest.fixture(scope="module")
def bundled() -> gen.LanguageModel:
    return gen.load_model()


@pytest.mark.parametrize("knobs", [
    gen.Knobs(max_tokens=160, greedy=True),
    gen.Knobs(max_tokens=160, temperature=0.8, top_k=50, top_p=0.95, seed=1),
    gen.Knobs(max_tokens=160, temperature=1.0, seed=2),
], ids=["greedy", "sampled", "sampled-t1"])
def test_same_tokens_on_the_fused_path_and_the_fallback(bundled, knobs) -> None:
    """Greedy and seeded sampling: fused pass or PyTorch, speculation on or off, 1 or 2 threads."""
    if kernel() is not None:
        assert isinstance(bundled.model._fused(), FusedDecode)
    prompt = "The assert statement"
    runs = {}
    before = torch.get_num_threads()
    try:
        for native in (True, False):
            for speculative in (True, False):
                for threads in (1, 2):
                    bundled.model.native_kernels = native
                    torch.set_num_threads(threads)
                    steps = list(gen.generate(prompt, knobs, bundled, speculative=speculative))
                    runs[native, speculative, threads] = steps
    finally:
        bundled.model.native_kernels = True
        torch.set_num_threads(before)
    reference = runs[False, False, 1]
    assert len(reference) == 160
    for key, steps in runs.items():
        assert [s.id for s in steps] == [s.id for s in reference], key
        for a, b in zip(steps, reference, strict=True):
            assert a.prob == pytest.approx(b.prob, abs=1e-4)
            assert [c.id for c in a.top_after] == [c.id for c in b.top_after]
