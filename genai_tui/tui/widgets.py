"""Small widgets shared by several panes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Footer as TextualFooter
from textual.widgets import Static


class ViewBar(Static):
    """A pane's numbered view names, the current one highlighted; click one to
    switch. Below `narrow_below` columns the short titles are used."""

    class Picked(Message):
        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    def __init__(self, views: Sequence[str], titles: Mapping[str, str],
                 short_titles: Mapping[str, str] | None = None, narrow_below: int = 96,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self._views = tuple(views)
        self._titles = titles
        self._short = short_titles or titles
        self._narrow_below = narrow_below

    def show(self, current: str, width: int | None = None) -> None:
        titles = self._short if width is not None and width < self._narrow_below else self._titles
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, view in enumerate(self._views):
            style = "bold reverse" if view == current else ""
            start = len(text)
            text.append(f" {i + 1} ", style=style or "dim")
            text.append(titles[view] + " ", style=style)
            text.apply_meta({"view": view}, start, len(text))
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        view = event.style.meta.get("view")
        if view:
            event.stop()
            self.post_message(self.Picked(view))


class Footer(TextualFooter):
    """Textual's footer without its leak.

    Each recompose (every focus change that changes the bindings on show)
    binds its new keys to the footer's ``compact`` with ``data_bind``; Textual
    drops watchers of removed nodes only when the watched value changes, and
    ``compact`` never does, so every key ever shown stayed alive with its
    styles and caches: ~11 keys per Tab press, 668 after 60 (found through the
    monkey's memory growth). Prune them after each recompose.
    """

    async def recompose(self) -> None:
        await super().recompose()
        watchers = getattr(self, "__watchers", None)
        if watchers:
            for name, entries in watchers.items():
                watchers[name] = [(node, callback) for node, callback in entries
                                  if not (node._closing or node._closed)]
