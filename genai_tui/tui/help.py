"""The help screen (F1 or ?): the current pane's concept and its keys."""

from __future__ import annotations

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from genai_tui.tui.keys import pane_key_rows
from genai_tui.tui.pane import Pane


def _md(label: str) -> str:
    # A key inside a Markdown code span: a backtick key needs a wider fence.
    return f"`` {label} ``" if "`" in label else f"`{label}`"


def _rows(rows: list[tuple[str, str]]) -> str:
    return "| key | action |\n|---|---|\n" + "\n".join(
        f"| {_md(key)} | {desc.replace('|', '/')} |" for key, desc in rows
    )


def _key_table(pane: Pane) -> str:
    typing, outside = pane_key_rows(pane.help_bindings())
    text = ""
    if typing:
        text += "\n\n### Keys that work anywhere, even while typing\n\n" + _rows(typing)
    if outside:
        text += (
            "\n\n### Keys outside a text box\n\n"
            "While a text box has focus these keys type into it; "
            "`Esc` leaves the text box (or `Tab` to another widget).\n\n" + _rows(outside)
        )
    return text


class HelpText(Static):
    """The help's Markdown, drawn by Rich as one widget.

    Textual's `Markdown` widget mounts a widget per block and table cell and
    parses in the loop's default executor: F1 took ~0.9 s on a busy two-core
    box, against ~0.36 s for this (benchmarks/README.md, the monkey). The
    text is ours (pane docs and key tables), so Rich's reading of it is all
    the markup there is."""

    def __init__(self, source: str) -> None:
        super().__init__(Markdown(source))
        self.source = source


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
        exports = (self._pane.EXPORTS if self._pane is not None else "") or "nothing"
        text += (
            "\n\n### Everywhere\n\n| key | action |\n|---|---|\n"
            "| `F1` | this help (`?` too, outside a text box) |\n"
            "| `Ctrl+P` | command palette |\n"
            "| `Ctrl+S` | save an SVG screenshot |\n"
            f"| `Ctrl+O` | export this pane's data: {exports} |\n"
            "| `F2` / `F3` | previous / next pane |\n| `Ctrl+Q` | quit |"
        )
        with VerticalScroll():
            yield HelpText(text)
            yield Static("Esc closes this help.", classes="dim")
        yield Footer(compact=True, show_command_palette=False)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
