"""The Transformer pane's embeddings view drawn (no Textual, no torch): nearest
neighbours, the similarity table and the 2-D scatter, as `rich.text.Text`.
Colours and labels come from `render.py`; token and word texts stay data."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from genai_tui.textsafe import escape_controls, visible
from genai_tui.tui.panes.internals.render import (
    DIM,
    LABEL,
    MASK_STYLE,
    TITLE,
    _bar,
    diverging_color,
    diverging_legend,
    token_label,
    word_label,
)
from genai_tui.tui.text import fit


def neighbor_list(result: Any, width: int, title: str) -> Text:
    """Ranked neighbours with cosine bars."""
    out = Text(no_wrap=True, overflow="crop")
    token_mode = result.backend == "lm"
    out.append(word_label(title, max(10, width // 2)).rstrip(), TITLE)
    if token_mode:
        for k, r in enumerate(result.query):
            out.append("  " if k == 0 else ", ", DIM)
            out.append("|".join(token_label(p, 12).rstrip() for p in r.pieces), LABEL)
            if len(r.ids) > 1:
                out.append(" (mean)", DIM)
    out.append("\n")
    label_w = min(24, max(8, width // 3))
    bar_w = max(4, min(40, width - 4 - 7 - label_w - 2))
    for rank, n in enumerate(result.neighbors, 1):
        out.append(f"{rank:>2}. ", DIM)
        label = token_label(n.label, label_w) if token_mode else word_label(n.label, label_w)
        out.append(label, LABEL)
        out.append(f"{n.similarity:+.3f} ", Style(color=diverging_color(n.similarity)))
        out.append(_bar(max(0.0, n.similarity), bar_w), Style(color=diverging_color(n.similarity)))
        out.append("\n")
    what = "tokens of the LM's embedding table" if token_mode else "words in the list"
    out.append(f"searched {result.searched} {what}", DIM)
    return out


def similarity_table(sim: Any, width: int) -> Text:
    """The cosine-similarity matrix with coloured cells and two-digit values."""
    labels = sim.labels
    n = len(labels)
    out = Text(no_wrap=True, overflow="crop")
    label_w = max(6, min(16, width - 5 - 5 * n))
    out.append(" " * (label_w + 4))
    for j in range(n):
        out.append(f"{j:>5}", DIM)
    out.append("\n")
    for i in range(n):
        out.append(f"{i:>3} ", DIM)
        out.append(word_label(labels[i], label_w), LABEL)
        for j in range(n):
            v = round(float(sim.matrix[i, j]), 2)
            if v >= 1:
                shown = "1.0"
            elif v >= 0:
                shown = f"{v:.2f}"[1:]
            else:
                shown = "-" + f"{-v:.2f}"[1:]
            out.append(" ")
            out.append(f"{shown:>4}", Style(color="black", bgcolor=diverging_color(v)))
        out.append("\n")
    out.append_text(diverging_legend())
    return out


def scatter(labels: list[str], points: list[tuple[float, float]], width: int, height: int,
            explained: tuple[float, float] = (0.0, 0.0), token_mode: bool = False) -> Text:
    """A labelled 2-D scatter plot on a character grid (x right, y up)."""
    width, height = max(20, width), max(6, height)
    plot_w, plot_h = width - 2, height - 2
    grid = [[" "] * plot_w for _ in range(plot_h)]
    styles: list[list[Style | None]] = [[None] * plot_w for _ in range(plot_h)]
    xs = [p[0] for p in points] or [0.0]
    ys = [p[1] for p in points] or [0.0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    sx = (x1 - x0) or 1.0
    sy = (y1 - y0) or 1.0
    # axes through the origin when it is inside the plot
    if x0 <= 0 <= x1:
        cx = int(round((0 - x0) / sx * (plot_w - 1) * 0.8))
        for r in range(plot_h):
            grid[r][cx] = "│"
            styles[r][cx] = MASK_STYLE
    if y0 <= 0 <= y1:
        cy = plot_h - 1 - int(round((0 - y0) / sy * (plot_h - 1)))
        for c in range(plot_w):
            grid[cy][c] = "┼" if grid[cy][c] == "│" else "─"
            styles[cy][c] = MASK_STYLE
    palette = ("#5fafff", "#ffaf5f", "#87d787", "#ff87af", "#d7afff", "#ffd75f", "#5fd7d7")
    free = (" ", "─", "│", "┼")
    cells: list[tuple[int, int]] = []
    for x, y in points:
        c = int(round((x - x0) / sx * (plot_w - 1) * 0.8))
        r = plot_h - 1 - int(round((y - y0) / sy * (plot_h - 1)))
        cells.append((r, c))
    for k, (r, c) in enumerate(cells):  # points first, so labels never hide one
        grid[r][c] = "●"
        styles[r][c] = Style(color=palette[k % len(palette)], bold=True)
    for k, (label, (r, c)) in enumerate(zip(labels, cells, strict=True)):
        colour = Style(color=palette[k % len(palette)], bold=True)
        name = visible(label) if token_mode else escape_controls(label, keep_newlines=False)
        name = "".join(ch if cell_len(ch) == 1 else "?" for ch in name)
        n = len(name)
        # right of the point, left of it, then the rows just above and below
        spots = [(r, c + 1), (r, c - n), (r - 1, c + 1), (r + 1, c + 1), (r - 1, c - n),
                 (r + 1, c - n)]
        spot = next(((rr, s0) for rr, s0 in spots if 0 <= rr < plot_h and 0 <= s0
                     and s0 + n <= plot_w and all(grid[rr][s0 + i] in free for i in range(n))),
                    None)
        if spot is None:  # squeeze: as much as fits on the right
            n = 0
            while c + 1 + n < plot_w and grid[r][c + 1 + n] in free and n < len(name):
                n += 1
            name = name[:n - 1] + "…" if 0 < n < len(name) else name[:n]
            spot = (r, c + 1)
        r, start = spot
        for i, ch in enumerate(name):
            grid[r][start + i] = ch
            styles[r][start + i] = colour
    out = Text(no_wrap=True, overflow="crop")
    out.append(f"PC2 ↑ {100 * explained[1]:.0f}% of variance\n", DIM)
    for r in range(plot_h):
        out.append(" ")
        for c in range(plot_w):
            out.append(grid[r][c], styles[r][c] or "")
        out.append("\n")
    out.append(fit(f" PC1 → {100 * explained[0]:.0f}% of variance", width), DIM)
    return out


