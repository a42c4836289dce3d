"""Pure renderers for the Transformer pane: results -> `rich.text.Text`.

No Textual and no torch here (NumPy arrays come from the service), so every
drawing is testable on its own. Token texts are untrusted: they always pass
through `textsafe.visible` (tokens) or `escape_controls` (typed words) and
into `Text` objects, never markup.
"""

from __future__ import annotations

import math
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from genai_tui import display
from genai_tui.textsafe import escape_controls, visible
from genai_tui.tui.text import fit

# A perceptual sequential ramp (matplotlib's "inferno", 10 stops): dark = 0, yellow = 1.
RAMP = ("#1b0c41", "#3b0f70", "#5d126e", "#7e2482", "#a52c60", "#cf4446",
        "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4")
# The same ramp in xterm's 256 colours, one distinct entry per stop with rising
# luminance (downsampling RAMP itself sends two stops to colour 53).
RAMP_256 = (17, 54, 90, 126, 161, 167, 202, 208, 220, 229)
# In 16 colours RAMP collapses to 6 entries for its 10 levels (black, the background,
# for the lowest; the legend's six stops show equal pairs), so the ramp has four
# levels there: ANSI blue, magenta, bright red,
# bright yellow (rising luminance in the xterm palette), each with its own shade glyph.
# Given as the standard palette's RGB values, which downsample to exactly those
# entries: ANSI names would go through Textual's ANSI theme first, whose red and
# bright red are one colour.
RAMP_16 = ("#0000aa", "#aa00aa", "#ff5555", "#ffff55")
GLYPH_RAMP = ("░", "▒", "▓", "█")
"""Shade glyphs, lightest first: a level's non-colour cue (16 colours, NO_COLOR, --ascii
fold them to ``: + % #``)."""
# Diverging ramp for similarities in [-1, 1]: blue (negative) .. grey (0) .. red (positive).
DIVERGING = ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#6b6b6b",
             "#fddbc7", "#f4a582", "#d6604d", "#b2182b")
MASK_STYLE = Style(color="grey35")
DIM = Style(color="grey50")
LABEL = Style(color="grey70")
SELECT = Style(bold=True, color="black", bgcolor="#5fafff")
TITLE = Style(bold=True)
HEAD_TITLE_SELECTED = Style(bold=True, color="black", bgcolor="#5fafff")


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0


def ramp_level(value: float, levels: int) -> int:
    """Which of ``levels`` equal bins of [0, 1] a value falls in."""
    return min(levels - 1, int(_unit(value) * levels))


def ramp_color(value: float) -> str:
    """Colour of a value in [0, 1] on the sequential ramp, for the terminal's colour depth."""
    depth = display.current().depth
    if depth == "16":
        return RAMP_16[ramp_level(value, len(RAMP_16))]
    if depth == "256":
        return f"color({RAMP_256[ramp_level(value, len(RAMP_256))]})"
    return RAMP[ramp_level(value, len(RAMP))]


def ramp_cell(value: float, width: int) -> str:
    """A heatmap cell: full blocks, or a shade glyph per level where colour alone
    cannot carry the value (16 colours, monochrome, ASCII)."""
    if display.current().glyph_cues:
        return GLYPH_RAMP[ramp_level(value, len(GLYPH_RAMP))] * width
    return "█" * width


def ramp_stops() -> list[tuple[float, str]]:
    """(value, label) for each swatch of a legend of the ramp: every level when the
    ramp has glyph levels (so the key is complete), else six stops."""
    if display.current().glyph_cues:  # ranges: "0-.25", "-.5", "-.75", "-1"
        n = len(GLYPH_RAMP)
        ends = [f"{(k + 1) / n:.2g}".removeprefix("0") for k in range(n)]
        return [((k + 0.5) / n, ("0" if k == 0 else "") + "-" + ends[k]) for k in range(n)]
    return [(0.0, "0"), (0.2, ".2"), (0.4, ".4"), (0.6, ".6"), (0.8, ".8"), (1.0, "1")]


def number_color(value: float) -> str:
    """Colour of a number printed on the dark background: the bright half of
    the ramp only (its dark end is unreadable as text; ~1.6:1 contrast)."""
    v = value if math.isfinite(value) else 0.0
    return ramp_color(0.5 + 0.5 * min(1.0, max(0.0, v)))


def ink(value: float) -> str:
    """Readable text colour on a `ramp_color` background."""
    return "black" if value >= 0.6 else "white"


def diverging_color(value: float) -> str:
    """Colour of a similarity in [-1, 1] (blue negative, red positive)."""
    if not math.isfinite(value):
        value = 0.0
    v = min(1.0, max(-1.0, value))
    i = int(round((v + 1) / 2 * (len(DIVERGING) - 1)))
    return DIVERGING[i]


def token_label(token: str, width: int) -> str:
    """A token made visible (·, ↵, control pictures), fitted to ``width`` cells."""
    return fit(visible(token), width)


def word_label(text: str, width: int) -> str:
    """Typed text (a word or sentence) with control characters made visible, fitted."""
    return fit(escape_controls(text, keep_newlines=False), width)


def short_percent(p: float) -> str:
    """Probability as three cells of percent: "100", " 43", "  7", " <1"."""
    if p >= 0.995:
        return "100"
    if p >= 0.005:
        return f"{100 * p:>3.0f}"
    return " <1"


def percent(p: float) -> str:
    """Probability as a short percentage: "43%", "7%", "<1%"."""
    if p >= 0.995:
        return "100%"
    if p >= 0.005:
        return f"{100 * p:.0f}%"
    return "<1%" if p > 0 else "0%"


def scale_legend(label: str = "weight") -> Text:
    """The numeric colour key for attention heatmaps (and the mask symbol)."""
    t = Text(f"{label} ", style=DIM, no_wrap=True)
    for v, name in ramp_stops():
        t.append(ramp_cell(v, 2), Style(color=ramp_color(v)))
        t.append(f"{name} ", DIM)
    t.append("·", MASK_STYLE)
    t.append(" future", DIM)
    return t


HEATMAP_LEFT = 15
"""Cells left of an attention heatmap's first column (marker, index, label, gap)."""


def smooth_diverging(value: float) -> str:
    """Like `diverging_color` but interpolated between the stops (for fine maps)."""
    if not math.isfinite(value):
        value = 0.0
    v = (min(1.0, max(-1.0, value)) + 1) / 2 * (len(DIVERGING) - 1)
    i = min(len(DIVERGING) - 2, int(v))
    f = v - i
    a, b = DIVERGING[i], DIVERGING[i + 1]
    mix = [round(int(a[k:k + 2], 16) * (1 - f) + int(b[k:k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in mix)


NEGATIVE_GLYPHS = ("=", "-")
"""Glyphs of similarities below -0.5 and in [-0.5, 0) (positive ones: `GLYPH_RAMP`)."""


def diverging_glyph(value: float) -> str:
    """A similarity in [-1, 1] as a glyph: ``=`` ``-`` below 0, shades above."""
    v = min(1.0, max(-1.0, value)) if math.isfinite(value) else 0.0
    if v < 0:
        return NEGATIVE_GLYPHS[0] if v < -0.5 else NEGATIVE_GLYPHS[1]
    return GLYPH_RAMP[ramp_level(v, len(GLYPH_RAMP))]


def diverging_legend(scale: float = 1.0) -> Text:
    t = Text("cosine ", style=DIM, no_wrap=True)
    if display.current().glyph_cues:  # each glyph with the upper end of its range
        for v, end in ((-0.75, -0.5), (-0.25, 0.0), (0.125, 0.25), (0.375, 0.5),
                       (0.625, 0.75), (0.875, 1.0)):
            t.append(diverging_glyph(v), Style(color=smooth_diverging(v)))
            t.append(f"<{end * scale:+.2g} " if end < 1 else f"≤{scale:+.2g}", DIM)
        return t
    for v in (-1.0, -0.5, 0.0, 0.5, 1.0):
        t.append("██", Style(color=smooth_diverging(v)))
        t.append(f"{v * scale:+.2g} ", DIM)
    return t


def _vertical_labels(tokens: list[str], indent: int, lines: int, cell: int = 2,
                     selected: int | None = None) -> list[Text]:
    """Column labels written downwards, one column of ``cell`` cells per token."""
    shown = [visible(t) for t in tokens]
    rows = []
    for k in range(lines):
        line = Text(" " * indent)
        for j, s in enumerate(shown):
            ch = s[k] if k < len(s) else ""
            if cell_len(ch) > cell or (ch and cell_len(ch) == 0):
                ch = "◌"
            style = SELECT if j == selected and ch else LABEL
            line.append(ch, style)
            line.append(" " * (cell - cell_len(ch)))
        rows.append(line)
    return rows


HEATMAP_HEADER = 4
"""Lines of vertical column labels above an attention heatmap."""


def heatmap_scale(tokens: int, width: int, height: int, side: int = 0, most: int = 3) -> int:
    """How large to draw a T x T heatmap: each cell ``2*s`` columns by ``s`` lines
    (square on a 1:2 cell), the largest ``s`` <= ``most`` for which the map, its
    labels, its legend (one line) and a ``side`` panel beside it fit ``width`` x
    ``height``; 1 when even that does not fit (the board scrolls)."""
    for s in range(most, 1, -1):
        if (HEATMAP_LEFT + 2 * s * tokens + 2 + side <= width
                and HEATMAP_HEADER + s * tokens + 1 <= height):
            return s
    return 1


def attention_heatmap(tokens: list[str], weights: Any, query: int | None = None,
                      label_width: int = HEATMAP_LEFT - 6,
                      header_lines: int = HEATMAP_HEADER, scale: int = 1) -> Text:
    """A T x T heatmap: rows = queries, columns = keys, token labels on both axes,
    the causal mask drawn as dots. ``weights`` is a (T, T) array; each cell is
    ``2 * scale`` columns by ``scale`` lines (`heatmap_scale`)."""
    T = len(tokens)
    cell = 2 * scale
    masked = " " * (cell - 1) + "·"
    out = Text(no_wrap=True, overflow="crop")
    indent = label_width + 6
    for line in _vertical_labels(tokens, indent, header_lines, cell=cell, selected=query):
        out.append_text(line)
        out.append("\n")
    for i in range(T):
        row_meta = Style(meta={"att_row": i})
        cells = [(masked, MASK_STYLE) if j > i else
                 (ramp_cell(float(weights[i, j]), cell),
                  Style(color=ramp_color(float(weights[i, j])))) for j in range(T)]
        for line in range(scale):
            if line == 0:
                mark = "▶" if i == query else " "
                row_style = SELECT if i == query else LABEL
                out.append(f"{mark}{i:>3} ", row_meta)
                out.append(token_label(tokens[i], label_width), row_style + row_meta)
                out.append(" ", row_meta)
            else:
                out.append(" " * indent, row_meta)
            for j, (glyphs, style) in enumerate(cells):
                shown = glyphs if line == 0 or j <= i else " " * cell
                out.append(shown, style + Style(meta={"att_row": i, "att_col": j}))
            if i < T - 1 or line < scale - 1:
                out.append("\n")
    return out


def _bar(fraction: float, width: int) -> str:
    """A horizontal bar with eighth-block precision."""
    fraction = min(1.0, max(0.0, fraction if math.isfinite(fraction) else 0.0))
    eighths = int(round(fraction * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if not rest else " ▏▎▍▌▋▊▉"[rest])


def query_detail(tokens: list[str], weights: Any, scores: Any, query: int, width: int,
                 head_name: str) -> Text:
    """Which earlier tokens query ``query`` attends to: the Q·K score before the
    softmax beside the weight after it, as labelled bars."""
    out = Text(no_wrap=True, overflow="crop")
    out.append("query ", TITLE)
    out.append(token_label(tokens[query], 12).rstrip(), SELECT)
    out.append(f" ({head_name}) looks at:\n", TITLE)
    label_w = 9
    bar_w = max(4, min(40, width - label_w - 3 - 7 - 1 - 5))
    out.append(fit("key", label_w + 3) + fit("Q·K/√d", 7) + " " + fit("softmax", bar_w + 5) + "\n",
               DIM)
    for j in range(query + 1):
        w = float(weights[query, j])
        s = float(scores[query, j])
        out.append(f"{j:>2} ", DIM)
        out.append(token_label(tokens[j], label_w), LABEL)
        out.append(f"{s:+7.2f} " if math.isfinite(s) else "      - ", DIM)
        out.append(fit(_bar(w, bar_w), bar_w), Style(color=ramp_color(0.35 + 0.65 * w)))
        out.append(f"{percent(w):>5}")
        if j < query:
            out.append("\n")
    return out


def head_table(tokens: list[str], weights_lh: Any, query: int, width: int) -> Text:
    """For one query: every head's weight per key, and their mean (the average view)."""
    H = weights_lh.shape[0]
    out = Text(no_wrap=True, overflow="crop")
    out.append("query ", TITLE)
    out.append(token_label(tokens[query], max(1, min(12, width - 25))).rstrip(), SELECT)
    out.append(" per head and mean:\n", TITLE)
    col = 4
    fixed = 3 + col * H + 1 + 5  # index, head columns, gap, percentage
    # Narrow panels (80 columns) shorten the labels before the mean's bar: a row
    # never runs past ``width``.
    label_w = max(4, min(9, width - fixed - 3))
    bar_w = max(3, min(40, width - label_w - fixed))
    head = Text(" " * (label_w + 3), DIM)
    for h in range(H):
        head.append(f"{'h' + str(h):>{col}}", DIM)
    head.append(" mean", DIM)
    out.append_text(head)
    out.append("\n")
    mean = weights_lh.mean(axis=0)
    for j in range(query + 1):
        out.append(f"{j:>2} ", DIM)
        out.append(token_label(tokens[j], label_w), LABEL)
        for h in range(H):
            w = float(weights_lh[h, query, j])
            out.append(f"{round(100 * w):>{col}}", Style(color=number_color(w)))
        m = float(mean[query, j])
        out.append(" " + fit(_bar(m, bar_w), bar_w), Style(color=ramp_color(0.35 + 0.65 * m)))
        out.append(f"{percent(m):>5}")
        if j < query:
            out.append("\n")
    return out


def small_multiples(weights: Any, layer: int, head: int | None, label: str = "") -> Text:
    """Every layer x head (and the mean per layer) as small heatmaps, one cell per
    character; the selected block's title is highlighted. ``weights`` (L, H, T, T)."""
    L, H, T, _ = weights.shape
    out = Text(no_wrap=True, overflow="crop")
    block_w = max(T, 3) + 1
    if label:
        out.append(label + "\n", DIM)
    for li in range(L):
        title = Text("    ")
        for h in range(H + 1):
            name = f"h{h}" if h < H else "mean"
            selected = li == layer and ((h < H and head == h) or (h == H and head is None))
            style = HEAD_TITLE_SELECTED if selected else LABEL
            title.append(fit(name, block_w - 1), style + Style(meta={"sm": f"{li},{h}"}))
            title.append(" ")
        out.append(f"L{li:<3}", TITLE if li == layer else LABEL)
        out.append_text(title[4:])
        out.append("\n")
        for i in range(T):
            out.append("    ")
            for h in range(H + 1):
                w = weights[li, h] if h < H else weights[li].mean(axis=0)
                meta = Style(meta={"sm": f"{li},{h}"})
                for j in range(T):
                    if j > i:
                        out.append("·", MASK_STYLE + meta)
                    else:
                        value = float(w[i, j])
                        out.append(ramp_cell(value, 1), Style(color=ramp_color(value)) + meta)
                out.append(" " * (block_w - T))
            out.append("\n")
    out.rstrip()
    return out


# -- embeddings ---------------------------------------------------------------------


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


# -- positions ------------------------------------------------------------------------


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


# -- logit lens -----------------------------------------------------------------------


def lens_table(lens: Any, layer: int, pos: int, width: int, cell_w: int = 11) -> Text:
    """Rows = layers (bottom = the model's output), columns = positions: each
    layer's top next-token guess and its probability. A ✓ marks a guess that
    equals the prompt's actual next token. Shows the columns around ``pos``."""
    T = len(lens.tokens)
    label_w = 8
    ncols = max(1, (width - label_w) // cell_w)
    first = max(0, min(pos - ncols // 2, T - ncols))
    cols = list(range(first, min(T, first + ncols)))
    out = Text(no_wrap=True, overflow="crop")
    out.append(fit("input→", label_w), DIM)
    for p in cols:
        out.append(token_label(lens.tokens[p], cell_w - 1) + " ",
                   (SELECT if p == pos else LABEL) + Style(meta={"lens": f"-1,{p}"}))
    out.append("\n")
    for li, name in enumerate(lens.layers):
        out.append(fit(name, label_w), SELECT if li == layer else LABEL)
        for p in cols:
            cell = lens.cells[li][p]
            best = cell.top[0]
            hit = p + 1 < T and best.id == lens.ids[p + 1]
            meta = Style(meta={"lens": f"{li},{p}"})
            shade = 0.25 + 0.75 * best.prob
            style = Style(color=ink(shade), bgcolor=ramp_color(shade))
            if li == layer and p == pos:
                style = SELECT
            text = token_label(best.token, cell_w - 5) + ("✓" if hit else " ")
            out.append(text + short_percent(best.prob), style + meta)
            out.append(" ")
        out.append("\n")
    out.append(fit("next", label_w), DIM)
    for p in cols:
        nxt = lens.tokens[p + 1] if p + 1 < T else "?"
        out.append(token_label(nxt, cell_w - 1) + " ", DIM)
    if first > 0 or cols[-1] < T - 1:
        out.append(f"\npositions {cols[0]}..{cols[-1]} of 0..{T - 1} (←/→ to move)", DIM)
    return out


def lens_detail(lens: Any, layer: int, pos: int, width: int) -> Text:
    """The selected cell: its top tokens with probability bars, and the actual next token."""
    T = len(lens.tokens)
    cell = lens.cells[layer][pos]
    out = Text(no_wrap=True, overflow="crop")
    out.append(f"{lens.layers[layer]}, after ", TITLE)
    out.append(token_label(lens.tokens[pos], 14).rstrip(), SELECT)
    if pos + 1 < T:
        out.append("  actual next ", DIM)
        out.append(token_label(lens.tokens[pos + 1], 14).rstrip(), LABEL)
        out.append(f": {percent(cell.target_prob or 0.0)}, rank {cell.target_rank}", DIM)
    out.append("\n")
    bar_w = max(4, min(40, width - 16 - 6))
    for k, c in enumerate(cell.top):
        out.append(token_label(c.token, 15) + " ", LABEL)
        out.append(fit(_bar(c.prob, bar_w), bar_w), Style(color=ramp_color(0.35 + 0.65 * c.prob)))
        out.append(f"{percent(c.prob):>5}")
        if k < len(cell.top) - 1:
            out.append("\n")
    return out
