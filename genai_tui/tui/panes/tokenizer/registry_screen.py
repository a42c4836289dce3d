"""A modal listing every tokenizer the registry knows, and why some are missing."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from genai_tui.service.tokenize import TokenizerInfo
from genai_tui.tui.panes.tokenizer.explain import ui


def registry_text(infos: list[TokenizerInfo]) -> Text:
    """One paragraph per tokenizer: name, kind, size, and what it is or why
    it is missing (plain Text: paths and reasons come from the machine)."""
    out = Text()
    if not infos:
        out.append("The tokenizer list is still loading.", style="italic")
    for n, info in enumerate(infos):
        if n:
            out.append("\n")
        out.append("✓ " if info.available else "✗ ", style="green" if info.available else "red")
        out.append(ui(info.name), style="bold")
        size = f", {info.vocab_size:,} tokens" if info.vocab_size else ""
        out.append(f"  ({info.kind}{size})", style="dim")
        out.append(f"\n  {ui(info.description)}")
        if not info.available:
            out.append(f"\n  unavailable: {ui(info.reason)}", style="yellow")
    return out


class RegistryScreen(ModalScreen[None]):
    """Name, kind, vocabulary size and availability of each tokenizer."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("ctrl+l", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    RegistryScreen { align: center middle; }
    RegistryScreen > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, infos: list[TokenizerInfo]) -> None:
        super().__init__()
        self._infos = infos

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Tokenizers on this machine"
            # On the frame: the app's footer under a modal still lists the pane's
            # keys, and the closing line below needs scrolling at 80x24.
            scroll.border_subtitle = "Esc closes"
            yield Static(registry_text(self._infos), id="registry-list")
            yield Static(Text("Esc closes this list.", style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
