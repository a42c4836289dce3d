"""The base of the Transformer pane's language-model views (attention,
embeddings, positions, logit lens): each computes its result in its own worker
(the pane kit's `Computes`, so a superseded result is dropped), draws it with
`render.py`, and writes its part of the status line. The pane owns the model,
the input box and the keys, and tells the current view what they did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.containers import Container
from textual.message import Message
from textual.widgets import ContentSwitcher, Static

from genai_tui.tui.pane import Computes, Pane

PANE_TOKENS = 64
"""The attention and lens views look at the last this many tokens of the prompt."""

HINT = Style(color="grey50")
INFO = Style(color="grey85")
ERROR = Style(color="red", bold=True)


def message(text: str, style: Style | str = "bold") -> Text:
    return Text(text, style=style)


def put(static: Static, renderable: Text, message: bool = False) -> None:
    """Show a chart (as wide as it is: the board scrolls) or a message (wrapped
    to the board's width, so a long error is never cut off)."""
    static.set_class(message, "-message")
    static.update(renderable)


class LmView(Computes, Container):
    """One view of the Transformer pane (subclasses set `KIND` and `BOARD`)."""

    KIND: ClassVar[str] = ""
    BOARD: ClassVar[str] = ""
    """The id of the scrollable board that takes the focus."""
    DESCRIPTION: ClassVar[str] = ""
    """What the worker does ("computing attention"), for the worker list."""

    class Changed(Message):
        """A new result is drawn: the pane redraws the status line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lm: Any = None
        self.text = ""
        """The input the view computes from (the prompt, or the embeddings tool's)."""
        self.result: Any = None
        self.error = ""
        self._done = 0

    # computing ---------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a requested result has not arrived yet."""
        return self._done != self.latest_request(self.KIND)

    @property
    def answered(self) -> bool:
        """Whether any result (or error) has arrived yet."""
        return self._done > 0

    def recompute(self) -> None:
        """Start (or restart) this view's worker with the current model and input."""
        if self.lm is None:
            return  # computed when the model arrives (or its error is shown)
        self.compute(self.KIND, self.work(), self.DESCRIPTION)

    def work(self) -> Callable[[], Any]:
        """What the worker calls (runs off the UI thread; override)."""
        raise NotImplementedError

    def computed(self, kind: str, result: Any, error: str) -> None:
        self._done = self.latest_request(kind)
        self.error = error
        if result is not None:
            self.accept(result)
        self.draw()
        self.post_message(self.Changed())

    def accept(self, result: Any) -> None:
        """Take a new result (reset the selection to its default; override)."""
        self.result = result

    # drawing -----------------------------------------------------------------

    def draw(self) -> None:
        """Draw the result, or the error (override)."""

    def show_message(self, text: Text) -> None:
        """A message (loading, error) in place of the view's chart (override)."""

    def status(self, line: Text) -> bool:
        """Append this view's part of the status line; False when it has none."""
        return False

    def width(self) -> int:
        pane = self._pane()
        return max(40, (pane.size.width if pane else 0) or self.app.size.width)

    def height(self) -> int:
        switch = next((n for n in self.ancestors if isinstance(n, ContentSwitcher)), None)
        return max(8, (switch.size.height if switch else 0) or (self.app.size.height - 8))

    def _pane(self) -> Pane | None:
        return next((n for n in self.ancestors if isinstance(n, Pane)), None)

    def focus_board(self) -> None:
        self.query_one(f"#{self.BOARD}").focus()

    # keys the pane passes on (each view acts on those it has) -------------------

    def layer(self, step: int) -> None:
        """``[`` / ``]``."""

    def horizontal(self, step: int) -> None:
        """``←`` / ``→``."""

    def vertical(self, step: int) -> None:
        """``↑`` / ``↓``."""

    def clicked(self, meta: dict) -> None:
        """A click on a chart cell that carries ``meta``."""
