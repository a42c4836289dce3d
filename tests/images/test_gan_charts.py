"""The GAN pane's charts: braille line charts and the scatter over a shaded map."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from genai_tui.images.charts import (
    BOTH_GLYPH,
    FAKE_GLYPH,
    REAL_GLYPH,
    line_chart,
    line_chart_rows,
    scatter_map_rows,
)

values = st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=300)


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=1, max_size=3), st.integers(8, 90), st.integers(1, 12),
       st.one_of(st.none(), st.integers(1, 500)))
def test_line_chart_is_always_width_by_height(series, width, height, window) -> None:
    rows = line_chart_rows([(v, "red") for v in series], width, height, window=window)
    assert len(rows) == height
    assert all(sum(cell_len(seg.text) for seg in row) == width for row in rows)


def test_line_chart_draws_a_rising_line_bottom_left_to_top_right() -> None:
    text = line_chart([(list(range(100)), "red")], 26, 4, label_width=6).plain.splitlines()
    assert text[0].startswith("   99┤") and text[-1].startswith("    0┤")
    top, bottom = text[0][6:], text[-1][6:]
    assert top.rstrip()[-1] != " " and top[0] == " "
    assert bottom[0] != " " and bottom.rstrip() == bottom[: len(bottom.rstrip())]
    assert all("\u2800" <= ch <= "\u28ff" or ch == " " for line in text for ch in line[6:])


def test_long_series_scroll_to_the_latest_window() -> None:
    old_then_new = [0.0] * 1000 + [1.0] * 100
    text = line_chart([(old_then_new, "red")], 30, 3, window=100, y_range=(0, 1)).plain
    assert set(text.splitlines()[-1][6:]) == {" "}, "only the last 100 (all 1.0) are shown"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 20),
       st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), max_size=50),
       st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), max_size=50))
def test_scatter_map_is_always_rows_by_cols(cols, rows, real, fake) -> None:
    decision = np.random.default_rng(0).random((rows, cols))
    out = scatter_map_rows(decision, (-2, 2, -2, 2), np.asarray(real, dtype=float),
                           np.asarray(fake, dtype=float))
    assert len(out) == rows
    assert all(sum(cell_len(seg.text) for seg in row) == cols for row in out)


def test_scatter_glyphs_tell_real_from_generated_without_colour() -> None:
    decision = np.full((2, 4), 0.5)
    real = np.array([[-1.5, 0.5], [0.5, 0.5]])
    fake = np.array([[0.5, 0.5], [1.5, -0.5]])
    out = ["".join(seg.text for seg in row)
           for row in scatter_map_rows(decision, (-2, 2, -1, 1), real, fake)]
    assert out == [f"{REAL_GLYPH} {BOTH_GLYPH} ", f"   {FAKE_GLYPH}"]
