"""Widgets of the GAN pane: the map (points over D's decision shade, or sample
images) and the braille charts. They only draw what the pane hands them."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from genai_tui.images.charts import Row, line_chart_rows, scatter_map_rows
from genai_tui.images.render import ImageGrid
from genai_tui.service.gan import ImagesView, PointsView


class _RowsWidget(Widget):
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


class MapView(_RowsWidget, can_focus=True):
    """2-D mode: real (``•``) and generated (``×``) points over the discriminator's
    decision map. Image mode: a grid of samples from a fixed z."""

    DEFAULT_CSS = """
    MapView { height: 1fr; width: 1fr; }
    MapView:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._view: PointsView | ImagesView | None = None
        self._message: Text | None = Text("⏳ Loading torch and building the GAN…", "bold")

    def show_message(self, text: Text) -> None:
        self._message = text
        self._rows_key = None
        self.refresh()

    def set_view(self, view: PointsView | ImagesView | None) -> None:
        self._view = view
        self._message = None
        self._rows_key = None
        self.refresh()

    def rows(self) -> list[Row] | None:
        view = self._view
        if self._message is not None or not isinstance(view, PointsView):
            return None
        key = id(view)
        if self._rows_key != key:
            self._rows = scatter_map_rows(view.decision, view.box, view.real, view.fake)
            self._rows_key = key
        return self._rows

    @property
    def view(self) -> PointsView | ImagesView | None:
        return self._view

    def render(self) -> RenderableType:
        if self._message is not None or self._view is None:
            return self._message or Text("")
        view = self._view
        if isinstance(view, ImagesView):
            return sample_grid(view.images, self.size.width, self.size.height)
        return Text("")


def sample_grid(images: np.ndarray, width: int, height: int) -> RenderableType:
    """As many samples as fit; 28x28 tiles, or 14x14 (2x2 averaged) when fewer than
    six full-size tiles fit (e.g. at 80x24)."""
    if len(images) == 0:
        return Text("")
    for factor in (1, 2):
        tile_w, tile_h = 28 // factor, 14 // factor
        ncol = max(1, (width + 1) // (tile_w + 1))
        nrow = max(1, (height + 1) // (tile_h + 1))
        if ncol * nrow >= 6 or factor == 2:
            break
    imgs = images
    if factor == 2:
        n, h, w = imgs.shape
        imgs = imgs.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    count = min(len(imgs), ncol * nrow)
    return ImageGrid(imgs[:count], ncol=min(ncol, count), gap=1)


class ChartView(_RowsWidget):
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
