"""Fitting text into terminal cells: the one truncation helper of the panes.

Widths are terminal cells (`rich.cells.cell_len`: a wide character takes two),
and a cut is marked with one ``…`` cell.
"""

from __future__ import annotations

from rich.cells import cell_len


def truncate(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells, ``…`` marking a cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells (``…`` marks a cut) and padded with spaces
    to exactly ``width`` cells (a wide character cut off leaves a space)."""
    cut = truncate(text, width)
    return cut + " " * (width - cell_len(cut)) if width > 0 else ""
