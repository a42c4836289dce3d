"""BPE merge replay: the user's text from raw bytes to final tokens, one
merge at a time."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Button, Static

from genai_tui.service.tokenize import ReplayStep
from genai_tui.tui.panes.tokenizer.explain import CHIP, CHIP_NEW, CHIP_RIGHT, chip, ui
from genai_tui.tui.panes.tokenizer.layout import TokenCells
from genai_tui.tui.panes.tokenizer.token_view import TokenView


class ReplayView(Vertical, can_focus=True):
    """Step through a replay with ←/→ (Home/End: first/last) or the buttons."""

    BINDINGS = [
        Binding("left", "step(-1)", "Previous merge", show=False),
        Binding("right", "step(1)", "Next merge", show=False),
        Binding("shift+left", "step(-10)", "Back 10 merges", show=False),
        Binding("shift+right", "step(10)", "Forward 10 merges", show=False),
        Binding("home", "first", "Raw bytes", show=False),
        Binding("end", "last", "Final tokens", show=False),
        Binding("up", "scroll_tokens(-1)", "Scroll up", show=False),
        Binding("down", "scroll_tokens(1)", "Scroll down", show=False),
    ]
    DEFAULT_CSS = """
    ReplayView { height: 1fr; }
    ReplayView:focus-within #replay-bar { background: $boost; }
    ReplayView:focus #replay-pos { text-style: bold; }
    #replay-bar { height: 1; }
    #replay-bar Button { margin-right: 1; min-width: 8; }
    #replay-pos { width: 1fr; padding-left: 1; content-align: left middle; }
    #replay-merge { height: auto; max-height: 3; padding: 0 1; }
    """

    index: reactive[int] = reactive(0, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps: list[ReplayStep] = []
        self.known: dict[int, bytes] = {}
        self.tokenizer = ""
        self.note = ""
        self.final_ids: list[int] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="replay-bar"):
            yield Button("⏮ First", id="replay-first", compact=True)
            yield Button("◀ Prev", id="replay-prev", compact=True)
            yield Button("Next ▶", id="replay-next", compact=True)
            yield Button("Last ⏭", id="replay-last", compact=True)
            yield Static("", id="replay-pos")
        yield Static(Text("Show this view to replay the merges on your text."), id="replay-merge")
        yield TokenView(selectable=False, empty_text="(no replay yet)", id="replay-tokens")

    # -- data -------------------------------------------------------------

    def show_message(self, message: Text | str) -> None:
        """Show a message instead of a replay (loading, not a BPE, error)."""
        self.steps = []
        self.query_one("#replay-pos", Static).update("")
        self.query_one("#replay-merge", Static).update(
            message if isinstance(message, Text) else Text(message)
        )
        self.query_one("#replay-tokens", TokenView).set_cells(None)

    def set_replay(
        self,
        tokenizer: str,
        steps: Sequence[ReplayStep],
        known: dict[int, bytes],
        note: str = "",
        final_ids: list[int] | None = None,
        keep_position: bool = False,
    ) -> None:
        """Show a new replay, at the raw bytes (or at the same step when
        ``keep_position`` and the new replay is as long)."""
        self.tokenizer = tokenizer
        self.steps = list(steps)
        self.known = known
        self.note = note
        self.final_ids = final_ids
        start = self.index if keep_position else 0
        self.set_reactive(ReplayView.index, max(0, min(start, len(self.steps) - 1)))
        self._show()

    def set_final_ids(self, final_ids: list[int]) -> None:
        """The encoder's output for the same text (the last step is checked against it)."""
        self.final_ids = final_ids
        if self.steps and self.index == len(self.steps) - 1:
            self._show()

    def _label_bytes(self, token_id: int) -> bytes:
        return self.known.get(token_id, f"#{token_id}".encode())

    def _show(self) -> None:
        if not self.steps:
            return
        step = self.steps[self.index]
        last = len(self.steps) - 1
        new_id = step.new_id
        positions = getattr(step, "positions", ())
        marks = frozenset(positions) if positions else frozenset(
            n for n, token_id in enumerate(step.ids) if new_id is not None and token_id == new_id
        )
        cells = TokenCells.build(step.ids, [self._label_bytes(i) for i in step.ids], marks=marks)
        view = self.query_one("#replay-tokens", TokenView)
        view.set_cells(cells, keep_cursor=False)
        if marks:
            view.scroll_to_token(min(marks))
        pos = Text()
        pos.append(f"merge {self.index:,} of {last:,}", style="bold")
        pos.append(f" · {len(step.ids):,} tokens · {ui(self.tokenizer)}")
        self.query_one("#replay-pos", Static).update(pos)
        self.query_one("#replay-merge", Static).update(self._describe(step, marks))
        for button_id, disabled in (
            ("#replay-first", self.index == 0),
            ("#replay-prev", self.index == 0),
            ("#replay-next", self.index == last),
            ("#replay-last", self.index == last),
        ):
            self.query_one(button_id, Button).disabled = disabled

    def _describe(self, step: ReplayStep, marks: frozenset[int]) -> Text:
        out = Text()
        if step.merged is None or step.new_id is None:
            out.append("Raw bytes: ", style="bold")
            out.append(f"one token per UTF-8 byte ({len(step.ids):,}). ")
            out.append("Press → (or Next) to apply the first merge.")
        else:
            previous = len(self.steps[self.index - 1].ids) if self.index else len(step.ids)
            left, right = step.merged
            rank = "?" if step.rank is None else f"{step.rank:,}"
            out.append(f"rank {rank}: ", style="bold")
            out.append_text(chip(self._label_bytes(left), CHIP))
            out.append(" + ")
            out.append_text(chip(self._label_bytes(right), CHIP_RIGHT))
            out.append(" → ")
            out.append_text(chip(self._label_bytes(step.new_id), CHIP_NEW))
            places = "place" if len(marks) == 1 else "places"
            out.append(f" (id {step.new_id}) at {len(marks):,} {places}")
            out.append(f" · {previous:,} → {len(step.ids):,} tokens")
        if self.index == len(self.steps) - 1 and len(self.steps) > 1:
            out.append("\nNo pair left that has a merge: these are the final tokens.")
            if self.final_ids is not None:
                same = list(step.ids) == list(self.final_ids)
                out.append(
                    " ✓ same as the encoder's output." if same else " (the encoder differs here.)",
                    style="green" if same else "yellow",
                )
        if self.note:
            out.append(f"\n{self.note}", style="italic")
        return out

    # -- navigation -------------------------------------------------------

    def watch_index(self) -> None:
        self._show()

    def action_step(self, delta: int) -> None:
        if self.steps:
            self.index = max(0, min(len(self.steps) - 1, self.index + delta))

    def action_first(self) -> None:
        if self.steps:
            self.index = 0

    def action_last(self) -> None:
        if self.steps:
            self.index = len(self.steps) - 1

    def action_scroll_tokens(self, delta: int) -> None:
        view = self.query_one("#replay-tokens", TokenView)
        view.scroll_relative(y=delta * view.rows_per_line, animate=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "replay-first": self.action_first,
            "replay-prev": lambda: self.action_step(-1),
            "replay-next": lambda: self.action_step(1),
            "replay-last": self.action_last,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            action()
