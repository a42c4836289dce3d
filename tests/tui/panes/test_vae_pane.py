"""The VAE pane: every view, driven by keys like a user would (Pilot), and a snapshot."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Footer

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.vae import VIEWS, VAEPane, capacity
from tests import ROOT

APP_CSS = ROOT / "genai_tui" / "tui" / "app.tcss"


async def _settle(pilot, pane: VAEPane, view: str | None = None) -> None:
    """Wait until the pane has loaded and shows ``view`` (default: its current view)."""
    for _ in range(400):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        out = pane.output
        if out is not None and out.view == (view or pane.view) and pane.load_state == "ready":
            token = pane.latest_request("view")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            if token == pane.latest_request("view") and pane.output.view == (view or pane.view):
                return
    raise AssertionError(f"view {view} never showed")


def _side(pane: VAEPane) -> str:
    return pane.output.side.plain


@pytest.mark.parametrize("view", VIEWS)
async def test_each_view_shows_images_and_numbers(view: str) -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane, "samples")
        await pilot.press(str(VIEWS.index(view) + 1))
        await _settle(pilot, pane, view)
        assert pane.view == view and pane.output.png_images is not None
        side = _side(pane)
        expected = {"samples": "seed 0", "recon": "mean squared error", "interp": "linear path",
                    "walk": "z0", "map": "decoded z", "anomaly": "AUROC",
                    "denoise": "noise σ=0.4"}[view]
        assert expected in side.lower() or expected in side
        assert app.focused is pane


async def test_samples_key_draws_new_ones_with_a_new_seed() -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane, "samples")
        first = pane.output.png_images
        await pilot.press("n")
        await _settle(pilot, pane, "samples")
        assert "seed 1" in _side(pane)
        assert pane.output.png_images is not first


async def test_latent_walk_arrows_move_z_and_brackets_pick_dims() -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        await pilot.press("4")
        await _settle(pilot, pane, "walk")
        z0 = list(pane.walk.z)
        await pilot.press("right", "right", "up")
        await _settle(pilot, pane, "walk")
        assert pane.walk.z[0] == pytest.approx(min(4.0, z0[0] + 0.5))
        assert pane.walk.z[1] == pytest.approx(min(4.0, z0[1] + 0.25))
        assert f"{pane.walk.z[0]:+.2f}".replace("+", "") in _side(pane).replace("+", "")
        await pilot.press("right_square_bracket")
        await _settle(pilot, pane, "walk")
        assert pane.walk.dims == (2, 3)
        await pilot.press("0")
        await _settle(pilot, pane, "walk")
        assert pane.walk.z == [0.0] * len(z0) and "the origin" in _side(pane)


async def test_interpolation_endpoints_and_slerp() -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        await pilot.press("3")
        await _settle(pilot, pane, "interp")
        a, b = pane.interp_ab
        await pilot.press("a", "l")
        await _settle(pilot, pane, "interp")
        assert pane.interp_ab[0] != a and pane.interp_ab[1] == b
        assert "spherical" in _side(pane)


async def test_anomaly_score_switch_and_denoise_noise_keys() -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        await pilot.press("6", "e")
        await _settle(pilot, pane, "anomaly")
        assert pane.score == "mse" and "reconstruction error" in _side(pane)
        await pilot.press("7", "plus", "plus")
        await _settle(pilot, pane, "denoise")
        assert "noise σ=0.6" in _side(pane)


async def test_save_png_key_writes_the_current_grid(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        await pilot.press("s")
        await pilot.pause()
        from genai_tui.images.render import grid_array

        expected = grid_array(pane.output.png_images, ncol=pane.output.png_ncol).shape
    from PIL import Image

    (path,) = tmp_path.glob("genai-vae-samples-*.png")
    with Image.open(path) as img:  # the grid shown, upscaled x2
        assert img.size == (expected[1] * 2, expected[0] * 2)


async def test_save_png_notification_shows_a_hostile_folder_name_as_text(tmp_path,
                                                                       monkeypatch) -> None:
    # QA: notify() parsed the saved path as markup: the folder name became a
    # hidden click action (and a '[/]' in an error text crashed the app).
    folder = tmp_path / "[@click=app.quit]q"
    folder.mkdir()
    monkeypatch.chdir(folder)
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        await pilot.press("s")
        await pilot.pause(0.2)
        notes = list(app._notifications)
        assert any("[@click=app.quit]q" in note.message for note in notes)
        assert all(not note.markup for note in notes)
        assert app.is_running


async def test_a_slow_view_shows_a_loading_indicator(monkeypatch) -> None:
    # QA: the anomaly view's first scoring takes seconds, and the old view stayed
    # on screen (under the new view's name) with no sign of work.
    import threading

    from genai_tui.tui.panes.vae import pane as vae_pane

    release = threading.Event()
    real = vae_pane.compute_view

    def slow(params, models, pool):
        if params["view"] == "anomaly":
            release.wait(10)
        return real(params, models, pool)

    monkeypatch.setattr(vae_pane, "compute_view", slow)
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        image = pane.query_one("#vae-image")
        assert not image.loading
        await pilot.press("6")
        await pilot.pause(VAEPane.BUSY_AFTER + 0.3)
        assert image.loading
        release.set()
        await _settle(pilot, pane, "anomaly")
        assert not image.loading


async def test_works_at_80x24_with_map_and_scatter_side_by_side() -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        assert pane.has_class("-narrow")
        image = pane.query_one("#vae-image")
        assert image.size.width == 80 and image.size.height >= 10
        await pilot.press("5")
        await _settle(pilot, pane, "map")
        assert "Left: decoded z" in _side(pane) and "Right:" in _side(pane)
        await pilot.press("4")
        await _settle(pilot, pane, "walk")
        assert image.size.height >= 14  # room for the walked digit at full size


async def test_too_narrow_for_both_map_key_switches_to_the_scatter() -> None:
    app = GenaiApp(initial_pane="vae")
    async with app.run_test(size=(40, 24)) as pilot:
        pane = app.query_one(VAEPane)
        await _settle(pilot, pane)
        await pilot.press("5")
        await _settle(pilot, pane, "map")
        assert "m: scatter" in _side(pane)
        await pilot.press("m")
        await _settle(pilot, pane, "map")
        assert "drawn as its label" in _side(pane)


def test_capacity_fits_the_area() -> None:
    scale, ncol, nrow = capacity(80, 16, captions=False, min_count=6)
    assert scale == 0.5 and ncol == 5 and nrow == 2
    scale, ncol, nrow = capacity(200, 60, captions=True, group_rows=2)
    assert scale == 1 and nrow % 2 == 0 and ncol * 29 - 1 <= 200
    assert capacity(10, 3, captions=True)[1:] == (0, 0) or capacity(10, 3, True)[0] == 0.5


class _Host(App[None]):
    """Only the VAE pane, so other panes' tabs never change this snapshot."""

    CSS_PATH = str(APP_CSS)

    def compose(self) -> ComposeResult:
        yield VAEPane(id="pane-vae")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VAEPane).pane_shown()


def test_snapshot_samples_at_80x24(snap_compare) -> None:
    async def ready(pilot) -> None:
        await _settle(pilot, pilot.app.query_one(VAEPane), "samples")

    assert snap_compare(_Host(), terminal_size=(80, 24), run_before=ready)
