"""The tokenizer pane's stats bar: for one tokenization, the tokens,
characters, bytes and characters per token (and, comparing, how many more or
fewer tokens than the other tokenizer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.widget import Widget

from genai_tui.tui.panes.tokenizer.explain import ui


@dataclass(frozen=True)
class Counts:
    """What the stats bar shows for one tokenization."""

    name: str
    count: int
    chars: int
    bytes: int
    seconds: float

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.count if self.count else 0.0


class StatsBar(Widget):
    """Counts for one token view: tokens, characters, bytes, chars/token."""

    show_timing: ClassVar[bool] = True
    """Show how long tokenizing took (snapshot tests turn it off)."""

    DEFAULT_CSS = """
    StatsBar { height: 1; padding: 0 1; background: $boost; }
    StatsBar.-error { color: $text-error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: tuple[str, Any] = ("message", "loading tokenizers…")

    def show_result(self, result: Counts, versus: Counts | None = None) -> None:
        """Show the counts; ``versus`` (the other side in compare mode) adds
        how many more or fewer tokens this tokenizer needs."""
        self._state = ("result", (result, versus))
        self.remove_class("-error")
        self.refresh()

    def show_message(self, message: str, error: bool = False) -> None:
        self._state = ("message", message)
        self.set_class(error, "-error")
        self.refresh()

    def render(self) -> Text:
        kind, value = self._state
        if kind == "message":
            return Text(ui(value), no_wrap=True, overflow="ellipsis")
        result, versus = value
        wide = self.size.width >= 70
        out = Text(no_wrap=True, overflow="ellipsis")
        if wide:
            out.append(f"{ui(result.name)} · ", style="bold")
        out.append(f"{result.count:,}", style="bold")
        out.append(" tokens" if wide else " tok")
        if versus is not None and versus.count:
            change = (result.count - versus.count) / versus.count * 100
            out.append(f" ({change:+.0f}%)", style="green" if change < 0 else "yellow")
        out.append(" · ")
        out.append(f"{result.chars_per_token:.2f}", style="bold")
        out.append(" chars/token" if wide else " ch/tok")
        out.append(" · ")
        out.append(f"{result.chars:,}", style="bold")
        out.append(" chars" if wide else " ch")
        out.append(" · ")
        out.append(f"{result.bytes:,}", style="bold")
        out.append(" bytes" if wide else " B")
        if wide and self.show_timing:
            out.append(f" · {result.seconds * 1000:,.0f} ms", style="dim")
        return out
