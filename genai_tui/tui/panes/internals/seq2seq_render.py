"""Pure renderers for the encoder-decoder view: attention maps -> `rich.text.Text`.

Character-level maps: one terminal column per input character, so the input
itself is the column header. Self-attention maps pack two query rows into one
line with half blocks (``▀``: top half = row i, bottom half = row i + 1).
Characters are untrusted (typed by the user): they pass through
`textsafe.visible` and into `Text` objects, never markup.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text

from genai_tui import display
from genai_tui.textsafe import visible
from genai_tui.tui.panes.internals.render import (
    DIM,
    GLYPH_RAMP,
    LABEL,
    MASK_STYLE,
    RAMP,
    SELECT,
    TITLE,
    ramp_cell,
    ramp_color,
)
from genai_tui.tui.text import fit

MASKED_COLOR = "#303030"
"""A position the mask forbids (not a weight of 0: it was never computed)."""
SPECIAL_LABELS = {"<bos>": "^", "<eos>": "$", "<pad>": "_", "<unk>": "?"}


def char_label(token: str) -> str:
    """One cell for a character token: a space as ·, specials as ^ (start) and $ (end)."""
    if token in SPECIAL_LABELS:
        return SPECIAL_LABELS[token]
    shown = visible(token)
    return shown[:1] if shown else "?"


def row_label(token: str, width: int = 5) -> str:
    return fit(token if token in SPECIAL_LABELS else visible(token), width)


def _header(tokens: list[str], indent: int, highlight: int | None = None) -> Text:
    t = Text(" " * indent, no_wrap=True)
    for i, tok in enumerate(tokens):
        t.append(char_label(tok), SELECT if i == highlight else LABEL)
    return t


def cross_map(in_tokens: list[str], out_tokens: list[str], weights: Any, title: str,
              selected: int | None = None) -> Text:
    """Output tokens (rows) x input characters (columns), weights (T, S) in [0, 1].

    The brightest cell of each row (where that output character looked most)
    is marked in the header of the selected row."""
    t = Text(no_wrap=True)
    t.append(title + "\n", TITLE)
    peak = int(weights[selected].argmax()) if selected is not None and len(out_tokens) else None
    t.append_text(_header(in_tokens, 7, peak))
    t.append("\n")
    for r, tok in enumerate(out_tokens):
        style = SELECT if r == selected else LABEL
        t.append(row_label(tok, 5), style)
        t.append(" ▏", DIM)
        for s in range(len(in_tokens)):
            value = float(weights[r, s])
            t.append(ramp_cell(value, 1), Style(color=ramp_color(value)))
        t.append("\n")
    return t


def self_map(tokens: list[str], weights: Any, title: str, causal: bool) -> Text:
    """Self-attention, queries (rows) x keys (columns), two rows per line.

    ``causal``: cells above the diagonal are drawn as masked (grey), whatever
    their value (it is 0: the softmax gave them no weight)."""
    n = len(tokens)
    t = Text(no_wrap=True)
    t.append(title + "\n", TITLE)
    t.append_text(_header(tokens, 0))
    t.append("\n")

    def color(r: int, c: int) -> str:
        if causal and c > r:
            return MASKED_COLOR
        return ramp_color(float(weights[r, c]))

    if display.current().glyph_cues:  # one row per line, a shade glyph per cell
        for r in range(n):
            for c in range(n):
                if causal and c > r:
                    t.append("·", MASK_STYLE)  # the heatmap's masked dot
                else:
                    t.append(ramp_cell(float(weights[r, c]), 1), Style(color=color(r, c)))
            t.append("\n")
        return t
    for r in range(0, n, 2):
        for c in range(n):
            top = color(r, c)
            if r + 1 < n:
                t.append("▀", Style(color=top, bgcolor=color(r + 1, c)))
            else:
                t.append("▀", Style(color=top))
        t.append("\n")
    return t


def legend() -> Text:
    t = Text(no_wrap=True)
    t.append("0 ", DIM)
    levels = len(GLYPH_RAMP) if display.current().glyph_cues else len(RAMP)
    for k in range(levels):  # every level of the ramp, so the key is complete
        value = (k + 0.5) / levels
        t.append(ramp_cell(value, 1), Style(color=ramp_color(value)))
    t.append(" 1", DIM)
    t.append("  ", DIM)
    if display.current().glyph_cues:
        t.append("·", MASK_STYLE)
    else:
        t.append("█", Style(color=MASKED_COLOR))
    t.append(" masked", DIM)
    return t


def output_line(tokens: list[str], probs: list[float], done: bool) -> Text:
    """The output so far, one character per token, coloured by its probability."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("out› ", LABEL)
    for tok, p in zip(tokens, probs, strict=False):
        if tok == "<eos>":
            t.append(" $", DIM)
            continue
        t.append(char_label(tok) if tok != " " else " ", Style(bold=True, color=_prob_color(p)))
    if not done:
        t.append("▌", DIM)
    if probs:
        t.append(f"   lowest p {min(probs):.3f}", DIM)
    return t


def _prob_color(p: float) -> str:
    return "green" if p >= 0.9 else "yellow" if p >= 0.5 else "red"


def ranking_line(ranking: list[tuple[str, float, float]], width: int) -> Text:
    """Beam search's final hypotheses: (text, log-prob, score), best first."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("beams› ", LABEL)
    for i, (text, logprob, _score) in enumerate(ranking):
        t.append(f"{i + 1}. ", DIM)
        t.append(visible(text), TITLE if i == 0 else LABEL)
        t.append(f" {logprob:.2f}  ", DIM)
    t.truncate(width, overflow="ellipsis")
    return t


def attention_maps(result: Any, layer: int, head: int, mean: bool,
                   row: int | None) -> tuple[Text, Text, Text]:
    """The view's three maps for one decoding (`service.seq2seq` result): cross-attention
    of ``layer`` (output rows x input columns, ``row`` highlighted), the encoder's
    bidirectional self-attention and the decoder's causal one with the legend under it.
    ``head`` is taken modulo the head count; ``mean`` averages the heads instead."""
    n_layer = len(result.cross)
    layer %= n_layer
    n_head = result.cross[0].shape[0]

    def pick(a: Any) -> Any:
        return a.mean(axis=0) if mean else a[head % n_head]

    what = "mean of heads" if mean else f"head {head % n_head}"
    cross = cross_map(result.input_tokens, result.output_tokens, pick(result.cross[layer]),
                      f"cross-attention L{layer} {what}", selected=row)
    enc_layer = min(layer, len(result.encoder) - 1)
    encoder = self_map(result.input_tokens, pick(result.encoder[enc_layer]),
                       f"encoder L{enc_layer}: all see all", causal=False)
    dec_tokens = ["<bos>"] + result.output_tokens[:-1]
    decoder = Text(no_wrap=True)
    decoder.append_text(self_map(dec_tokens, pick(result.decoder[layer]),
                                 f"decoder L{layer}: causal", causal=True))
    decoder.append("\n")
    decoder.append_text(legend())
    return cross, encoder, decoder
