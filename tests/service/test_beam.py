"""Beam search: Hugging Face's semantics on the same GPT weights, greedy at width 1."""

from __future__ import annotations

import pytest
import torch

from genai_tui.errors import UserError
from genai_tui.models.gpt import hf_gpt2_config_kwargs, to_hf_gpt2_state_dict
from genai_tui.sampling.beam import beam_search, run
from genai_tui.service import beam as svc
from genai_tui.service import generate as gen
from tests.fixtures.lm import make_model_dir


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return gen.load_model(make_model_dir(tmp_path_factory.mktemp("lm"), seed=3,
                                         vocab_size=4096, block_size=64))


@pytest.fixture(scope="module")
def hf(lm):
    transformers = pytest.importorskip("transformers")
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        **hf_gpt2_config_kwargs(lm.model.config))).eval()
    model.load_state_dict(to_hf_gpt2_state_dict(lm.model), strict=False)
    return model


def _ours(lm, ids, *, num_beams, max_new, eos, lp, es):
    beams = svc.CachedBeams(lm.model, ids)
    last = run(beams.first, beams.advance, num_beams=num_beams, max_new_tokens=max_new,
               eos_ids=eos, length_penalty=lp, early_stopping=es)
    return list(last.ranking[0].tokens), last


def _hf(hf, ids, *, num_beams, max_new, eos, lp, es):
    with torch.inference_mode():
        out = hf.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids),
                          dtype=torch.long), num_beams=num_beams, max_new_tokens=max_new,
                          do_sample=False, eos_token_id=list(eos) if eos else None,
                          pad_token_id=eos[0] if eos else 0, length_penalty=lp,
                          early_stopping=es, output_scores=True, return_dict_in_generate=True)
    seq = out.sequences[0, len(ids):].tolist()
    return seq, float(out.sequences_scores[0])


def _common_tokens(lm, ids, n=6):
    """Tokens the random model likes after ``ids``: ends that beams actually meet."""
    beams = svc.CachedBeams(lm.model, ids)
    return beams.first.topk(n).indices.tolist()


PROMPTS = ["def f(x):\n    return", "The quick brown fox", "import os\n"]


@pytest.fixture(scope="module")
def bundled():
    return gen.load_model()


@pytest.fixture(scope="module")
def bundled_hf(bundled):
    transformers = pytest.importorskip("transformers")
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        **hf_gpt2_config_kwargs(bundled.model.config))).eval()
    model.load_state_dict(to_hf_gpt2_state_dict(bundled.model), strict=False)
    return model


@pytest.mark.parametrize("prompt", PROMPTS + ["Return the number of", "    Raises ValueError if"])
@pytest.mark.parametrize("es", [True, False, "never"])
@pytest.mark.parametrize("lp", [1.0, 0.0, 2.0, -1.0])
@pytest.mark.parametrize("ends", ["newline", "paragraph"])
def test_beam_search_equals_hugging_face_on_the_bundled_gpt(bundled, bundled_hf, prompt, es, lp,
                                                            ends) -> None:
    """The bundled weights have peaked distributions: beams end early, the kept
    set fills, and every stopping rule is met (asserted by the next test)."""
    lm = bundled
    ids = gen.prompt_ids(prompt, lm)
    eos = tuple(lm.encode("\n")) if ends == "newline" else svc.end_tokens(lm)
    kwargs = dict(num_beams=4, max_new=20, eos=eos, lp=lp, es=es)
    ours, last = _ours(lm, ids, **kwargs)
    theirs, score = _hf(bundled_hf, ids, **kwargs)
    assert ours == theirs
    # float32 sums of ~20 log-probs: length_penalty -1 multiplies by the length
    assert last.ranking[0].score == pytest.approx(score, rel=2e-6, abs=1e-4)


def test_the_comparison_meets_every_stopping_rule(bundled) -> None:
    """The settings above end searches in all three ways (so each rule was compared)."""
    reasons = set()
    eos = tuple(bundled.encode("\n"))
    for prompt in PROMPTS:
        for es in (True, False):
            for lp in (1.0, 2.0):
                _, last = _ours(bundled, gen.prompt_ids(prompt, bundled), num_beams=4,
                                max_new=20, eos=eos, lp=lp, es=es)
                reasons.add(last.stop_reason)
    assert reasons == {"length", "no-improvement", "early-stopping"}


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("es", [True, False, "never"])
@pytest.mark.parametrize("lp", [1.0, 0.0, -1.0])
def test_beam_search_equals_hugging_face_on_random_weights(lm, hf, prompt, es, lp) -> None:
    ids = gen.prompt_ids(prompt, lm)
    eos = tuple(_common_tokens(lm, ids)[2:4])  # likely enough that some beams end at once
    kwargs = dict(num_beams=4, max_new=12, eos=eos, lp=lp, es=es)
    ours, last = _ours(lm, ids, **kwargs)
    theirs, score = _hf(hf, ids, **kwargs)
    assert ours == theirs
    # float32 sums of ~20 log-probs: length_penalty -1 multiplies by the length
    assert last.ranking[0].score == pytest.approx(score, rel=2e-6, abs=1e-4)


@pytest.mark.parametrize("width", [2, 3, 5])
def test_beam_search_without_end_tokens_equals_hugging_face(lm, hf, width) -> None:
    ids = gen.prompt_ids(PROMPTS[0], lm)
    kwargs = dict(num_beams=width, max_new=10, eos=(), lp=1.0, es=False)
    ours, last = _ours(lm, ids, **kwargs)
    theirs, score = _hf(hf, ids, **kwargs)
    assert ours == theirs and last.stop_reason == "length"


def test_width_one_is_greedy(lm) -> None:
    for prompt in PROMPTS:
        greedy = [s.id for s in gen.generate(prompt, gen.Knobs(greedy=True, max_tokens=15), lm,
                                             speculative=False)]
        ours, _ = _ours(lm, gen.prompt_ids(prompt, lm), num_beams=1, max_new=15, eos=(), lp=1.0,
                        es=False)
        assert ours == greedy


def test_steps_show_live_pruned_and_finished_beams(lm) -> None:
    settings = svc.BeamSettings(num_beams=3, max_tokens=8, end_at_paragraph=False)
    steps = list(svc.beam_generate(PROMPTS[1], settings, lm))
    assert len(steps) == 8 and steps[-1].done and not any(s.done for s in steps[:-1])
    for s in steps[:-1]:
        assert len(s.live) == 3
        assert [b.logprob for b in s.live] == sorted((b.logprob for b in s.live), reverse=True)
        assert len(s.pruned) == 3  # 2 * width candidates, width kept
        assert max(b.logprob for b in s.pruned) <= min(b.logprob for b in s.live)
        assert all(len(b.tokens) == s.index + 1 for b in s.live)
    ranking = steps[-1].ranking
    assert len(ranking) == 3 and all(len(b.tokens) == 8 for b in ranking)
    assert [b.score for b in ranking] == sorted((b.score for b in ranking), reverse=True)


def test_bad_settings_are_user_errors(lm) -> None:
    with pytest.raises(UserError, match="beam width"):
        svc.beam_generate("x", svc.BeamSettings(num_beams=0), lm)
    with pytest.raises(UserError, match="early.stopping"):
        svc.parse_early_stopping("maybe")
    with pytest.raises(UserError, match="context"):
        svc.beam_generate("x " * 40, svc.BeamSettings(max_tokens=60), lm)
    with pytest.raises(ValueError, match="early stopping"):
        list(beam_search(torch.zeros(5), lambda p, t: torch.zeros(len(p), 5), num_beams=2,
                         max_new_tokens=3, early_stopping="sometimes"))
