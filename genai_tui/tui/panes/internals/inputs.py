"""The Transformer pane's input row: one line for every view's text, with a
text per context (the prompt; each embedding tool with each source), the
label and placeholder of the current one, and the typing debounce. When typing
pauses (`DEBOUNCE`) or Enter is pressed it posts `InputRow.Settled`; the pane
recomputes the views that read that context."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from genai_tui.tui.textbox import SafeInput

DEBOUNCE = 0.35
"""Seconds of no typing before the view recomputes."""

DEFAULT_PROMPT = "The for statement iterates over the items of a list."
DEFAULT_INPUTS = {
    "prompt": DEFAULT_PROMPT,
    # the LM was trained on Python's documentation: Python words live in its table
    "neighbours:lm": "True",
    "analogy:lm": "functions - function + method",
    "map:lm": "True, False, None, int, float, str, list, dict, for, while, if",
    "similarity:lm": "list; tuple; dict; string; number; True",
    "neighbours:minilm": "China",
    "analogy:minilm": "king - man + woman",
    "map:minilm": "China, Japan, Russia, Moscow, Tokyo, banana, apple, grape, dog, cat",
    "similarity:minilm": "China; Japan; Russia; banana; Moscow; Tokyo; Ankara",
}
"""Input per context: the prompt, and each embedding tool with each source."""
PLACEHOLDERS = {
    "prompt": "type a prompt (Enter or pause to update)",
    "neighbours": "a word (MiniLM: word: list, of, candidates)",
    "analogy": "a - b + c, e.g. king - man + woman",
    "map": "words separated by commas",
    "similarity": "words or sentences separated by ; or ,",
}
LABELS = {"prompt": "Prompt›", "neighbours": "Word›", "analogy": "a-b+c›", "map": "Words›",
          "similarity": "Texts›"}


class InputRow(Horizontal):
    """The label and the one input box, remembering a text per context."""

    class Settled(Message):
        """The text of ``context`` is ready to compute (``submitted``: by Enter)."""

        def __init__(self, row: InputRow, context: str, submitted: bool) -> None:
            super().__init__()
            self.row, self.context, self.submitted = row, context, submitted

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = dict(DEFAULT_INPUTS)
        """The text of each context (the current one as typed so far)."""
        self.context = "prompt"
        self.typing = False
        """Typed and not computed yet: True until the pane has handled `Settled`."""
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(LABELS["prompt"], id="int-inlabel")
        yield SafeInput(self.texts["prompt"], placeholder=PLACEHOLDERS["prompt"],
                        id="int-input", compact=True)

    @property
    def input(self) -> SafeInput:
        return self.query_one("#int-input", SafeInput)

    def switch(self, new: str) -> None:
        """Save the input for the old context and show the new one's."""
        if new == self.context:
            return
        self.texts[self.context] = self.input.value
        self.context = new
        with self.input.prevent(Input.Changed):
            self.input.value = self.texts[new]
        tool = new.partition(":")[0]
        self.input.placeholder = PLACEHOLDERS[tool]
        self.query_one("#int-inlabel", Static).update(LABELS[tool])

    @on(Input.Changed, "#int-input")
    def _typed(self, event: Input.Changed) -> None:
        self.texts[self.context] = event.value
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, self._settle)
        self.typing = True

    @on(Input.Submitted, "#int-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._settle(submitted=True)

    def _settle(self, submitted: bool = False) -> None:
        self.post_message(self.Settled(self, self.context, submitted))
