"""The Transformer pane's attention view: for each layer and head, how much each
token (row, the query) looks at each earlier one (column, the key), with the
selected query's scores before and after the softmax beside the map.

Owns its worker (`service.internals.attention` on the prompt) and its drawing
(`render.py`): one head, every head as small multiples, or the mean of heads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from genai_tui.service import internals as svc
from genai_tui.tui.panes.internals import render as R
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

MODES = [("head", "one head", ""), ("all", "all heads", ""), ("mean", "mean of heads", "")]
SIDE_MIN = 34
"""Narrowest query panel beside the heatmap; below that it goes under the heatmap."""


class AttentionView(LmView):
    """Attention heatmaps of one head, all heads or their mean, and one query's row."""

    KIND = "attention"
    BOARD = "int-att-board"
    DESCRIPTION = "computing attention"
    DEFAULT_CSS = "AttentionView { layout: horizontal; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.layer_index = 0
        self.head = 0
        self.mode = "head"
        self.query = 0
        self.scale = 1  # cells per token in the heatmap (it grows to fill the view)

    def compose(self) -> ComposeResult:
        with Board(id="int-att-board"):
            yield Static(id="int-att-map", classes="body")
        with Board(id="int-att-side"):
            yield Static(id="int-att-detail", classes="body")

    def work(self) -> Callable[[], Any]:
        prompt, lm = self.text, self.lm
        return lambda: svc.attention(prompt, lm, limit=PANE_TOKENS)

    def accept(self, result: Any) -> None:
        self.result = result
        self.query = len(result.ids) - 1

    # keys --------------------------------------------------------------------

    def layer(self, step: int) -> None:
        if self.result is not None:
            self.layer_index = (self.layer_index + step) % self.result.n_layer
            self.draw()

    def horizontal(self, step: int) -> None:
        if self.result is not None:
            if self.mode == "mean":
                self.mode = "head"
            self.head = (self.head + step) % self.result.n_head
            self.draw()

    def vertical(self, step: int) -> None:
        if self.result is not None:
            self.query = max(0, min(len(self.result.ids) - 1, self.query + step))
            self.draw()

    def next_mode(self) -> None:
        order = [m for m, _, _ in MODES]
        self.mode = order[(order.index(self.mode) + 1) % len(order)]
        self.draw()

    def clicked(self, meta: dict) -> None:
        if self.result is None:
            return
        if "att_row" in meta:
            self.query = int(meta["att_row"])
            self.draw()
        elif "sm" in meta:
            layer, head = (int(x) for x in str(meta["sm"]).split(","))
            self.layer_index = layer
            if head < self.result.n_head:
                self.head, self.mode = head, "head"
            else:
                self.mode = "mean"
            self.draw()

    # drawing -----------------------------------------------------------------

    def show_message(self, text: Text) -> None:
        put(self.query_one("#int-att-map", Static), text, message=True)
        self._message_layout()

    def _message_layout(self) -> None:
        # A message uses the whole width (the query panel beside it is empty).
        self.query_one("#int-att-board", Board).styles.width = "1fr"
        self.query_one("#int-att-side", Board).set_class(True, "-hidden")

    def draw(self) -> None:
        main = self.query_one("#int-att-map", Static)
        side = self.query_one("#int-att-detail", Static)
        board = self.query_one("#int-att-board", Board)
        side_board = self.query_one("#int-att-side", Board)
        if self.error:
            put(main, message("✗ " + self.error, ERROR), message=True)
            side.update("")
            self._message_layout()
            return
        a = self.result
        if a is None:
            return
        self.layer_index %= a.n_layer
        self.head %= a.n_head
        self.query = max(0, min(len(a.ids) - 1, self.query))
        wide = self.mode == "all"
        if wide:
            board.styles.width = "1fr"
        side_board.set_class(wide, "-hidden")
        note = f"(the first {a.truncated} tokens are not shown)\n" if a.truncated else ""
        if wide:
            text = R.small_multiples(a.weights, self.layer_index,
                                     None if self.mode == "mean" else self.head,
                                     label=note + "every layer (rows) x head (columns); "
                                     "click one to look closer")
            put(main, text)
            return
        head = None if self.mode == "mean" else self.head
        text = Text(note, style="grey50", no_wrap=True)
        total = self.width()
        self.scale = R.heatmap_scale(len(a.ids), total, self.height() - bool(note),
                                     side=SIDE_MIN + 1)
        text.append_text(R.attention_heatmap(a.tokens, a.head(self.layer_index, head),
                                             query=self.query, scale=self.scale))
        text.append("\n")
        text.append_text(R.scale_legend())
        map_w = max(R.HEATMAP_LEFT + 2 * self.scale * len(a.ids) + 2, 43)  # 43: the legend
        stacked = map_w + SIDE_MIN > total
        side_w = total - 2 if stacked else total - map_w - 3  # padding + scrollbar
        if head is None:
            detail = R.head_table(a.tokens, a.weights[self.layer_index], self.query, side_w)
        else:
            detail = R.query_detail(a.tokens, a.head(self.layer_index, head),
                                    a.head_scores(self.layer_index, head), self.query,
                                    side_w, f"layer {self.layer_index} head {head}")
        side_board.set_class(stacked, "-hidden")
        if stacked:
            board.styles.width = "1fr"
            text.append("\n\n")
            text.append_text(detail)
            side.update("")
        else:
            board.styles.width = map_w
            side.update(detail)
        put(main, text)
        self.call_after_refresh(self._scroll_query_into_view)

    def _scroll_query_into_view(self) -> None:
        if self.result is None or self.mode == "all":
            return
        board = self.query_one("#int-att-board", Board)
        row = 5 + self.scale * self.query  # header lines + the row
        if row >= board.scroll_y + board.size.height - 1 or row < board.scroll_y + 5:
            board.scroll_to(y=max(0, row - board.size.height // 2), animate=False)

    def status(self, line: Text) -> bool:
        a = self.result
        if a is None:
            return False
        line.append(f" layer {self.layer_index}/{a.n_layer - 1}", INFO)
        if self.mode == "all":
            line.append("  all heads", INFO)
        else:
            head = "mean" if self.mode == "mean" else f"{self.head}/{a.n_head - 1}"
            line.append(f"  head {head}", INFO)
        line.append(f"  query {self.query} ", INFO)
        line.append(R.token_label(a.tokens[self.query], 10).rstrip(), "bold")
        line.append("  [ ] layer ←→ head ↑↓ query m mode", HINT)
        return True
