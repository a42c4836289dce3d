"""The service's native sampler chain + X-ray (`_native/sampler.c`) chooses the
tokens and reports the numbers the PyTorch chain does, from the same logits."""

from __future__ import annotations

import pytest
import torch

from genai_tui._native import kernel
from genai_tui.sampling.chain import build_chain
from genai_tui.service import generate as gen
from genai_tui.service.generate import _NativeSampler, _torch_step

pytestmark = pytest.mark.skipif(kernel() is None, reason="native kernel not built here")


@pytest.fixture(scope="module")
def lm() -> gen.LanguageModel:
    return gen.load_model()


KNOBS = [
    dict(greedy=True),
    dict(temperature=0.8, top_k=50, top_p=0.95),
    dict(temperature=1.3),
    dict(top_p=0.9),
    dict(temperature=0.7, top_p=0.5, min_p=0.02),
    dict(top_k=7, order=["top-k", "temperature"], temperature=2.0),
    dict(min_p=0.1, top_k=1000, order=["min-p", "top-k", "top-p"], top_p=0.8),
]


@pytest.mark.parametrize("knobs", KNOBS, ids=[str(i) for i in range(len(KNOBS))])
def test_same_token_and_x_ray_as_the_pytorch_chain(lm, knobs) -> None:
    k = gen.Knobs(max_tokens=1, seed=0, **knobs)
    chain = build_chain(k)
    greedy = chain[-1].name == "greedy"
    soft = chain[:-1] if greedy else chain
    native = _NativeSampler.create(soft, k, lm, 10)
    assert native is not None
    texts = lm.token_texts
    declined = 0
    for trial in range(150):
        g = torch.Generator().manual_seed(trial)
        scale = [0.5, 2.0, 6.0][trial % 3]  # flat to peaked distributions
        logits = torch.randn(lm.vocab_size, generator=g) * scale
        if trial % 5 == 0:  # exact ties, as equal weights give
            logits[100:110] = logits.max()
        torch_gen, native_gen = (torch.Generator().manual_seed(trial) for _ in range(2))
        expected = _torch_step(lm, logits, soft, None, greedy, torch_gen, 10, texts)
        if not native.prepare(logits):
            declined += 1  # the service then runs `_torch_step` for this token
            continue
        u = 0.0 if greedy else float(torch.rand(1, generator=native_gen))
        got = native.finish(greedy, u, texts)
        token, probs, entropy, kept, tops, cut = got
        assert token == expected[0], trial
        assert probs == pytest.approx(expected[1], abs=1e-6)
        assert entropy == pytest.approx(expected[2], abs=1e-4)
        assert kept == expected[3]
        for row, row_expected in zip(tops, expected[4], strict=True):
            assert [c.prob for c in row] == pytest.approx([c.prob for c in row_expected],
                                                          abs=1e-6)
            if len({c.prob for c in row_expected}) == len(row_expected):  # no tie: same order
                assert [c.id for c in row] == [c.id for c in row_expected]
        assert cut == expected[5]
        if not greedy:  # the generators are in step: both drew one number
            assert torch.equal(torch_gen.get_state(), native_gen.get_state())
    assert declined <= 100  # most tokens are handled natively (flat top-p ones are not)


def test_the_pytorch_chain_serves_what_the_native_one_declines(lm) -> None:
    """top-p over a nearly flat distribution needs more than the 128 best tokens
    (stages.py sorts the whole vocabulary): the native sampler declines, the
    service computes that token on PyTorch, and the draws stay in step."""
    k = gen.Knobs(max_tokens=1, seed=0, top_p=0.99)
    chain = build_chain(k)
    native = _NativeSampler.create(chain, k, lm, 10)
    assert not native.prepare(torch.zeros(lm.vocab_size))
    assert native.prepare(torch.linspace(-200, 200, lm.vocab_size))
    knobs = gen.Knobs(max_tokens=60, seed=5, temperature=3.0, top_p=0.99)  # flat: declines
    try:
        fast = [s.id for s in gen.generate("The assert statement", knobs, lm)]
        lm.model.native_kernels = False
        slow = [s.id for s in gen.generate("The assert statement", knobs, lm)]
    finally:
        lm.model.native_kernels = True
    assert fast == slow


def test_stages_only_pytorch_has_keep_the_pytorch_chain(lm) -> None:
    for knobs in (dict(repetition_penalty=1.3), dict(typical_p=0.9)):
        k = gen.Knobs(max_tokens=1, **knobs)
        assert _NativeSampler.create(build_chain(k), k, lm, 10) is None
