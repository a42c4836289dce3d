"""The GAN pane driven by keys like a user would (Pilot), and a snapshot."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Input, Select

from genai_tui.images.charts import FAKE_GLYPH, REAL_GLYPH
from genai_tui.service.gan import GanSettings, ImagesView, PointsView
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.charts import TextLine
from genai_tui.tui.panes.gan import GanPane
from genai_tui.tui.panes.gan.settings import GanSettingsScreen
from genai_tui.tui.panes.gan.widgets import MapView
from tests import ROOT

APP_CSS = ROOT / "genai_tui" / "tui" / "app.tcss"


async def until(pilot, cond, tries: int = 600) -> None:
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


async def ready(pilot) -> GanPane:
    """The pane once its first run is built and the map has focus."""
    pane = pilot.app.query_one(GanPane)
    await until(pilot, lambda: not pane.busy and isinstance(pilot.app.focused, MapView))
    return pane


def status(pane: GanPane) -> str:
    return pane.query_one("#gan-status", TextLine).text.plain


async def test_play_trains_and_pause_stops() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        assert pane.step == 0 and "paused" in status(pane)
        await pilot.press("space")
        assert pane.playing and "training" in status(pane)
        await until(pilot, lambda: pane.step >= 20)
        await pilot.press("space")
        assert not pane.playing and "paused" in status(pane)
        await pilot.pause(0.3)
        stopped = pane.step
        await pilot.pause(0.3)
        assert pane.step == stopped > 0
        assert pane.d_updates == pane.g_updates == stopped
        assert len(pane.hist["d_loss"]) == stopped
        assert pane.js is not None and pane.modes is not None
        view = pane.query_one(MapView).view
        assert isinstance(view, PointsView) and view.step == stopped
        loss_title = pane.query_one("#gan-loss-title", TextLine).text.plain
        assert "D " in loss_title and "G " in loss_title and "—" not in loss_title


async def test_step_d_and_step_g_move_one_player() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        await pilot.press("d")
        await until(pilot, lambda: pane.step == 1)
        assert (pane.d_updates, pane.g_updates) == (1, 0)
        assert pane.last_event.kind == "d" and "D 1, G 0" in status(pane)
        await pilot.press("g")
        await until(pilot, lambda: pane.step == 2)
        assert (pane.d_updates, pane.g_updates) == (1, 1) and pane.last_event.kind == "g"
        await pilot.press("n")
        await until(pilot, lambda: pane.step == 3)
        assert (pane.d_updates, pane.g_updates) == (2, 2)
        # A step key while playing pauses first, then steps once.
        await pilot.press("space")
        await until(pilot, lambda: pane.step > 10)
        await pilot.press("d")
        assert not pane.playing
        before = pane.g_updates
        await pilot.pause(0.4)
        assert pane.g_updates == before


async def test_reset_starts_the_same_run_again() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        for _ in range(3):
            await pilot.press("n")
        await until(pilot, lambda: pane.step == 3)
        first = [pane.hist["d_loss"][:], pane.hist["g_loss"][:]]
        run = pane.run_id
        await pilot.press("r")
        await until(pilot, lambda: pane.run_id == run + 1)
        assert pane.step == 0 and pane.hist["d_loss"] == []
        for _ in range(3):
            await pilot.press("n")
        await until(pilot, lambda: pane.step == 3)
        assert [pane.hist["d_loss"], pane.hist["g_loss"]] == first


async def test_mode_switch_to_images_and_back() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        await pilot.press("m")
        assert pane.mode == "images"
        await until(pilot, lambda: not pane.busy and pane.mode == "images")
        view = pane.query_one(MapView).view
        assert isinstance(view, ImagesView) and view.images.shape[1:] == (28, 28)
        await pilot.press("g")
        await until(pilot, lambda: pane.g_updates == 1)
        assert "images" in status(pane) and "digits" in status(pane)
        assert "read as digits" in pane.query_one("#gan-js-title", TextLine).text.plain
        await pilot.press("m")
        await until(pilot, lambda: not pane.busy and pane.mode == "points")
        assert isinstance(pane.query_one(MapView).view, PointsView) and pane.step == 0


async def test_settings_dialog_restarts_with_new_settings(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, GanSettingsScreen)
        screen.query_one("#gan-set-data", Select).value = "moons"
        screen.query_one("#gan-set-loss", Select).value = "least-squares"
        screen.query_one("#gan-set-seed", Input).value = "4"
        screen.query_one("#gan-set-lr_g", Input).value = "abc"
        screen.action_apply()
        await pilot.pause()
        assert isinstance(app.screen, GanSettingsScreen), "a bad number keeps the dialog open"
        screen.query_one("#gan-set-lr_g", Input).value = "0.002"
        screen.action_apply()
        await until(pilot, lambda: pane.settings["points"].data == "moons" and not pane.busy)
        s = pane.settings["points"]
        assert (s.loss, s.seed, s.lr_g) == ("least-squares", 4, 0.002)
        assert "moons" in status(pane) and "seed 4" in status(pane)
        # A malformed CSV: an error notification, and the moons run goes on.
        pane.apply_settings(GanSettings(data=str(bad)))
        await until(pilot, lambda: not pane.busy and bool(app._notifications))
        assert any("line 3" in str(n.message) for n in app._notifications)
        assert pane.settings["points"].data == "moons"
        await pilot.press("n")
        await until(pilot, lambda: pane.step >= 1)


async def test_a_csv_quoting_markup_gives_a_plain_text_error(tmp_path) -> None:
    # QA: the error quotes the bad CSV line and notify() parsed it as markup:
    # a '[/]' in the file crashed the whole app when the toast was drawn.
    evil = tmp_path / "evil.csv"
    evil.write_text("1,2\n3,4\n[/] [@click=app.quit]q[/]\n")
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        pane.apply_settings(GanSettings(data=str(evil)))
        await until(pilot, lambda: not pane.busy and bool(app._notifications))
        notes = list(app._notifications)
        assert any("[@click=app.quit]q[/]" in str(n.message) for n in notes)
        assert all(not n.markup for n in notes)
        await pilot.pause(0.2)
        assert app.is_running


async def test_mode_collapse_warning_is_visible() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        # A slow discriminator lets G hop between a couple of modes (seed 0).
        pane.apply_settings(GanSettings(lr_d=1e-4))
        await until(pilot, lambda: not pane.busy and pane.settings["points"].lr_d == 1e-4)
        assert "MODE COLLAPSE" not in status(pane)
        await pilot.press("space")
        await until(pilot, lambda: pane.step >= 320, tries=1200)
        await pilot.press("space")
        await until(pilot, lambda: pane.collapse)
        assert "MODE COLLAPSE: G covers only" in status(pane)


async def test_everything_fits_at_80x24() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        await pilot.press("n")
        await until(pilot, lambda: pane.step == 1)
        for wid in ("#gan-map", "#gan-loss", "#gan-dx", "#gan-js", "#gan-status"):
            region = pane.query_one(wid).region
            assert region.width >= 10 and region.height >= 2, wid
            assert region.right <= 80 and region.bottom <= 23, wid
        view = pane.query_one(MapView).view
        assert view.decision.shape == (pane.query_one(MapView).size.height,
                                       pane.query_one(MapView).size.width)
        text = "".join(seg.text for y in range(view.decision.shape[0])
                       for seg in pane.query_one(MapView).render_line(y))
        assert REAL_GLYPH in text and FAKE_GLYPH in text


class _Host(App[None]):
    """Only the GAN pane, so other panes' tabs never change this snapshot."""

    CSS_PATH = str(APP_CSS)

    def compose(self) -> ComposeResult:
        yield GanPane(id="pane-gan")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(GanPane).pane_shown()


def test_snapshot_paused_after_fixed_steps(snap_compare) -> None:
    async def steps(pilot) -> None:
        pane = await ready(pilot)
        for key in "n" * 12 + "dg":
            await pilot.press(key)
        await until(pilot, lambda: pane.step == 14 and pane.query_one(MapView).view.step == 14)
        await pilot.pause()

    assert snap_compare(_Host(), terminal_size=(80, 24), run_before=steps)


async def test_training_pauses_while_the_tab_is_hidden_and_resumes_on_return() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        await pilot.press("space")
        await until(pilot, lambda: pane.step >= 5)
        await app.show_pane_now("tokenizer")
        assert not pane.playing and "paused" in status(pane)
        await until(pilot, lambda: not pane.worker_training)  # its last steps have arrived
        hidden_at = pane.step
        await pilot.pause(0.5)
        assert pane.step == hidden_at  # no training while hidden
        await app.show_pane_now("gan")
        await pilot.pause(0.3)
        assert pane.playing
        await until(pilot, lambda: pane.step > hidden_at)
        assert any("paused while this tab was hidden" in n.message for n in app._notifications)


async def test_space_is_labelled_with_what_it_will_do() -> None:
    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)

        def label() -> str | None:
            return next((b.binding.description for b in app.active_bindings.values()
                         if b.binding.key == "space" and b.binding.show), None)

        assert label() == "Play"
        await pilot.press("space")
        await pilot.pause(0.1)
        assert pane.playing and label() == "Pause"
        await pilot.press("space")
        await pilot.pause(0.1)
        assert not pane.playing and label() == "Play"
