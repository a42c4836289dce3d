"""BPE merge replay: the user's text from raw bytes to final tokens, one
merge at a time.

Owns its worker (`service.tokenize.replay` on the first `REPLAY_CHARS`
characters), which runs when the pane calls `start`; a result for a text or
tokenizer that changed meanwhile is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Static
from textual.worker import get_current_worker

from genai_tui.service import tokenize as svc
from genai_tui.service.tokenize import ReplayStep
from genai_tui.tui.pane import describe_error
from genai_tui.tui.panes.tokenizer.explain import (
    CHIP,
    CHIP_NEW,
    CHIP_RIGHT,
    chip,
    replay_bytes_map,
    token_bytes,
    ui,
)
from genai_tui.tui.panes.tokenizer.layout import TokenCells
from genai_tui.tui.panes.tokenizer.token_view import TokenView

REPLAY_CHARS = min(2_000, getattr(svc, "REPLAY_MAX_CHARS", 2_000))
"""The replay runs on the first this-many characters (each step keeps the
whole token sequence, and the merge loop is plain Python)."""


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

    class Ready(Message):
        """The replay worker's steps for (version, name), or why it failed."""

        def __init__(self, key: tuple[int, str], steps: list[ReplayStep],
                     known: dict[int, bytes], truncated_from: int, error: str = "") -> None:
            super().__init__()
            self.key, self.steps, self.known = key, steps, known
            self.truncated_from, self.error = truncated_from, error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps: list[ReplayStep] = []
        self.known: dict[int, bytes] = {}
        self.tokenizer = ""
        self.note = ""
        self.final_ids: list[int] | None = None
        self._key: tuple[int, str] | None = None
        """(text version, tokenizer) of the replay shown."""
        self._wanted: tuple[int, str] | None = None
        """(text version, tokenizer) of the replay being computed."""
        self._tokens: tuple[int, str, list[int]] | None = None
        """The encoder's latest output: (text version, tokenizer, ids)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="replay-bar"):
            yield Button("⏮ First", id="replay-first", compact=True)
            yield Button("◀ Prev", id="replay-prev", compact=True)
            yield Button("Next ▶", id="replay-next", compact=True)
            yield Button("Last ⏭", id="replay-last", compact=True)
            yield Static("", id="replay-pos")
        yield Static(Text("Show this view to replay the merges on your text."), id="replay-merge")
        yield TokenView(selectable=False, empty_text="(no replay yet)", id="replay-tokens")

    # -- the worker ---------------------------------------------------------

    def start(self, name: str, text: str, version: int, info: svc.TokenizerInfo | None,
              bpe_names: list[str]) -> None:
        """Replay ``name``'s merges on ``text`` (version ``version`` of the pane's
        text) unless that replay is shown or on its way; ``bpe_names`` are
        suggested when ``name`` has no merges."""
        key = (version, name)
        if key == self._key or key == self._wanted:
            return
        self._wanted = key
        if info is not None and not getattr(info, "has_merges", True):
            self._key, self._wanted = key, None
            self.show_message(Text(
                f"{ui(name)} has no merges to replay: it is a {ui(info.kind)} tokenizer. "
                f"Pick a BPE tokenizer ({ui(', '.join(bpe_names)) or 'none available'}) "
                "in the menu above or with F8.", style="italic",
            ))
            return
        if not self.steps:
            self.show_message(Text(f"Replaying {ui(name)}'s merges on your text…",
                                   style="italic"))
        self.run_worker(lambda: self._replay_job(key, text), thread=True, exclusive=True,
                        group="tok-replay", exit_on_error=False,
                        description=f"replay {name} merges")

    def _replay_job(self, key: tuple[int, str], text: str) -> None:
        worker = get_current_worker()
        name = key[1]
        cut = text[:REPLAY_CHARS]
        try:
            steps = list(svc.replay(cut, name))
            if worker.is_cancelled:
                return
            known = replay_bytes_map(steps, cut.encode("utf-8", "surrogatepass"))
            for step in steps[-1:]:
                for token_id in set(step.ids) - known.keys():
                    found = token_bytes(name, token_id)
                    if found is not None:
                        known[token_id] = found
        except Exception as exc:  # noqa: BLE001 - shown in the view, the pane stays alive
            self.post_message(self.Ready(key, [], {}, 0, ui(describe_error(exc))))
            return
        if not worker.is_cancelled:
            truncated_from = len(text) if len(text) > len(cut) else 0
            self.post_message(self.Ready(key, steps, known, truncated_from))

    def on_replay_view_ready(self, event: Ready) -> None:
        event.stop()
        if event.key != self._wanted:
            return
        version, name = event.key
        if event.error:
            self.show_message(Text(f"{ui(name)}: {event.error}", style="italic"))
            self.notify(event.error, title=ui(name), severity="error", markup=False)
            return
        if not event.steps:
            self._key = event.key
            self.show_message(Text(f"{ui(name)} has no merges to replay.", style="italic"))
            return
        note = ""
        if event.truncated_from:
            note = (f"Replaying the first {REPLAY_CHARS:,} of {event.truncated_from:,} "
                    "characters.")
        final_ids = None
        if not event.truncated_from and self._tokens is not None \
                and self._tokens[:2] == event.key:
            final_ids = self._tokens[2]
        same_tokenizer = self._key is not None and self._key[1] == name
        self.set_replay(name, event.steps, event.known, note, final_ids,
                        keep_position=same_tokenizer)
        self._key = event.key

    def tokens_ready(self, version: int, name: str, ids: list[int], whole_text: bool) -> None:
        """The encoder tokenized version ``version`` with ``name`` (``whole_text``: the
        text fits the replay), so the last step can be checked against its ids."""
        self._tokens = (version, name, ids)
        if self.steps and self._key == (version, name) and whole_text:
            self.set_final_ids(ids)

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
