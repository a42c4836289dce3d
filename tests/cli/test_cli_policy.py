"""The CLI's shared policies: where train commands write, output paths checked
before any work, group help, --version, seeds and invalid UTF-8 refused in one
line (issue 12's regressions). Each runs the real command through `app`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest

from genai_tui.cli import app
from genai_tui.paths import assets_dir

TRAIN_COMMANDS = [
    ["train", "lm"], ["train", "vae"], ["train", "classifier"], ["train", "diffusion"],
    ["train", "seq2seq"], ["train", "tokenizer"], ["train", "clip"], ["train", "imagine"],
]


def run(args: list[str], capsys, stdin: bytes | None = None, monkeypatch=None):
    if stdin is not None:
        wrapper = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", wrapper)
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("genai-tui: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("command", TRAIN_COMMANDS, ids=lambda c: c[1])
def test_train_refuses_the_bundled_assets_without_bundled(command, capsys) -> None:
    name = {"lm": "lm", "vae": "vae", "classifier": "classifier", "diffusion": "diffusion",
            "seq2seq": "seq2seq", "tokenizer": "tokenizers/genai-bpe-4k.bpe",
            "clip": "clip", "imagine": "imagine"}[command[1]]
    target = assets_dir() / name
    before = {p: p.stat().st_mtime_ns for p in target.parent.rglob("*") if p.is_file()}
    started = time.perf_counter()
    code, _, err = run(command + ["--out", str(target)], capsys)
    err = one_line_error(code, err)
    assert "--bundled" in err and "bundled assets" in err
    assert time.perf_counter() - started < 20  # refused before any data is built
    assert {p: p.stat().st_mtime_ns for p in target.parent.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("command", TRAIN_COMMANDS, ids=lambda c: c[1])
def test_train_out_and_bundled_together_are_refused(command, tmp_path, capsys) -> None:
    code, _, err = run(command + ["--out", str(tmp_path / "x"), "--bundled"], capsys)
    assert "either --out or --bundled" in one_line_error(code, err)


def test_train_default_is_a_new_folder_not_the_bundled_model(tmp_path, monkeypatch,
                                                             capsys) -> None:
    from genai_tui.cli.outpaths import train_target

    monkeypatch.chdir(tmp_path)
    target = train_target(None, bundled=False, bundled_path=assets_dir() / "lm", stem="lm")
    assert target.name.startswith("lm-") and not target.exists()
    assert target.resolve().parent == tmp_path.resolve()
    assert train_target(None, bundled=True, bundled_path=assets_dir() / "lm",
                        stem="lm") == assets_dir() / "lm"
    code, _, err = run(["train", "lm", "--resume"], capsys)
    assert "--resume needs" in one_line_error(code, err)


@pytest.mark.parametrize("args", [
    ["train", "lm", "--out", "/proc/genai-lm", "--steps", "1"],
    ["train", "vae", "--out", "/nonexistent/dir/vae"],
    ["train", "tokenizer", "--out", "/nonexistent/dir/x.bpe"],
    ["gan", "train", "--png", "/proc/x.png", "--steps", "5"],
    ["vae", "sample", "--png", "/nonexistent/x.png"],
    ["diffusion", "sample", "--png", "/proc/x.png"],
], ids=lambda a: " ".join(a[:2]))
def test_unwritable_outputs_fail_before_any_work(args, capsys) -> None:
    started = time.perf_counter()
    code, _, err = run(args, capsys)
    assert "cannot write" in one_line_error(code, err)
    assert time.perf_counter() - started < 10
    assert not os.path.exists("/nonexistent")


def test_a_folder_as_png_is_refused(tmp_path, capsys) -> None:
    code, _, err = run(["vae", "sample", "--png", str(tmp_path)], capsys)
    assert "is a folder" in one_line_error(code, err)


@pytest.mark.parametrize("group", ["vae", "train", "embed", "gan", "diffusion"])
def test_a_group_without_subcommand_shows_its_help_laid_out(group, capsys) -> None:
    code, out, err = run([group], capsys)
    assert code == 2
    text = out + err
    assert text.startswith(f"Usage: genai-tui {group} [OPTIONS] COMMAND")
    assert "\nCommands:\n" in text and text.count("\n") > 6
    assert "genai-tui: error" not in text


def test_version() -> None:
    from importlib.metadata import version

    done = subprocess.run([sys.executable, "-m", "genai_tui", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"genai-tui {version('genai-tui')}"


@pytest.mark.parametrize("args", [
    ["vae", "sample", "--seed", "-5"], ["vae", "reconstruct", "--seed", "-5"],
    ["vae", "interpolate", "--seed", "-5"], ["vae", "anomaly", "--seed", "-5"],
    ["vae", "sample", "--seed", "18446744073709551616"], ["gan", "train", "--seed", "-1"],
    ["diffusion", "sample", "--seed", "4294967296"],
], ids=lambda a: " ".join(a))
def test_out_of_range_seeds_are_one_line_errors(args, capsys) -> None:
    code, _, err = run(args, capsys)
    assert "--seed" in one_line_error(code, err)


BAD = "a\udcffb"  # how Python hands over the byte 0xff of an argv that is not UTF-8


@pytest.mark.parametrize("args", [
    ["tokenize", BAD], ["tokenize", "-t", "hf:all-MiniLM-L6-v2", BAD],
    ["embed", "similarity", BAD, "b"], ["embed", "neighbors", "x", "--among", BAD],
    ["embed", "neighbors", BAD], ["seq2seq", BAD], ["generate", BAD, "-n", "1"],
    ["attention", BAD], ["lens", BAD],
], ids=lambda a: " ".join(x for x in a if x != BAD))
def test_invalid_utf8_arguments_are_one_line_errors(args, capsys) -> None:
    code, _, err = run(args, capsys)
    assert "not valid UTF-8" in one_line_error(code, err)


@pytest.mark.parametrize("command", ["generate", "attention", "lens", "tokenize", "seq2seq"])
def test_invalid_utf8_on_stdin_is_a_one_line_error(command, capsys, monkeypatch) -> None:
    code, _, err = run([command, "-"], capsys, stdin=b"a\xffb", monkeypatch=monkeypatch)
    assert "standard input is not valid UTF-8 (byte 1)" in one_line_error(code, err)


def test_valid_stdin_still_reads(capsys, monkeypatch) -> None:
    code, out, err = run(["tokenize", "-", "--count"], capsys, stdin="héllo".encode(),
                         monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.strip().isdigit()


@pytest.mark.parametrize("command", ["attention", "lens"])
def test_a_long_prompt_is_refused_before_the_model_loads(command, capsys, monkeypatch) -> None:
    from genai_tui.service import internals

    def no_load(*_a, **_k):
        raise AssertionError("the model was loaded before the prompt was checked")

    monkeypatch.setattr(internals, "get_lm", no_load)
    code, _, err = run([command, "x" * 100_001], capsys)
    assert "too long" in one_line_error(code, err)


def _all_commands():
    from typer.main import get_command

    def walk(cmd, path):
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, path + [name])

    yield from walk(get_command(app), ["genai-tui"])


@pytest.mark.parametrize("flag,short,low,high", [
    ("--seed", None, 0, 2**32 - 1), ("--threads", None, 1, 64), ("--fps", None, 1, 120),
    ("--out", "-o", None, None), ("--json", None, None, None), ("--png", None, None, None),
    ("--model", "-m", None, None), ("--quiet", "-q", None, None),
])
def test_shared_options_read_the_same_in_every_command(flag, short, low, high) -> None:
    """The options of `cli/options.py`: one spelling and one range wherever they appear."""
    seen = 0
    for path, cmd in _all_commands():
        for param in cmd.params:
            if flag not in param.opts:
                continue
            where = " ".join(path)
            if where == "genai-tui generate" and flag == "--seed":
                continue  # the knob registry's seed: a number or 'random', with -s
            seen += 1
            assert (short in param.opts) if short else len(param.opts) == 1, where
            if low is not None:
                assert (param.min, param.max) == (low, high), where
    assert seen >= 2, f"{flag} is shared by fewer than two commands"


def test_every_train_command_writes_with_out_and_bundled() -> None:
    train = {" ".join(path): cmd for path, cmd in _all_commands()}
    for command in TRAIN_COMMANDS:
        flags = {opt for p in train[" ".join(["genai-tui", *command])].params for opt in p.opts}
        assert {"--out", "-o", "--bundled"} <= flags, command
