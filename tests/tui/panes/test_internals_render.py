"""The Transformer pane's pure renderers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from genai_tui.tui.panes.internals import embeddings_render
from genai_tui.tui.panes.internals import render as R


@given(st.text(max_size=30), st.integers(min_value=1, max_value=20))
def test_labels_are_safe_and_fit(text: str, width: int) -> None:
    for label in (R.token_label(text, width), R.word_label(text, width)):
        assert cell_len(label) == width
        assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in label)
        assert "\u202e" not in label


def test_fit_counts_wide_characters() -> None:
    assert R.fit("日本語テキスト", 6) == "日本… "
    assert cell_len(R.fit("日本語テキスト", 6)) == 6
    assert R.fit("ab", 4) == "ab  "


def test_heatmap_draws_the_causal_mask_and_labels() -> None:
    tokens = ["The", " cat", " sat", "\x1b[31m"]
    T = len(tokens)
    w = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    text = R.attention_heatmap(tokens, w, query=2)
    plain = text.plain
    assert "\x1b" not in plain and "␛" in plain
    rows = plain.splitlines()[4:]
    assert len(rows) == T
    for i, row in enumerate(rows):
        assert row.count("██") == i + 1
        assert row.count(" ·") >= T - 1 - i
    assert rows[2].startswith("▶")
    header = plain.splitlines()[:4]
    assert [line.strip()[0] for line in header[:2]] == ["T", "h"]


def test_colour_scales() -> None:
    assert R.ramp_color(0.0) == R.RAMP[0] and R.ramp_color(1.0) == R.RAMP[-1]
    assert R.ramp_color(float("nan")) == R.RAMP[0]
    assert R.diverging_color(-1) == R.DIVERGING[0] and R.diverging_color(1) == R.DIVERGING[-1]
    legend = R.scale_legend().plain
    assert "0" in legend and ".6" in legend and "1" in legend and "future" in legend


def test_scatter_keeps_every_point_and_label() -> None:
    labels = ["China", "Japan", "Moscow", "Russia", "banana"]
    points = [(-1.0, 0.1), (-1.0, 0.5), (-1.05, 0.05), (-0.9, 0.0), (1.0, -0.5)]
    plain = embeddings_render.scatter(labels, points, 60, 14, (0.5, 0.2)).plain
    assert plain.count("●") == len(labels)
    for label in labels:
        assert label in plain
    assert "PC1 → 50%" in plain and "PC2 ↑ 20%" in plain


def test_percentages() -> None:
    assert R.percent(0.4321) == "43%" and R.percent(0.001) == "<1%" and R.percent(1.0) == "100%"
    assert [R.short_percent(p) for p in (1.0, 0.43, 0.07, 0.0001)] == ["100", " 43", "  7", " <1"]


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_head_table_numbers_are_readable_on_a_dark_background() -> None:
    # QA: small weights were printed in the ramp's dark purple (#5d126e, ~1.6:1
    # against the dark background), i.e. most numbers of the "mean" view.
    w = np.zeros((4, 3, 3))
    w[:, 2] = [0.02, 0.08, 0.9]
    w[:, 0, 0] = 1.0
    w[:, 1, :2] = 0.5
    text = R.head_table(["a", "b", "c"], w, query=2, width=60)
    background = _luminance("#121212")
    for span in text.spans:
        style = span.style
        colour = getattr(style, "color", None)
        if colour is None or not text.plain[span.start:span.end].strip().isdigit():
            continue
        contrast = (_luminance(colour.get_truecolor().hex) + 0.05) / (background + 0.05)
        assert contrast >= 3.0, (text.plain[span.start:span.end], colour)
