"""The help screen (F1 or ?): the current pane's concept and its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, Static

from genai_tui.tui.pane import Pane


def _key_table(pane: Pane) -> str:
    rows = []
    for binding in pane.BINDINGS:
        if isinstance(binding, Binding):
            key, desc = binding.key, binding.description
        else:
            key, desc = binding[0], binding[2] if len(binding) > 2 else ""
        if desc:
            rows.append(f"| `{key}` | {desc} |")
    if not rows:
        return ""
    return "\n\n### Keys\n\n| key | action |\n|---|---|\n" + "\n".join(rows)


class HelpScreen(ModalScreen[None]):
    """Explains the concept behind the active pane."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("f1", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, pane: Pane | None) -> None:
        super().__init__()
        self._pane = pane

    def compose(self) -> ComposeResult:
        if self._pane is None:
            text = "# genai-tui\n\nNo pane is active."
        else:
            text = f"# {self._pane.TITLE}\n\n{self._pane.HELP}{_key_table(self._pane)}"
        text += (
            "\n\n### Everywhere\n\n| key | action |\n|---|---|\n"
            "| `F1` / `?` | this help |\n| `ctrl+p` | command palette |\n"
            "| `F2` / `F3` | previous / next pane |\n| `ctrl+q` | quit |"
        )
        with VerticalScroll():
            yield Markdown(text)
            yield Static("Esc closes this help.", classes="dim")
        yield Footer(compact=True, show_command_palette=False)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
