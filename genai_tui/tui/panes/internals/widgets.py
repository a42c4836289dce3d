"""Small widgets of the Transformer pane: `Board`, a scrollable chart area that
leaves the arrow keys to the pane (the choice bars are `tui.widgets.ViewBar`)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message


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
