"""Fitting the app to the terminal it runs in: ASCII only, no colour, a frame-rate cap.

Textual applies an app's line filters to every widget's lines (its own
widgets included, and screenshots), so one filter is enough to hold
`--ascii` everywhere and one to strip colour under ``NO_COLOR``. The
renderers that know better (images, heatmaps, charts) read
`genai_tui.display.current()` and draw ASCII or glyph cues themselves; the
filter folds whatever is left (borders, Textual's scrollbars and tabs).
"""

from __future__ import annotations

import os

from rich.segment import Segment
from textual import screen as textual_screen
from textual.color import Color
from textual.filter import LineFilter, Monochrome, NoColor

from genai_tui import display
from genai_tui.display import fold

SSH_FPS = 20
"""Repaints per second over SSH when `--fps` is not given (each repaint is bytes on the wire)."""


class AsciiFilter(LineFilter):
    """Every character drawn becomes printable ASCII, cell for cell."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [seg if control or text.isascii() else Segment(fold(text), style, control)
                for seg in segments for text, style, control in (seg,)]


def over_ssh(environ: os._Environ | dict = os.environ) -> bool:
    return bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"))


def set_fps(fps: float) -> None:
    """Cap repaints: Textual batches every refresh into a screen timer of this period."""
    if not 1 <= fps <= 120:
        from genai_tui.errors import UserError

        raise UserError(f"--fps must be between 1 and 120, got {fps:g}")
    textual_screen.UPDATE_PERIOD = 1 / fps


def fit_app(app, *, ascii: bool, depth: str | None, fps: float | None) -> display.Display:
    """Set the process's display profile and the app's filters (call in `App.__init__`)."""
    no_color = getattr(app, "no_color", False) or depth == "mono"
    if no_color:
        # Textual's own NO_COLOR filter turns colours grey; NO_COLOR means none.
        app._filters[:] = [f for f in app._filters if not isinstance(f, (Monochrome, NoColor))]
        app._filters.append(NoColor())
    if ascii:
        app._filters.append(AsciiFilter())
    if depth is None:
        depth = display.depth_of(app.console.color_system, no_color)
    elif no_color:
        depth = "mono"
    if fps is None and over_ssh():
        fps = SSH_FPS
    if fps is not None:
        set_fps(fps)
    app.max_fps = fps
    return display.configure(depth=depth, ascii=ascii)  # type: ignore[arg-type]
