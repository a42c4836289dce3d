"""The built-in tour played end to end, forward and back, in a terminal with
no colour and ASCII only (issue 14): every step leaves the panes in the state
it names, going back restores the previous step's state, every frame of every
pane is printable ASCII without colour, and images stay legible (the ASCII
density ramp, not half blocks that all look alike once colour is gone)."""

from __future__ import annotations

from time import monotonic

from genai_tui import display, lesson
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes import PANES

WAIT = 30.0


def check_knobs(pane_id, knobs) -> None:
    next(s for s in PANES if s.PANE_ID == pane_id).load().check_lesson_knobs(knobs)


def frame(app):
    """The segments Textual would draw now."""
    return [seg for strip in app.screen._compositor.render_strips() for seg in strip]


def assert_ascii_without_colour(app, where: str) -> None:
    segments = frame(app)
    text = "".join(seg.text for seg in segments if not seg.control)
    bad = sorted({ch for ch in text if not " " <= ch <= "~"})
    assert not bad, f"{where}: not printable ASCII: {bad}"
    for seg in segments:
        if seg.style is not None:
            for colour in (seg.style.color, seg.style.bgcolor):
                assert colour is None or colour.is_default, f"{where}: colour {colour}"


def state(app, pane_id: str) -> dict:
    """What a step can name about a pane."""
    pane = app.active_pane
    out = {"pane": app.active_pane_id}
    if pane_id == "tokenizer":
        out["text"] = pane.lesson_text()
    elif pane_id == "internals":
        out["view"] = pane.view
    elif pane_id == "generate":
        out["prompt"] = pane.lesson_text()
        out["knobs"] = pane.lesson_knobs(["temperature", "top_k"])
    return out


def expected(tour, index: int) -> dict:
    """The state the tour's steps name at ``index``: the latest pane, text and knobs."""
    pane_id = tour.pane_at(index)
    want: dict = {"pane": pane_id}
    texts, knobs, view = {}, {}, None
    for k, step in enumerate(tour.steps[: index + 1]):
        pid = tour.pane_at(k)
        if step.text is not None:
            texts[pid] = step.text
        if step.knobs:
            knobs[pid] = dict(step.knobs)
        if pid == "internals" and step.keys:
            view = {"f5": "attention", "f6": "embeddings"}[step.keys[-1]]
    if pane_id == "tokenizer":
        want["text"] = texts["tokenizer"]
    elif pane_id == "internals":
        want["view"] = view
    elif pane_id == "generate":
        want["prompt"] = texts["generate"]
        want["knobs"] = knobs["generate"]
    return want


async def settle(pilot, app, index: int) -> None:
    """Wait until the pane shown has finished what the step started (models load)."""
    deadline = monotonic() + WAIT
    while monotonic() < deadline:
        await pilot.pause(0.05)
        pane = app.active_pane
        busy = (getattr(pane, "busy", False) or pane.load_state == "loading"
                or pane.computing()
                or any(r.status in ("waiting", "running") for r in getattr(pane, "runs", [])))
        if app.lesson.index == index and not busy:
            await pilot.pause(0.2)
            return
    raise AssertionError(f"step {index + 1} never settled")


async def test_the_tour_forward_and_back_in_ascii_without_colour(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    tour = lesson.load("tour", check_knobs=check_knobs)
    app = GenaiApp(lesson=tour, ascii=True)
    assert app.display_profile == display.Display(depth="mono", ascii=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app, 0)
        seen_images = set()
        for index in range(len(tour.steps)):
            if index:
                await pilot.press("alt+right")
            await settle(pilot, app, index)
            pane_id = tour.pane_at(index)
            if index == 0 or tour.steps[index].pane:
                assert app.lesson_bar.display and f"{index + 1}/{len(tour.steps)}" in str(
                    app.lesson_bar.render())
            got = state(app, pane_id)
            assert got == expected(tour, index), f"step {index + 1}"
            assert_ascii_without_colour(app, f"step {index + 1} ({pane_id})")
            if pane_id in ("vae", "diffusion"):
                text = "".join(seg.text for seg in frame(app))
                if sum(text.count(ch) for ch in "#%@*+=") > 40:  # the density ramp
                    seen_images.add(pane_id)
        assert seen_images == {"vae", "diffusion"}, seen_images
        await pilot.press("alt+right")  # past the end: stays, says so
        await pilot.pause()
        assert app.lesson.index == len(tour.steps) - 1
        for index in range(len(tour.steps) - 2, -1, -1):
            await pilot.press("alt+left")
            await settle(pilot, app, index)
            assert state(app, tour.pane_at(index)) == expected(tour, index), (
                f"back to step {index + 1}")
            assert_ascii_without_colour(app, f"back at step {index + 1}")
        # Back at the start, the Generate pane holds what it held before the tour.
        generate = app.query_one("#pane-generate")
        from genai_tui.tui.panes.generate.pane import DEFAULT_KNOBS_A, DEFAULT_PROMPT

        assert generate.lesson_text() == DEFAULT_PROMPT
        assert generate.lesson_knobs(["temperature", "top_k"]) == {
            "temperature": DEFAULT_KNOBS_A.temperature, "top_k": DEFAULT_KNOBS_A.top_k}


def test_images_use_the_ascii_ramp_under_ascii_or_no_color() -> None:
    from rich.console import Console

    from genai_tui.images.render import mode_for

    colour = Console(color_system="truecolor", force_terminal=True)
    assert mode_for(colour) == "truecolor"  # the CLI: the console decides
    display.configure(ascii=True)
    assert mode_for(colour) == "ascii"  # --ascii: half blocks would fold to '"'
    display.configure(depth="mono")
    assert mode_for(colour) == "ascii"  # NO_COLOR: Textual's console keeps colours
