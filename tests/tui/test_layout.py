"""Every pane and every view at 80x24 and 120x40: nothing essential clipped (issue 14).

Which widgets and words are essential is written down per view below (`LAYOUTS`).
For each view, at each size, every essential widget must be displayed with a
non-empty region that lies inside the pane's area (under the tab strip, above
the footer), be fully visible (not clipped by a scrolling container), and not
overlap another essential widget; every essential label must appear whole in
the frame Textual would draw. The main visuals must grow at 120x40, and going
80x24 -> 120x40 -> 80x24 must give back the first layout. One app run per
pane, with the bundled models, covers all its views and sizes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import monotonic

import pytest
from textual.geometry import Region
from textual.widgets import Footer

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes import PANES, load_pane
from genai_tui.tui.panes.imagine.run import GUIDANCE_ROW

SMALL, LARGE = (80, 24), (120, 40)
WAIT = 30.0
"""Seconds a view may take to show its essential labels (models load on first use)."""

Enter = Callable[[object, object], Awaitable[None]]


def action(name: str) -> Enter:
    """Enter a view by running one of the pane's actions (what its key does)."""
    async def enter(pilot, pane) -> None:
        await pane.run_action(name)
    return enter


def keys(*names: str) -> Enter:
    async def enter(pilot, pane) -> None:
        await pilot.press(*names)
    return enter


def focus(selector: str) -> Enter:
    async def enter(pilot, pane) -> None:
        pane.query_one(selector).focus()
    return enter


@dataclass(frozen=True)
class View:
    name: str
    widgets: tuple[str, ...]
    """Selectors of the essential widgets (input boxes, main visual, legend, status, knobs)."""
    texts: tuple[str, ...]
    """Labels that must be visible whole in the frame (legends, status words, key hints)."""
    enter: Enter | None = None
    grows: tuple[str, ...] = ()
    """Main visuals that must draw more at 120x40 than at 80x24 (more inked cells)."""
    ready: Callable[[object], bool] = field(default=lambda pane: not getattr(pane, "busy", False))
    """When the view has finished computing (default: the pane is not busy)."""


FOOTER_TEXTS = ("Quit", "Help")

LAYOUTS: dict[str, list[View]] = {
    "tokenizer": [
        View("tokens", ("#tok-select-a", "#tok-text", "#tok-viewbar", "#tok-stats-a",
                        "#tok-tokens-a", "#tok-detail"),
             ("Tokens F4", "Replay F5", "Vocab F6", "tokens", "chars/token")),
        View("replay", ("#tok-text", "#tok-viewbar", "#tok-view-replay"), ("merge",),
             enter=action("show_view('replay')")),
        View("vocab", ("#tok-text", "#tok-viewbar", "#tok-view-vocab"), ("Vocab F6",),
             enter=action("show_view('vocab')")),
        View("compare", ("#tok-select-a", "#tok-select-b", "#tok-text", "#tok-stats-a",
                         "#tok-stats-b", "#tok-tokens-a", "#tok-tokens-b"), ("tok",),
             enter=action("toggle_compare")),
    ],
    "generate": [
        View("prompt", ("#gen-prompt", "#gen-run", "#gen-step", "#gen-stop", "#gen-ab",
                        "#gen-knobs", "#gen-status", "#gen-left", "#gen-hint", "#gen-legend"),
             ("Prompt›", "Run", "temp")),
        View("run", ("#gen-prompt", "#gen-knobs", "#gen-status", "#gen-left", "#gen-inspector",
                     "#gen-legend"), ("Prompt›",),
             enter=keys("f5"), grows=("#gen-left",),
             ready=lambda pane: bool(pane.runs)
             and pane.runs[-1].status not in ("waiting", "running")),
        View("a/b", ("#gen-prompt", "#gen-knobs", "#gen-status", "#gen-left", "#gen-right",
                     "#gen-inspector",
                     "#gen-legend"), ("Prompt›",),
             enter=keys("f8"),
             ready=lambda pane: len(pane.runs) == 2 and pane.runs[0].partner is not None
             and all(r.status not in ("waiting", "running") for r in pane.runs)),
        # The knob row focused: the knob's hint takes the legend's place, on two lines.
        View("knobs", ("#gen-prompt", "#gen-knobs", "#gen-status", "#gen-left", "#gen-hint"),
             ("temp",), enter=focus("#gen-knobs"),
             ready=lambda pane: pane.has_class("-knob-hint")
             and pane.query_one("#gen-hint").region.height == 2),
    ],
    "internals": [
        View("attention", ("#int-views", "#int-input", "#int-status", "#int-att-map",
                           "#int-att-detail"),
             ("1 Attention", "5 Enc-dec", "Prompt›", "layer", "weight", "future", "looks at"),
             grows=("#int-att-map",)),
        # Every layer x head does not fit 80x24: it scrolls in its board.
        View("attention-all", ("#int-views", "#int-input", "#int-status", "#int-att-board"),
             ("every layer", "mean"), enter=action("mode")),
        View("attention-mean", ("#int-views", "#int-input", "#int-status", "#int-att-map",
                                "#int-att-detail"), ("weight", "future", "mean"),
             enter=action("mode")),
        View("embeddings", ("#int-views", "#int-input", "#int-emb-modes", "#int-emb-source",
                            "#int-emb-body"),
             ("Word›", "neighbours", "PCA map", "LM tokens", "MiniLM", "searched"),
             enter=action("view('embeddings')")),
        View("positions", ("#int-views", "#int-status", "#int-pos-map", "#int-pos-chart"),
             ("cosine", "mean similarity vs distance"), enter=action("view('positions')")),
        View("lens", ("#int-views", "#int-input", "#int-status", "#int-lens-table",
                      "#int-lens-detail"), ("input→", "next", "actual next"),
             enter=action("view('lens')")),
        View("enc-dec", ("#int-views", "#s2s-input", "#s2s-out", "#s2s-status", "#s2s-cross"),
             ("out›", "masked"), enter=action("view('seq2seq')"),
             ready=lambda pane: not pane.query_one("#int-seq2seq").busy),
    ],
    "vae": [
        View(view, ("#vae-bar", "#vae-image", "#vae-side"), words,
             enter=action(f"set_view('{view}')"), grows=("#vae-image",),
             ready=lambda pane, view=view: (pane.output is not None and pane.output.view == view
                                            and not pane.computing("view")))
        for view, words in (("samples", ("seed",)), ("recon", ("squared error",)),
                            ("interp", ("linear",)), ("walk", ("z0",)), ("map", ("decoded",)),
                            ("anomaly", ("AUROC",)), ("denoise", ("noise",)))
    ],
    "diffusion": [
        View("forward", ("#df-bar", "#df-forward-images", "#df-forward-info", "#df-plot",
                         "#df-slider"), ("Forward", "Reverse", "Samples", "SNR"),
             # x_0 and x_t at 2x need 113 columns beside the numbers: at 120x40
             # the images stay 1x and the schedule plot grows.
             grows=("#df-plot",)),
        View("reverse", ("#df-bar", "#df-status", "#df-trio", "#df-batch"),
             ("x_t", "x_0 final", "pred. noise", "done", "space pause"),
             enter=action("set_view('reverse')")),
        View("samples", ("#df-bar", "#df-samples-info", "#df-grid"), ("Samples",),
             enter=action("set_view('samples')")),
    ],
    "gan": [
        View("points", ("#gan-legend", "#gan-map", "#gan-loss-title", "#gan-loss",
                        "#gan-dx-title", "#gan-dx", "#gan-js-title", "#gan-js", "#gan-status"),
             ("• real", "× generated", "loss", "D(x)", "JS divergence", "paused", "step 0"),
             grows=("#gan-map",), ready=lambda pane: not pane.busy),
        View("digits", ("#gan-legend", "#gan-map", "#gan-loss", "#gan-dx", "#gan-status"),
             ("loss", "D(x)", "paused"), enter=action("switch_mode"),
             ready=lambda pane: pane.mode == "images" and not pane.busy),
    ],
    "imagine": [
        View("denoise", ("#im-prompt", "#im-bar", "#im-knobs", "#im-denoise",
                         "#im-denoise-info"),
             # a key group's label keeps a cell before the next key
             ("Prompt›", "Denoise", "seed", "w± f8", "Steps± f12"),
             grows=("#im-denoise",), ready=lambda pane: pane.state == "done"),
        View("guidance", ("#im-prompt", "#im-bar", "#im-knobs", "#im-guidance"),
             ("w=0", "w=8"), enter=action("set_view('guidance')"),
             ready=lambda pane: len(pane.row) == len(GUIDANCE_ROW)),
        View("search", ("#im-prompt", "#im-bar", "#im-matches", "#im-matrix"), ("Search",),
             enter=action("set_view('search')"), ready=lambda pane: pane.found is not None),
    ],
}


# -- what the screen shows ------------------------------------------------------------


def frame_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]



def drawn(app, region: Region) -> tuple[int, int]:
    """What ``region`` draws: (cells that are not blank, the longest run of them on
    one line). More tiles or bigger ones, a wider chart or bigger cells: one grows."""
    rows = [line[region.x:region.right] for line in frame_lines(app)[region.y:region.bottom]]
    inked = sum(ch != " " for row in rows for ch in row)
    widest = max((len(run) for row in rows for run in row.split(" ")), default=0)
    return inked, widest


def missing_texts(app, texts) -> list[str]:
    lines = frame_lines(app)
    return [t for t in (*texts, *FOOTER_TEXTS) if not any(t in line for line in lines)]


def describe(app, view: View) -> str:
    rows = []
    for selector in view.widgets:
        found = app.screen.query(selector)
        rows.append(f"{selector}: {found.first().region if found else 'absent'}")
    return "\n".join(rows) + "\n" + "\n".join(frame_lines(app))


def check_regions(app, view: View) -> dict[str, Region]:
    """Assert the essential widgets are whole, inside the pane's area, and apart."""
    screen = app.screen
    where = f"{view.name} at {app.size.width}x{app.size.height}"
    footer = screen.query_one(Footer).region
    tabs = screen.query_one("#tabs-list").region
    area = Region(0, tabs.bottom, app.size.width, footer.y - tabs.bottom)
    regions: dict[str, Region] = {}
    for selector in view.widgets:
        widget = screen.query_one(selector)
        region = widget.region
        assert widget.display and region.area > 0, f"{where}: {selector} not shown"
        visible = screen.find_widget(widget).visible_region
        assert visible == region, f"{where}: {selector} clipped: {region} shows {visible}"
        assert area.contains_region(region), (
            f"{where}: {selector} at {region} leaves the pane's area {area}")
        regions[selector] = region
    for a, ra in regions.items():
        for b, rb in regions.items():
            wa, wb = screen.query_one(a), screen.query_one(b)
            if a < b and wa not in wb.ancestors and wb not in wa.ancestors:
                assert not ra.overlaps(rb), f"{where}: {a} {ra} overlaps {b} {rb}"
    return regions


LONG_LIVED = {"gan-train"}
"""Worker groups that live as long as their pane (the rest finish their view's work)."""
DEBOUNCE = {"vae": 0.2}
"""Seconds to let a pane's resize debounce timer fire (VAE: 0.15 s; the others
redraw from the resize event itself)."""


def working(app, pane) -> bool:
    return any(w.node is pane and w.group not in LONG_LIVED and not w.is_finished
               for w in app.workers)


async def show(pilot, pane, view: View, size: tuple[int, int]) -> None:
    """Resize and wait until the view is computed, ready and its labels are on screen."""
    if pilot.app.size != size:
        await pilot.resize_terminal(*size)
        await pilot.pause(DEBOUNCE.get(pane.PANE_ID, 0.02))
    deadline = monotonic() + WAIT

    def settled() -> bool:
        return (view.ready(pane) and not working(pilot.app, pane)
                and not missing_texts(pilot.app, view.texts))

    while True:
        await pilot.pause(0.02)
        if settled():
            await pilot.pause(0.05)  # the last layout pass after the content arrived
            if settled():
                return
        if monotonic() > deadline:
            raise AssertionError(
                f"{view.name} at {size}: missing {missing_texts(pilot.app, view.texts)}\n"
                + describe(pilot.app, view))


@pytest.mark.parametrize("pane_id", list(LAYOUTS))
async def test_every_view_fits_80x24_and_uses_120x40(pane_id: str) -> None:
    spec = next(s for s in PANES if s.PANE_ID == pane_id)
    pane_class = load_pane(spec)
    app = GenaiApp(panes=[spec], depth="truecolor")
    async with app.run_test(size=SMALL) as pilot:
        pane = app.query_one(pane_class)
        for view in LAYOUTS[pane_id]:
            await pilot.pause()
            if view.enter is not None:
                await view.enter(pilot, pane)
            await show(pilot, pane, view, SMALL)
            small = check_regions(app, view)
            before = {s: drawn(app, small[s]) for s in view.grows}
            await show(pilot, pane, view, LARGE)
            large = check_regions(app, view)
            for selector in view.grows:
                after = drawn(app, large[selector])
                assert after[0] > before[selector][0] or after[1] > before[selector][1], (
                    f"{view.name}: {selector} draws (cells, widest run) {after} at 120x40, "
                    f"{before[selector]} at 80x24\n" + describe(app, view))
            await show(pilot, pane, view, SMALL)
            again = check_regions(app, view)
            assert again == small, f"{view.name}: 80x24 after 120x40 differs"


def test_images_left_out_for_lack_of_room_are_counted() -> None:
    """A grid that cannot show every image says how many it left out."""
    import numpy as np
    from rich.console import Console

    from genai_tui.tui.panes.diffusion.widgets import fitted_grid

    images = np.zeros((16, 28, 28), dtype=np.float32)
    console = Console(width=80, record=True, color_system=None)
    console.print(fitted_grid(images, 80, 9, ncol=16))  # the reverse view's batch strip
    text = console.export_text()
    assert "5 of 16 shown" in text and len(text.splitlines()) <= 9
    console = Console(width=80, record=True, color_system=None)
    captions = [f"{i} 1.00" for i in range(16)]
    console.print(fitted_grid(images, 80, 17, ncol=8, captions=captions))  # samples view
    text = console.export_text()
    assert "9 1.00 +6 more" in text and len(text.splitlines()) <= 17
