"""The Transformer pane's numbers as CSV (plain Python, no Textual): the
attention weights shown, or the position-similarity curve."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from genai_tui.textsafe import visible


def write_attention(path: Path, tokens: list[str], weights: Any) -> None:
    """The (T, T) weights: one row per query, one column per key (masked = 0)."""
    labels = [visible(t) for t in tokens]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["query", "token", *[f"{j}:{t}" for j, t in enumerate(labels)]])
        for i, label in enumerate(labels):
            out.writerow([i, label, *(f"{float(w):.6g}" for w in weights[i])])


def write_distance_curve(path: Path, by_distance: list[float]) -> None:
    """Mean cosine similarity of position vectors d apart, for every d."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["distance", "mean_similarity"])
        for d, value in enumerate(by_distance):
            out.writerow([d, f"{value:.6g}"])
