"""Terminal charts as Rich `Text`: braille line charts and a scatter over a shaded map.

Braille characters hold 2x4 dots per cell, so a 36x6 cell chart has 72x24
dots. Each series keeps its own colour (the last series drawn in a cell sets
the cell's colour); callers name the series in a legend. The scatter map
draws one glyph per cell over a background shade: distinct glyphs for the two
point sets, so they read apart without colour. A PNG version of the scatter
is here too (for `--png`).

Pure functions on numpy arrays: no torch, no Textual.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from genai_tui import display
from genai_tui.errors import UserError

# Dot (dx, dy) of a braille cell -> its bit (Unicode braille patterns, U+2800).
_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))

REAL_GLYPH = "•"
FAKE_GLYPH = "×"
BOTH_GLYPH = "⊕"
REAL_SIDE_GLYPH = "·"
"""Empty cells where D says "real", when the shade alone cannot say it (16 colours,
NO_COLOR, --ascii): the dotted region is D's real side."""

FAKE_SHADE = (70, 30, 90)
"""Background where D says "generated" (probability 0): dark purple, as GAN Lab."""
REAL_SHADE = (25, 85, 45)
"""Background where D says "real" (probability 1): dark green."""
REAL_STYLE = Style(color=Color.from_rgb(150, 255, 170), bold=True)
FAKE_STYLE = Style(color=Color.from_rgb(255, 150, 230), bold=True)
BOTH_STYLE = Style(color=Color.from_rgb(255, 255, 255), bold=True)


def fmt_value(v: float) -> str:
    """A short axis label: 3 significant digits, at most 6 characters."""
    if not math.isfinite(v):
        return "?"
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}"
    return f"{v:.3g}"


def _columns(values: np.ndarray, window: int, px: int) -> np.ndarray:
    """Mean value per dot column: the last ``window`` values spread over ``px`` columns
    from the left (fewer values fill only the left part, so the chart scrolls)."""
    out = np.full(px, np.nan)
    n = len(values)
    if n == 0:
        return out
    pos = (np.arange(n) * (px - 1) / max(window - 1, 1)).astype(np.int64)
    pos = np.minimum(pos, px - 1)
    ok = np.isfinite(values)
    sums = np.bincount(pos[ok], weights=values[ok], minlength=px)
    counts = np.bincount(pos[ok], minlength=px)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # Fewer values than columns: join neighbouring values across the empty columns.
    filled = np.flatnonzero(counts)
    if window > px or filled.size < 2:
        return out
    inner = np.arange(filled[0], filled[-1] + 1)
    out[inner] = np.interp(inner, filled, out[filled])
    return out


Row = list[Segment]
"""One text row of a chart: segments with their styles (no newline)."""


def rows_to_text(rows: Sequence[Row]) -> Text:
    """Chart rows as one Rich `Text` (for printing)."""
    text = Text(no_wrap=True, overflow="crop")
    for i, row in enumerate(rows):
        for seg in row:
            text.append(seg.text, seg.style)
        if i < len(rows) - 1:
            text.append("\n")
    return text


def _runs(cells: list[tuple[str, Style | None]]) -> Row:
    """Merge neighbouring cells of the same style into one segment each."""
    row: Row = []
    buf: list[str] = []
    style: Style | None = None
    for ch, st in cells:
        if buf and st is not style:
            row.append(Segment("".join(buf), style))
            buf = []
        buf.append(ch)
        style = st
    if buf:
        row.append(Segment("".join(buf), style))
    return row


def line_chart_rows(
    series: Sequence[tuple[Sequence[float] | np.ndarray, str | Style]],
    width: int,
    height: int,
    y_range: tuple[float, float] | None = None,
    window: int | None = None,
    label_width: int = 6,
) -> list[Row]:
    """A braille line chart of several series, with y-axis labels on the left.

    Args:
        series: (values, style) pairs; NaN and infinite values leave gaps.
        width, height: size in cells, labels included.
        y_range: fixed (low, high); default: the finite values' range.
        window: the most x positions shown: longer series scroll (the latest
            ``window`` values); shorter ones are stretched over the width.
        label_width: cells for the y labels (0 for none).
    """
    width, height = max(width, label_width + 2), max(height, 1)
    plot_w = width - label_width
    px, py = plot_w * 2, height * 4
    arrays = [np.asarray(v, dtype=np.float64) for v, _ in series]
    arrays = [np.where(np.isfinite(a), a, np.nan) for a in arrays]  # inf: a gap, like NaN
    longest = max((len(a) for a in arrays), default=1)
    if window and longest > window:
        arrays = [a[-window:] for a in arrays]  # scroll: keep the latest window
    else:
        window = longest  # until then the data fills the width
    if y_range is None:
        finite = [a[np.isfinite(a)] for a in arrays]
        finite = [a for a in finite if a.size]
        if finite:
            lo = min(float(a.min()) for a in finite)
            hi = max(float(a.max()) for a in finite)
        else:
            lo, hi = 0.0, 1.0
    else:
        lo, hi = y_range
    scale = max(1.0, abs(lo), abs(hi))
    if not hi - lo > 1e-9 * scale:  # a flat line sits in the middle
        pad = 0.5 * (scale if scale > 1.0 else 1.0)
        lo, hi = lo - pad, hi + pad
    bits = np.zeros((height, plot_w), dtype=np.int64)
    owner = np.full((height, plot_w), -1, dtype=np.int64)
    for k, arr in enumerate(arrays):
        cols = _columns(arr, window, px)
        rows = np.round((hi - np.clip(cols, lo, hi)) / (hi - lo) * (py - 1))
        prev = None
        for x in range(px):
            if not np.isfinite(rows[x]):
                prev = None
                continue
            y = int(rows[x])
            y0, y1 = (y, y) if prev is None else (min(prev, y), max(prev, y))
            for yy in range(y0, y1 + 1):
                cy, cx = yy // 4, x // 2
                bits[cy, cx] |= _BRAILLE_BITS[yy % 4][x % 2]
                owner[cy, cx] = k
            prev = y
    styles = [Style.parse(st) if isinstance(st, str) else st for _, st in series]
    dim = Style(dim=True)
    top, bottom = fmt_value(hi), fmt_value(lo)
    out: list[Row] = []
    for r in range(height):
        row: Row = []
        if label_width:
            label = top if r == 0 else bottom if r == height - 1 else ""
            row.append(Segment(label[: label_width - 1].rjust(label_width - 1) + "┤" if label
                               else " " * (label_width - 1) + "│", dim))
        cells = [(chr(0x2800 + int(b)), styles[o]) if b else (" ", None)
                 for b, o in zip(bits[r], owner[r], strict=True)]
        row.extend(_runs(cells))
        out.append(row)
    return out


def line_chart(
    series: Sequence[tuple[Sequence[float] | np.ndarray, str | Style]],
    width: int,
    height: int,
    y_range: tuple[float, float] | None = None,
    window: int | None = None,
    label_width: int = 6,
) -> Text:
    """`line_chart_rows` as one Rich `Text`."""
    return rows_to_text(line_chart_rows(series, width, height, y_range, window, label_width))


def _blend(p: float) -> tuple[int, int, int]:
    return tuple(int(round(f + (r - f) * p)) for f, r in zip(FAKE_SHADE, REAL_SHADE, strict=True))


_SHADES = 17
_BG = [Style(bgcolor=Color.from_rgb(*_blend(k / (_SHADES - 1)))) for k in range(_SHADES)]
_GLYPH_STYLES = {" ": Style(), REAL_GLYPH: REAL_STYLE, FAKE_GLYPH: FAKE_STYLE,
                 BOTH_GLYPH: BOTH_STYLE, REAL_SIDE_GLYPH: Style(color="grey62")}
_CELL_STYLES = {(k, g): _BG[k] + st for k in range(_SHADES) for g, st in _GLYPH_STYLES.items()}


def scatter_map_rows(
    decision: np.ndarray,
    box: tuple[float, float, float, float],
    real: np.ndarray,
    fake: np.ndarray,
) -> list[Row]:
    """Real (``•``) and generated (``×``; ``⊕`` where both) points over a shaded map.

    Args:
        decision: (rows, cols) values in [0, 1] (row 0 at the top) shading each
            cell from purple (0, "generated") to green (1, "real").
        box: (x_min, x_max, y_min, y_max) the grid covers.
        real, fake: (n, 2) points; those outside the box are not drawn.
    """
    rows, cols = decision.shape
    has_real = _cell_counts(real, box, rows, cols) > 0
    has_fake = _cell_counts(fake, box, rows, cols) > 0
    glyphs = np.full((rows, cols), " ", dtype="<U1")
    glyphs[has_real] = REAL_GLYPH
    glyphs[has_fake] = FAKE_GLYPH
    glyphs[has_real & has_fake] = BOTH_GLYPH
    if display.current().glyph_cues:
        glyphs[~(has_real | has_fake) & (np.nan_to_num(decision, nan=0.5) >= 0.5)] = \
            REAL_SIDE_GLYPH
    shades = np.clip(np.round(np.nan_to_num(decision, nan=0.5) * (_SHADES - 1)), 0,
                     _SHADES - 1).astype(int)
    out: list[Row] = []
    for r in range(rows):
        cells = [(g, _CELL_STYLES[k, g])
                 for g, k in zip(glyphs[r].tolist(), shades[r].tolist(), strict=True)]
        out.append(_runs(cells))
    return out


def scatter_map(
    decision: np.ndarray,
    box: tuple[float, float, float, float],
    real: np.ndarray,
    fake: np.ndarray,
) -> Text:
    """`scatter_map_rows` as one Rich `Text`."""
    return rows_to_text(scatter_map_rows(decision, box, real, fake))


def _cell_counts(points: np.ndarray, box: tuple[float, float, float, float],
                 rows: int, cols: int) -> np.ndarray:
    x0, x1, y0, y1 = box
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cx = np.floor((pts[:, 0] - x0) / (x1 - x0) * cols).astype(np.int64)
    cy = np.floor((y1 - pts[:, 1]) / (y1 - y0) * rows).astype(np.int64)
    inside = (cx >= 0) & (cx < cols) & (cy >= 0) & (cy < rows)
    counts = np.bincount(cy[inside] * cols + cx[inside], minlength=rows * cols)
    return counts.reshape(rows, cols)


def save_scatter_png(
    decision: np.ndarray,
    box: tuple[float, float, float, float],
    real: np.ndarray,
    fake: np.ndarray,
    path: str | Path,
    size: int = 480,
) -> Path:
    """The scatter map as a PNG: the decision shade as background, generated points
    as pink crosses and real ones as green dots (drawn last, so they stay visible).

    Raises:
        UserError: the file cannot be written.
    """
    from PIL import Image, ImageDraw

    shade = np.clip(np.nan_to_num(decision, nan=0.5), 0, 1)[..., None]
    rgb = np.asarray(FAKE_SHADE) + (np.asarray(REAL_SHADE) - np.asarray(FAKE_SHADE)) * shade
    img = Image.fromarray(rgb.astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    x0, x1, y0, y1 = box

    def to_px(p: np.ndarray) -> tuple[float, float]:
        return ((p[0] - x0) / (x1 - x0) * size, (y1 - p[1]) / (y1 - y0) * size)

    for p in np.asarray(fake).reshape(-1, 2):
        x, y = to_px(p)
        draw.line((x - 2.5, y - 2.5, x + 2.5, y + 2.5), fill=(255, 150, 230))
        draw.line((x - 2.5, y + 2.5, x + 2.5, y - 2.5), fill=(255, 150, 230))
    for p in np.asarray(real).reshape(-1, 2):
        x, y = to_px(p)
        draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=(150, 255, 170))
    out = Path(path).expanduser()
    try:
        img.save(out, format="PNG")
    except (OSError, ValueError) as e:
        raise UserError(f"cannot write {out}: {getattr(e, 'strerror', None) or e}") from None
    return out
