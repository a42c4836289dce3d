"""`genai-tui imagine` and `genai-tui train imagine` (a tiny model trained in a tmp dir;
the bundled model when it exists)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from genai_tui.cli import app
from genai_tui.paths import REPO_ROOT
from genai_tui.service.imagine import SampleSettings

TRAIN = ["train", "imagine", "--steps", "12", "--n-data", "96", "--batch-size", "16",
         "--channels", "8", "--text-width", "16", "--text-layers", "1", "--timesteps", "50",
         "--threads", "1"]


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        app(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("genai-tui: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imagine-cli") / "model"
    with pytest.raises(SystemExit) as exc:
        app([*TRAIN, "--out", str(out), "--json"])
    assert exc.value.code == 0
    return out


def test_train_writes_a_new_folder_with_a_card(tiny, tmp_path, capsys) -> None:
    card = json.loads((tiny / "card.json").read_text())
    assert card["model"] == "imagine-cond-unet" and card["metrics"]["steps"] == 12
    assert card["command"].startswith("genai-tui train imagine --steps 12")
    assert (tiny / "model.safetensors").is_file()
    code, out, _ = run([*TRAIN[:3], "3", *TRAIN[4:], "--out", str(tmp_path / "m"), "--json"],
                       capsys)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and lines[0]["event"] == "notice"
    assert [e["step"] for e in lines if e["event"] == "metrics"] == [1, 2, 3]
    assert lines[-1] == {"event": "saved", "out": str(tmp_path / "m")}


def test_imagine_json_carries_the_figures(tiny, capsys) -> None:
    args = ["imagine", "a thick seven", "-m", str(tiny), "--steps", "3", "--n", "2",
            "--seed", "9", "--json"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    data = json.loads(out)
    defaults = SampleSettings()  # the CLI's defaults are the service's
    assert data["seed"] == 9 and data["guidance"] == defaults.guidance and data["steps"] == 3
    assert data["guidance_interval"] == defaults.guidance_interval
    assert data["sampler"] == "ddim" and data["n"] == 2 and len(data["ink"]) == 2
    assert data["tokens"] and data["unknown_words"] == [] and data["unknown_tokens"] == []
    assert len(data["digits"]) == 2
    assert all(0 <= d["label"] <= 9 and 0 <= d["confidence"] <= 1 for d in data["digits"])
    assert data["attention"][0]["token"] == "\u2205"
    assert abs(sum(a["share"][0] for a in data["attention"]) - 1) < 1e-3
    _, again, _ = run(args, capsys)
    assert json.loads(again)["ink"] == data["ink"]  # same seed, same images


def test_unknown_words_are_reported_in_json_and_text(tiny, capsys) -> None:
    code, out, _ = run(["imagine", "a zorblax seven", "-m", str(tiny), "--steps", "2",
                        "--json"], capsys)
    assert code == 0 and json.loads(out)["unknown_words"] == ["zorblax"]
    code, out, _ = run(["imagine", "a zorblax seven", "-m", str(tiny), "--steps", "2",
                        "--ascii"], capsys)
    assert code == 0 and "never seen in training" in out and "'zorblax'" in out


def test_the_picture_the_png_and_the_attention_maps(tiny, tmp_path, capsys) -> None:
    png = tmp_path / "seven.png"
    code, out, err = run(["imagine", "a seven", "-m", str(tiny), "--steps", "2", "--n", "3",
                          "--ascii", "--png", str(png), "--attention", "--guidance", "2"],
                         capsys)
    assert code == 0, err
    assert all(32 <= ord(c) < 127 or c == "\n" for c in out)
    assert "3 images for 'a seven': guidance 2, ddim-2, seed 0" in out
    with Image.open(png) as im:
        assert im.mode == "L"


def test_control_characters_in_the_prompt_are_shown_not_run(tiny, capsys) -> None:
    code, out, _ = run(["imagine", "a \x1b[31mred\x07 seven", "-m", str(tiny), "--steps", "1"],
                       capsys)
    assert code == 0 and "\x1b" not in out and "\x07" not in out


@pytest.mark.parametrize("args,message", [
    (["--sampler", "euler"], "unknown sampler"),
    (["--guidance", "-1"], "--guidance"),
    (["--steps", "0"], "--steps"),
    (["--guidance-interval", "0"], "guidance interval"),
    (["--guidance-interval", "2"], "--guidance-interval"),
    (["-m", "/nonexistent/model"], "is not a folder"),
    (["--png", "/nonexistent/dir/x.png"], "does not exist"),
])
def test_bad_input_is_a_one_line_error(tiny, args, message, capsys) -> None:
    base = ["imagine", "a seven", "-m", str(tiny)]
    if args[0] == "-m":
        base = base[:2]
    code, _, err = run([*base, *args], capsys)
    assert message in one_line_error(code, err)


def test_a_long_prompt_is_refused_before_the_model_loads(capsys, monkeypatch) -> None:
    from genai_tui.service import imagine

    def no_load(*_a, **_k):
        raise AssertionError("the model was loaded before the prompt was checked")

    monkeypatch.setattr(imagine, "load", no_load)
    code, _, err = run(["imagine", "x" * 5000], capsys)
    assert "too long" in one_line_error(code, err)


@pytest.mark.parametrize("how", ["truncated", "deleted", "bad-card"])
def test_corrupt_weights_are_a_clear_error(tiny, tmp_path, how, capsys) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    if how == "truncated":
        weights = broken / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif how == "deleted":
        (broken / "model.safetensors").unlink()
    else:
        (broken / "card.json").write_text("{not json", encoding="utf-8")
    code, _, err = run(["imagine", "a seven", "-m", str(broken), "--steps", "1"], capsys)
    err = one_line_error(code, err)
    assert str(broken) in err and "Traceback" not in err


def test_train_refuses_bad_values_in_one_line(tmp_path, capsys) -> None:
    code, _, err = run([*TRAIN, "--out", str(tmp_path / "x"), "--channels", "12"], capsys)
    assert "multiple of 8" in one_line_error(code, err)
    code, _, err = run([*TRAIN, "--out", str(tmp_path / "x"), "--time-limit", "0"], capsys)
    assert "--time-limit" in one_line_error(code, err)
    code, _, err = run([*TRAIN, "--out", str(tmp_path / "x"), "--p-uncond", "0"], capsys)
    assert "condition dropout" in one_line_error(code, err)
    assert not (tmp_path / "x").exists()


BUNDLED = REPO_ROOT / "assets" / "imagine"


@pytest.mark.skipif(not (BUNDLED / "model.safetensors").is_file(),
                    reason="no bundled text-to-image model")
def test_the_bundled_model_draws_the_digit_it_is_asked_for(capsys) -> None:
    code, out, err = run(["imagine", "a seven", "--n", "8", "--seed", "1", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["unknown_words"] == [] and len(data["digits"]) == 8
    sevens = sum(d["label"] == 7 and d["confident"] for d in data["digits"])
    assert sevens >= 5, data["digits"]
