"""`genai-tui train pretrain` and `train finetune`: the Train pane's stages for scripts."""

from __future__ import annotations

import io
import json
import sys

import pytest

from genai_tui.cli import app
from genai_tui.paths import assets_dir
from genai_tui.service.generate import load_model
from tests.fixtures.lm import make_model_dir
from tests.service.test_lifecycle import REPEATED

TINY_PRETRAIN = ["--steps", "20", "--layers", "1", "--heads", "2", "--width", "32",
                 "--block-size", "16", "--batch-size", "8", "--sample-every", "10"]


def run(args: list[str], capsys):
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(REPEATED, encoding="utf-8")
    return path


def test_pretrain_json_lines_report_every_step_and_the_model_is_saved(tmp_path, corpus,
                                                                     capsys) -> None:
    out_dir = tmp_path / "model"
    code, out, err = run(["train", "pretrain", *TINY_PRETRAIN, "--corpus", str(corpus),
                          "--out", str(out_dir), "--json"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    kinds = [r["event"] for r in rows]
    assert [r["step"] for r in rows if r["event"] == "metrics"] == list(range(1, 21))
    assert [r["label"] for r in rows if r["event"] == "sample"] == ["before", "step", "after"]
    assert kinds[-2:] == ["finished", "saved"] and rows[-1]["out"] == str(out_dir)
    lm = load_model(out_dir)
    assert lm.card["tokenizer"] == {"kind": "byte", "vocab_size": 256}
    assert lm.card["command"].startswith("genai-tui train pretrain")


def test_finetune_prints_samples_and_the_summary(tmp_path, capsys) -> None:
    text = tmp_path / "notes.txt"
    text.write_text(REPEATED, encoding="utf-8")
    base = make_model_dir(tmp_path / "base", n_layer=1, n_head=2, n_embd=32, block_size=32)
    code, out, err = run(["train", "finetune", str(text), "--model", str(base), "--steps", "10",
                          "--block-size", "16", "--lr", "0.003", "--out",
                          str(tmp_path / "tuned")], capsys)
    assert code == 0, err
    assert "[before step 0]" in err and "[after step 10]" in err
    summary = dict(line.split(": ", 1) for line in out.splitlines())
    assert summary["source"] == "notes.txt" and summary["steps"] == "10"
    assert float(summary["val_loss"]) < float(summary["val_loss_before"])
    assert load_model(tmp_path / "tuned").card["stages"][0]["stage"] == "finetune"


def test_finetune_reads_standard_input(tmp_path, monkeypatch, capsys) -> None:
    base = make_model_dir(tmp_path / "base", n_layer=1, n_head=2, n_embd=32, block_size=32)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(REPEATED.encode())))
    code, out, err = run(["train", "finetune", "-", "--model", str(base), "--steps", "2",
                          "--block-size", "16", "--quiet", "--out", str(tmp_path / "t")], capsys)
    assert code == 0, err
    assert "source: standard input" in out


@pytest.mark.parametrize("args,words", [
    (["train", "finetune", "/nonexistent/notes.txt"], "notes.txt"),
    (["train", "pretrain", "--out", str(assets_dir() / "lm")], "inside the bundled assets"),
    (["train", "pretrain", "--tokenizer", "words", "--steps", "1"], "tokenizer must be"),
])
def test_bad_input_is_one_line(args, words, capsys) -> None:
    code, _, err = run(args, capsys)
    assert code == 2 and err.startswith("genai-tui: error: ") and err.count("\n") == 1, err
    assert words in err


def test_finetune_refuses_a_tiny_text(tmp_path, capsys) -> None:
    text = tmp_path / "short.txt"
    text.write_text("only a few words", encoding="utf-8")
    code, _, err = run(["train", "finetune", str(text), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and "too short" in err


def test_notices_quoting_a_hostile_file_name_reach_the_terminal_escaped(tmp_path, capsys) -> None:
    text = tmp_path / "notes\x1b[31m[bold].txt"
    text.write_text(REPEATED, encoding="utf-8")
    base = make_model_dir(tmp_path / "base", n_layer=1, n_head=2, n_embd=32, block_size=32)
    code, out, err = run(["train", "finetune", str(text), "--model", str(base), "--steps", "2",
                          "--block-size", "16", "--out", str(tmp_path / "t")], capsys)
    assert code == 0, err
    assert "\x1b" not in err + out and "[bold].txt" in err
