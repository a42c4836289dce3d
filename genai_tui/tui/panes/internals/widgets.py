"""Small widgets of the Transformer pane."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from genai_tui.tui.textbox import SafeInput

__all__ = ["Board", "ChoiceBar", "SafeInput"]

_CHOSEN = Style(bold=True, color="black", bgcolor="#5fafff")
_OTHER = Style(color="grey70")
_KEY = Style(color="grey50")


class ChoiceBar(Static):
    """A one-line row of choices (like tabs, one line high); click one to pick it."""

    DEFAULT_CSS = "ChoiceBar { height: 1; width: 1fr; }"

    class Picked(Message):
        def __init__(self, bar: ChoiceBar, value: str) -> None:
            super().__init__()
            self.bar = bar
            self.value = value

        @property
        def control(self) -> ChoiceBar:
            return self.bar

    def __init__(self, choices: list[tuple[str, str, str]], value: str, *, prefix: str = "",
                 id: str | None = None) -> None:
        """``choices``: (value, label, key hint) triples."""
        super().__init__(id=id)
        self.choices = choices
        self.value = value
        self.prefix = prefix
        self.note = Text()

    def on_mount(self) -> None:
        self.refresh_bar()

    def set_value(self, value: str) -> None:
        self.value = value
        self.refresh_bar()

    def set_note(self, note: Text) -> None:
        self.note = note
        self.refresh_bar()

    def refresh_bar(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.prefix:
            t.append(self.prefix, _KEY)
        for value, label, key in self.choices:
            meta = Style(meta={"choice": value})
            t.append(" ", meta)
            if key:
                t.append(key, (_CHOSEN if value == self.value else _KEY) + meta)
            t.append(f" {label} ", (_CHOSEN if value == self.value else _OTHER) + meta)
        if self.note:
            t.append("  ")
            t.append_text(self.note)
        self.update(t)

    def on_click(self, event: events.Click) -> None:
        value = event.style.meta.get("choice")
        if value is not None:
            event.stop()
            self.set_value(value)
            self.post_message(self.Picked(self, value))


class Board(VerticalScroll, inherit_bindings=False):
    """A scrollable area that leaves the arrow keys to the pane (they move the
    selection, not the scroll position); the wheel and PgUp/PgDn still scroll."""

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
    ]
    DEFAULT_CSS = """
    Board { height: 1fr; scrollbar-size-vertical: 1; }
    Board:focus { background-tint: $foreground 3%; }
    """

    class Clicked(Message):
        def __init__(self, board: Board, meta: dict) -> None:
            super().__init__()
            self.board = board
            self.meta = meta

        @property
        def control(self) -> Board:
            return self.board

    def on_click(self, event: events.Click) -> None:
        meta = dict(event.style.meta)
        if meta:
            event.stop()
            self.post_message(self.Clicked(self, meta))
