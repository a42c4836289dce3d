"""`genai-tui train sft` and `train prefer` end to end, on a tiny random model."""

from __future__ import annotations

import json

import pytest

from genai_tui.cli import app
from genai_tui.service.generate import load_model
from tests.fixtures.lm import make_model_dir


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", block_size=64)


def run(args: list[str], capsys):
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def json_events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_train_sft_json_runs_and_saves_a_loadable_model(model_dir, tmp_path, capsys) -> None:
    target = tmp_path / "sft-model"
    code, out, err = run(["train", "sft", "--model", str(model_dir), "--steps", "3",
                          "--batch-size", "4", "--json", "--out", str(target)], capsys)
    assert code == 0, err
    events = json_events(out)
    kinds = [e["event"] for e in events]
    assert kinds.count("finished") == 1 and kinds[-1] == "saved"
    assert [e["label"] for e in events if e["event"] == "sample"] == ["before"] * 3 + ["after"] * 3
    steps = [e["step"] for e in events if e["event"] == "metrics" and "loss" in e["values"]]
    assert steps == [1, 2, 3]
    finished = next(e for e in events if e["event"] == "finished")
    assert {"answer_loss_before", "answer_loss_after"} <= set(finished["summary"])
    lm = load_model(target)
    assert lm.card["stages"][-1]["stage"] == "sft"
    assert "train sft" in lm.card["command"]


def test_train_prefer_json_runs_and_saves_a_loadable_model(model_dir, tmp_path, capsys) -> None:
    target = tmp_path / "prefer-model"
    code, out, err = run(["train", "prefer", "--rule", "shorter", "--model", str(model_dir),
                          "--pairs", "4", "--held-out-pairs", "2", "--rm-steps", "3",
                          "--steps", "2", "--beta", "0.2", "--json", "--out", str(target)],
                         capsys)
    assert code == 0, err
    events = json_events(out)
    finished = [e for e in events if e["event"] == "finished"]
    assert len(finished) == 1 and events[-1]["event"] == "saved"
    summary = finished[0]["summary"]
    assert summary["rule"] == "shorter" and summary["pairs"] == 4 and summary["beta"] == 0.2
    values = [e["values"] for e in events if e["event"] == "metrics"]
    assert any("accuracy" in v for v in values) and any("dpo_loss" in v for v in values)
    assert load_model(target).card["stages"][-1]["stage"] == "prefer"


@pytest.mark.parametrize("args, words", [
    (["--rule", "longer"], "unknown rule 'longer'"),
    (["--rule", "mentions"], "needs a word (--word)"),
])
def test_bad_rules_are_one_line_errors(args, words, capsys, tmp_path) -> None:
    code, out, err = run(["train", "prefer", *args, "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and out == ""
    assert err.startswith("genai-tui: error:") and words in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
