"""The generate pane's one-line bars: `TextBar`, and the clickable `StatusBar`
(runs, knob set) and `Legend` (the probability colour key); `set_plain_title`
for the views' border titles.

What they show is built in `status.py` and `render.legend`; these widgets only
repaint it and turn clicks into messages.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget


def set_plain_title(widget: Widget, title: str) -> None:
    """Set a border title as plain text: a str would be parsed as markup, and
    titles carry model text (a token ``[red]`` must show as ``[red]``)."""
    if getattr(widget, "_title_plain", None) != title:
        widget._title_plain = title  # type: ignore[attr-defined]
        widget.border_title = Text(title)


class TextBar(Widget):
    """A one-line bar showing a `Text` (repaints without a layout pass)."""

    DEFAULT_CSS = "TextBar { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()

    def set_text(self, text: Text) -> None:
        if text.plain != self._text.plain or text.spans != self._text.spans:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        return self._text


class StatusBar(TextBar):
    """Runs (click to show one), what the pane is doing, and the knob set being edited."""

    class RunClicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class SetClicked(Message):
        pass

    def on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "run" in meta:
            event.stop()
            self.post_message(self.RunClicked(int(meta["run"])))
        elif meta.get("set"):
            event.stop()
            self.post_message(self.SetClicked())


class Legend(TextBar):
    """The probability colour key; a click toggles the probability digits."""

    class Clicked(Message):
        pass

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked())
