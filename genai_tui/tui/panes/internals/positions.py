"""The Transformer pane's positions view: the cosine similarity of the model's
learned position vectors (nearby positions look alike), and the mean
similarity by distance. `+`/`-` zoom through how many positions are compared.

Owns its worker (`service.internals.position_similarity`) and its drawing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from genai_tui.service import internals as svc
from genai_tui.tui.panes.internals import positions_render
from genai_tui.tui.panes.internals.view import ERROR, HINT, INFO, LmView, message, put
from genai_tui.tui.panes.internals.widgets import Board

ZOOMS = (16, 32, 64, 128, 256, 512, 1024)


class PositionsView(LmView):
    """Position-vector similarities: a map and a chart by distance."""

    KIND = "positions"
    BOARD = "int-pos-board"
    DESCRIPTION = "computing position similarities"
    DEFAULT_CSS = "PositionsView { layout: horizontal; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zoom_index = 2

    def compose(self) -> ComposeResult:
        with Board(id="int-pos-board"):
            yield Static(id="int-pos-map", classes="body")
        with Board(id="int-pos-side"):
            yield Static(id="int-pos-chart", classes="body")

    def work(self) -> Callable[[], Any]:
        n, lm = self.zoom_n(), self.lm
        return lambda: svc.position_similarity(lm, n)

    def zoom(self, step: int) -> None:
        if self.lm is None:
            return
        new = max(0, min(len(self._zooms()) - 1, self.zoom_index + step))
        if new != self.zoom_index:
            self.zoom_index = new
            self.recompute()

    def _zooms(self) -> list[int]:
        block = self.lm.block_size if self.lm is not None else 256
        return [z for z in ZOOMS if z < block] + [block]

    def zoom_n(self) -> int:
        zooms = self._zooms()
        self.zoom_index = min(self.zoom_index, len(zooms) - 1)
        return zooms[self.zoom_index]

    def show_message(self, text: Text) -> None:
        put(self.query_one("#int-pos-map", Static), text, message=True)
        self._message_layout(True)

    def _message_layout(self, message: bool) -> None:
        # The map's board is as wide as the map; a message takes the whole width.
        self.query_one("#int-pos-board", Board).styles.width = "1fr" if message else None

    def draw(self) -> None:
        main = self.query_one("#int-pos-map", Static)
        side = self.query_one("#int-pos-chart", Static)
        if self.error:
            put(main, message("✗ " + self.error, ERROR), message=True)
            self._message_layout(True)
            return
        p = self.result
        if p is None:
            return
        height = self.height()
        map_w = max(20, min(p.n + 6, self.width() * 3 // 5))
        text = Text(f"cosine similarity of position vectors 0..{p.n - 1}\n", style="bold",
                    no_wrap=True)
        text.append_text(positions_render.position_map(p.matrix, map_w, height - 1))
        self._message_layout(False)
        put(main, text)
        side_w = max(16, self.width() - map_w - 4)
        side.update(positions_render.distance_chart(p.by_distance, side_w, min(12, height)))

    def status(self, line: Text) -> bool:
        if self.result is None:
            return False
        line.append(f" positions 0..{self.result.n - 1} of {self.lm.block_size}", INFO)
        line.append("   + / - zoom", HINT)
        return True
