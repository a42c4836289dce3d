"""Small widgets shared by several panes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Footer as TextualFooter
from textual.widgets import Static

Choice = tuple[str, str, str]
"""(value, title, key hint) of one `ViewBar` entry; the key may be ""."""


def numbered(values: Sequence[str], titles: Mapping[str, str]) -> list[Choice]:
    """`ViewBar` choices for a pane's views on the number keys 1, 2, 3..."""
    return [(value, titles[value], str(i + 1)) for i, value in enumerate(values)]


class ViewBar(Static):
    """A one-line row of choices (a pane's views, a tool's modes), the current one
    highlighted; click one to pick it. Below `narrow_below` columns of its own
    width the short titles are used."""

    DEFAULT_CSS = "ViewBar { height: 1; width: 1fr; }"

    class Picked(Message):
        """The user clicked ``value`` in ``bar`` (the bar already shows it)."""

        def __init__(self, bar: ViewBar, value: str) -> None:
            super().__init__()
            self.bar = bar
            self.value = value

        @property
        def control(self) -> ViewBar:
            return self.bar

    def __init__(self, choices: Sequence[Choice], value: str, *,
                 short_titles: Mapping[str, str] | None = None, prefix: str = "",
                 narrow_below: int = 96, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.choices = list(choices)
        self.value = value
        self.prefix = prefix
        self._short = short_titles or {}
        self._narrow_below = narrow_below

    def on_mount(self) -> None:
        self.refresh_bar()

    def on_resize(self) -> None:
        self.refresh_bar()

    def set_value(self, value: str) -> None:
        self.value = value
        self.refresh_bar()

    def refresh_bar(self) -> None:
        narrow = bool(self._short) and (self.size.width or 80) < self._narrow_below
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.prefix:
            text.append(self.prefix, style="dim")
        for value, title, key in self.choices:
            style = "bold reverse" if value == self.value else ""
            start = len(text)
            if key:
                text.append(f" {key} ", style=style or "dim")
            else:
                text.append(" ")
            text.append((self._short.get(value, title) if narrow else title) + " ",
                        style=style)
            text.apply_meta({"choice": value}, start, len(text))
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        value = event.style.meta.get("choice")
        if value is not None:
            event.stop()
            self.set_value(value)
            self.post_message(self.Picked(self, value))


class Footer(TextualFooter):
    """Textual's footer without its leak.

    Each recompose (every focus change that changes the bindings on show)
    binds its new keys to the footer's ``compact`` with ``data_bind``; Textual
    drops watchers of removed nodes only when the watched value changes, and
    ``compact`` never does, so every key ever shown stayed alive with its
    styles and caches: ~11 keys per Tab press, 668 after 60 (found through the
    monkey's memory growth). Prune them after each recompose.

    A compact footer also ran a key group's label into the next key
    ("w±f8 Sampler"): the label keeps one cell after it.
    """

    DEFAULT_CSS = """
    Footer.-compact FooterLabel {
        margin: 0 1 0 0;
    }
    """

    async def recompose(self) -> None:
        await super().recompose()
        watchers = getattr(self, "__watchers", None)
        if watchers:
            for name, entries in watchers.items():
                watchers[name] = [(node, callback) for node, callback in entries
                                  if not (node._closing or node._closed)]
