"""Widgets that draw precomputed rows through the line API: braille line charts
(`ChartView`, the GAN and Train panes' curves) and `TextLine`, a status line
that repaints without a layout pass."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from genai_tui.images.charts import Row, line_chart_rows


class RowsWidget(Widget):
    """Draws precomputed rows of segments through the line API: no Rich-to-Content
    conversion of hundreds of styled spans per frame (that took ~15 ms a widget)."""

    _rows: list[Row] | None = None
    _rows_key: object = None
    _base: Style | None = None

    def rows(self) -> list[Row] | None:
        """Rows for the current size, or None to fall back to `render`."""
        return None

    def render_line(self, y: int) -> Strip:
        rows = self.rows()
        if rows is None:
            return super().render_line(y)
        width = self.size.width
        if y == 0 or self._base is None:
            self._base = self.rich_style  # ~0.4 ms each: once per frame, not per line
        base = self._base
        if y >= len(rows):
            return Strip.blank(width, base)
        return Strip(rows[y]).adjust_cell_length(width, base).apply_style(base)


class ChartView(RowsWidget):
    """A braille line chart of a few series that scrolls over the last ``window`` points."""

    DEFAULT_CSS = """
    ChartView { height: 1fr; min-height: 2; }
    """

    def __init__(self, y_range: tuple[float, float] | None = None, window: int = 2000,
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.y_range = y_range
        self.window = window
        self._series: list[tuple[Sequence[float] | np.ndarray, str | Style]] = []

    def set_series(self, series: list[tuple[Sequence[float] | np.ndarray, str | Style]]) -> None:
        self._series = series
        self._version = getattr(self, "_version", 0) + 1
        self.refresh()

    def rows(self) -> list[Row] | None:
        if not self._series or not any(len(v) for v, _ in self._series):
            return None
        key = (self._version, self.size.width, self.size.height)
        if self._rows_key != key:
            self._rows = line_chart_rows(self._series, self.size.width, self.size.height,
                                         y_range=self.y_range, window=self.window)
            self._rows_key = key
        return self._rows

    def render(self) -> RenderableType:
        return Text("no data yet", style="dim")


class TextLine(Widget):
    """One or two lines of styled text. `set_text` repaints without a layout pass
    (`Static.update` asks for one, which redoes the whole screen's layout)."""

    DEFAULT_CSS = """
    TextLine { height: 1; }
    """

    def __init__(self, text: Text | None = None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = text or Text("")
        self.rendered_at = 0.0

    @property
    def text(self) -> Text:
        return self._text

    def set_text(self, text: Text) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> RenderableType:
        self.rendered_at = time.perf_counter()  # when the text last reached the screen
        return self._text
