"""The base class every pane derives from."""

from __future__ import annotations

from typing import ClassVar

from textual.containers import Container


class Pane(Container):
    """One tab of the app: a concept shown with a live model.

    Subclasses set `PANE_ID`, `TITLE` and `HELP` (Markdown, a few lines
    explaining the concept; shown by F1/?). Their `BINDINGS` with a
    description also appear in the command palette. Heavy loading (torch,
    weights) belongs in a worker started from `on_pane_first_show`, so the app
    paints before any model loads.
    """

    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    _shown_once: bool = False

    def pane_shown(self) -> None:
        """Called by the app each time this pane's tab becomes active."""
        if not self._shown_once:
            self._shown_once = True
            self.on_pane_first_show()

    def on_pane_first_show(self) -> None:
        """Start loading what the pane needs (override; runs once)."""
