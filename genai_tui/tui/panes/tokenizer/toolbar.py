"""The tokenizer pane's two bars: the toolbar (the tokenizer menus, the list
button, Compare) and the view bar (Tokens / Replay / Vocab buttons and the
current view's key hint). The pane handles their buttons and menus."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Static

from genai_tui.tui.panes.tokenizer.tokenizer_select import TokenizerSelect

VIEWS: dict[str, str] = {"tokens": "Tokens F4", "replay": "Replay F5", "vocab": "Vocab F6"}
"""The views and their buttons' labels."""
HINTS: dict[str, str] = {
    "tokens": "Tab to tokens · ←→↑↓ select · click · i ids",
    "replay": "←→ one merge · Home/End · shift+←→ ten",
    "vocab": "type to search · ↑↓ a row",
}
"""The keys of each view, shown at the right of the view bar."""


class Toolbar(Horizontal):
    """Tokenizer A, the list button, Compare, tokenizer B (shown when comparing)."""

    def compose(self) -> ComposeResult:
        yield Static("Tokenizer")
        yield TokenizerSelect(id="tok-select-a")
        info = Button("ⓘ", id="tok-list", compact=True, tooltip="All tokenizers (ctrl+l)")
        info.can_focus = False
        yield info
        yield Checkbox("Compare", id="tok-compare", compact=True)
        yield TokenizerSelect(id="tok-select-b")


class ViewButtons(Horizontal):
    """One button per view (``view-<name>``), the current one marked, and its hint."""

    def compose(self) -> ComposeResult:
        for name, label in VIEWS.items():
            button = Button(label, id=f"view-{name}", compact=True)
            button.can_focus = False  # F4-F6 or a click; Tab goes text -> tokens
            button.set_class(name == "tokens", "-current")
            yield button
        yield Static(Text(HINTS["tokens"]), id="tok-hint")

    def set_current(self, view: str) -> None:
        for name in VIEWS:
            self.query_one(f"#view-{name}", Button).set_class(name == view, "-current")
        self.query_one("#tok-hint", Static).update(Text(HINTS[view]))
