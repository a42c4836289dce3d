"""The Transformer pane's logit-lens view drawn (no Textual, no torch): the
table of top tokens per layer and position, and the selected cell's detail,
as `rich.text.Text`. Token texts pass through `render.token_label`."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text

from genai_tui.tui.panes.internals.render import (
    DIM,
    LABEL,
    SELECT,
    TITLE,
    _bar,
    ink,
    percent,
    ramp_color,
    short_percent,
    token_label,
)
from genai_tui.tui.text import fit


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
