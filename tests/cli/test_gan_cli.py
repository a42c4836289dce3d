"""`genai-tui gan train`: progress, metrics as JSON lines, plots, PNG, and errors."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from genai_tui.cli import app


def run(args: list[str], capsys):
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_train_writes_metrics_png_and_plots(tmp_path, capsys) -> None:
    metrics, png = tmp_path / "m.jsonl", tmp_path / "scatter.png"
    code, out, err = run(["gan", "train", "--data", "spiral", "--steps", "40", "--seed", "3",
                          "--metrics", str(metrics), "--png", str(png), "--plot"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 41))
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "js",
                "modes_covered", "mode_collapse"):
        assert key in rows[0]
    assert rows[9]["js"] is not None and rows[0]["js"] is None
    assert "loss" in out
    assert any("\u2800" < ch <= "\u28ff" for ch in out), "braille curves drawn"
    assert "•" in out or "⊕" in out
    assert "spiral · 40 steps" in out and "JS" in out and "modes covered" in out
    assert Image.open(png).size == (480, 480)


def test_same_seed_same_metrics(tmp_path, capsys) -> None:
    files = []
    for name in ("a", "b"):
        f = tmp_path / f"{name}.jsonl"
        code, _, err = run(["gan", "train", "--steps", "15", "--seed", "5", "--metrics", str(f)],
                           capsys)
        assert code == 0, err
        files.append([{k: v for k, v in json.loads(line).items() if k != "elapsed"}
                      for line in f.read_text().splitlines()])
    assert files[0] == files[1]


def test_metrics_to_stdout_are_pure_json_lines(capsys) -> None:
    code, out, err = run(["gan", "train", "--steps", "12", "--metrics", "-", "--loss",
                          "least-squares", "--optimizer", "sgd", "--lr-d", "0.01"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 12 and all(json.loads(line)["kind"] == "step" for line in lines)
    assert "ring · 12 steps" in err


def test_user_csv(tmp_path, capsys) -> None:
    f = tmp_path / "mine.csv"
    f.write_text("x,y\n" + "".join(f"{i % 7},{(i * 3) % 5}\n" for i in range(60)))
    code, out, err = run(["gan", "train", "--data", str(f), "--steps", "10"], capsys)
    assert code == 0, err
    assert "mine.csv" in out


@pytest.mark.parametrize(("content", "line"), [("x,y\n1,2\n3,four\n", 3), ("1,2\n1;2\n", 2)])
def test_malformed_csv_is_one_line_exit_2_naming_the_line(tmp_path, capsys, content, line):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    code, out, err = run(["gan", "train", "--data", str(f), "--steps", "5"], capsys)
    assert code == 2
    assert err.startswith("genai-tui: error:") and err.count("\n") == 1
    assert f"line {line}" in err and "Traceback" not in err


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "donut"], "unknown data set"),
    (["--mode", "video"], "unknown mode"),
    (["--mode", "images", "--data", "ring"], "digits"),
    (["--loss", "hinge"], "unknown loss"),
    (["--lr-g", "-1"], "lr-g"),
    (["--steps", "0"], "--steps"),
    (["--data", "missing.csv"], "cannot read"),
    # QA: these used to say "unknown data set" (a folder; "digits" without --mode)
    (["--data", "/"], "is a folder"),
    (["--mode", "points", "--data", "digits"], "--mode images"),
    # QA: a bad --png path failed only after the whole training run
    (["--png", "/no/such/folder/out.png", "--steps", "100000"], "does not exist"),
])
def test_bad_options_exit_2(capsys, args: list[str], message: str) -> None:
    code, _, err = run(["gan", "train", "--steps", "3", *args], capsys)
    assert code == 2, err
    assert message in err and err.count("\n") == 1


def test_data_digits_alone_means_image_mode(capsys) -> None:
    # QA: the help says "Images: digits", but --data digits alone was an error
    code, out, err = run(["gan", "train", "--data", "digits", "--steps", "1",
                          "--batch-size", "8"], capsys)
    assert code == 0, err
    assert "images · digits · 1 step:" in out


def test_image_mode_saves_a_sample_grid(tmp_path, capsys) -> None:
    png = tmp_path / "grid.png"
    code, out, err = run(["gan", "train", "--mode", "images", "--steps", "2", "--batch-size",
                          "8", "--png", str(png), "--plot"], capsys)
    assert code == 0, err
    assert "images · digits · 2 steps" in out and "JS" not in out
    width, height = Image.open(png).size
    assert width > 200 and height > 200


def test_progress_bar_fits_80_columns(monkeypatch, capsys) -> None:
    # QA: at 80 columns Rich cut every column to "…" ("300/…", "0:00…").
    monkeypatch.setenv("COLUMNS", "80")
    code, _, err = run(["gan", "train", "--steps", "30"], capsys)
    assert code == 0
    bar = next(line for line in err.splitlines() if line.startswith("GAN"))
    assert "30/30" in bar and "…" not in bar and "modes" in bar
