"""The Transformer pane's positions view drawn (no Textual, no torch): the
position-similarity map and the similarity-by-distance chart, as
`rich.text.Text`, with `render.py`'s diverging colours."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text

from genai_tui import display
from genai_tui.tui.panes.internals.render import (
    DIM,
    TITLE,
    diverging_color,
    diverging_glyph,
    diverging_legend,
    smooth_diverging,
)
from genai_tui.tui.text import fit


def position_map(matrix: Any, width: int, height: int) -> Text:
    """The (n, n) position-similarity matrix with half-block pixels (two rows
    per character), sampled evenly to fit ``width`` x ``height`` cells. The
    colour range is the largest off-diagonal |similarity| (the diagonal is
    always 1), so weak structure stays visible; the legend gives the range."""
    n = matrix.shape[0]
    label_w = 5
    glyphs = display.current().glyph_cues  # one value a cell, as a glyph (no half blocks)
    cols = max(4, min(n, width - label_w))
    rows = max(4, min(n, (1 if glyphs else 2) * (height - 2)))
    side = min(cols, rows)
    idx = [min(n - 1, int(k * n / side)) for k in range(side)]
    off = [abs(float(matrix[i, j])) for i in idx for j in idx if i != j]
    scale = max(0.05, max(off) if off else 1.0)
    out = Text(no_wrap=True, overflow="crop")
    axis = [" "] * (label_w + side)
    for k in range(0, side, max(8, side // 4)):
        for m, ch in enumerate(str(idx[k])):
            if label_w + k + m < len(axis):
                axis[label_w + k + m] = ch
    out.append("".join(axis) + "\n", DIM)
    if glyphs:
        for r in range(side):
            out.append(f"{idx[r]:>4} " if r % 4 == 0 else " " * label_w, DIM)
            for c in range(side):
                v = float(matrix[idx[r], idx[c]]) / scale
                out.append(diverging_glyph(v), Style(color=smooth_diverging(v)))
            out.append("\n")
        out.append_text(diverging_legend(scale))
        return out
    for r in range(0, side, 2):
        top = idx[r]
        bottom = idx[r + 1] if r + 1 < side else None
        out.append(f"{top:>4} " if r % 8 == 0 else " " * label_w, DIM)
        for c in range(side):
            col = idx[c]
            fg = smooth_diverging(float(matrix[top, col]) / scale)
            bg = (smooth_diverging(float(matrix[bottom, col]) / scale)
                  if bottom is not None else None)
            out.append("▀", Style(color=fg, bgcolor=bg))
        out.append("\n")
    out.append_text(diverging_legend(scale))
    return out


def distance_chart(by_distance: list[float], width: int, height: int) -> Text:
    """Mean cosine similarity of positions d apart for 1 <= d < n/2 (d = 0 is
    always 1; beyond n/2 few pairs remain and the mean gets noisy), as columns
    with eighth-block tops, on an axis fitted to the values."""
    vals_all = by_distance[1:max(2, len(by_distance) // 2)] or [0.0]
    n = len(vals_all)
    cols = max(4, min(n, width - 7))
    rows = max(3, height - 3)
    idx = [min(n - 1, int(k * n / cols)) for k in range(cols)]
    vals = [vals_all[i] for i in idx]
    lo, hi = min(0.0, min(vals)), max(0.0, max(vals))
    if hi - lo < 1e-6:
        hi = lo + 1e-6
    out = Text(no_wrap=True, overflow="crop")
    out.append("mean similarity vs distance\n", TITLE)
    zero = (0.0 - lo) / (hi - lo) * rows  # height of the zero line, in rows
    eighths = " ▁▂▃▄▅▆▇█"
    for r in range(rows):
        row_lo = rows - 1 - r  # this row spans heights [row_lo, row_lo + 1)
        label = f"{hi:+.2f}" if r == 0 else (f"{lo:+.2f}" if r == rows - 1 else "")
        out.append(f"{label:>6} ", DIM)
        for v in vals:
            h = (v - lo) / (hi - lo) * rows  # bar from the zero line up (or down) to h
            a, b = min(zero, h), max(zero, h)
            fill = max(0.0, min(1.0, b - row_lo)) - max(0.0, min(1.0, a - row_lo))
            if fill <= 0:
                ch = " "
            elif v >= 0:
                ch = eighths[max(1, round(fill * 8))] if b - row_lo < 1 else "█"
            else:
                ch = "█" if fill > 0.5 else "▀"
            out.append(ch, Style(color=diverging_color(v / max(abs(lo), abs(hi)))))
        out.append("\n")
    out.append(" " * 7 + fit(f"1 … distance … {idx[-1] + 1}", cols), DIM)
    return out


