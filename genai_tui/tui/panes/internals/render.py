"""Pure renderers for the Transformer pane: results -> `rich.text.Text`.

This file owns what the views share (the colour ramps in every colour depth,
styles, labels, percentages, legends) and the attention view's drawings
(heatmap, query detail, head table, small multiples). The other views' are
in `embeddings_render.py`, `positions_render.py`, `lens_render.py` and
`seq2seq_render.py`.

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
