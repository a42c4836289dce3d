"""Pretraining and fine-tuning stages (service/lifecycle), on tiny configs."""

from __future__ import annotations

import math

import pytest

from genai_tui.errors import UserError
from genai_tui.service.generate import load_model
from genai_tui.service.lifecycle.events import Finished, Metrics, Notice, Sample, to_json
from genai_tui.service.lifecycle.finetune import Finetune, FinetuneSettings
from genai_tui.service.lifecycle.pretrain import Pretrain, PretrainSettings
from genai_tui.service.lifecycle.trainee import Trainee
from genai_tui.service.train_lm import warmup_cosine
from tests.fixtures.lm import make_model_dir

REPEATED = "The quick brown fox jumps over the lazy dog. " * 200


def tiny_pretrain(tmp_path, **overrides) -> Pretrain:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(REPEATED, encoding="utf-8")
    settings = dict(steps=60, n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8,
                    lr=1e-2, warmup=5, eval_every=20, sample_every=30, sample_tokens=8,
                    corpus=str(corpus), corpus_bytes=20_000, bf16=False)
    settings.update(overrides)
    return Pretrain(PretrainSettings(**settings))


def test_pretraining_learns_a_repeated_text_and_reports_every_step(tmp_path) -> None:
    run = tiny_pretrain(tmp_path)
    events = list(run.events())
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert [m.step for m in metrics] == list(range(1, 61))
    evals = [m for m in metrics if "val_loss" in m.values]
    assert [m.step for m in evals] == [20, 40, 60]
    assert evals[-1].values["val_loss"] < evals[0].values["val_loss"] - 1.0
    assert metrics[-1].values["loss"] < metrics[0].values["loss"] - 2.0
    assert all(m.values["tokens_per_s"] > 0 for m in metrics)
    samples = [e for e in events if isinstance(e, Sample)]
    assert [(s.step, s.label) for s in samples] == [(0, "before"), (30, "step"), (60, "after")]
    assert {s.prompt for s in samples} == {"def "}
    assert samples[0].text != samples[-1].text  # the same seed: only the weights changed
    done = events[-1]
    assert isinstance(done, Finished) and done.step == 60
    assert done.summary["val_loss"] == pytest.approx(evals[-1].values["val_loss"], abs=1e-3)
    assert all(to_json(e)["event"] in ("notice", "metrics", "sample", "finished")
               for e in events)


def test_pulling_one_event_runs_at_most_one_step(tmp_path) -> None:
    run = tiny_pretrain(tmp_path, steps=5)
    events = run.events()
    first_metrics = next(e for e in events if isinstance(e, Metrics))
    assert first_metrics.step == 1
    model = run.trainee.model
    before = [p.detach().clone() for p in model.parameters()]
    nxt = next(events)
    assert isinstance(nxt, Metrics) and nxt.step == 2
    changed = any(not (a == p).all() for a, p in zip(before, model.parameters(), strict=True))
    assert changed
    events.close()  # a consumer cancels by closing


def test_a_pretrained_model_saves_as_a_folder_the_generate_service_loads(tmp_path) -> None:
    run = tiny_pretrain(tmp_path, steps=3)
    list(run.events())
    folder = run.trainee.save(tmp_path / "saved")
    lm = load_model(folder)
    assert lm.num_params() == run.trainee.num_params()
    assert lm.card["stages"][0]["stage"] == "pretrain"
    assert lm.block_size == 16


def test_cosine_schedule_warms_up_then_decays_to_its_floor() -> None:
    assert warmup_cosine(0, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 1.0, 10, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(100, 100, 1.0, 10, 0.1) == pytest.approx(0.1)


@pytest.mark.parametrize("field,value,words", [
    ("steps", 0, "steps"), ("n_embd", 30, "divisible"), ("block_size", 4, "block size"),
    ("lr", 0.0, "learning rate"),
])
def test_bad_pretraining_settings_are_refused_before_any_work(field, value, words) -> None:
    settings = dict(n_head=4)
    settings[field] = value
    with pytest.raises(UserError, match=words):
        Pretrain(PretrainSettings(**settings))


def tiny_finetune(tmp_path, text: str, **overrides) -> Finetune:
    model = make_model_dir(tmp_path / "base", n_layer=1, n_head=2, n_embd=32, block_size=32)
    settings = dict(text=text, steps=40, lr=3e-3, warmup=2, batch_size=8, block_size=16,
                    eval_every=5, sample_tokens=6, model=str(model), bf16=False)
    settings.update(overrides)
    return Finetune(FinetuneSettings(**settings))


def test_fine_tuning_lowers_both_losses_on_a_repeated_text(tmp_path) -> None:
    run = tiny_finetune(tmp_path, REPEATED)
    events = list(run.events())
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert metrics[0].step == 0 and set(metrics[0].values) == {"train_loss", "val_loss"}
    first, last = metrics[0].values, metrics[-1].values
    assert last["val_loss"] < first["val_loss"] - 1.0
    assert last["train_loss"] < first["train_loss"] - 1.0
    samples = [e for e in events if isinstance(e, Sample)]
    assert [s.label for s in samples] == ["before", "after"]
    assert samples[0].prompt == samples[1].prompt == run.prompt
    assert run.prompt and run.prompt in REPEATED
    assert not [e for e in events if isinstance(e, Notice) and e.level == "warn"]
    done = events[-1]
    assert isinstance(done, Finished) and done.summary["overfitting_from"] is None


def test_fine_tuning_says_when_the_held_out_loss_starts_rising(tmp_path) -> None:
    # Two unrelated halves: learning the first by heart makes the second less likely.
    import random

    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta", "zeta"]
    train = " ".join(rng.choice(words) for _ in range(1200))
    held = " ".join(str(rng.randrange(10**6)) for _ in range(150))
    run = tiny_finetune(tmp_path, train + "\n" + held, steps=120, lr=1e-2, val_fraction=0.15,
                        patience=2)
    events = list(run.events())
    warnings = [e for e in events if isinstance(e, Notice) and e.level == "warn"]
    assert len(warnings) == 1 and "overfitting" in warnings[0].message
    done = events[-1]
    assert isinstance(done, Finished)
    at = done.summary["overfitting_from"]
    vals = {m.step: m.values["val_loss"] for m in events
            if isinstance(m, Metrics) and "val_loss" in m.values}
    best_before = min(v for step, v in vals.items() if step < at - 5)
    assert vals[at] > best_before and vals[at - 5] > best_before  # risen twice in a row
    trains = {m.step: m.values["train_loss"] for m in events
              if isinstance(m, Metrics) and "train_loss" in m.values}
    assert trains[at] < trains[0]


def test_fine_tuning_refuses_a_text_too_short_to_hold_any_out() -> None:
    with pytest.raises(UserError, match="too short"):
        Finetune(FinetuneSettings(text="a few words"))


def test_the_bundled_copy_is_private(tmp_path) -> None:
    shared = load_model()
    trainee = Trainee.bundled()
    assert trainee.model is not shared.model
    before = shared.model.transformer.wte.weight[0, 0].item()
    with __import__("torch").no_grad():
        trainee.model.transformer.wte.weight[0, 0] += 1.0
    assert shared.model.transformer.wte.weight[0, 0].item() == before
    assert math.isfinite(before)
