"""Small text charts as Rich `Text`: a two-series histogram and a glyph scatter plot.

Shared by the VAE pane and the CLI. Colours degrade with the console (and
vanish under NO_COLOR); the ``ascii`` flag keeps every character printable ASCII.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

# One colour per digit label, distinguishable in 16-colour terminals too.
LABEL_COLOURS: tuple[str, ...] = (
    "bright_red", "bright_green", "bright_yellow", "bright_blue", "bright_magenta",
    "bright_cyan", "red", "green", "yellow", "white",
)
SERIES_COLOURS: tuple[str, ...] = ("green", "red", "cyan", "magenta")


def histogram_text(
    edges: Sequence[float],
    series: dict[str, Sequence[int]],
    width: int = 40,
    log: bool = False,
    threshold: float | None = None,
    ascii_only: bool = False,
) -> Text:
    """A horizontal histogram, one text row per bin and series side by side.

    Args:
        edges: bin edges (len = bins + 1).
        series: name -> counts per bin; each series gets its own colour and glyph
            and is scaled to its own largest bin.
        width: total columns available.
        log: the edges are log10 values (labels show 10**edge).
        threshold: a value (same scale as the edges) marked with ``<- flag`` on its bin.
    """
    names = list(series)
    glyphs = ("#", "x", "o", "+") if ascii_only else ("█", "▓", "▒", "░")
    bins = len(edges) - 1
    label_w = 9
    bar_w = max(4, (width - label_w - 2 - 7) // max(1, len(names)))
    # Each series is scaled to its own peak: shapes compare even when one
    # series has 200 values and the other 16.
    peaks = {name: max(list(c) + [1]) for name, c in series.items()}
    out = Text()
    legend = Text("  ".join(f"{glyphs[i % 4]} {name}" for i, name in enumerate(names)))
    for i, name in enumerate(names):
        start = sum(len(f"{glyphs[j % 4]} {names[j]}") + 2 for j in range(i))
        legend.stylize(SERIES_COLOURS[i % len(SERIES_COLOURS)], start, start + len(name) + 2)
    out.append_text(legend)
    out.append("\n")
    for b in range(bins):
        lo = 10 ** edges[b] if log else edges[b]
        out.append(f"{_short(lo):>{label_w}} ", style="dim")
        for i, name in enumerate(names):
            count = series[name][b]
            n = round(bar_w * count / peaks[name])
            if count and n == 0:
                n = 1
            out.append(glyphs[i % 4] * n, style=SERIES_COLOURS[i % len(SERIES_COLOURS)])
            out.append(" " * (bar_w - n))
        if threshold is not None and edges[b] <= threshold < edges[b + 1]:
            out.append(" <- flag" if ascii_only else " ◀ flag", style="bold")
        if b < bins - 1:
            out.append("\n")
    return out


def _short(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.1e}"
    return f"{v:.3g}"


def scatter_text(
    points: Sequence[tuple[float, float]],
    labels: Sequence[int],
    width: int = 40,
    height: int = 16,
    span: float = 2.5,
    ascii_only: bool = False,
) -> Text:
    """Points in [-span, span]^2 drawn as their label's digit, coloured by label.

    y grows upwards. Where several points share a cell, the most common label
    wins. Points outside the square are clipped to the border.
    """
    width, height = max(4, width), max(2, height)
    cells: dict[tuple[int, int], dict[int, int]] = {}
    for (x, y), label in zip(points, labels, strict=True):
        c = int((min(max(x, -span), span) + span) / (2 * span) * (width - 1) + 0.5)
        r = int((span - min(max(y, -span), span)) / (2 * span) * (height - 1) + 0.5)
        votes = cells.setdefault((r, c), {})
        votes[label] = votes.get(label, 0) + 1
    dot = "." if ascii_only else "·"
    out = Text()
    for r in range(height):
        for c in range(width):
            votes = cells.get((r, c))
            if votes:
                label = max(votes, key=lambda k: (votes[k], -k))
                glyph = str(label) if 0 <= label <= 9 else "?"
                out.append(glyph, style=LABEL_COLOURS[label % 10] if label >= 0 else "dim")
            elif r == height // 2 or c == width // 2:
                out.append(dot, style="dim")
            else:
                out.append(" ")
        if r < height - 1:
            out.append("\n")
    return out
