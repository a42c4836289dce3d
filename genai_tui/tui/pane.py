"""The base class every pane derives from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Input, TextArea

from genai_tui.errors import UserError


@dataclass(frozen=True)
class Export:
    """What a pane can save now: ``write(path)`` writes a ``suffix`` file."""

    stem: str
    """Start of the file name, e.g. ``generate-tokens``."""
    suffix: str
    """``.json``, ``.png``, ``.csv``..."""
    write: Callable[[Path], None]
    """Writes the file; raises `UserError` (or OSError) when it cannot."""


def export_dir(widget: Widget) -> Path:
    """Where exports go: the app's ``export_dir`` (default: the working directory)."""
    folder = getattr(widget.app, "export_dir", None)
    return Path(folder) if folder is not None else Path.cwd()


def save_file(widget: Widget, stem: str, suffix: str, write: Callable[[Path], None],
              title: str = "Saved") -> Path | None:
    """Write a new file in `export_dir` and say its name; errors become a notification.

    The one save-to-file policy of the app: names never overwrite (a time
    stamp, then ``-2``, ``-3``...), the full path is shown after saving, and
    a failure (folder gone, disk full, no permission) is one clear
    notification naming the file; the pane stays alive. Notifications use
    ``markup=False``: the folder's name is the user's.
    """
    folder = export_dir(widget)
    base = f"genai-{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    path = folder / f"{base}{suffix}"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}{suffix}"
    try:
        write(path)
    except UserError as e:
        widget.notify(str(e), title="Not saved", severity="error", markup=False)
        return None
    except OSError as e:
        widget.notify(f"cannot write {path}: {e.strerror or e}", title="Not saved",
                      severity="error", markup=False)
        return None
    widget.notify(str(path.resolve()), title=title, markup=False)
    return path


class Pane(Container):
    """One tab of the app: a concept shown with a live model.

    Subclasses set `PANE_ID`, `TITLE` and `HELP` (Markdown, a few lines
    explaining the concept; shown by F1/?). Their `BINDINGS` with a
    description also appear in the command palette. Heavy loading (torch,
    weights) belongs in a worker started from `on_pane_first_show`, so the app
    paints before any model loads.

    Export: `export_data` returns what the pane can save now (an `Export`)
    or None; the app's export key calls `export_now`, which saves through
    `save_file`. Lessons: `lesson_set_text` / `lesson_text` use the pane's
    first text box; panes with knobs override `check_lesson_knobs`,
    `lesson_set_knobs` and `lesson_knobs`.
    """

    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    EXPORTS: ClassVar[str] = ""
    """What `export_data` saves, for help and the palette (e.g. "images as PNG")."""

    _shown_once: bool = False

    def pane_shown(self) -> None:
        """Called by the app each time this pane's tab becomes active."""
        if not self._shown_once:
            self._shown_once = True
            self.on_pane_first_show()

    def on_pane_first_show(self) -> None:
        """Start loading what the pane needs (override; runs once)."""

    def pane_hidden(self) -> None:
        """Called by the app when another tab replaces this one. Panes with
        running work (training, sampling) pause it here, so a hidden pane
        never takes the CPU from the one on screen, and resume it in
        `pane_shown`."""

    # -- export ----------------------------------------------------------------

    def export_data(self) -> Export | None:
        """What the pane can save now, or None (nothing yet; override)."""
        return None

    def save_file(self, stem: str, suffix: str, write: Callable[[Path], None],
                  title: str = "Saved") -> Path | None:
        """`save_file` for this pane (see the module function)."""
        return save_file(self, stem, suffix, write, title)

    def export_now(self) -> Path | None:
        """Save `export_data`; say so when there is nothing to save."""
        export = self.export_data()
        if export is None:
            what = self.EXPORTS or "only screenshots (ctrl+s)"
            self.notify(f"Nothing to export yet. This pane exports {what}.",
                        severity="warning", markup=False)
            return None
        return self.save_file(export.stem, export.suffix, export.write,
                              title=f"Saved {export.suffix.lstrip('.').upper()}")

    # -- lessons ---------------------------------------------------------------

    def _text_box(self) -> Input | TextArea:
        for widget in self.query("Input, TextArea"):
            if isinstance(widget, (Input, TextArea)):
                return widget
        raise UserError(f"the {self.TITLE} pane has no text box")

    def lesson_text(self) -> str:
        """The text a lesson's ``text`` sets (the pane's first text box)."""
        box = self._text_box()
        return box.value if isinstance(box, Input) else box.text

    def lesson_set_text(self, text: str) -> None:
        box = self._text_box()
        if isinstance(box, Input):
            box.value = text
            box.cursor_position = len(box.value)
        else:
            box.load_text(text)
            # load_text posts no Changed message; panes react to that one.
            box.post_message(TextArea.Changed(box))

    @classmethod
    def check_lesson_knobs(cls, knobs: Mapping[str, Any]) -> None:
        """Raise `UserError` unless this pane can set these knobs (override)."""
        raise UserError(f"the {cls.TITLE} pane has no knobs a lesson can set")

    def lesson_knobs(self, names: list[str]) -> dict[str, Any]:
        """Current values of these knobs (for going back a step)."""
        return {}

    def lesson_set_knobs(self, knobs: Mapping[str, Any]) -> None:
        self.check_lesson_knobs(knobs)
