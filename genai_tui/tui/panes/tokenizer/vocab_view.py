"""The vocabulary browser: search a tokenizer's entries by text or id.

Owns its workers: the search (`service.tokenize.vocab`, debounced while the
user types; a result for an older search is dropped) and the merge lookup for
the highlighted row. The pane says which tokenizer to browse (`browse`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from genai_tui.service import tokenize as svc
from genai_tui.textsafe import visible_bytes
from genai_tui.tui.pane import describe_error
from genai_tui.tui.panes.tokenizer.explain import chip, formed_text, hex_bytes, ui
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

    class Found(Message):
        """The search worker's rows for (tokenizer, query), or why it failed."""

        def __init__(self, key: tuple[str, str], rows: list[tuple[int, bytes]],
                     error: str = "") -> None:
            super().__init__()
            self.key, self.rows, self.error = key, rows, error

    class Formed(Message):
        """How the highlighted row's token was formed (the merge lookup)."""

        def __init__(self, key: tuple[str, int], text: Text) -> None:
            super().__init__()
            self.key, self.text = key, text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tokenizer = ""
        """The tokenizer whose rows are shown."""
        self.rows: dict[int, bytes] = {}
        self._browse: tuple[str, tuple[str, bool]] | None = None
        """The tokenizer to search and its (kind, has merges), set by the pane."""
        self._key: tuple[str, str] | None = None
        self._detail_key: tuple[str, int] | None = None
        self._debounce: Timer | None = None

    @property
    def pending(self) -> bool:
        """Whether a search waits for the user to stop typing."""
        return self._debounce is not None

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

    # -- the workers ----------------------------------------------------------

    def browse(self, name: str, kind: tuple[str, bool]) -> None:
        """Search ``name``'s vocabulary (``kind``: its kind and whether it has
        merges) for the current query, unless that search is shown already."""
        self._browse = (name, kind)
        self.search()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "vocab-search":
            return
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.15, self.search)

    def search(self) -> None:
        self._debounce = None
        if self._browse is None:
            return
        key = (self._browse[0], self.query_text)
        if key == self._key:
            return
        self._key = key
        self.run_worker(lambda: self._search_job(key), thread=True, exclusive=True,
                        group="tok-vocab", exit_on_error=False, description="search vocab")

    def _search_job(self, key: tuple[str, str]) -> None:
        name, query = key
        try:
            rows = [(int(i), bytes(b)) for i, b in svc.vocab(name, query, VOCAB_LIMIT + 1)]
        except Exception as exc:  # noqa: BLE001 - shown in the view, the pane stays alive
            self.post_message(self.Found(key, [], ui(describe_error(exc))))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Found(key, rows))

    def on_vocab_view_found(self, event: Found) -> None:
        event.stop()
        name, query = event.key
        if event.error:
            self._key = None  # let the same search run again
            self.show_message(Text(f"{ui(name)}: {event.error}"))
            self.notify(event.error, title=ui(name), severity="error", markup=False)
            return
        if event.key != self._key:
            return
        rows = event.rows[:VOCAB_LIMIT]
        if not rows:
            self._detail_key = None  # a late merge lookup must not fill the detail
        self.show_rows(name, rows, len(event.rows) > VOCAB_LIMIT, query)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if (event.data_table.id != "vocab-table" or event.row_key is None
                or event.row_key.value is None):  # None: a cleared table (cursor_row -1)
            return
        event.stop()
        name = self.tokenizer
        token_id = int(event.row_key.value)
        data = self.rows.get(token_id, b"")
        head = Text()
        head.append(f"{ui(name)} ", style="bold")
        head.append("id ")
        head.append(str(token_id), style="bold")
        head.append(" · ")
        head.append_text(chip(data))
        head.append(f" · {len(data)} byte{'s' if len(data) != 1 else ''}: ")
        head.append(hex_bytes(data), style="italic")
        key = (name, token_id)
        self._detail_key = key
        kind = self._browse[1] if self._browse and self._browse[0] == name else ("", True)

        def lookup() -> None:
            text = formed_text(head, name, kind, token_id, data)
            if not get_current_worker().is_cancelled:
                self.post_message(self.Formed(key, text))

        self.run_worker(lookup, thread=True, exclusive=True, group="tok-detail",
                        exit_on_error=False, description="merge info")

    def on_vocab_view_formed(self, event: Formed) -> None:
        event.stop()
        if event.key == self._detail_key:
            self.show_detail(event.text)

    # -- drawing --------------------------------------------------------------

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
