"""Output helpers for commands: untrusted text is escaped, never parsed as markup."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import typer

from genai_tui.errors import UserError
from genai_tui.textsafe import escape_controls


def say(text: str = "", end: str = "\n", err: bool = False) -> None:
    """Print untrusted text with control characters made visible."""
    stream = sys.stderr if err else sys.stdout
    stream.write(escape_controls(text) + end)
    stream.flush()


def emit_json(obj: Any) -> None:
    """One JSON value on one line (JSON escapes control characters itself)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def command_line(ctx: typer.Context) -> str:
    """The running command with every option spelled out (for the model card).

    Rebuilt from the parsed parameters, so it is exact however the command was
    started (console script, ``python -m``, or in-process from tests).
    """
    words = ctx.command_path.split()
    words[0] = "genai-tui"
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if getattr(param, "param_type_name", "") != "option" or value is None:
            continue
        flag = max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            if value:
                words.append(flag)
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def progress_bar(total: int, fields: list[str], quiet: bool, *, labelled: bool = True,
                 narrow_below: int = 0) -> Any:
    """A Rich progress bar on stderr with one column per metric in ``fields``
    (``labelled=False``: the field's text alone, e.g. a preformatted stats line).

    On a console narrower than ``narrow_below`` columns the bar is shorter and
    the time left is dropped, or Rich cuts every column down to "…";
    ``bar.narrow`` says which was chosen (for a shorter description).
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, quiet=quiet, highlight=False)
    narrow = console.width < narrow_below
    columns = [TextColumn("{task.description}"), BarColumn(bar_width=10 if narrow else 24),
               MofNCompleteColumn()]
    columns += [TextColumn(f"{name} {{task.fields[{name}]}}" if labelled
                           else f"{{task.fields[{name}]}}") for name in fields]
    columns.append(TimeElapsedColumn())
    if not narrow:
        columns.append(TimeRemainingColumn())
    bar = Progress(*columns, console=console, transient=False)
    bar.narrow = narrow  # type: ignore[attr-defined]
    return bar


def text_arg(value: str, what: str = "the text") -> str:
    """A text argument, checked: ``-`` reads standard input as strict UTF-8.

    Python hands invalid UTF-8 in ``argv`` over as lone surrogates
    (``surrogateescape``); tokenizers cannot encode those, so they are refused
    here with one line naming the byte, for every command alike.
    """
    if value == "-":
        stream = sys.stdin
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        if isinstance(data, bytes):
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(f"standard input is not valid UTF-8 (byte {e.start})") from None
        value = data
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UserError(f"{what} is not valid UTF-8 (character {e.start})") from None
    return value


SEED_MAX = 2**32 - 1
"""The largest seed any command accepts (numpy's and torch's generators both take it)."""
