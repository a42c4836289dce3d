"""`genai-tui vae ...`, `genai-tui train vae` and `genai-tui train classifier`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from genai_tui.cli import app


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        app(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_sample_ascii_prints_a_grid_of_printable_ascii(capsys, tmp_path) -> None:
    png = tmp_path / "s.png"
    code, out, err = run(["vae", "sample", "--n", "4", "--seed", "1", "--ascii",
                          "--png", str(png)], capsys)
    assert code == 0
    assert all(32 <= ord(c) < 127 or c == "\n" for c in out)
    assert "@" in out and "#3" in out and "seed 1" in out
    with Image.open(png) as im:
        assert im.mode == "L"


def test_sample_json_has_one_z_per_image(capsys) -> None:
    code, out, _ = run(["vae", "sample", "--n", "3", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and len(data["z"]) == 3 and len(data["z"][0]) == 16
    judge = data["judge"]  # the judge's figures for exactly these images
    assert judge["n"] == 3 and judge["judge_version"] == 3
    assert sum(judge["histogram"]) == judge["judged_digits"] <= 3
    assert judge["digit_fid"] > 0
    _, again, _ = run(["vae", "sample", "--n", "3", "--json"], capsys)
    assert again == out  # deterministic by seed


def test_reconstruct_json_and_grid(capsys) -> None:
    code, out, _ = run(["vae", "reconstruct", "--n", "4", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and len(data["errors"]) == 4 and len(data["z"]) == 4
    assert data["mean_error"] == pytest.approx(sum(data["errors"]) / 4, abs=1e-5)
    code, out, _ = run(["vae", "reconstruct", "--n", "2", "--mode", "ascii"], capsys)
    assert code == 0 and "err " in out and "mean squared error" in out


def test_reconstruct_user_npz(capsys, tmp_path) -> None:
    np.savez(tmp_path / "d.npz", images=np.zeros((3, 28, 28), np.uint8), labels=np.arange(3))
    code, out, _ = run(["vae", "reconstruct", "--data", str(tmp_path / "d.npz"), "--json"],
                       capsys)
    assert code == 0 and json.loads(out)["labels"] == [0, 1, 2]


def test_interpolate_steps(capsys) -> None:
    code, out, _ = run(["vae", "interpolate", "--steps", "5", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["t"] == [0.0, 0.25, 0.5, 0.75, 1.0] and len(data["z"]) == 5
    code, out, _ = run(["vae", "interpolate", "--steps", "3", "--ascii"], capsys)
    assert code == 0 and "t=0.50" in out


def test_anomaly_json_flags_noise(capsys) -> None:
    code, out, _ = run(["vae", "anomaly", "--n", "8", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["auroc"] >= 0.95
    noise = [s for s in data["suspects"] if s["kind"] == "noise"]
    assert noise and all(s["flagged"] for s in noise)
    code, out, _ = run(["vae", "anomaly", "--n", "4", "--ascii"], capsys)
    assert code == 0 and "AUROC" in out and "normal digits" in out


def test_denoise_grid(capsys) -> None:
    code, out, _ = run(["vae", "denoise", "--n", "2", "--ascii"], capsys)
    assert code == 0 and "original" in out


@pytest.mark.parametrize("args", [
    ["vae", "reconstruct", "--data", "/no/such/folder"],
    ["vae", "interpolate", "--data", "/no/such/file.npz"],
    ["vae", "sample", "--mode", "sixel"],
    ["vae", "sample", "--model", "nope"],
    ["vae", "anomaly", "--score", "nope"],
    ["vae", "sample", "--n", "0"],
    # QA: this used to generate 10,000,001 digits before failing (or finishing)
    ["vae", "interpolate", "--a", "10000000"],
])
def test_bad_input_is_one_line_exit_2(capsys, args: list[str]) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("genai-tui: error:")


def test_bad_data_path_in_a_real_process_exits_2(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    out = subprocess.run([sys.executable, "-m", "genai_tui", "vae", "reconstruct", "--data",
                          str(bad)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "not a readable .npz" in out.stderr
    assert "Traceback" not in out.stderr


def test_train_vae_on_user_data_writes_a_card(capsys, tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", images=(rng.random((40, 28, 28)) > 0.8).astype(np.float32))
    out_dir = tmp_path / "model"
    code, out, _ = run(["train", "vae", "--data", str(tmp_path / "d.npz"), "--steps", "3",
                        "--latent-dim", "2", "--beta", "0.5", "--hidden", "16",
                        "--batch-size", "8", "--channels", "4", "--blocks", "1",
                        "--lr", "0.01", "--out", str(out_dir), "--json"], capsys)
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["step"] == 3 and {"reconstruction", "kl"} <= set(events[-1])
    card = json.loads((out_dir / "card.json").read_text())
    assert card["config"]["latent_dim"] == 2 and card["config"]["beta"] == 0.5
    assert card["config"]["channels"] == 4 and card["config"]["blocks"] == 1
    assert card["steps"] == 3 and "--data" in card["command"] and "d.npz" in card["data"]
    assert (out_dir / "model.safetensors").is_file()
    code, _, err = run(["train", "vae", "--data", str(tmp_path / "none"), "--steps", "1",
                        "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and err.count("\n") == 1
