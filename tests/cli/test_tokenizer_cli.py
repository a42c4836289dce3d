"""`genai-tui tokenizers`, `genai-tui tokenize`, `genai-tui train tokenizer`."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from genai_tui.cli import app
from genai_tui.service.tokenize import list_tokenizers

HAS_CL100K = any(i.name == "cl100k_base" and i.available for i in list_tokenizers())
HOSTILE = "\x1b[2J \x1b]52;c;aGVsbG8=\x07 [bold]x[/] [@click=app.quit]q[/] \u202eevil"


def run(args: list[str], capsys, stdin: bytes | None = None, monkeypatch=None):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_json_schema(capsys) -> None:
    code, out, _ = run(["tokenize", "héllo world 😀", "--json"], capsys)
    assert code == 0
    assert out.count("\n") == 1
    obj = json.loads(out)
    assert set(obj) == {"tokenizer", "tokens", "count"}
    assert obj["tokenizer"] == "genai-bpe"
    assert obj["count"] == len(obj["tokens"])
    for tok in obj["tokens"]:
        assert set(tok) == {"id", "text", "bytes"}
        assert isinstance(tok["id"], int) and isinstance(tok["text"], str)
        assert all(isinstance(b, int) and 0 <= b < 256 for b in tok["bytes"])
    assert bytes(b for t in obj["tokens"] for b in t["bytes"]).decode() == "héllo world 😀"


@pytest.mark.skipif(not HAS_CL100K, reason="cl100k_base not on this machine")
def test_cl100k_count_and_ids(capsys) -> None:
    text = "I want to learn Generative AI"
    assert run(["tokenize", text, "-t", "cl100k_base", "--count"], capsys)[1] == "7\n"
    code, out, _ = run(["tokenize", text, "--tokenizer", "cl100k_base", "--ids"], capsys)
    assert code == 0
    assert out == "40 1390 311 4048 2672 1413 15592\n"
    out = run(["tokenize", text, "-t", "cl100k_base"], capsys)[1]
    assert out.splitlines()[0] == "I|·want|·to|·learn|·Gener|ative|·AI"
    assert "7 tokens, 29 characters, 29 bytes" in out


def test_counts_are_singular_for_one(capsys) -> None:
    # QA: "1 tokens, 1 characters, 1 bytes"
    out = run(["tokenize", "x", "-t", "byte"], capsys)[1]
    assert "1 token, 1 character, 1 byte, " in out


def test_stdin_and_file(capsys, monkeypatch, tmp_path) -> None:
    code, out, _ = run(["tokenize", "-", "--count", "-t", "byte"], capsys, b"abc\n", monkeypatch)
    assert (code, out) == (0, "4\n")
    path = tmp_path / "t.txt"
    path.write_text("hello", encoding="utf-8")
    assert run(["tokenize", "--file", str(path), "--ids", "-t", "byte"], capsys)[1] == (
        "104 101 108 108 111\n"
    )


def test_hostile_text_is_escaped_in_human_output(capsys) -> None:
    for name in ("genai-bpe", "char", "byte"):
        code, out, _ = run(["tokenize", HOSTILE, "-t", name], capsys)
        assert code == 0
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        assert "␛" in out or "⟨1b⟩" in out
        assert "[bold]" in "".join(out.split("|"))  # shown literally, never as markup


def test_tokenizers_listing(capsys) -> None:
    code, out, _ = run(["tokenizers"], capsys)
    assert code == 0
    assert "genai-bpe" in out and "byte" in out
    code, out, _ = run(["tokenizers", "--json"], capsys)
    rows = json.loads(out)["tokenizers"]
    names = {r["name"] for r in rows}
    assert {"genai-bpe", "char", "byte", "cl100k_base", "o200k_base"} <= names
    for r in rows:
        assert set(r) >= {"name", "kind", "available", "vocab_size", "description", "reason"}
        assert r["available"] or r["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tokenize", "x", "-t", "nope"], "unknown tokenizer 'nope'; choose one of: genai-bpe"),
        (["tokenize", "x", "-t", "\x1b[2Jx"], "unknown tokenizer '\\x1b[2Jx'"),
        (["tokenize", "--file", "/no/such/file.txt"], "does not exist"),
        (["tokenize"], "give the TEXT"),
        (["tokenize", "x", "--file", "y"], "not both"),
        (["tokenize", "x", "--count", "--json"], "choose one of"),
        (["tokenize", "x", "--bogus"], "No such option"),
        (["tokenizers", "--bogus"], "No such option"),
        (["train", "tokenizer", "--vocab-size", "10"], "between 256 and"),
        (["train", "tokenizer", "--vocab-size", "many"], "--vocab-size"),
        (["train", "tokenizer", "--kind", "words"], "--kind must be"),
        (["train", "tokenizer", "--corpus", "/no/such/corpus.txt"], "does not exist"),
        # QA: "bpe:" alone said "cannot read tokenizer file '.': Is a directory"
        (["tokenize", "x", "-t", "bpe:"], "give a path after bpe:"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, args: list[str], message: str) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert err.startswith("genai-tui: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert "\x1b" not in err
    assert "Traceback" not in err


def test_bad_stdin_is_exit_2(capsys, monkeypatch) -> None:
    code, _, err = run(["tokenize", "-"], capsys, b"caf\xe9", monkeypatch)
    assert code == 2 and "not valid UTF-8" in err


def test_corrupt_tokenizer_file_is_exit_2(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.bpe"
    bad.write_text("genai-bpe 1\nname x\nmerges 1\n999 1 2\n")
    code, _, err = run(["tokenize", "x", "-t", f"bpe:{bad}"], capsys)
    assert code == 2 and "line 4" in err


def test_train_tokenizer_writes_file_and_card(capsys, tmp_path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat. " * 50 + "the theme of the thesis", "utf-8")
    out = tmp_path / "tiny.bpe"
    code, stdout, _ = run(
        ["train", "tokenizer", "--vocab-size", "280", "--corpus", str(corpus), "--out", str(out)],
        capsys,
    )
    assert code == 0 and "trained " in stdout
    card = json.loads(out.with_suffix(".json").read_text())
    assert 260 < card["vocab_size"] <= 280
    assert card["corpus"]["file"] == str(corpus)
    assert "--vocab-size 280" in card["command"]
    code, stdout, _ = run(["tokenize", "the cat", "-t", f"bpe:{out}", "--count"], capsys)
    assert code == 0 and int(stdout) < 7


def test_train_char_vocabulary(capsys, tmp_path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world", "utf-8")
    out = tmp_path / "x.chars"
    code, stdout, _ = run(
        ["train", "tokenizer", "--kind", "char", "--corpus", str(corpus), "--out", str(out)],
        capsys,
    )
    assert code == 0 and "8 characters" in stdout
    assert out.is_file() and out.with_suffix(".json").is_file()


def test_tokenizer_commands_import_neither_torch_nor_textual() -> None:
    probe = (
        "import sys\n"
        "from genai_tui.cli import app\n"
        "for args in (['--help'], ['tokenize', '--help'], ['tokenizers', '--help'],\n"
        "             ['train', 'tokenizer', '--help'], ['tokenize', 'hi', '--count'],\n"
        "             ['tokenizers', '--json']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (args, e.code)\n"
        "print('LOADED', 'torch' in sys.modules, 'textual' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "LOADED False False"
