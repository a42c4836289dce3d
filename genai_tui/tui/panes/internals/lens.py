"""The Transformer pane's logit-lens view: the residual stream after each layer
read through the final LayerNorm and the unembedding (what would the model
predict if that layer were the last?), with the selected cell's top tokens.

Owns its worker (`service.internals.logit_lens` on the prompt) and its drawing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from genai_tui.service import internals as svc
from genai_tui.tui.panes.internals import lens_render
from genai_tui.tui.panes.internals.view import (
    ERROR,
    HINT,
    INFO,
    PANE_TOKENS,
    LmView,
    message,
    put,
)
from genai_tui.tui.panes.internals.widgets import Board


class LensView(LmView):
    """The logit lens: layer x position table of predictions, one cell in detail."""

    KIND = "lens"
    BOARD = "int-lens-board"
    DESCRIPTION = "computing the logit lens"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.layer_index = -1
        self.pos = -1

    def compose(self) -> ComposeResult:
        with Board(id="int-lens-board"):
            yield Static(id="int-lens-table", classes="body")
            yield Static(id="int-lens-detail", classes="body")

    def work(self) -> Callable[[], Any]:
        prompt, lm = self.text, self.lm
        return lambda: svc.logit_lens(prompt, lm, top=5, limit=PANE_TOKENS)

    def accept(self, result: Any) -> None:
        self.result = result
        self.layer_index = len(result.layers) - 1
        self.pos = len(result.ids) - 1

    def layer(self, step: int) -> None:
        self.vertical(-step)

    def horizontal(self, step: int) -> None:
        if self.result is not None:
            self.pos = max(0, min(len(self.result.ids) - 1, self.pos + step))
            self.draw()

    def vertical(self, step: int) -> None:
        if self.result is not None:
            self.layer_index = max(0, min(len(self.result.layers) - 1, self.layer_index + step))
            self.draw()

    def clicked(self, meta: dict) -> None:
        if "lens" in meta and self.result is not None:
            layer, pos = (int(x) for x in str(meta["lens"]).split(","))
            if layer >= 0:
                self.layer_index = layer
            self.pos = pos
            self.draw()

    def show_message(self, text: Text) -> None:
        put(self.query_one("#int-lens-table", Static), text, message=True)

    def draw(self) -> None:
        table = self.query_one("#int-lens-table", Static)
        detail = self.query_one("#int-lens-detail", Static)
        if self.error:
            put(table, message("✗ " + self.error, ERROR), message=True)
            detail.update("")
            return
        lens = self.result
        if lens is None:
            return
        self.layer_index = max(0, min(len(lens.layers) - 1, self.layer_index))
        self.pos = max(0, min(len(lens.ids) - 1, self.pos))
        width = self.width() - 2
        put(table, lens_render.lens_table(lens, self.layer_index, self.pos, width))
        detail_text = Text("\n", no_wrap=True)
        detail_text.append_text(lens_render.lens_detail(lens, self.layer_index, self.pos, width))
        detail.update(detail_text)

    def status(self, line: Text) -> bool:
        if self.result is None:
            return False
        line.append(f" {self.result.layers[self.layer_index]}, position {self.pos}", INFO)
        line.append("   ↑↓ layer  ←→ position  ✓ = the actual next token", HINT)
        return True
