"""The vocabulary browser: search a tokenizer's entries by text or id."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from genai_tui.textsafe import visible_bytes
from genai_tui.tui.panes.tokenizer.explain import hex_bytes, ui
from genai_tui.tui.textbox import SafeInput

VOCAB_LIMIT = 500
"""Rows shown per search (the table stays light; refine the search for more)."""


NO_DETAIL = "Highlight a row to see how the token was formed."


class VocabView(Vertical):
    """An Input and a table of (id, visible text, bytes, length)."""

    DEFAULT_CSS = """
    VocabView { height: 1fr; }
    #vocab-bar { height: 1; }
    #vocab-search { width: 1fr; }
    #vocab-count { width: auto; max-width: 50%; padding: 0 1; color: $text-muted; }
    #vocab-table { height: 1fr; }
    #vocab-detail { height: auto; max-height: 2; padding: 0 1; background: $boost; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tokenizer = ""
        self.rows: dict[int, bytes] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="vocab-bar"):
            yield SafeInput(
                placeholder="search: text (e.g. ing) or id",
                id="vocab-search",
                compact=True,
            )
            yield Static("", id="vocab-count")
        table: DataTable[Text] = DataTable(id="vocab-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(Text(NO_DETAIL), id="vocab-detail")

    def on_mount(self) -> None:
        table = self.query_one("#vocab-table", DataTable)
        table.add_column("id", key="id")
        table.add_column("token", key="token")
        table.add_column("bytes", key="bytes")
        table.add_column("len", key="len")

    @property
    def query_text(self) -> str:
        return self.query_one("#vocab-search", Input).value

    def show_rows(
        self, tokenizer: str, rows: list[tuple[int, bytes]], more: bool, query: str = ""
    ) -> None:
        """Fill the table (cells are Text: DataTable reads plain str as markup)."""
        self.tokenizer = tokenizer
        self.rows = dict(rows)
        table = self.query_one("#vocab-table", DataTable)
        table.clear()
        for token_id, data in rows:
            table.add_row(
                Text(str(token_id), justify="right"),
                Text(visible_bytes(data) or "∅"),
                Text(hex_bytes(data, 8), style="italic"),
                Text(str(len(data)), justify="right"),
                key=str(token_id),
            )
        if not rows:
            count = "no match"
        elif not query:
            count = f"ids {rows[0][0]}–{rows[-1][0]}" + (" (search for more)" if more else "")
        elif more:
            count = f"first {len(rows):,} matches"
        else:
            count = f"{len(rows):,} match{'es' if len(rows) != 1 else ''}"
        self.query_one("#vocab-count", Static).update(Text(f"{ui(tokenizer)}: {count}"))
        if not rows:  # no row to highlight: don't leave the last token's details up
            self.show_detail(Text(NO_DETAIL))

    def show_message(self, message: Text | str) -> None:
        self.rows = {}
        self.query_one("#vocab-table", DataTable).clear()
        self.show_detail(Text(NO_DETAIL))
        self.query_one("#vocab-count", Static).update(
            message if isinstance(message, Text) else Text(message)
        )

    def show_detail(self, text: Text) -> None:
        self.query_one("#vocab-detail", Static).update(text)
