"""A modal listing every tokenizer the registry knows, and why some are missing."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from genai_tui.service.tokenize import TokenizerInfo


class RegistryScreen(ModalScreen[None]):
    """Name, kind, vocabulary size and availability of each tokenizer."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("ctrl+l", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    RegistryScreen { align: center middle; }
    RegistryScreen > Vertical {
        width: 95%; max-width: 120; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    RegistryScreen DataTable { height: auto; max-height: 20; }
    """

    def __init__(self, infos: list[TokenizerInfo]) -> None:
        super().__init__()
        self._infos = infos

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Tokenizers on this machine", style="bold"))
            table: DataTable[Text] = DataTable(cursor_type="row", id="registry-table")
            yield table
            yield Static(Text("Esc closes this list.", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "kind", "vocab", "status", "about")
        if not self._infos:
            table.add_row(Text("(still loading)"), Text(""), Text(""), Text(""), Text(""))
        for info in self._infos:
            status = (
                Text("available", style="green")
                if info.available
                else Text(f"unavailable: {info.reason}", style="yellow")
            )
            size = f"{info.vocab_size:,}" if info.vocab_size else "–"
            table.add_row(
                Text(info.name, style="bold"), Text(info.kind), Text(size, justify="right"),
                status, Text(info.description),
            )
        table.focus()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
