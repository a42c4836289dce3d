"""`genai-tui diffusion sample|noise` and `genai-tui train diffusion` (tiny models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from genai_tui.cli import app
from tests.fixtures.diffusion import make_tiny_assets


@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory) -> Path:
    return make_tiny_assets(tmp_path_factory.mktemp("diffusion-cli-assets"))


@pytest.fixture(autouse=True)
def _use_tiny_model(tiny_assets: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(tiny_assets))


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        app(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_sample_ascii_png_and_frames(capsys, tmp_path) -> None:
    png, frames = tmp_path / "s.png", tmp_path / "frames"
    code, out, err = run(["diffusion", "sample", "--n", "4", "--steps", "5", "--ascii",
                          "--png", str(png), "--frames", str(frames), "--seed", "3"], capsys)
    assert code == 0, err
    assert all(32 <= ord(c) < 127 or c == "\n" for c in out)
    assert "4 samples, ddim-5 eta=0, seed 3" in out
    with Image.open(png) as im:
        assert im.mode == "L"
    names = sorted(p.name for p in frames.iterdir())
    assert len(names) == 6 and names[0] == "step0000_t0999.png"
    assert names[-1] == "step0005_final.png" and names[-2] == "step0004_t0199.png"


def test_sample_json_is_deterministic_for_a_seed(capsys) -> None:
    args = ["diffusion", "sample", "--n", "3", "--steps", "4", "--json", "--seed", "7"]
    code, out, _ = run(args, capsys)
    data = json.loads(out)
    assert code == 0 and data["sampler"] == "ddim" and data["steps"] == 4
    assert len(data["digits"]) == 3
    assert 0 <= data["judged_digits"] <= 1
    judge = data["judge"]
    assert judge["n"] == 3 and judge["share"] == round(data["judged_digits"], 4)
    assert sum(judge["histogram"]) == judge["judged_digits"] and judge["digit_fid"] > 0
    _, again, _ = run(args, capsys)
    assert json.loads(again)["digits"] == data["digits"]


def test_every_precision_choice_samples(capsys) -> None:
    base = ["diffusion", "sample", "--n", "2", "--steps", "3", "--json"]
    outs = []
    for precision in ("fp32", "bf16", "auto"):
        code, out, _ = run(base + ["--precision", precision], capsys)
        assert code == 0
        outs.append(json.loads(out))
    assert all(len(o["digits"]) == 2 for o in outs)


def test_ddpm_takes_every_step(capsys) -> None:
    code, out, _ = run(["diffusion", "sample", "--n", "1", "--sampler", "DDPM", "--json"],
                       capsys)
    data = json.loads(out)
    assert code == 0 and data["sampler"] == "ddpm" and data["steps"] == 1000
    assert data["eta"] is None


def test_noise_shows_the_forward_process(capsys, tmp_path) -> None:
    code, out, _ = run(["diffusion", "noise", "--t", "0", "--t", "500", "--t", "999", "--json"],
                       capsys)
    data = json.loads(out)
    assert code == 0 and data["schedule"] == "linear" and data["timesteps"] == 1000
    abar = [v["alpha_bar"] for v in data["views"]]
    assert abar[0] == pytest.approx(0.9999) and abar[0] > abar[1] > abar[2] and abar[2] < 1e-4
    png = tmp_path / "n.png"
    code, out, _ = run(["diffusion", "noise", "--t", "500", "--ascii", "--schedule", "cosine",
                        "--png", str(png)], capsys)
    assert code == 0 and "t=500: alpha-bar 0.4" in out and "cosine schedule" in out
    assert "x_0" in out and png.is_file()


@pytest.mark.parametrize("args,message", [
    (["diffusion", "sample", "--sampler", "euler"], "unknown sampler"),
    (["diffusion", "sample", "--steps", "0"], "--steps"),
    (["diffusion", "sample", "--steps", "1001"], "steps must be between 1 and 1000"),
    (["diffusion", "sample", "--n", "0"], "--n"),
    (["diffusion", "sample", "--eta", "2"], "--eta"),
    (["diffusion", "sample", "--model", "/nonexistent/dir"], "is not a folder"),
    (["diffusion", "sample", "--precision", "fp8"], "unknown precision"),
    (["diffusion", "noise", "--t", "1000"], "--t must be between 0 and 999"),
    (["diffusion", "noise", "--schedule", "quadratic"], "unknown schedule"),
    (["train", "diffusion", "--schedule", "quadratic"], "unknown schedule"),
    (["train", "diffusion", "--channels", "12"], "multiple of 8"),
    (["train", "diffusion", "--time-limit", "0"], "--time-limit must be > 0"),
    (["train", "diffusion", "--time-limit", "5", "--max-minutes", "5"], "old name"),
])
def test_bad_options_give_one_line_and_exit_2(args, message, capsys) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert err.startswith("genai-tui: error:") and err.count("\n") == 1
    assert message in err


def test_missing_model_is_a_one_line_error(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(tmp_path))
    code, _, err = run(["diffusion", "sample", "--n", "1"], capsys)
    assert code == 2 and "model file" in err and "is missing" in err and err.count("\n") == 1


def test_frames_into_a_file_is_refused(capsys, tmp_path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, _, err = run(["diffusion", "sample", "--frames", str(target)], capsys)
    assert code == 2 and "is a file" in err


def test_train_writes_a_loadable_bundle_with_a_card(capsys, tmp_path) -> None:
    out = tmp_path / "model"
    code, stdout, err = run(["train", "diffusion", "--steps", "4", "--n-data", "32",
                             "--batch-size", "8", "--channels", "8", "--timesteps", "20",
                             "--judge", "4", "--schedule", "cosine", "--seed", "5",
                             "--time-limit", "30", "--out", str(out), "--json"], capsys)
    assert code == 0, err
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[-1]["step"] == 4
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 4 and card["seed"] == 5 and card["schedule"] == "cosine"
    assert card["timesteps"] == 20 and card["config"]["base_channels"] == 8
    assert card["data"].startswith("make_digits(32, seed=5)")
    assert card["command"].startswith("genai-tui train diffusion --steps 4 ")
    assert "--schedule cosine" in card["command"] and "--seed 5" in card["command"]
    assert "--time-limit 30" in card["command"]  # the same flag as train lm and seq2seq
    quality = card["metrics"]["sample_quality"]
    assert quality["n"] == 4 and 0 <= quality["judged_digits"] <= 1
    assert card["metrics"]["final_loss"] > 0
    # the curve: one point (step 4, the mean of the 4 steps' losses), the last step's mean
    assert card["curve"]["every"] == 100 and [p[0] for p in card["curve"]["points"]] == [4]
    code, stdout, err = run(["diffusion", "sample", "--model", str(out), "--n", "2",
                             "--steps", "20", "--json"], capsys)
    assert code == 0 and json.loads(stdout)["steps"] == 20


def test_card_that_does_not_match_the_weights_is_a_one_line_error(capsys, tmp_path,
                                                                  tiny_assets) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_assets / "diffusion", bad)
    card = json.loads((bad / "card.json").read_text())
    card["config"]["base_channels"] = 16
    (bad / "card.json").write_text(json.dumps(card))
    code, _, err = run(["diffusion", "sample", "--model", str(bad)], capsys)
    assert code == 2 and "weights do not match the card" in err and err.count("\n") == 1
