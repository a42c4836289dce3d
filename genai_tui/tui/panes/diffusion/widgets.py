"""Widgets of the diffusion pane: an image panel that fits its area, the t slider,
and the alpha-bar plot with the current t marked. They only draw what the pane
hands them (numpy arrays and numbers); no torch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

SIGNAL_STYLE = Style(color="#5fd7ff", bold=True)
OTHER_STYLE = Style(color="#767676")
MARK_STYLE = Style(bgcolor="#875f00")


class ImagePanel(Widget):
    """Images (N, H, W) in [0, 1] as a half-block grid, at the largest scale that fits
    the widget; images that do not fit even at half size are left out."""

    DEFAULT_CSS = """
    ImagePanel { height: 1fr; width: 1fr; }
    """

    def __init__(self, message: str = "", *, max_scale: float = 2, ncol: int = 8,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_scale = max_scale
        self.ncol = ncol
        self.images: Any = None
        self.captions: list[str] | None = None
        self.caption_styles: list[Any] | None = None
        self._message: Text | None = Text(message, style="bold") if message else None

    def show(self, images: Any, captions: Sequence[str] | None = None,
             caption_styles: Sequence[Any] | None = None, ncol: int | None = None) -> None:
        """Show ``images``; ``ncol`` images per row at most."""
        self.images = images
        self.captions = list(captions) if captions is not None else None
        self.caption_styles = list(caption_styles) if caption_styles is not None else None
        if ncol is not None:
            self.ncol = ncol
        self._message = None
        self.refresh()

    def show_message(self, text: Text | str) -> None:
        self._message = Text(text) if isinstance(text, str) else text
        self.refresh()

    def render(self) -> RenderableType:
        if self._message is not None or self.images is None:
            return self._message or Text("")
        return fitted_grid(self.images, self.size.width, self.size.height, self.ncol,
                           self.captions, self.caption_styles, self.max_scale)


def fitted_grid(images: Any, width: int, height: int, ncol: int,
                captions: Sequence[str] | None = None,
                caption_styles: Sequence[Any] | None = None,
                max_scale: float = 2) -> RenderableType:
    """An `ImageGrid` at the largest scale that fits ``width`` x ``height`` cells,
    keeping only as many images as fit at half size when even that overflows."""
    from genai_tui.images.render import ImageGrid

    n = len(images)
    if n == 0:
        return Text("")
    grid = ImageGrid(images, ncol=min(ncol, n), captions=captions, fit=True,
                     max_scale=max_scale, max_height=max(height, 1),
                     caption_styles=caption_styles)
    scale, cols = grid.layout(max(width, 1), max(height, 1))
    if grid.height_at(scale, cols) > height and n > 1:
        nrows = grid.nrows(cols)
        per_row = (grid.height_at(scale, cols) - (nrows - 1)) // nrows
        rows = max(1, (height + 1) // (per_row + 1))
        if captions is None and rows * cols < n:  # leave a line for the note
            rows = max(1, height // (per_row + 1))
        keep = max(1, min(n, rows * cols))
        kept = list(captions)[:keep] if captions is not None else None
        # Say what is left out: a line under the grid when there is one, else
        # on the last caption.
        free = height - (rows * (per_row + 1) - 1) >= 1
        if keep < n and kept is not None and not free:
            kept[-1] = f"{kept[-1]} +{n - keep} more"
        grid = ImageGrid(images[:keep], ncol=min(cols, keep), captions=kept,
                         caption_styles=(list(caption_styles)[:keep]
                                         if caption_styles is not None else None),
                         scale=scale)
        if keep < n and (free or kept is None):
            note = Text(f"{keep} of {n} shown (a larger terminal shows more)", style="dim",
                        no_wrap=True, overflow="ellipsis")
            return Group(grid, note)
    return grid


class TSlider(Widget, can_focus=False):
    """A one-line slider over t = 0..T-1; click to jump."""

    DEFAULT_CSS = """
    TSlider { height: 1; width: 1fr; }
    """

    class Changed(Message):
        """The user clicked a new t."""

        def __init__(self, t: int) -> None:
            super().__init__()
            self.t = t

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.t = 0
        self.num_timesteps = 1000

    def set(self, t: int, num_timesteps: int) -> None:
        self.t, self.num_timesteps = t, num_timesteps
        self.refresh()

    def _track(self) -> tuple[int, int]:
        """(first column, width) of the track inside the widget."""
        label = len(self._suffix())
        return 2, max(4, self.size.width - 3 - label)

    def _suffix(self) -> str:
        return f" {self.t:>4}/{self.num_timesteps - 1}"

    def render(self) -> RenderableType:
        start, width = self._track()
        last = max(self.num_timesteps - 1, 1)
        pos = round(self.t / last * (width - 1))
        text = Text("t ", style="bold", no_wrap=True, overflow="crop")
        text.append("━" * pos, style=SIGNAL_STYLE)
        text.append("●", style="bold #ffaf00")
        text.append("─" * (width - pos - 1), style="dim")
        text.append(self._suffix(), style="bold")
        return text

    def on_click(self, event: events.Click) -> None:
        start, width = self._track()
        x = event.x - start
        if 0 <= x < width:
            event.stop()
            last = max(self.num_timesteps - 1, 1)
            self.post_message(self.Changed(round(x / max(width - 1, 1) * last)))


class AlphaBarPlot(Widget):
    """alpha-bar_t over t as a braille curve (the other schedule dimmed behind it),
    with the current t's column highlighted."""

    DEFAULT_CSS = """
    AlphaBarPlot { height: 1fr; width: 1fr; min-height: 3; }
    """

    LABEL_WIDTH = 5

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves: list[tuple[Any, Style]] = []
        self.t: int | None = None

    def set_curves(self, main: Any, other: Any | None = None) -> None:
        self.curves = ([(other, OTHER_STYLE)] if other is not None else []) + [
            (main, SIGNAL_STYLE)]
        self.refresh()

    def mark(self, t: int | None) -> None:
        self.t = t
        self.refresh()

    def render(self) -> RenderableType:
        if not self.curves:
            return Text("")
        return alpha_bar_chart(self.curves, self.size.width, self.size.height, self.t,
                               self.LABEL_WIDTH)


def alpha_bar_chart(curves: list[tuple[Any, Style]], width: int, height: int,
                    t: int | None, label_width: int = 5) -> Text:
    """`line_chart` of the curves on [0, 1] with column ``t`` highlighted."""
    from genai_tui.images.charts import line_chart

    width, height = max(width, label_width + 4), max(height, 1)
    text = line_chart(curves, width, height, y_range=(0.0, 1.0), label_width=label_width)
    if t is not None:
        n = len(curves[-1][0])
        px = (width - label_width) * 2
        # the dot column line_chart puts value t in (its _columns spreads n values over px)
        cell = int(t * (px - 1) / max(n - 1, 1)) // 2
        for row in range(height):
            offset = row * (width + 1) + label_width + cell
            text.stylize(MARK_STYLE, offset, offset + 1)
    return text
