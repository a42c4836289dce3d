"""Text to image (service/imagine.py): training events, sampling steps, guidance,
attention maps, unknown words, files (tiny models)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from genai_tui.errors import AssetError, UserError
from genai_tui.service import imagine as svc
from genai_tui.service.lifecycle.events import Finished, Metrics, Notice, to_json
from tests.fixtures.imagine import TINY, train_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("imagine") / "model"
    run, events = train_tiny(out, steps=40, eval_every=20)
    return run, events, out


@pytest.fixture(scope="module")
def model(trained) -> svc.ImagineModel:
    return svc.load(trained[2])


def test_training_yields_notices_metrics_and_a_summary(trained) -> None:
    run, events, _ = trained
    assert isinstance(events[0], Notice) and isinstance(events[-1], Finished)
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert [m.step for m in metrics] == list(range(1, 41))
    assert all({"loss", "lr"} <= set(m.values) for m in metrics)
    assert [m.step for m in metrics if "val_loss" in m.values] == [20, 40]
    summary = events[-1].summary
    assert summary["steps"] == 40 and summary["parameters"] > 0
    assert all(to_json(e)["event"] for e in events)  # every event serialises


def test_the_loss_decreases_on_a_tiny_run(trained) -> None:
    losses = trained[0].losses
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:4])


def test_settings_are_checked_before_any_work() -> None:
    with pytest.raises(UserError, match="condition dropout"):
        svc.ImagineTraining(svc.TrainSettings(p_uncond=0.0))
    with pytest.raises(UserError, match="batch size"):
        svc.ImagineTraining(svc.TrainSettings(batch_size=1))


def test_a_time_limit_stops_early_and_says_so() -> None:
    run, events = train_tiny(steps=10_000, time_limit=1e-6)
    assert events[-1].stopped and events[-1].step == 1
    assert any(isinstance(e, Notice) and e.level == "warn" for e in events)
    assert run.trainee.card["stopped_early"] is True


def test_steps_carry_images_and_attention_per_token(model) -> None:
    steps = list(svc.imagine(model, svc.SampleSettings(prompt="a thick seven", steps=4, n=2)))
    assert [s.index for s in steps] == [0, 1, 2, 3] and steps[-1].done
    info = svc.prompt_info(model, "a thick seven")
    for s in steps:
        assert s.x_t.shape == s.x0.shape == s.x_next.shape == (2, 28, 28)
        assert 0 <= s.x_next.min() and s.x_next.max() <= 1
        assert s.tokens == tuple(info.tokens) and s.tokens[0] == svc.START_TOKEN
        assert s.attention.shape == (2, len(s.tokens), 28, 28)
        np.testing.assert_allclose(s.attention.sum(1), 1.0, atol=1e-4)
    assert [s.t for s in steps] == sorted((s.t for s in steps), reverse=True)


def test_guidance_zero_has_no_conditional_pass_and_ignores_the_prompt(model) -> None:
    base = svc.SampleSettings(guidance=0.0, steps=3, n=2, seed=5)
    steps = list(svc.imagine(model, replace(base, prompt="a seven")))
    assert all(s.attention is None for s in steps)
    other = svc.generate(model, replace(base, prompt="a thin two leaning left"))
    np.testing.assert_array_equal(steps[-1].x_next, other)
    guided = svc.generate(model, replace(base, prompt="a seven", guidance=3.0))
    assert not np.allclose(guided, other)


def test_guidance_applies_only_inside_its_interval(model, monkeypatch) -> None:
    from genai_tui.models import cond_unet

    seen: list[tuple[int, float]] = []
    real = cond_unet.guided_eps

    def spy(net, x, t, cond, uncond, scale, **kw):
        seen.append((int(t[0]), scale))
        return real(net, x, t, cond, uncond, scale, **kw)

    monkeypatch.setattr(cond_unet, "guided_eps", spy)
    s = svc.SampleSettings(prompt="a seven", guidance=3.0, guidance_interval=0.4, steps=5,
                           n=2, seed=3)
    limited = svc.generate(model, s)
    cutoff = 0.4 * model.num_timesteps
    assert {scale for t, scale in seen if t < cutoff} == {3.0}
    assert {scale for t, scale in seen if t >= cutoff} == {1.0}
    seen.clear()
    everywhere = svc.generate(model, replace(s, guidance_interval=1.0))
    assert {scale for _, scale in seen} == {3.0}
    assert not np.allclose(limited, everywhere)
    seen.clear()
    svc.generate(model, replace(s, guidance=0.5))  # below 1 nothing is raised to 1
    assert {scale for _, scale in seen} == {0.5}


def test_same_seed_same_image_other_seed_other_image(model) -> None:
    s = svc.SampleSettings(prompt="a four", steps=3, n=2, seed=11)
    a, b = svc.generate(model, s), svc.generate(model, s)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, svc.generate(model, replace(s, seed=12)))
    ddpm = replace(s, sampler="DDPM")
    np.testing.assert_array_equal(svc.generate(model, ddpm), svc.generate(model, ddpm))


def test_batched_guidance_draws_the_same_images_as_two_calls(model) -> None:
    s = svc.SampleSettings(prompt="a one", steps=3, n=2, seed=2)
    np.testing.assert_allclose(svc.generate(model, s),
                               svc.generate(model, replace(s, batch_guidance=False)),
                               atol=1e-4)


def test_unknown_words_and_tokens_are_reported_not_refused(model) -> None:
    known = svc.prompt_info(model, "a seven")
    assert not known.unknown and known.tokens[0] == svc.START_TOKEN
    odd = svc.prompt_info(model, "a seven zorblax")
    assert odd.unknown.words == ["zorblax"] and odd.unknown.tokens
    assert len(list(svc.imagine(model, svc.SampleSettings(prompt="zorblax", steps=2)))) == 2
    long = svc.prompt_info(model, "seven " * 40)
    assert long.truncated and len(long.tokens) == TINY["max_tokens"]


@pytest.mark.parametrize("change,message", [
    (dict(sampler="euler"), "unknown sampler"), (dict(guidance=-1.0), "guidance"),
    (dict(guidance=float("nan")), "guidance"), (dict(steps=0), "steps"),
    (dict(n=0), "n must be"), (dict(eta=2.0), "eta"), (dict(prompt="x" * 1001), "prompt"),
    (dict(guidance_interval=0.0), "interval"), (dict(guidance_interval=1.5), "interval"),
])
def test_bad_settings_raise_before_the_first_step(model, change, message) -> None:
    with pytest.raises(UserError, match=message):
        svc.imagine(model, replace(svc.SampleSettings(), **change))


def test_save_and_load_round_trip(model, trained, tmp_path) -> None:
    s = svc.SampleSettings(prompt="a zero", steps=2, seed=3)
    np.testing.assert_array_equal(svc.generate(model, s),
                                  svc.generate(trained[0].trainee, s))
    assert model.card["model"] == "imagine-cond-unet" and model.card["train"]["steps"] == 40
    assert "seven" in model.seen_words and model.describe().startswith("text-to-image")
    model.save(tmp_path / "again")
    np.testing.assert_array_equal(svc.generate(svc.load(tmp_path / "again"), s),
                                  svc.generate(model, s))


def test_corrupt_or_mismatched_weights_are_a_clear_error(trained, tmp_path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained[2], broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(AssetError, match="model.safetensors"):
        svc.load(broken)
    wrong = tmp_path / "wrong"
    shutil.copytree(trained[2], wrong)
    card = (wrong / "card.json").read_text().replace('"base_channels": 8', '"base_channels": 16')
    (wrong / "card.json").write_text(card)
    with pytest.raises(AssetError, match="do not match"):
        svc.load(wrong)
    with pytest.raises(AssetError, match="missing"):
        svc.load(tmp_path / "nothing")


def test_evaluate_reports_digit_shares_per_guidance_and_ink(model) -> None:
    out = svc.evaluate(model, n=3, steps=2, digit_prompts=("a seven", "an eight"),
                       ink_prompts=(("a thick one", "a thin one"),), threads=1)
    assert out["digits"]["a seven"]["target"] == 7 and out["digits"]["an eight"]["target"] == 8
    assert set(out["digits"]["a seven"]) == {"target", "0", "3"}
    assert all(0 <= out["mean_share"][g] <= 1 for g in ("0", "3"))
    assert out["ink_thick"] > 0 and out["ink_thin"] > 0 and out["ink_ratio"] > 0


def test_ink_is_the_pixel_sum() -> None:
    images = np.zeros((2, 28, 28), np.float32)
    images[1, :10, :10] = 0.5
    assert svc.ink(images).tolist() == [0.0, 50.0]


def test_short_captions_name_the_digit_and_some_attributes() -> None:
    captions = svc.training_captions(200, 0, 1.0)[1]
    assert all(c.startswith(("a ", "an ")) for c in captions)
    assert any(c in ("a seven", "a 7") for c in captions)
    assert any("thick" in c for c in captions) and any("thin" in c for c in captions)
    full = svc.training_captions(50, 0, 0.0)[1]
    assert all(len(c.split()) >= 4 for c in full)


def test_the_service_imports_neither_textual_nor_torch() -> None:
    code = ("import sys; import genai_tui.service.imagine; "
            "assert 'textual' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
