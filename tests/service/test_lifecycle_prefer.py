"""Preference tuning (issue 16): the rules, the pieces of DPO, and one short run of
the bundled model (shared by the tests below it: about ten seconds)."""

from __future__ import annotations

import math

import pytest
import torch

from genai_tui.errors import UserError
from genai_tui.models.gpt import GPT
from genai_tui.service.lifecycle import prefer
from genai_tui.service.lifecycle.events import Finished, Metrics, Notice, Sample
from genai_tui.tokenizers.bpe import BPETokenizer, default_path
from tests.fixtures.lm import tiny_config

# -- the rules ------------------------------------------------------------------------------


def test_rules_score_what_they_say() -> None:
    shorter = prefer.make_rule("shorter")
    assert shorter.score(" Open a file.\nmore") > shorter.score(" Open a file at once.")
    assert prefer.repeats("a b a b") == 3  # "a", "b" again (2) and "a b" again (1)
    assert prefer.repeats("one two three\none one one") == 0  # the first line only
    no_repeat = prefer.make_rule("no-repeat")
    assert no_repeat.score("read the file") > no_repeat.score("read read read")
    mentions = prefer.make_rule("mentions", "file")
    assert mentions.score("Open FILES fast") == 1.0
    assert mentions.score("a profile") == 0.0  # at the start of a word only
    assert mentions.score("no\nfile") == 0.0


@pytest.mark.parametrize("name, word, words", [
    ("longer", "", "unknown rule 'longer'"), ("mentions", "", "needs a word"),
    ("mentions", "two words", "one word"),
])
def test_bad_rules_are_user_errors(name, word, words) -> None:
    with pytest.raises(UserError, match=words):
        prefer.Prefer(prefer.PreferSettings(rule=name, word=word))


@pytest.mark.parametrize("change, words", [
    ({"pairs": 1}, "pairs"), ({"candidates": 1}, "candidates"), ({"beta": 0.0}, "beta"),
    ({"steps": 0}, "steps"), ({"lr": 0.0}, "learning rates"), ({"eval_samples": 0}, "samples"),
])
def test_bad_settings_are_user_errors(change, words) -> None:
    with pytest.raises(UserError, match=words):
        prefer.Prefer(prefer.PreferSettings(**change))


# -- the pieces -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return GPT(tiny_config(block_size=48)).eval(), BPETokenizer.load(default_path())


def test_sampled_answers_are_seeded_and_end_at_the_first_newline(tiny) -> None:
    model, tok = tiny
    ends = torch.zeros(tok.vocab_size, dtype=torch.bool)
    prompt = tok.encode("Q: What does os.open do?\nA:")

    def answers(seed):
        return prefer.sample_answers(model, prompt, 6, 10, torch.Generator().manual_seed(seed),
                                     ends)

    assert answers(1) == answers(1) != answers(2)
    assert all(len(a) == 10 for a in answers(1))  # nothing ends them
    first_tokens = {a[0] for a in answers(1)}
    ends[list(first_tokens)] = True
    assert all(len(a) == 1 for a in answers(1))  # every answer ends at its first token
    with pytest.raises(UserError, match="no room"):
        prefer.sample_answers(model, list(range(48)), 2, 4, torch.Generator(), ends)


def test_answer_logps_sum_the_answer_tokens_only(tiny) -> None:
    model, _ = tiny
    prompt, answer = [5, 9, 300, 7], [11, 12, 13]
    with torch.no_grad():
        got = prefer.answer_logps(model, [prompt, prompt[:2]], [answer, answer[:1]])
        logp = torch.log_softmax(model(torch.tensor([prompt + answer])), dim=-1)[0]
    want = sum(float(logp[len(prompt) - 1 + i, tok]) for i, tok in enumerate(answer))
    assert float(got[0]) == pytest.approx(want, abs=1e-4)
    assert float(got[1]) < 0


def test_dpo_loss_is_log_2_at_the_reference_and_falls_as_chosen_gains(tiny) -> None:
    model, _ = tiny
    pair = prefer.PreferencePair("", (5, 9), (11, 12), (40, 41), "", "", 1.0, 0.0)
    with torch.no_grad():
        ref_c = prefer.answer_logps(model, [pair.prompt_ids], [pair.chosen])
        ref_r = prefer.answer_logps(model, [pair.prompt_ids], [pair.rejected])
        at_ref = float(prefer.dpo_loss(model, [pair], ref_c, ref_r, 0.1))
        better = float(prefer.dpo_loss(model, [pair], ref_c - 1.0, ref_r + 1.0, 0.1))
    assert at_ref == pytest.approx(math.log(2), abs=1e-5)
    assert better < at_ref


def test_reward_model_learns_a_separable_preference() -> None:
    generator = torch.Generator().manual_seed(0)
    chosen = torch.randn(64, 8, generator=generator)
    rejected = torch.randn(64, 8, generator=generator)
    chosen[:, 3] += 2.0  # the preferred property lives in one feature
    reward = prefer.RewardModel(torch.cat([chosen, rejected]), seed=0)
    assert prefer.pair_accuracy(reward, chosen, rejected) < 0.9
    opt = torch.optim.AdamW(reward.head.parameters(), lr=1e-2)
    for _ in range(100):
        loss = prefer.bradley_terry_loss(reward, chosen[:48], rejected[:48])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert prefer.pair_accuracy(reward, chosen[48:], rejected[48:]) >= 0.9


# -- a short run of the bundled model -------------------------------------------------------


@pytest.fixture(scope="module")
def run():
    stage = prefer.Prefer(prefer.PreferSettings(
        rule="shorter", pairs=24, held_out_pairs=16, max_new=12, rm_steps=60, steps=10,
        lr=1e-4, batch_size=8, eval_every=5, eval_prompts=4, eval_samples=4, sample_tokens=12))
    return stage, list(stage.events())


def test_the_phases_come_in_order_on_one_progress_count(run) -> None:
    stage, events = run
    notices = [e.message for e in events if isinstance(e, Notice)]
    phases = [m for m in notices if m.startswith("phase")]
    assert [m[:9] for m in phases] == ["phase 1/3", "phase 2/3", "phase 3/3"]
    metrics = [e for e in events if isinstance(e, Metrics)]
    steps = [m.step for m in metrics]
    assert steps == sorted(steps) and all(m.step <= m.steps for m in metrics)
    assert isinstance(events[-1], Finished)
    samples = [e for e in events if isinstance(e, Sample)]
    assert [s.label for s in samples] == ["before", "after"]
    assert samples[0].prompt == samples[1].prompt
    assert len(stage.train_pairs) == 24 and len(stage.held_pairs) == 16
    assert all(p.chosen_score > p.rejected_score for p in stage.train_pairs)
    held = {p.prompt for p in stage.held_pairs}
    assert not held & {p.prompt for p in stage.train_pairs}


def test_the_reward_model_beats_chance_on_held_out_pairs(run) -> None:
    _, events = run
    assert events[-1].summary["reward_model_accuracy"] >= 0.7


def test_dpo_raises_the_preferred_property_with_a_finite_kl(run) -> None:
    stage, events = run
    summary = events[-1].summary
    assert summary["rule_score_after"] > summary["rule_score_before"]
    assert summary["reward_after"] > summary["reward_before"]
    kls = [e.values["kl"] for e in events if isinstance(e, Metrics) and "kl" in e.values]
    assert kls[0] == pytest.approx(0.0, abs=1e-4)  # policy == reference before DPO
    assert all(math.isfinite(k) and k > -0.5 for k in kls)
    assert kls[-1] > 0.05
    assert stage.trainee.card["stages"][-1]["stage"] == "prefer"
