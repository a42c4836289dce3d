"""Grayscale images in the terminal, as Rich renderables (and as PNG files).

Half-block mode draws two pixel rows per text row: each cell is ``▀`` whose
foreground is the upper pixel and whose background the lower one, in true
colour, the 256-colour gray ramp or the four 16-colour grays. ASCII mode maps
the mean of two pixel rows to the ramp `` .:-=+*#%@`` (for ``NO_COLOR``,
``--ascii`` and monochrome terminals). The mode follows the console the
renderable is printed on unless one is given.

The same `ImageGrid` serves every image pane and the CLI. No torch import:
tensors are accepted by duck typing (anything with ``.detach()``), so the
service layer can import this module cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

from genai_tui import display
from genai_tui.errors import UserError
from genai_tui.textsafe import escape_controls

Mode = Literal["truecolor", "256", "16", "ascii"]
MODES: tuple[str, ...] = ("truecolor", "256", "16", "ascii")
ASCII_RAMP = " .:-=+*#%@"
HALF_BLOCK = "▀"

# xterm 256-colour grays: index 16 is black, 232-255 run from 8 to 238, 231 is white.
_XTERM_GRAY_LEVELS = np.array([0] + [8 + 10 * i for i in range(24)] + [255], dtype=np.float32)
_XTERM_GRAY_INDEX = [16] + list(range(232, 256)) + [231]
# The four grays of the 16-colour palette (Rich's standard values): black,
# bright black, white, bright white.
_ANSI16_LEVELS = np.array([0, 128, 192, 255], dtype=np.float32)
_ANSI16_INDEX = [0, 8, 7, 15]


def mode_for(console: Console) -> Mode:
    """The rendering mode a console supports: ASCII without colour, else its depth.

    The app's display profile (`genai_tui.display`) counts too: under ``--ascii``
    half blocks would fold to quote marks, and under ``NO_COLOR`` (Textual's
    console still has colours; a filter strips them) they would all look alike.
    """
    shown = display.current()
    if shown.ascii or shown.depth == "mono" or console.no_color or console.color_system is None:
        return "ascii"
    system = console.color_system  # "truecolor", "256", "standard" or "windows"
    if system == "truecolor":
        return "truecolor"
    if system == "256":
        return "256"
    return "16"


def check_mode(mode: str | None) -> Mode | None:
    """Validate a user-given mode name (None = automatic)."""
    if mode is None or mode == "auto":
        return None
    if mode not in MODES:
        raise UserError(f"unknown image mode {mode!r}; use one of: auto, {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def to_numpy(images: Any) -> np.ndarray:
    """Images as a float32 array (N, H, W) in [0, 1].

    Accepts a tensor or array shaped (H, W), (N, H, W) or (N, C, H, W) with
    C = 1 or 3 (averaged), or a list of single images.
    """
    if isinstance(images, (list, tuple)):
        if not images:
            return np.zeros((0, 1, 1), dtype=np.float32)
        return np.concatenate([to_numpy(im) for im in images], axis=0)
    if hasattr(images, "detach"):
        images = images.detach().float().cpu().numpy()
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 4:
        arr = arr.mean(axis=1) if arr.shape[1] == 3 else arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(
            f"expected images shaped (H, W), (N, H, W) or (N, C, H, W), got {arr.shape}")
    return np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0)


SCALES: tuple[float, ...] = (0.5, 1, 2, 3, 4)
"""Scales ``fit`` chooses from: half size (2x2 pixels averaged), or n-fold."""


def _resample(tile: np.ndarray, scale: float) -> np.ndarray:
    """Nearest-neighbour upscaling by an integer, or 2x2 averaging for 0.5."""
    if scale == 1:
        return tile
    if scale == 0.5:
        h, w = tile.shape
        padded = np.zeros((h + h % 2, w + w % 2), dtype=tile.dtype)
        padded[:h, :w] = tile
        return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).mean(axis=(1, 3))
    k = int(scale)
    return np.repeat(np.repeat(tile, k, axis=0), k, axis=1)


def _pixels(n: int, scale: float) -> int:
    return math.ceil(n / 2) if scale == 0.5 else n * int(scale)


@lru_cache(maxsize=8192)
def _cell_style(mode: str, top: int, bottom: int) -> Style:
    """Style of one ``▀`` cell; ``top``/``bottom`` are indices into the mode's levels."""
    if mode == "truecolor":
        return Style(color=Color.from_rgb(top, top, top),
                     bgcolor=Color.from_rgb(bottom, bottom, bottom))
    table = _XTERM_GRAY_INDEX if mode == "256" else _ANSI16_INDEX
    return Style(color=Color.from_ansi(table[top]), bgcolor=Color.from_ansi(table[bottom]))


def _quantise(values: np.ndarray, mode: str) -> np.ndarray:
    """Pixel values in [0, 1] -> integer level per mode (gray 0-255, or a palette index)."""
    gray = values * 255.0
    if mode == "truecolor":
        return np.rint(gray).astype(np.int32)
    levels = _XTERM_GRAY_LEVELS if mode == "256" else _ANSI16_LEVELS
    return np.abs(gray[..., None] - levels).argmin(-1).astype(np.int32)


def _tile_lines(tile: np.ndarray, mode: str) -> list[list[Segment]]:
    """One image (h, w) -> text rows of segments (runs of equal cells merged)."""
    h, w = tile.shape
    if h % 2:
        tile = np.concatenate([tile, np.zeros((1, w), dtype=tile.dtype)], axis=0)
    if mode == "ascii":
        pair = tile.reshape(-1, 2, w)
        rows = pair.mean(axis=1) if h % 2 == 0 else np.concatenate(
            [pair[:-1].mean(axis=1), pair[-1:, 0]], axis=0)
        idx = np.clip(np.rint(rows * (len(ASCII_RAMP) - 1)), 0, len(ASCII_RAMP) - 1).astype(int)
        return [[Segment("".join(ASCII_RAMP[i] for i in row))] for row in idx]
    q = _quantise(tile, mode)
    lines = []
    for r in range(0, q.shape[0], 2):
        top, bottom = q[r], q[r + 1]
        segments: list[Segment] = []
        start = 0
        for c in range(1, w + 1):
            if c == w or top[c] != top[start] or bottom[c] != bottom[start]:
                segments.append(Segment(HALF_BLOCK * (c - start),
                                        _cell_style(mode, int(top[start]), int(bottom[start]))))
                start = c
        lines.append(segments)
    return lines


def _safe_caption(text: str, ascii_only: bool) -> str:
    text = escape_controls(text, keep_newlines=False)
    if ascii_only:
        text = text.encode("ascii", "replace").decode("ascii")
    return text


class ImageGrid:
    """A grid of grayscale images with optional captions, as a Rich renderable.

    Args:
        images: tensor/array (N, H, W), (N, 1, H, W), (H, W) or a list of images.
        ncol: images per row (default: all in one row, up to 8).
        captions: one text per image, shown centred under it (untrusted text is
            escaped; truncated to the tile width).
        mode: "truecolor", "256", "16" or "ascii"; None follows the console.
        scale: 0.5 (half size) or an integer upscaling factor (nearest neighbour).
        fit: choose the largest scale in `SCALES` up to ``max_scale`` that fits
            the width (and height, when the console gives one, or
            ``max_height``) available at render time; half size when nothing fits.
        gap: blank columns between tiles.
        caption_styles: optional Rich style per caption (e.g. to flag outliers).
    """

    def __init__(
        self,
        images: Any,
        ncol: int | None = None,
        captions: Sequence[str] | None = None,
        mode: Mode | None = None,
        scale: float = 1,
        fit: bool = False,
        gap: int = 1,
        caption_styles: Sequence[str | Style | None] | None = None,
        max_scale: float = 4,
        max_height: int | None = None,
    ) -> None:
        self.array = to_numpy(images)
        n = self.array.shape[0]
        self.ncol = max(1, min(ncol or min(n, 8), max(n, 1)))
        if captions is not None and len(captions) != n:
            raise ValueError(f"{len(captions)} captions for {n} images")
        self.captions = list(captions) if captions is not None else None
        self.caption_styles = list(caption_styles) if caption_styles is not None else None
        self.mode = check_mode(mode)
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale}")
        self.scale = scale
        self.fit = fit
        self.gap = max(0, gap)
        self.max_scale = max_scale
        self.max_height = max_height

    def nrows(self, ncol: int | None = None) -> int:
        """Grid rows with ``ncol`` images per row (default: the grid's own)."""
        n = self.array.shape[0]
        return math.ceil(n / (ncol or self.ncol)) if n else 0

    def width_at(self, scale: float, ncol: int | None = None) -> int:
        """Text columns the grid takes at ``scale``."""
        ncol = ncol or self.ncol
        return ncol * _pixels(self.array.shape[2], scale) + (ncol - 1) * self.gap

    def height_at(self, scale: float, ncol: int | None = None) -> int:
        """Text rows the grid takes at ``scale``."""
        rows = self.nrows(ncol)
        h = math.ceil(_pixels(self.array.shape[1], scale) / 2)
        return rows * (h + (1 if self.captions is not None else 0)) + max(rows - 1, 0)

    def _columns(self, scale: float, width: int) -> int:
        ncol = self.ncol
        while ncol > 1 and self.width_at(scale, ncol) > width:
            ncol -= 1
        return ncol

    def layout(self, width: int, height: int | None = None) -> tuple[float, int]:
        """(scale, images per row) for an area of ``width`` columns (and ``height`` rows).

        Without ``fit``: the given scale, fewer images per row if too narrow.
        With ``fit``: the largest scale (up to ``max_scale``) showing all
        ``ncol`` per row; else the largest with fewer per row; else half size.
        """
        if self.max_height is not None:
            height = self.max_height if height is None else min(height, self.max_height)
        if not self.fit:
            return self.scale, self._columns(self.scale, width)

        def fits(scale: float, ncol: int) -> bool:
            return self.width_at(scale, ncol) <= width and (
                height is None or self.height_at(scale, ncol) <= height)

        full = sorted((s for s in SCALES if 1 <= s <= self.max_scale), reverse=True)
        for scale in full:
            if fits(scale, self.ncol):
                return scale, self.ncol
        for scale in full:
            ncol = self._columns(scale, width)
            if fits(scale, ncol):
                return scale, ncol
        return 0.5, self._columns(0.5, width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        scale, ncol = self.layout(options.max_width, options.height)
        width = min(self.width_at(scale, ncol), options.max_width)
        return Measurement(width, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        mode = self.mode or mode_for(console)
        scale, ncol = self.layout(options.max_width, options.height)
        for line in self.lines(mode, scale, ncol):
            yield from line
            yield Segment.line()

    def lines(self, mode: Mode, scale: float | None = None,
              ncol: int | None = None) -> list[list[Segment]]:
        """All text rows as lists of segments (without newlines)."""
        scale = self.scale if scale is None else scale
        ncol = ncol or self.ncol
        n, h, w = self.array.shape
        if n == 0:
            return []
        tile_w = _pixels(w, scale)
        gap = Segment(" " * self.gap)
        out: list[list[Segment]] = []
        nrows = self.nrows(ncol)
        for r in range(nrows):
            idx = list(range(r * ncol, min(n, (r + 1) * ncol)))
            tiles = [_tile_lines(_resample(self.array[i], scale), mode) for i in idx]
            for t in range(len(tiles[0])):
                line: list[Segment] = []
                for k, tile in enumerate(tiles):
                    if k:
                        line.append(gap)
                    line.extend(tile[t])
                out.append(line)
            if self.captions is not None:
                line = []
                for k, i in enumerate(idx):
                    if k:
                        line.append(gap)
                    text = _safe_caption(self.captions[i], mode == "ascii")
                    if cell_len(text) > tile_w:
                        text = set_cell_size(text, tile_w)
                    pad = tile_w - cell_len(text)
                    text = " " * (pad // 2) + text + " " * (pad - pad // 2)
                    style = None
                    if mode != "ascii" and self.caption_styles is not None:
                        style = self.caption_styles[i]
                        style = Style.parse(style) if isinstance(style, str) else style
                    line.append(Segment(text, style))
                out.append(line)
            if r < nrows - 1:
                out.append([])
        return out


def render_image(
    image: Any, mode: Mode | None = None, scale: float = 1, fit: bool = False
) -> ImageGrid:
    """One image as a renderable."""
    return ImageGrid(to_numpy(image)[:1], ncol=1, mode=mode, scale=scale, fit=fit)


def render_grid(
    images: Any,
    ncol: int = 8,
    captions: Sequence[str] | None = None,
    mode: Mode | None = None,
    scale: float = 1,
    fit: bool = False,
    caption_styles: Sequence[str | Style | None] | None = None,
    max_height: int | None = None,
) -> ImageGrid:
    """A grid of images (``ncol`` per row) with optional captions, as a renderable."""
    return ImageGrid(images, ncol=ncol, captions=captions, mode=mode, scale=scale, fit=fit,
                     caption_styles=caption_styles, max_height=max_height)


def to_text(renderable: Any, mode: Mode = "ascii", width: int = 200) -> str:
    """Render to a plain string (for tests and logs); colour per ``mode``."""
    import io

    system = {"truecolor": "truecolor", "256": "256", "16": "standard", "ascii": None}[mode]
    console = Console(file=io.StringIO(), width=width, color_system=system,
                      force_terminal=system is not None, no_color=system is None,
                      legacy_windows=False)
    console.print(renderable, end="")
    return console.file.getvalue()  # type: ignore[attr-defined]


def grid_array(images: Any, ncol: int = 8, padding: int = 2, pad_value: float = 0.3) -> np.ndarray:
    """Tile images into one (H, W) float array, ``padding`` pixels between and around."""
    arr = to_numpy(images)
    n, h, w = arr.shape
    ncol = max(1, min(ncol, max(n, 1)))
    nrows = max(1, math.ceil(n / ncol))
    out = np.full((nrows * (h + padding) + padding, ncol * (w + padding) + padding),
                  pad_value, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        out[y:y + h, x:x + w] = arr[i]
    return out


def save_png(
    images: Any, path: str | Path, nrow: int = 8, scale: int = 2, padding: int = 2
) -> Path:
    """Save images as one PNG grid (``nrow`` images per row), upscaled ``scale`` times.

    Raises:
        UserError: the file cannot be written.
    """
    from PIL import Image

    p = Path(path).expanduser()
    grid = grid_array(images, ncol=nrow, padding=padding)
    img = Image.fromarray(np.rint(grid * 255).astype(np.uint8), mode="L")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    try:
        img.save(p, format="PNG")
    except (OSError, ValueError) as e:
        raise UserError(f"cannot write {p}: {e.strerror or e}" if isinstance(e, OSError)
                        else f"cannot write {p}: {e}") from None
    return p
