"""The Imagine pane driven like a user would (Pilot): a prompt drawn and read, the
guidance knob, the guidance row, the attention maps, unknown words, the keyboard
model with the prompt focused, pausing while hidden, no model, and a snapshot.

A tiny text-to-image model and a tiny CLIP, trained once for this module
(tests/fixtures/imagine_assets.py), stand in for the bundled ones."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Footer

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.charts import TextLine
from genai_tui.tui.panes.diffusion.widgets import ImagePanel
from genai_tui.tui.panes.imagine import ImaginePane
from genai_tui.tui.panes.imagine import run as run_module
from genai_tui.tui.panes.imagine.pane import VIEWS
from genai_tui.tui.textbox import SafeInput
from tests import ROOT
from tests.fixtures.imagine_assets import make_imagine_assets

APP_CSS = ROOT / "genai_tui" / "tui" / "app.tcss"


@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory) -> Path:
    return make_imagine_assets(tmp_path_factory.mktemp("imagine-assets"))


@pytest.fixture(autouse=True)
def _use_tiny_models(tiny_assets: Path, monkeypatch) -> None:
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(tiny_assets))
    monkeypatch.setattr(run_module, "FRAME_RATE", 100.0)


async def until(pilot, condition, what: str, tries: int = 1500) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def ready(pilot) -> ImaginePane:
    """The pane, loaded, focused, with its first run finished."""
    pane = pilot.app.query_one(ImaginePane)
    await until(pilot, lambda: pane.state == "done" and pilot.app.focused is pane, "first run")
    return pane


def line(pane: ImaginePane, selector: str) -> str:
    return pane.query_one(selector, TextLine).text.plain


def app() -> GenaiApp:
    return GenaiApp(initial_pane="imagine", panes=[ImaginePane])


async def test_a_typed_prompt_is_drawn_and_read_by_the_judges() -> None:
    async with app().run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        assert pane.last_settings.prompt == "a thick seven"
        await pilot.press("slash")
        box = pane.query_one("#im-prompt", SafeInput)
        assert box.has_focus
        box.value = ""
        await pilot.press(*"a thin two", "enter")
        assert pane.last_settings.prompt == "a thin two"  # a new run started (it may be done)
        await until(pilot, lambda: pane.state == "done", "the run")
        assert pane.finals.shape == (4, 28, 28) and len(pane.readings) == 4
        assert all(r.confidence is not None and r.score is not None for r in pane.readings)
        panel = pane.query_one("#im-denoise", ImagePanel)
        assert panel.images is pane.finals
        assert panel.captions[1] == pane.readings[1].caption() and " · " in panel.captions[1]
        assert "·two" in line(pane, "#im-tokens") and "✓ done" in line(pane, "#im-knobs")


async def test_f6_f7_set_the_guidance_of_the_next_run_and_a_seed_repeats() -> None:
    async with app().run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        first = pane.finals.copy()
        assert pane.last_settings.guidance == 1.0  # the service's default
        await pilot.press("f7")
        assert pane.last_settings.guidance == 2.0 and "w=2" in line(pane, "#im-knobs")
        await pilot.press("f6", "f6", "f6")
        assert pane.guidance == 0.0 and pane.last_settings.guidance == 0.0
        await pilot.press("f7", "f7")
        await until(pilot, lambda: pane.state == "done", "the run at guidance 1")
        assert pane.last_settings.guidance == 1.0 and pane.frame.guidance == 1.0
        np.testing.assert_array_equal(pane.finals, first)  # same seed, same images
        await pilot.press("f12")
        await until(pilot, lambda: pane.state == "done", "seed 1")
        assert pane.last_settings.seed == 1 and not np.array_equal(pane.finals, first)
        await pilot.press("f8")
        assert pane.last_settings.sampler == "ddpm"
        await pilot.press("f8", "f10")
        assert pane.last_settings.sampler == "ddim" and pane.last_settings.steps == 10


async def test_the_guidance_row_fills_every_scale() -> None:
    async with app().run_test(size=(120, 40)) as pilot:
        pane = await ready(pilot)
        await pilot.press("2")
        await until(pilot, lambda: len(pane.row) == len(run_module.GUIDANCE_ROW), "the row")
        panel = pane.query_one("#im-guidance", ImagePanel)
        assert len(panel.images) == 6
        assert [c.split()[0].lstrip("▸") for c in panel.captions] == [
            "w=0", "w=1", "w=2", "w=3", "w=5", "w=8"]
        assert panel.captions[1].startswith("▸")  # the current guidance (1)
        assert not np.array_equal(pane.row[0.0].image, pane.row[8.0].image)


async def test_the_attention_view_shows_one_map_per_token() -> None:
    async with app().run_test(size=(120, 40)) as pilot:
        pane = await ready(pilot)
        await pilot.press("3")
        panel = pane.query_one("#im-attention", ImagePanel)
        tokens = pane.frame.tokens
        assert tokens[0] == "∅" and len(tokens) == 6  # ∅ ·a ·th ick ·se ven
        assert len(panel.images) == 1 + len(tokens)
        assert panel.captions[0] == "#1 final"
        assert [c.rsplit(" ", 1)[0] for c in panel.captions[1:]] == list(tokens)
        await pilot.press("left", "left")
        assert pane.attention_pick == len(pane.attention_steps) - 3
        assert "x̂0 t=" in panel.captions[0]
        await pilot.press("right_square_bracket")
        assert pane.follow == 1 and panel.captions[0].startswith("#2")
        pane.guidance = 0.0
        pane.start_run()
        await until(pilot, lambda: pane.state == "done", "a run at guidance 0")
        assert panel.images is None or "Guidance 0" in str(panel.render())


async def test_the_map_view_puts_captions_and_images_on_one_plane() -> None:
    from genai_tui.service import clip as clip_svc
    from genai_tui.tui.panes.imagine.clip_views import MapView
    from genai_tui.tui.panes.imagine.work import MAP_PAIRS, MAP_SEED

    async with app().run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        await pilot.press("5")
        assert pane.view == "map"
        view = pane.query_one(MapView)
        await until(pilot, lambda: view.joint is not None, "the projection")
        joint = view.joint
        assert len(joint.texts) == len(joint.images) == MAP_PAIRS
        # the same figures as the service's projection of the same pairs
        clip = pane.models.clip
        expected = clip_svc.digit_distances(clip_svc.joint_projection(
            clip, clip_svc.heldout_gallery(MAP_PAIRS, MAP_SEED)))
        assert joint.same_digit == pytest.approx(expected["same_digit"])
        shown = str(view.render())
        assert "captions (200)" in shown and "images (200)" in shown
        assert f"{joint.same_digit:.2f}" in shown
        rows = shown.split("\n")
        assert all(len(r) <= 100 for r in rows) and len(rows) <= view.size.height
        # every digit drawn on the map is one of the points' digits
        drawn = {int(c) for c in "".join(rows[1:-2]) if c.isdigit()}
        assert drawn and drawn <= set(joint.text_digits) | set(joint.image_digits)


async def test_unknown_words_are_shown_and_drawn_anyway() -> None:
    async with app().run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        pane.query_one("#im-prompt", SafeInput).value = "a purple seven"
        await pilot.pause()
        tokens = line(pane, "#im-tokens")
        assert "unknown: 'purple'" in tokens and "generating anyway" in tokens
        await until(pilot, lambda: pane.state == "done", "the run")  # typing draws nothing
        assert pane.last_settings.prompt == "a thick seven"
        # a long prompt: the token list is cut, never what the model does not know
        pane.query_one("#im-prompt", SafeInput).value = "a thick seven " * 6 + "zebra [b]x[/b]"
        await pilot.pause()
        tokens = line(pane, "#im-tokens")
        assert "'zebra'" in tokens and "'·['" in tokens and tokens.endswith("generating anyway")
        assert "…" in tokens and "……" not in tokens
        assert "(cut: the model reads only these)" in tokens


async def test_a_hostile_paste_is_drawn_safely_in_the_box_and_the_token_line() -> None:
    from textual import events

    from tests.tui.test_frames_safe import HOSTILE, assert_frame_is_safe

    async with app().run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        box = pane.query_one("#im-prompt", SafeInput)
        box.focus()
        box.value = ""
        box.post_message(events.Paste(HOSTILE))
        await pilot.pause(0.2)
        await pilot.press("enter")
        await until(pilot, lambda: pane.state == "done", "the hostile prompt's run")
        assert "\x1b" not in line(pane, "#im-tokens")
        assert_frame_is_safe(pilot.app)
        assert pilot.app.is_running


async def test_in_the_prompt_listed_letters_type_and_f_keys_act(tmp_path) -> None:
    """Every key F1 lists, pressed with the prompt focused."""
    exports = tmp_path / "exports"
    exports.mkdir()
    app = GenaiApp(initial_pane="imagine", panes=[ImaginePane], export_dir=exports)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        keys = list(dict.fromkeys(b.key for b in pane.help_bindings()))
        f_keys = [k for k in keys if re.fullmatch(r"f\d+", k)]
        typing = [k for k in keys if k not in f_keys and k not in ("left", "right")]
        assert {"s", "1", "2", "3", "4", "slash", "full_stop"} <= set(typing)
        box = pane.query_one("#im-prompt", SafeInput)
        box.focus()
        await pilot.pause()
        box.cursor_position = len(box.value)
        before = box.value
        await pilot.press(*typing)
        chars = {"slash": "/", "full_stop": ".", "left_square_bracket": "[",
                 "right_square_bracket": "]"}
        assert box.value == before + "".join(chars.get(k, k) for k in typing)
        assert pane.view == "denoise" and pane.follow == 0 and not list(exports.iterdir())
        value = box.value
        await pilot.press("left", "right")  # the cursor moves; no attention step
        assert box.value == value and pane.attention_pick is None
        acts = {"f6": lambda: pane.guidance == 0.5, "f7": lambda: pane.guidance == 1.0,
                "f8": lambda: pane.sampler == "ddpm", "f12": lambda: pane.seed == 1,
                "f10": lambda: pane.steps == 25, "f11": lambda: pane.steps == 25,
                "f5": lambda: pane.state in ("paused", "running")}
        assert set(f_keys) == set(acts)
        for key in f_keys:
            settings = pane.last_settings
            await pilot.press(key)
            # F5 pauses a running run or starts a new one (which may be done already)
            assert acts[key]() or (key == "f5" and pane.last_settings is not settings), key
            assert box.value == value and box.has_focus, key
        await pilot.press("f8", "f10")  # back to DDIM: steps act there
        assert pane.steps == 10 and box.value == value and box.has_focus


async def test_f5_while_the_judges_read_starts_a_new_run(monkeypatch) -> None:
    """The footer says Draw while the last images are judged: F5 must draw."""
    release = threading.Event()
    readings = run_module.wk.readings

    def slow_readings(*args):
        release.wait(10)
        return readings(*args)

    monkeypatch.setattr(run_module.wk, "readings", slow_readings)
    async with app().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ImaginePane)
        await until(pilot, lambda: pane.state == "judging" and pilot.app.focused is pane,
                    "the first run's judging")
        first = pane.last_settings
        await pilot.press("f5")
        assert pane.last_settings is not first  # a new run (the tiny model may be judging it)
        assert pane.state in ("running", "judging")
        release.set()
        await until(pilot, lambda: pane.state == "done", "the new run")
        assert pane.finals is not None


async def test_a_hidden_pane_pauses_its_run_and_resumes_on_return(monkeypatch) -> None:
    monkeypatch.setattr(run_module, "FRAME_RATE", 10.0)
    app = GenaiApp(initial_pane="imagine")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        await pilot.press("f8")  # DDPM: all 50 steps, still running when we look away
        await until(pilot, lambda: pane.frame is not None and pane.frame.index >= 1, "ddpm")
        await app.show_pane_now("tokenizer")
        assert pane.state == "paused"
        await pilot.pause(0.5)  # a step computed while pausing may still arrive
        index = pane.frame.index
        await pilot.pause(0.5)
        assert pane.frame.index == index, "the hidden sampler kept running"
        await app.show_pane_now("imagine")
        await pilot.pause(0.1)
        assert pane.state == "running"
        await until(pilot, lambda: pane.frame.index > index, "steps after returning")


async def test_a_hidden_pane_stops_the_guidance_row_and_finishes_it_on_return() -> None:
    app = GenaiApp(initial_pane="imagine")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await ready(pilot)
        await pilot.press("2")
        await until(pilot, lambda: len(pane.row) >= 1, "the first scale")
        await app.show_pane_now("tokenizer")
        filled = len(pane.row)
        await pilot.pause(1.5)
        assert len(pane.row) == filled, "the hidden pane kept drawing"
        await app.show_pane_now("imagine")
        await until(pilot, lambda: len(pane.row) == len(run_module.GUIDANCE_ROW), "the rest")
        captions = pane.query_one("#im-guidance", ImagePanel).captions
        assert not any(c.endswith("…") for c in captions)


async def test_no_model_says_what_is_missing_and_how_to_build_it(tmp_path, monkeypatch) -> None:
    empty = tmp_path / "assets"
    empty.mkdir()
    (empty / "tokenizers").symlink_to(ROOT / "assets" / "tokenizers")
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(empty))
    async with app().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(ImaginePane)
        await until(pilot, lambda: pane.state == "missing", "loading")
        shown = str(pane.query_one("#im-denoise", ImagePanel).render())
        assert "genai-tui train imagine --bundled" in shown
        assert "genai-tui train clip --bundled" in shown
        await pilot.press("f5", "f7", "2", "3", "4", "s")  # nothing to run; still alive
        assert pane.state == "missing" and pane.guidance == 2.0
        for view in VIEWS:
            pane.action_set_view(view)
        await pilot.pause()


async def test_without_the_text_to_image_model_clip_search_still_works(
        tiny_assets, tmp_path, monkeypatch) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("clip", "tokenizers", "classifier"):
        (assets / name).symlink_to((tiny_assets / name).resolve())
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(assets))
    async with app().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(ImaginePane)
        await until(pilot, lambda: pane.state == "missing", "loading")
        shown = str(pane.query_one("#im-denoise", ImagePanel).render())
        assert "genai-tui train imagine --bundled" in shown and "need only CLIP" in shown
        assert "train clip" not in shown
        pane.focus()
        await pilot.press("4")
        matches = pane.query_one("#im-matches", ImagePanel)
        await until(pilot, lambda: matches.images is not None, "the search")
        assert len(matches.images) >= 1 and "n/a" not in str(matches.render())


async def test_without_clip_scores_say_n_a_and_saving_still_works(
        tiny_assets, tmp_path, monkeypatch) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("imagine", "tokenizers", "classifier"):
        (assets / name).symlink_to((tiny_assets / name).resolve())
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(assets))
    exports = tmp_path / "exports"
    exports.mkdir()
    app = GenaiApp(initial_pane="imagine", panes=[ImaginePane], export_dir=exports)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await ready(pilot)
        assert all(r.score is None for r in pane.readings)
        assert pane.query_one("#im-denoise", ImagePanel).captions[0].endswith("· n/a")
        await pilot.press("s")
        await pilot.pause()
        assert len(list(exports.glob("genai-imagine-denoise-*.png"))) == 1
        await pilot.press("4")
        shown = str(pane.query_one("#im-matches", ImagePanel).render())
        assert "CLIP search n/a" in shown and "genai-tui train clip --bundled" in shown


class _Host(App[None]):
    """Only the Imagine pane, so other panes' tabs never change this snapshot."""

    CSS_PATH = str(APP_CSS)

    def compose(self) -> ComposeResult:
        yield ImaginePane(id="pane-imagine")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ImaginePane).pane_shown()


def test_snapshot_finished_at_80x24(snap_compare) -> None:
    async def finished(pilot) -> None:
        pane = pilot.app.query_one(ImaginePane)
        await until(pilot, lambda: pane.state == "done", "the first run")
        await pilot.pause()

    assert snap_compare(_Host(), terminal_size=(80, 24), run_before=finished)
