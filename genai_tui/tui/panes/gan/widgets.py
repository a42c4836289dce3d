"""The GAN pane's map: points over D's decision shade, or sample images. It only
draws what the pane hands it (the charts are `tui.charts.ChartView`)."""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType
from rich.text import Text

from genai_tui.images.charts import Row, scatter_map_rows
from genai_tui.images.render import ImageGrid
from genai_tui.service.gan import ImagesView, PointsView
from genai_tui.tui.charts import RowsWidget


class MapView(RowsWidget, can_focus=True):
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
