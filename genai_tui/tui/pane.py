"""The base class every pane derives from, and the pane kit it carries.

The kit is what every pane used to write again: load the pane's models in a
worker with one pair of messages (`Pane.Loaded` / `Pane.LoadFailed`), number
requests so a superseded result is dropped (`new_request` / `is_current`,
and `compute`, a worker per kind of result), show "loading" and "failed: why,
how to rebuild" in the pane (`load_state_text`), and save files under one
policy (`save_file`, `Export`, `png_export`, `json_export`, `csv_export`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, TextArea
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.service.runtime import settle_heap


@dataclass(frozen=True)
class Export:
    """What a pane can save now: ``write(path)`` writes a ``suffix`` file."""

    stem: str
    """Start of the file name, e.g. ``generate-tokens``."""
    suffix: str
    """``.json``, ``.png``, ``.csv``..."""
    write: Callable[[Path], None]
    """Writes the file; raises `UserError` (or OSError) when it cannot."""


def png_export(stem: str, images: Any, ncol: int) -> Export:
    """An `Export` that saves ``images`` (a batch of 28x28 digits) as one PNG grid."""
    from genai_tui.images.render import save_png

    return Export(stem, ".png", lambda path: save_png(images, path, nrow=ncol) and None)


def json_export(stem: str, document: Any) -> Export:
    """An `Export` that saves ``document`` as indented UTF-8 JSON."""

    def write(path: Path) -> None:
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")

    return Export(stem, ".json", write)


def csv_export(stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Export:
    """An `Export` that saves ``header`` and ``rows`` as UTF-8 CSV (``rows`` is
    read when the file is written: pass a copy of anything the pane changes)."""

    def write(path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)

    return Export(stem, ".csv", write)


def save_and_view_bindings(views: Sequence[str], titles: Mapping[str, str],
                           save: str = "Save PNG") -> list[Binding]:
    """``s`` for `Pane.action_save_file` (footer label ``save``), then the number
    keys 1, 2, 3... for ``action_set_view('<view>')`` (hidden from the footer,
    titled "View: <title>" in the palette and F1), in the order of ``views``."""
    return [Binding("s", "save_file", save),
            *[Binding(str(i + 1), f"set_view('{view}')", f"View: {titles[view]}", show=False)
              for i, view in enumerate(views)]]


def describe_error(exc: BaseException) -> str:
    """One line for the user: a `UserError`'s own words, else the exception's type
    and the first line of its message (a worker's failure, shown in the pane)."""
    if isinstance(exc, UserError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


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


class Computes:
    """Requests that a newer one supersedes, for a pane or one of its views.

    `compute(kind, fn)` runs ``fn`` in this widget's exclusive worker for that
    kind (removing the widget cancels it) and calls `computed(kind, result,
    error)` only for the latest request of that kind; `new_request` /
    `is_current` number requests for workers the widget runs itself. Mix it
    into a Textual widget (it uses ``run_worker`` and ``post_message``).
    """

    class Computed(Message):
        """A `compute` worker finished: ``result``, or ``error`` when it raised."""

        def __init__(self, kind: str, serial: int, result: Any, error: str) -> None:
            super().__init__()
            self.kind, self.serial, self.result, self.error = kind, serial, result, error

    _requests: dict[str, int] | None = None

    @property
    def _request_group(self) -> str:
        return getattr(self, "PANE_ID", "") or getattr(self, "id", None) or type(self).__name__

    def new_request(self, kind: str = "") -> int:
        """Number a new request of ``kind``; results of older ones are now stale."""
        if self._requests is None:
            self._requests = {}
        serial = self._requests.get(kind, 0) + 1
        self._requests[kind] = serial
        return serial

    def is_current(self, serial: int, kind: str = "") -> bool:
        """Whether ``serial`` is the latest request of ``kind``."""
        return bool(self._requests) and self._requests.get(kind) == serial

    _answered: dict[str, int] | None = None

    def computing(self, kind: str | None = None) -> bool:
        """Whether the latest `compute` request of ``kind`` (None: of any kind
        `compute` has run; requests numbered by `new_request` alone never
        answer here) has not answered yet."""
        answered = self._answered or {}
        kinds = list(answered) if kind is None else [kind]
        return any(self.latest_request(k) != answered.get(k, 0) for k in kinds)

    def latest_request(self, kind: str = "") -> int:
        """The serial of the latest request of ``kind`` (0: none yet)."""
        return (self._requests or {}).get(kind, 0)

    def compute(self, kind: str, fn: Callable[[], Any], description: str = "") -> int:
        """Run ``fn`` in this widget's exclusive worker for ``kind`` (a newer call
        cancels an older one); `computed` gets the result if no newer request
        of ``kind`` came meanwhile. Returns the request's serial."""
        serial = self.new_request(kind)
        if self._answered is None:
            self._answered = {}
        self._answered.setdefault(kind, 0)  # a kind `computing()` looks at

        def body() -> None:
            worker = get_current_worker()
            try:
                result, error = fn(), ""
            except Exception as exc:  # noqa: BLE001 - shown in the pane, the app stays up
                result, error = None, describe_error(exc)
            if not worker.is_cancelled:
                self.post_message(self.Computed(kind, serial, result, error))

        self.run_worker(body, thread=True, exclusive=True, group=f"{self._request_group}-{kind}",
                        exit_on_error=False, description=description or f"computing {kind}")
        return serial

    def computed(self, kind: str, result: Any, error: str) -> None:
        """A `compute` result that is still current (override)."""

    def on_computes_computed(self, message: Computed) -> None:
        message.stop()
        if self.is_current(message.serial, message.kind):
            if self._answered is None:
                self._answered = {}
            self._answered[message.kind] = message.serial
            self.computed(message.kind, message.result, message.error)


class Pane(Computes, Container):
    """One tab of the app: a concept shown with a live model.

    Subclasses set `PANE_ID`, `TITLE` and `HELP` (Markdown, a few lines
    explaining the concept; shown by F1/?). Their `BINDINGS` with a
    description also appear in the command palette. Heavy loading (torch,
    weights) belongs in a worker started from `on_pane_first_show`, so the app
    paints before any model loads.

    Loading: set `LOADING` (what loads) and `REBUILD` (the command that
    rebuilds it), implement `load` (runs in a worker thread, returns anything)
    and `loaded` (UI thread, gets that result), show `load_state_text` where
    the pane's main view goes in `show_load_state`, and call `start_loading`
    (from `on_pane_first_show`). A failure sets `load_state` to "failed",
    shows the reason and the rebuild command and notifies once; override
    `load_failed` for what else the pane can still do.

    Results of requests that may be superseded (a new prompt, a new size):
    see `Computes` (`compute` / `computed`, `new_request` / `is_current`).

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

    LOADING: ClassVar[str] = ""
    """What `load` loads, for the loading and failure lines ("the VAE models")."""
    REBUILD: ClassVar[str] = ""
    """The command that rebuilds it, shown when loading fails ("" = none)."""

    class Loaded(Message):
        """`load` returned: ``result`` is what it returned."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class LoadFailed(Message):
        """`load` raised: ``error`` says why, in one line."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    _shown_once: bool = False
    load_state: str = "idle"
    """idle (nothing started), loading, ready or failed."""
    load_error: str = ""

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

    # -- loading ---------------------------------------------------------------

    def start_loading(self) -> None:
        """Show the loading state and run `load` in this pane's load worker."""
        self.load_state, self.load_error = "loading", ""
        self.show_load_state(self.load_state_text())
        self.run_worker(self._load_in_worker, thread=True, exclusive=True,
                        group=f"{self.PANE_ID}-load", exit_on_error=False,
                        description=f"loading {self.LOADING or self.TITLE}")

    def _load_in_worker(self) -> None:
        worker = get_current_worker()
        try:
            result = self.load()
        except Exception as exc:  # noqa: BLE001 - shown in the pane, the app stays up
            message: Message = self.LoadFailed(describe_error(exc))
        else:
            message = self.Loaded(result)
            settle_heap()  # the model lives as long as the app: no full collection walks it
        if not worker.is_cancelled:
            self.post_message(message)

    def load(self) -> Any:
        """Load what the pane needs (override; runs in a worker thread)."""
        return None

    def loaded(self, result: Any) -> None:
        """Use what `load` returned (override; runs on the UI thread)."""

    def load_failed(self, error: str) -> None:
        """What the pane does besides showing the failure (override)."""

    def show_load_state(self, text: Text) -> None:
        """Put the loading / failure text where the pane's main view goes (override)."""

    def load_state_text(self) -> Text:
        """"⏳ Loading ...", or the failure: what, why, and how to rebuild it."""
        what = self.LOADING or f"the {self.TITLE} pane"
        if self.load_state != "failed":
            return Text(f"⏳ Loading {what}…", style="bold")
        text = Text(f"Could not load {what}.\n{self.load_error}", style="red")
        if self.REBUILD:
            text.append(f"\n\nRebuild it with: {self.REBUILD}")
        return text

    def report_error(self, text: str) -> None:
        """One error notification (``markup=False``: the text names files and errors)."""
        self.notify(text, title=self.TITLE, severity="error", timeout=8, markup=False)

    def on_pane_loaded(self, message: Loaded) -> None:
        message.stop()
        self.load_state = "ready"
        self.loaded(message.result)

    def on_pane_load_failed(self, message: LoadFailed) -> None:
        message.stop()
        self.load_state, self.load_error = "failed", message.error
        self.show_load_state(self.load_state_text())
        self.report_error(message.error)
        self.load_failed(message.error)

    # -- export ----------------------------------------------------------------

    def help_bindings(self) -> list:
        """The bindings F1 lists: the pane's, plus (override) those of the view
        shown, whose keys act while it has focus."""
        return list(self.BINDINGS)

    def export_data(self) -> Export | None:
        """What the pane can save now, or None (nothing yet; override)."""
        return None

    def save_file(self, stem: str, suffix: str, write: Callable[[Path], None],
                  title: str = "Saved") -> Path | None:
        """`save_file` for this pane (see the module function)."""
        return save_file(self, stem, suffix, write, title)

    def action_save_file(self) -> None:
        """Save `export_data` (panes bind their own key, e.g. ``s``, to this)."""
        self.export_now()

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
