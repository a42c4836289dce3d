"""Lessons: a TOML script of steps the app plays for a room.

A lesson file::

    title = "Sampling knobs"

    [[step]]
    pane = "generate"                  # switch to this pane (an id from the tab list)
    text = "The assert statement"      # put this in the pane's text box
    knobs = { temperature = 1.5, top_k = 0 }   # set knobs (panes that have them)
    keys = ["f5"]                      # then press these keys, as a person would
    caption = "Hot sampling: more surprising tokens."   # required: what to say

Every key but ``caption`` is optional; a step without ``pane`` stays on the
pane the previous step showed. `load` checks the whole file before anything
plays and raises `LessonError` naming the file and the step (1-based). Pane
ids come from `genai_tui.tui.panes.PANES`; knob names and values are checked
by the pane (`Pane.check_lesson_knobs`) when `check_knobs` is given.

Plain Python: no Textual here (the app's controller plays the steps).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from genai_tui.errors import UserError
from genai_tui.textsafe import escape_controls

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUILTIN = ("tour",)
"""Lessons shipped in the package (`genai_tui/lessons/<name>.toml`)."""

STEP_KEYS = ("pane", "caption", "text", "knobs", "keys")
MAX_CAPTION = 400

_NAMED_KEYS = {
    "enter", "tab", "shift+tab", "escape", "space", "backspace", "delete", "insert",
    "up", "down", "left", "right", "home", "end", "pageup", "pagedown",
    "plus", "minus", "equals_sign", "full_stop", "comma", "slash", "question_mark",
    "left_square_bracket", "right_square_bracket", "colon", "semicolon", "asterisk",
}
_KEY = re.compile(r"^((ctrl|alt|shift)\+)*(f([1-9]|1[0-9]|2[0-4])|[a-z0-9])$")
_FORBIDDEN_KEYS = {"ctrl+q", "ctrl+c", "space", "backspace", "alt+left", "alt+right"}
"""Quitting keys, and the lesson's own keys (they would move the lesson)."""


class LessonError(UserError):
    """A lesson file that cannot be played; the message names the file and step."""


@dataclass(frozen=True)
class Step:
    """One step of a lesson."""

    number: int
    """1-based, as error messages and the caption bar count."""
    caption: str
    pane: str | None = None
    text: str | None = None
    knobs: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lesson:
    title: str
    steps: tuple[Step, ...]
    source: str
    """The file (or ``tour``) it came from, for messages."""

    def pane_at(self, index: int) -> str | None:
        """The pane showing after step ``index`` (0-based) played."""
        for step in reversed(self.steps[:index + 1]):
            if step.pane:
                return step.pane
        return None


def valid_key(key: str) -> bool:
    """A key name the lesson may press (Textual's names; quitting keys refused)."""
    if key in _FORBIDDEN_KEYS:
        return False
    base = key.rsplit("+", 1)[-1]
    return bool(_KEY.match(key)) or key in _NAMED_KEYS or (
        base in _NAMED_KEYS and bool(re.match(r"^((ctrl|alt|shift)\+)+", key)))


def resolve(name: str | Path) -> tuple[str, str]:
    """(source label, TOML text) for a file path or a built-in lesson name."""
    text_name = str(name)
    path = Path(text_name).expanduser()
    if text_name in BUILTIN and not path.exists():
        data = resources.files("genai_tui.lessons").joinpath(f"{text_name}.toml")
        return text_name, data.read_text(encoding="utf-8")
    try:
        return text_name, path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LessonError(f"lesson {text_name}: no such file (built-in lessons: "
                          f"{', '.join(BUILTIN)})") from None
    except UnicodeDecodeError:
        raise LessonError(f"lesson {text_name}: not UTF-8 text") from None
    except OSError as e:
        raise LessonError(f"lesson {text_name}: cannot read: {e.strerror or e}") from None


def load(name: str | Path, pane_ids: tuple[str, ...] | None = None,
         check_knobs: Callable[[str, Mapping[str, Any]], None] | None = None) -> Lesson:
    """Read and check a lesson (a path, or a built-in name such as ``tour``).

    Raises:
        LessonError: the file is missing, not TOML, or a step is wrong (named).
    """
    source, text = resolve(name)
    return parse(text, source, pane_ids, check_knobs)


def parse(text: str, source: str = "<lesson>", pane_ids: tuple[str, ...] | None = None,
          check_knobs: Callable[[str, Mapping[str, Any]], None] | None = None) -> Lesson:
    """Check a lesson given as TOML text (see `load`)."""
    label = escape_controls(source, keep_newlines=False)
    if pane_ids is None:
        from genai_tui.tui.panes import PANES

        pane_ids = tuple(spec.PANE_ID for spec in PANES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LessonError(f"lesson {label}: not valid TOML: {e}") from None
    unknown = sorted(set(data) - {"title", "step"})
    if unknown:
        raise LessonError(f"lesson {label}: unknown top-level key {unknown[0]!r} "
                          "(expected: title, [[step]] tables)")
    title = data.get("title", Path(source).stem)
    if not isinstance(title, str):
        raise LessonError(f"lesson {label}: title must be a string")
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonError(f"lesson {label}: no steps (add [[step]] tables)")
    steps = []
    pane: str | None = None
    for number, raw in enumerate(raw_steps, start=1):
        step = _step(raw, number, pane_ids, label)
        pane = step.pane or pane
        if step.text is not None and pane is None:
            _fail(label, number, "'text' needs a pane (set 'pane' here or in an earlier step)")
        if step.knobs:
            if pane is None:
                _fail(label, number, "'knobs' needs a pane (set 'pane' here or earlier)")
            if check_knobs is not None:
                try:
                    check_knobs(pane, step.knobs)
                except UserError as e:
                    _fail(label, number, str(e))
        steps.append(step)
    return Lesson(title=escape_controls(title, keep_newlines=False), steps=tuple(steps),
                  source=source)


def _fail(label: str, number: int, message: str) -> None:
    raise LessonError(f"lesson {label}: step {number}: {message}")


def _step(raw: Any, number: int, pane_ids: tuple[str, ...], label: str) -> Step:
    if not isinstance(raw, dict):
        _fail(label, number, "must be a table ([[step]])")
    unknown = sorted(set(raw) - set(STEP_KEYS))
    if unknown:
        _fail(label, number, f"unknown key {unknown[0]!r} (expected: {', '.join(STEP_KEYS)})")
    caption = raw.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        _fail(label, number, "needs a 'caption' (a non-empty string)")
    if len(caption) > MAX_CAPTION:
        _fail(label, number, f"caption longer than {MAX_CAPTION} characters")
    pane = raw.get("pane")
    if pane is not None and (not isinstance(pane, str) or pane not in pane_ids):
        _fail(label, number, f"unknown pane {pane!r} (panes: {', '.join(pane_ids)})")
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        _fail(label, number, "'text' must be a string")
    knobs = raw.get("knobs", {})
    if not isinstance(knobs, dict):
        _fail(label, number, "'knobs' must be a table, e.g. knobs = { temperature = 0.8 }")
    keys = raw.get("keys", [])
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        _fail(label, number, "'keys' must be a list of key names, e.g. keys = [\"f5\"]")
    for key in keys:
        if not valid_key(key):
            _fail(label, number, f"unknown or refused key {escape_controls(key)!r} "
                  "(Textual key names: a, 1, f5, enter, tab, ctrl+g, left_square_bracket ...)")
    return Step(number=number, caption=" ".join(caption.split()), pane=pane, text=text,
                knobs=dict(knobs), keys=tuple(keys))
