"""Speculative decoding: guesses verified in one pass change nothing but the speed."""

from __future__ import annotations

import pytest
import torch

from genai_tui.models.gpt import GPT, IncrementalDecoder
from genai_tui.models.speculative import PromptLookup, SpeculativeDecoder
from genai_tui.service import generate as gen
from tests.fixtures.lm import tiny_config


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(tiny_config(vocab_size=97, block_size=24)).eval()


def test_prompt_lookup_guesses_what_followed_the_latest_occurrence() -> None:
    d = PromptLookup(max_ngram=3)
    d.reset([5, 6, 7, 8, 5, 6, 9, 5, 6])
    # (9, 5, 6) occurred only just now; (5, 6) was last followed by 9
    assert d.draft(3) == [9, 5, 6]
    d.extend([7])  # (5, 6, 7) occurred at the start, followed by 8
    assert d.draft(2) == [8, 5]
    assert d.draft(0) == []
    d.reset([1, 2, 3])
    assert d.draft(4) == []  # nothing repeats yet
    with pytest.raises(ValueError):
        PromptLookup(max_ngram=0)


def test_decode_over_several_rows_equals_a_forward_pass(model: GPT) -> None:
    ids = torch.randint(0, 97, (1, 20), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        full = model(ids)[0]  # (20, vocab)
        cache = model.new_cache()
        model(ids[:, :9], cache)
        rows = model.decode(ids[0, 9:14], cache)  # five rows after a cached prefix
        one = model.decode(ids[0, 14:15], cache)
    assert cache.pos == 15
    assert torch.allclose(rows, full[9:14], atol=1e-5)
    assert torch.allclose(one, full[14:15], atol=1e-5)


def test_speculative_steps_give_plain_logits_through_hits_misses_and_slides(model: GPT) -> None:
    """A repeating pattern makes guesses land; every seventh token breaks it
    (a rejected guess is rolled back); 150 tokens slide a 24-position window."""
    plain, spec = IncrementalDecoder(model), SpeculativeDecoder(model, max_draft=4)
    g = torch.Generator().manual_seed(5)
    with torch.inference_mode():
        a, b = plain.prefill([1, 2, 3]), spec.prefill([1, 2, 3])
        for i in range(150):
            assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), i
            token = int(torch.randint(0, 97, (1,), generator=g)) if i % 7 == 6 else [4, 5, 6][i % 3]
            a, b = plain.step(token), spec.step(token)
    stats = spec.stats
    assert stats.accepted >= 10  # the pattern was guessed (drafts are cut near a slide)
    assert stats.drafted > stats.accepted  # and the breaks were rejected, then rolled back
    assert len(plain.context) < 24  # the window slid


def test_rollback_refuses_to_forget_more_than_it_holds(model: GPT) -> None:
    dec = IncrementalDecoder(model)
    with torch.inference_mode():
        dec.prefill([1, 2])
        dec.step_many([3, 4, 5])
        dec.rollback(2)
        assert dec.context == [1, 2, 3] and dec.cache.pos == 3
        with pytest.raises(ValueError):
            dec.rollback(3)
        with pytest.raises(ValueError, match="do not fit"):
            dec.step_many(list(range(30)))


@pytest.fixture(scope="module")
def bundled() -> gen.LanguageModel:
    return gen.load_model()


@pytest.mark.parametrize("knobs", [
    gen.Knobs(max_tokens=120, greedy=True),
    gen.Knobs(max_tokens=120, temperature=0.7, top_k=40, seed=3),
    gen.Knobs(max_tokens=120, temperature=0.9, repetition_penalty=1.2, seed=4),
], ids=["greedy", "sampled", "penalties"])
def test_generation_is_the_same_with_and_without_speculation(bundled, knobs) -> None:
    prompt = "The assert statement"
    fast = list(gen.generate(prompt, knobs, bundled))
    slow = list(gen.generate(prompt, knobs, bundled, speculative=False))
    assert [s.id for s in fast] == [s.id for s in slow]
    assert [s.token for s in fast] == [s.token for s in slow]
    for f, s in zip(fast, slow, strict=True):
        assert f.prob == pytest.approx(s.prob, abs=1e-4)
        assert f.entropy == pytest.approx(s.entropy, abs=1e-4)
        assert [c.id for c in f.top_after] == [c.id for c in s.top_after]
        assert [st.kept for st in f.stages] == [st.kept for st in s.stages]


def test_greedy_generation_of_the_bundled_model_accepts_guesses(bundled) -> None:
    """The point of it: the bundled model's greedy text repeats itself enough
    for prompt lookup to save forward passes."""
    spec = SpeculativeDecoder(bundled.model)
    with torch.inference_mode():
        logits = spec.prefill(gen.prompt_ids("The assert statement", bundled))
        for _ in range(200):
            logits = spec.step(int(logits.argmax()))
    assert spec.stats.accepted >= 40
    assert spec.stats.acceptance > 0.2
