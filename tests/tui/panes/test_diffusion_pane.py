"""The diffusion pane driven like a user would (Pilot): the forward slider, the reverse
animation (pause, one step, resume), sampler and seed settings, PNG saving; a snapshot.

A tiny random-weight model (tests/fixtures/diffusion.py) stands in for the bundled one,
so these tests do not depend on training."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Footer

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.diffusion import DiffusionPane
from genai_tui.tui.panes.diffusion import run as run_module
from genai_tui.tui.panes.diffusion.pane import trio_rows
from genai_tui.tui.panes.diffusion.widgets import AlphaBarPlot, ImagePanel, TSlider
from tests import ROOT
from tests.fixtures.diffusion import make_tiny_assets

APP_CSS = ROOT / "genai_tui" / "tui" / "app.tcss"


@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory) -> Path:
    return make_tiny_assets(tmp_path_factory.mktemp("diffusion-assets"))


@pytest.fixture(autouse=True)
def _use_tiny_model(tiny_assets: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(tiny_assets))
    monkeypatch.setattr(DiffusionPane, "BATCH", 4)
    # a slower animation leaves the Pilot time to press keys mid-run on a busy machine
    monkeypatch.setattr(run_module, "FRAME_RATE", 10.0)


async def _until(pilot, condition, what: str, tries: int = 600) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def _loaded(pilot, pane: DiffusionPane) -> None:
    await _until(pilot, lambda: pane.forward.process is not None and pane.model is not None,
                 "load")
    await pilot.pause()


async def test_forward_keys_and_slider_move_t() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        assert pane.view == "forward" and pane.forward.t == 250 and app.focused is pane
        info = pane.query_one("#df-forward-info")
        await pilot.press("right", "right", "right")
        assert pane.forward.t == 280
        assert "t = 280" in str(info.render())
        await pilot.press("pageup")
        assert pane.forward.t == 180
        await pilot.press("home")
        assert pane.forward.t == 0
        images = pane.query_one("#df-forward-images", ImagePanel).images
        # alpha-bar_0 = 0.9999: x_0 shows through almost untouched
        assert abs(images[1] - images[0]).max() < 0.05
        await pilot.press("left")
        assert pane.forward.t == 0  # clamped
        await pilot.press("end")
        assert pane.forward.t == pane.forward.process.num_timesteps - 1
        images = pane.query_one("#df-forward-images", ImagePanel).images
        assert abs(images[1] - images[0]).mean() > 0.2  # pure noise by the end
        assert pane.query_one(AlphaBarPlot).t == pane.forward.t
        # a click on the slider's track jumps there
        slider = pane.query_one(TSlider)
        start, width = slider._track()
        await pilot.click(TSlider, offset=(start + width // 2, 0))
        assert abs(pane.forward.t - 500) <= 1000 / width + 1
        assert slider.t == pane.forward.t
        # another digit, same t
        t, first = pane.forward.t, pane.forward.process.x0
        await pilot.press("n")
        forward = pane.forward
        assert forward.digit == 1 and forward.t == t and (forward.process.x0 != first).any()


async def test_reverse_animation_pauses_steps_and_resumes() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        await pilot.press("2")
        assert pane.view == "reverse" and pane.state == "running"
        await _until(pilot, lambda: pane.frame is not None and pane.frame.index >= 2, "frames")
        await pilot.press("space")
        assert pane.state == "paused"
        await pilot.pause(0.3)  # a step computed while pausing may still arrive
        index = pane.frame.index
        await pilot.pause(0.4)
        assert pane.frame.index == index, "the sampler moved while paused"
        assert "paused" in str(pane.query_one("#df-status").render())
        await pilot.press("full_stop")
        await _until(pilot, lambda: pane.frame.index == index + 1, "one step")
        await pilot.pause(0.3)
        assert pane.frame.index == index + 1 and pane.state == "paused"
        trio = pane.query_one("#df-trio", ImagePanel)
        assert len(trio.images) == 3 and trio.captions[0] == f"x_t t={pane.frame.t}"
        await pilot.press("space")
        assert pane.state == "running"
        await _until(pilot, lambda: pane.state == "done", "the end of the run")
        assert pane.frame.index == pane.frame.total - 1 == 49
        assert pane.finals.shape == (4, 28, 28)
        assert pane.verdict is not None and len(pane.verdict.labels) == 4
        await pilot.press("3")
        grid = pane.query_one("#df-grid", ImagePanel)
        assert grid.images is pane.finals and len(grid.captions) == 4
        assert "the classifier reads" in str(pane.query_one("#df-samples-info").render())


async def test_sampler_steps_and_seed_are_settable() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        await pilot.press("minus", "minus")
        assert pane.view == "reverse" and pane.steps == 10
        await _until(pilot, lambda: pane.state == "done", "a DDIM-10 run")
        assert pane.frame.total == 10
        first = pane.finals.copy()
        await pilot.press("r")  # same seed, eta = 0: the same samples
        await _until(pilot, lambda: pane.state == "done" and pane.frame.total == 10, "rerun")
        assert (pane.finals == first).all()
        await pilot.press("n")
        assert pane.seed == 1
        await _until(pilot, lambda: pane.state == "done", "seed 1")
        assert not (pane.finals == first).all()
        await pilot.press("e")
        box = pane.query_one("#df-seed")
        assert box.has_focus
        box.value = ""
        await pilot.press("4", "2", "enter")
        assert pane.seed == 42 and app.focused is pane
        assert "seed 42" in str(pane.query_one("#df-status").render())
        await pilot.press("d")
        assert pane.sampler == "ddpm" and pane.state == "running"
        await _until(pilot, lambda: pane.frame is not None and pane.frame.total == 1000, "ddpm")
        await pilot.press("space")
        assert pane.state == "paused"
        await pilot.press("d")
        # A DDIM-10 run may already be over by the time we look.
        assert pane.sampler == "ddim" and pane.state in ("running", "done")


async def test_bad_seed_is_refused_and_escape_closes_the_box() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        await pilot.press("e")
        box = pane.query_one("#df-seed")
        box.value = "-3"
        await pilot.press("enter")
        assert pane.seed == 0 and box.has_class("-shown")
        await pilot.press("escape")
        assert not box.has_class("-shown") and app.focused is pane
        assert box.disabled  # a hidden box can never take the focus (or the keys)


async def test_save_png_writes_the_current_view(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        await pilot.press("s")
        await pilot.pause()
        assert len(list(tmp_path.glob("genai-diffusion-forward-*.png"))) == 1


async def test_works_at_80x24() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        images = pane.query_one("#df-forward-images")
        assert images.size.width >= 57 and images.size.height >= 15  # x_0 and x_t at 1:1
        await pilot.press("2")
        await _until(pilot, lambda: pane.frame is not None, "a frame")
        trio, batch = pane.query_one("#df-trio"), pane.query_one("#df-batch")
        assert trio.size.height == 8 and batch.size.height >= 7
        assert trio.region.bottom <= batch.region.y and batch.region.bottom <= 24


def test_trio_takes_the_biggest_scale_that_leaves_the_batch_room() -> None:
    assert trio_rows(80, 19) == 8  # 86 columns needed at 1:1
    assert trio_rows(100, 25) == 15
    assert trio_rows(200, 40) == 29
    assert trio_rows(200, 30) == 15


class _Host(App[None]):
    """Only the diffusion pane, so other panes' tabs never change this snapshot."""

    CSS_PATH = str(APP_CSS)

    def compose(self) -> ComposeResult:
        yield DiffusionPane(id="pane-diffusion")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DiffusionPane).pane_shown()


def test_snapshot_forward_at_80x24(snap_compare) -> None:
    async def ready(pilot) -> None:
        pane = pilot.app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        await pilot.press("right", "right", "right", "right", "right")
        await pilot.pause()

    assert snap_compare(_Host(), terminal_size=(80, 24), run_before=ready)


async def test_the_sampler_pauses_while_the_tab_is_hidden_and_resumes_on_return() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        await pilot.press("d")  # DDPM: 1000 steps, still running when we look away
        await _until(pilot, lambda: pane.frame is not None and pane.frame.total == 1000, "ddpm")
        await app.show_pane_now("tokenizer")
        assert pane.state == "paused"
        await pilot.pause(1.5)  # a step computed while pausing may still arrive
        index = pane.frame.index
        await pilot.pause(0.5)
        assert pane.frame.index == index, "the hidden sampler kept running"
        await app.show_pane_now("diffusion")
        await pilot.pause(0.2)
        assert pane.state == "running"
        await _until(pilot, lambda: pane.frame.index > index, "steps after returning")


def _footer_keys(app) -> dict[str, str]:
    return {b.binding.key: b.binding.description for b in app.active_bindings.values()
            if b.binding.show and b.enabled}


async def test_space_is_labelled_with_what_it_will_do_and_the_final_image_is_named() -> None:
    app = GenaiApp(initial_pane="diffusion")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(DiffusionPane)
        await _loaded(pilot, pane)
        assert _footer_keys(app).get("space") == "Play"
        await pilot.press("2")
        assert pane.state == "running"
        await pilot.pause(0.1)
        assert _footer_keys(app).get("space") == "Pause"
        await pilot.press("space")
        await pilot.pause(0.1)
        assert pane.state == "paused" and _footer_keys(app).get("space") == "Play"
        await pilot.press("space")
        await _until(pilot, lambda: pane.state == "done", "the end of the run")
        await pilot.pause(0.1)
        trio = pane.query_one("#df-trio", ImagePanel)
        assert trio.captions[1] == "x_0 final"
        assert _footer_keys(app).get("space") == "Play"
