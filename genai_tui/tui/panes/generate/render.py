"""What the generate pane draws: probability bands and styles for tokens, the
legend, candidate bars and the sampler X-ray.

Pure functions of service records (no Textual), so they are cheap to test.
Model text only enters through `textsafe` and `Text.append`, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from genai_tui.service.generate import Candidate, TokenStep
from genai_tui.textsafe import visible
from genai_tui.tui.text import truncate


@dataclass(frozen=True)
class ProbBin:
    """One band of chosen-token probability: a colour and a cue that needs no colour."""

    low: float
    colour: str
    cue: str
    """Rich style words (bold / italic / underline): the band without colour."""
    label: str


BINS: tuple[ProbBin, ...] = (
    ProbBin(0.5, "#5fd75f", "bold", "≥50%"),
    ProbBin(0.2, "#afd75f", "", "≥20%"),
    ProbBin(0.05, "#ffd75f", "italic", "≥5%"),
    ProbBin(0.01, "#ff875f", "underline", "≥1%"),
    ProbBin(0.0, "#ff5fd7", "underline italic", "<1%"),
)
"""Bands from confident to surprising. Low-probability tokens are underlined,
so they stand out in a monochrome terminal or for colour-blind readers."""

_BIN_STYLES = tuple(Style.parse(f"{b.colour} {b.cue}".strip()) for b in BINS)
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
CURSOR_STYLE = Style(reverse=True)
FORK_STYLE = Style(bgcolor="#5f00af", color="white")
FORK_MARK = "⑂"
_EIGHTHS = " ▏▎▍▌▋▊▉█"
_SPARK = "▁▂▃▄▅▆▇█"


def model_prob(step: TokenStep) -> float:
    """The probability the tokens are coloured by: the model's own (before the knobs).

    It says how surprising the token was to the model, whatever the knobs did;
    the probability after the knobs is 1 for every greedy token.
    """
    return step.raw_prob if step.raw_prob > 0 else step.prob


def bin_index(prob: float) -> int:
    """Which band of `BINS` a probability falls in."""
    for i, band in enumerate(BINS):
        if prob >= band.low:
            return i
    return len(BINS) - 1


def prob_style(prob: float) -> Style:
    """Colour plus non-colour cue for a chosen token of this probability."""
    return _BIN_STYLES[bin_index(prob)]


NO_PROB_STYLE = Style(color="grey82")
"""A token whose probability the back end did not return: plain, never "unlikely"."""


def token_style(step: TokenStep) -> Style:
    """How a chosen token is drawn: by its model probability, or plain when unknown."""
    return prob_style(model_prob(step)) if step.has_probs else NO_PROB_STYLE


def subscript_percent(prob: float) -> str:
    """``0.42`` -> ``₄₂`` (the probability digits shown after a token)."""
    return str(min(99, int(prob * 100 + 0.5))).translate(_SUBSCRIPT)


def percent(prob: float | None) -> str:
    """Four cells: `` 42%``, ``100%``, `` <1%``, or ``   —`` when unknown."""
    if prob is None:
        return "   —"
    if prob <= 0:
        return "  0%"
    if prob < 0.005:
        return " <1%"
    return f"{prob * 100:3.0f}%"


def bar(prob: float, width: int) -> str:
    """A horizontal bar of ``width`` cells, full at probability 1 (eighth-cell steps)."""
    eighths = max(0, min(width * 8, round(prob * width * 8)))
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def spark(probs: Sequence[float], width: int) -> str:
    """The top probabilities as a sparkline (absolute scale: █ is probability 1)."""
    out = []
    for p in list(probs)[:width]:
        out.append(_SPARK[max(0, min(7, int(p * 8)))] if p > 0 else " ")
    return "".join(out).ljust(width)


def token_label(token: str, width: int | None = None) -> str:
    """A token as one visible run of cells (``·`` for space, ``↵`` for newline)."""
    label = visible(token) or "∅"
    if width is None:
        return label
    return truncate(label, max(1, width))  # even no room shows the cut: "…"


def legend() -> Text:
    """``p(model) ≥50% ≥20% ≥5% ≥1% <1%``, each label drawn in its band's style."""
    text = Text("p(model) ", style="grey62", end="")
    for i, band in enumerate(BINS):
        if i:
            text.append(" ")
        text.append(band.label, _BIN_STYLES[i])
    return text


@dataclass(frozen=True)
class CandidateRow:
    """One line of the candidates table: a token's probability before and after the knobs."""

    id: int
    token: str
    before: float | None
    after: float | None
    """None when unknown (outside the top-N after the knobs and not known to be cut);
    0 when the knobs cut it (shown as "cut")."""


def candidate_rows(step: TokenStep) -> list[CandidateRow]:
    """The model's top-N (before the knobs), then any token that only the knobs brought in.

    A token missing from the after-knobs list counts as cut (0) when the last
    stage kept no more tokens than that list holds; otherwise it is unknown.
    """
    after = {c.id: c.prob for c in step.top_after}
    kept_all = bool(step.stages) and step.stages[-1].kept <= len(step.top_after)
    if not step.stages:
        kept_all = len(step.top_after) < len(step.top_before)
    rows = []
    seen = set()
    for c in step.top_before:
        seen.add(c.id)
        a = after.get(c.id, 0.0 if kept_all or c.id in step.cut else None)
        rows.append(CandidateRow(c.id, c.token, c.prob, a))
    for c in step.top_after:
        if c.id not in seen:
            rows.append(CandidateRow(c.id, c.token, None, c.prob))
    return rows


def _layout(width: int) -> tuple[int, int]:
    """Token column and bar widths for a candidates table ``width`` cells wide:
    ``▸✓ token bar pct bar pct`` with one space between columns."""
    tok_w = 8 if width < 40 else 12
    bar_w = max(2, (width - 2 - tok_w - 1 - (1 + 4 + 1) * 2) // 2)
    return tok_w, bar_w


def candidates_text(
    step: TokenStep,
    rows: Sequence[CandidateRow],
    alt: int | None,
    width: int,
    max_rows: int | None = None,
) -> Text:
    """The candidates table: ``▸ token  model-bar  p%  knobs-bar  p%``.

    ``alt`` is the highlighted row (the alternative a branch would take); the
    chosen token is marked ``✓``. Rows carry ``meta={"alt": i}`` for clicks.
    """
    tok_w, bar_w = _layout(width)
    out = Text(end="")
    head = Text("  " + "token".ljust(tok_w) + " " + "model".ljust(bar_w + 5)
                + " " + "knobs".ljust(bar_w + 5) + "\n", style="bold grey70", end="")
    out.append_text(head)
    shown = rows if max_rows is None else rows[:max(1, max_rows)]
    for i, row in enumerate(shown):
        meta = {"alt": i}
        selected = i == alt
        chosen = row.id == step.id
        mark = "▸" if selected else " "
        mark += "✓" if chosen else " "
        line = Text(end="")
        line.append(mark, Style(color="#ffd75f", bold=True, meta=meta))
        line.append(token_label(row.token, tok_w).ljust(tok_w), Style(meta=meta, bold=chosen))
        line.append(" ", Style(meta=meta))
        line.append(bar(row.before or 0.0, bar_w), Style(color="#5f87d7", meta=meta))
        line.append(" " + percent(row.before), Style(meta=meta))
        line.append(" ", Style(meta=meta))
        cut = row.after == 0.0
        line.append(bar(row.after or 0.0, bar_w) + " ", Style(color="#5fd75f", meta=meta))
        line.append(percent(row.after) if not cut else " cut",
                    Style(meta=meta, color="#ff5f87" if cut else None, strike=cut))
        if selected:
            line.stylize(Style(bgcolor="grey23"))
        line.append("\n")
        out.append_text(line)
    if max_rows is not None and len(rows) > len(shown):
        out.append(f"  … {len(rows) - len(shown)} more\n", "grey50")
    return out


def _chosen_prob(stage_top: Sequence[Candidate], token_id: int,
                 kept: int | None = None) -> float | None:
    """``token_id``'s probability in a stage's top list; 0 when the stage kept
    no more tokens than the list holds (so a missing token was cut); None
    when it is simply below the list."""
    for c in stage_top:
        if c.id == token_id:
            return c.prob
    if kept is not None and kept <= len(stage_top):
        return 0.0
    return None


_ABBREVIATIONS = (("temperature", "temp"), ("repetition", "rep"), ("presence", "pres"),
                  ("frequency", "freq"), ("typical-p", "typ-p"), ("penalties", "pen"))


def _abbreviate(label: str) -> str:
    for long, short in _ABBREVIATIONS:
        label = label.replace(long, short)
    return label


def xray_layout(width: int) -> tuple[int, int]:
    """Label and sparkline widths of an X-ray ``width`` cells wide."""
    spark_w = 5 if width < 40 else 8
    return max(6, width - 5 - 1 - spark_w - 1 - 4), spark_w


def xray_header(width: int) -> Text:
    """``sampler X-ray   kept  top   p(▸)`` aligned with `xray_text`'s columns."""
    label_w, spark_w = xray_layout(width)
    text = Text("sampler X-ray".ljust(label_w), style="bold grey70", end="")
    text.append(f"{'kept':>5} {'top':<{spark_w}} {'p(▸)':>4}\n", "grey50")
    return text


def xray_text(
    step: TokenStep, width: int, vocab_size: int | None = None, token_id: int | None = None
) -> Text:
    """The sampler X-ray: each stage's label, how many tokens it keeps, a
    sparkline of its top probabilities and the probability of ``token_id``
    (the highlighted candidate; the chosen token by default) after the stage."""
    token_id = step.id if token_id is None else token_id
    label_w, spark_w = xray_layout(width)
    out = Text(end="")
    rows: list[tuple[str, int | None, Sequence[Candidate]]] = [
        ("model", vocab_size, step.top_before)
    ]
    rows += [(s.label, s.kept, s.top) for s in step.stages]
    for label, kept, top in rows:
        line = Text(end="")
        shown = label if len(label) <= label_w else _abbreviate(label)
        if len(shown) > label_w:
            shown = shown[: label_w - 1] + "…"
        line.append(shown.ljust(label_w), "bold" if label != "model" else "grey70")
        line.append(f"{kept:>5}" if kept is not None else "    ?", "bold #5fd7ff")
        line.append(" ")
        line.append(spark([c.prob for c in top], spark_w), "#5fd75f")
        line.append(" ")
        p = _chosen_prob(top, token_id, kept if label != "model" else None) if top else None
        line.append(" cut" if p == 0.0 else percent(p), "#ff5f87" if p == 0.0 else "")
        line.append("\n")
        out.append_text(line)
    return out
