"""The attention heatmap's palette at every colour depth (issue 14).

A terminal with fewer colours gets each colour through Rich's
`Color.downgrade`; the ramp must stay ordered there (rising luminance in the
palette the terminal shows, no two levels on one entry), every level must have
a non-colour cue where colour cannot carry the value, and the legend must show
every level.
"""

from __future__ import annotations

import numpy as np
import pytest
from rich._palettes import EIGHT_BIT_PALETTE, STANDARD_PALETTE
from rich.color import Color, ColorSystem

from genai_tui import display
from genai_tui.tui.panes.internals import positions_render
from genai_tui.tui.panes.internals import render as R
from genai_tui.tui.panes.internals import seq2seq_render as S

SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT,
           "16": ColorSystem.STANDARD}
LEVELS = {"truecolor": len(R.RAMP), "256": len(R.RAMP_256), "16": len(R.RAMP_16)}


def luminance(rgb) -> float:
    def channel(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def shown(colour: str, depth: str):
    """The colour a terminal of this depth shows for ``colour`` (its RGB)."""
    c = Color.parse(colour).downgrade(SYSTEMS[depth])
    if c.triplet is not None:
        return c.triplet
    return (STANDARD_PALETTE if depth == "16" else EIGHT_BIT_PALETTE)[c.number]


@pytest.mark.parametrize("depth", list(SYSTEMS))
def test_ramp_stays_ordered_and_distinct_after_downsampling(depth) -> None:
    display.configure(depth=depth)
    values = np.linspace(0, 1, 201)
    colours = [shown(R.ramp_color(float(v)), depth) for v in values]
    lums = [luminance(c) for c in colours]
    assert all(a <= b for a, b in zip(lums, lums[1:], strict=False)), "ramp not ordered"
    distinct = list(dict.fromkeys(colours))
    assert len(distinct) == LEVELS[depth], f"{len(distinct)} colours for {LEVELS[depth]} levels"
    assert len({luminance(c) for c in distinct}) == len(distinct)


def test_the_truecolor_ramp_would_collapse_in_16_colours() -> None:
    """Why there is a 16-colour ramp: the inferno stops fall on 6 entries for 10
    levels, the lowest on black (the background), and a legend of six stops
    would show two pairs of equal swatches."""
    numbers = [Color.parse(c).downgrade(ColorSystem.STANDARD).number for c in R.RAMP]
    assert len(set(numbers)) == 6 and numbers[0] == 0
    stops = [numbers[R.ramp_level(v, len(R.RAMP))] for v in (0, .2, .4, .6, .8, 1)]
    assert len(set(stops)) < len(stops)


@pytest.mark.parametrize("depth,ascii", [("16", False), ("mono", False), ("truecolor", True)])
def test_without_enough_colour_each_level_has_its_own_glyph(depth, ascii) -> None:
    display.configure(depth=depth, ascii=ascii)
    cells = [R.ramp_cell(float(v), 1) for v in np.linspace(0, 1, 101)]
    order = list(dict.fromkeys(cells))
    assert order == list(R.GLYPH_RAMP)  # four levels, lightest first, in value order
    folded = [display.fold(g) for g in order]  # what --ascii draws: a density ramp
    assert folded == [":", "+", "*", "#"]
    assert [display.SHADE_RAMP.index(g) for g in folded] == sorted(
        display.SHADE_RAMP.index(g) for g in folded)


def test_in_true_colour_cells_are_full_blocks() -> None:
    display.configure(depth="truecolor")
    assert {R.ramp_cell(v, 2) for v in (0.0, 0.5, 1.0)} == {"██"}


def _swatches(text) -> list[tuple[str, str]]:
    """(glyphs, colour) of every coloured block run in a legend."""
    out = []
    for span in text.spans:
        piece = text.plain[span.start:span.end]
        if piece and set(piece) <= set(R.GLYPH_RAMP) and span.style.color is not None:
            out.append((piece, span.style.color.name))
    return out


@pytest.mark.parametrize("depth", ["16", "mono"])
def test_legend_is_complete_with_glyphs(depth) -> None:
    display.configure(depth=depth)
    legend = R.scale_legend()
    swatches = _swatches(legend)
    assert [g[0] for g, _ in swatches] == list(R.GLYPH_RAMP)
    if depth == "16":
        assert [c for _, c in swatches] == list(R.RAMP_16)
    plain = legend.plain
    for label in ("0-.25", "-.5", "-.75", "-1", "future"):
        assert label in plain
    assert len(plain) <= 43  # the width the pane keeps for the legend
    cross = S.legend()
    assert "".join(g for g, _ in _swatches(cross)) == "".join(R.GLYPH_RAMP)


def test_truecolor_legend_has_its_six_stops() -> None:
    display.configure(depth="truecolor")
    legend = R.scale_legend()
    assert [c for _, c in _swatches(legend)] == [R.ramp_color(v) for v in
                                                  (0, .2, .4, .6, .8, 1)]
    assert "0" in legend.plain and ".6" in legend.plain and "1 " in legend.plain


def test_heatmap_cells_follow_the_weights_in_16_colours() -> None:
    display.configure(depth="16")
    w = np.tril(np.full((4, 4), 0.1))
    w[3] = [0.1, 0.3, 0.6, 0.9]
    rows = R.attention_heatmap(["a", "b", "c", "d"], w).plain.splitlines()[R.HEATMAP_HEADER:]
    assert rows[3].endswith("░░▒▒▓▓██")
    assert rows[0].rstrip().endswith("░░   ·   ·   ·".replace("   ", " "))


def test_heatmap_scale_grows_with_the_space() -> None:
    assert R.heatmap_scale(12, 80, 17, side=35) == 1
    assert R.heatmap_scale(12, 120, 33, side=35) == 2
    assert R.heatmap_scale(12, 200, 60, side=35) == 3
    assert R.heatmap_scale(64, 120, 33, side=35) == 1  # long prompts: one cell per token
    display.configure(depth="truecolor")
    big = R.attention_heatmap(["a", "b"], np.tril(np.ones((2, 2))), scale=2).plain
    rows = big.splitlines()[R.HEATMAP_HEADER:]
    assert len(rows) == 4 and rows[2].endswith("████████") and rows[0].endswith("████   ·")


async def test_a_16_colour_terminal_gets_ordered_heatmap_colours() -> None:
    """The frame Textual draws, downsampled as a TERM=xterm terminal gets it."""
    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.internals import InternalsPane

    app = GenaiApp(panes=[InternalsPane], depth="16")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(InternalsPane)
        for _ in range(400):
            await pilot.pause(0.05)
            if pane.att.result is not None and not pane.busy:
                break
        await pilot.pause(0.1)
        region = pane.query_one("#int-att-map").region
        strips = app.screen._compositor.render_strips()
        numbers: dict[str, set[int]] = {}
        legend = None
        for y in range(region.y, region.bottom):
            line = strips[y].crop(region.x, region.right)
            if "weight" in line.text and "future" in line.text:
                legend = line
            for seg in line:
                glyph = seg.text[:1]
                if glyph in R.GLYPH_RAMP and seg.style and seg.style.color:
                    number = seg.style.color.downgrade(ColorSystem.STANDARD).number
                    numbers.setdefault(glyph, set()).add(number)
        assert legend is not None, "no legend under the heatmap"
        assert set(numbers) == set(R.GLYPH_RAMP), numbers  # the legend shows every level
        assert all(len(n) == 1 for n in numbers.values()), numbers  # one colour per level
        order = [numbers[g].pop() for g in R.GLYPH_RAMP]
        lums = [luminance(STANDARD_PALETTE[n]) for n in order]
        assert lums == sorted(lums) and len(set(order)) == len(order), order


def test_position_map_has_a_glyph_per_cell_without_enough_colour() -> None:
    m = np.cos(np.subtract.outer(np.arange(16), np.arange(16)) / 3)
    display.configure(depth="truecolor")
    assert "▀" in positions_render.position_map(m, 30, 14).plain  # half blocks: two rows a cell
    display.configure(depth="16")
    text = positions_render.position_map(m, 30, 14)
    body = text.plain.splitlines()[1:-1]
    assert "▀" not in text.plain and len(body) == 12
    values = np.linspace(-1, 1, 201)
    glyphs = list(dict.fromkeys(R.diverging_glyph(float(v)) for v in values))
    assert glyphs == [*R.NEGATIVE_GLYPHS, *R.GLYPH_RAMP]  # ordered, every level once
    legend = R.diverging_legend(0.5).plain
    assert all(g in legend for g in glyphs) and "≤+0.5" in legend


def test_gan_map_marks_ds_real_side_without_enough_colour() -> None:
    from types import SimpleNamespace

    from genai_tui.images.charts import REAL_SIDE_GLYPH, scatter_map_rows
    from genai_tui.tui.panes.gan.pane import GanPane

    decision = np.array([[0.9, 0.9, 0.1, 0.1]] * 2)
    none = np.zeros((0, 2))

    def drawn() -> str:
        return "".join(seg.text for row in scatter_map_rows(decision, (0, 1, 0, 1), none, none)
                       for seg in row)

    display.configure(depth="truecolor")
    assert REAL_SIDE_GLYPH not in drawn()  # the shade says it
    for depth in ("16", "mono"):
        display.configure(depth=depth)
        assert drawn() == (REAL_SIDE_GLYPH * 2 + "  ") * 2
        legend = GanPane._legend(SimpleNamespace(mode="points")).plain
        assert f"{REAL_SIDE_GLYPH}real" in legend and len(legend) <= 42  # the 80x24 width
