"""The Generate pane's beam mode: Pilot tests against the real beam-search service.

The bundled model (``assets/lm``) where it exists, else a tiny random one; what
the view shows is compared with `service.beam.beam_updates` and with
``genai-tui generate --beam --json`` run on the same weights.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from rich.console import Console
from rich.text import Text

from genai_tui.service import beam as bs
from genai_tui.service.runtime import torch_threads
from genai_tui.tui.keys import pane_key_rows
from genai_tui.tui.panes.generate import GeneratePane
from genai_tui.tui.panes.generate.beam_render import step_view
from genai_tui.tui.panes.generate.beam_view import BeamView
from genai_tui.tui.panes.generate.knob_specs import BEAM_SPECS, KNOBS
from genai_tui.tui.panes.generate.knobs import KnobEditScreen
from genai_tui.tui.textbox import SafeInput
from tests.fixtures.lm import make_model_dir
from tests.tui.panes.test_generate_pane import HAVE_BUNDLED, generate_only_app, settle

SMALL = (80, 24)
WIDE = (120, 40)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", seed=0, block_size=128)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, tiny_model):
    """The bundled model where it exists (the real thing), else the tiny one."""
    path = None if HAVE_BUNDLED else str(tiny_model)
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", path)
    return path


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, tiny_model):
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", str(tiny_model))
    return str(tiny_model)


async def beam_mode(pilot, **settings) -> GeneratePane:
    """Load the model, press F4 with the prompt focused, and set the beam knobs."""
    pane = pilot.app.query_one(GeneratePane)
    await settle(pilot, pane)
    assert pane.generator is not None, pane.model_error
    assert isinstance(pilot.app.focused, SafeInput)
    await pilot.press("f4")
    await pilot.pause()
    assert pane.mode == "beam" and pane.knob_panel.specs is BEAM_SPECS
    pane.beam_settings = dataclasses.replace(pane.beam_settings, **settings)
    pane.knob_panel.set_knobs(pane.beam_settings, "beam")
    return pane


def shown(view: BeamView) -> str:
    """The view's content as plain text, at the width it has on screen."""
    console = Console(width=view._width(), record=True, color_system=None,
                      legacy_windows=False)
    content = view.body.content
    console.print(content if not isinstance(content, str) else Text(content))
    return console.export_text()


def headless(pane: GeneratePane, prompt: str, settings: bs.BeamSettings) -> list[bs.BeamUpdate]:
    with torch_threads(1):
        return list(bs.beam_updates(prompt, settings, pane.generator.lm))


async def test_beam_mode_shows_each_step_and_the_final_ranking_of_the_service(model) -> None:
    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot, num_beams=3, max_tokens=10)
        await pilot.press("enter")  # the prompt has focus: Enter searches
        await settle(pilot, pane)
        run = pane.beam
        assert run is not None and run.status == "done"
        expected = headless(pane, run.prompt, pane.beam_settings)
        assert [s.index for s in run.steps] == list(range(len(expected)))
        for got, want in zip(run.steps, expected, strict=True):
            assert [b.ids for b in got.live] == [b.ids for b in want.live]
            assert [b.ids for b in got.pruned] == [b.ids for b in want.pruned]
            assert [b.logprob for b in got.live] == pytest.approx([b.logprob for b in want.live],
                                                                  abs=1e-5)
        final = run.steps[-1]
        assert final.done and final.ranking and len(final.ranking) <= 3
        view = pane.beam_view
        text = shown(view)
        lines = text.splitlines()
        # The final ranking first: rank, score, log-prob, length, the text's tail.
        assert lines[0].startswith("final ranking") and f"after {len(run.steps)} steps" in lines[0]
        for rank, beam in enumerate(final.ranking):
            row = next(line for line in lines if line.startswith(f" {rank + 1:>2}. "))
            assert f"{beam.score:.3f}" in row and f"{beam.logprob:.2f}" in row
            assert f"{len(beam.ids)} tok" in row
            tail = bs_tail(beam.text)
            assert tail in row, (tail, row, beam.text, beam.token)
        assert f"pruned at step {final.index + 1}  {len(final.pruned)} candidates" in text
        assert f"{final.pruned[0].logprob:.2f}" in text
        assert "step " + f"{len(run.steps)}/{len(run.steps)}" in view._title_plain
        assert "✓ done" in view._title_plain


def bs_tail(text: str, n: int = 12) -> str:
    """The last ``n`` visible characters of a beam's text, as the view writes them."""
    from genai_tui.tui.panes.generate.beam_render import beam_text

    return beam_text(text)[-n:]


async def test_final_ranking_equals_the_cli_json_on_the_same_weights(model, capsys) -> None:
    from genai_tui.cli import app as cli

    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot, num_beams=4, max_tokens=12, early_stopping=True,
                               length_penalty=0.5)
        await pilot.press("f5")
        await settle(pilot, pane)
        ranking = pane.beam.result.ranking
    args = ["generate", pane.beam.prompt, "--beam", "4", "-n", "12", "--early-stopping",
            "true", "--length-penalty", "0.5", "--json"]
    if model is not None:
        args += ["--model", model]
    with pytest.raises(SystemExit) as e:
        cli(args)
    assert e.value.code in (0, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    steps, summary = lines[:-1], lines[-1]
    assert summary["done"] and summary["steps"] == len(pane.beam.steps)
    assert [r["ids"] for r in summary["ranking"]] == [list(b.ids) for b in ranking]
    assert [r["score"] for r in summary["ranking"]] == pytest.approx(
        [b.score for b in ranking], abs=1e-5)
    assert summary["text"] == ranking[0].text
    for printed, step in zip(steps, pane.beam.steps, strict=True):  # per step: the same beams
        assert [b["ids"] for b in printed["live"]] == [list(b.ids) for b in step.live]
        assert len(printed["pruned"]) == len(step.pruned)


async def test_f6_steps_one_at_a_time_and_arrows_revisit_steps(model) -> None:
    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot, num_beams=2, max_tokens=8, end_at_paragraph=False)
        for n in (1, 2, 3):
            await pilot.press("f6")
            await settle(pilot, pane)
            assert len(pane.beam.steps) == n and pane.beam.status == "paused"
            step = pane.beam.steps[-1]
            text = shown(pane.beam_view)
            assert f"live beams after step {n}" in text
            for beam in step.live:
                assert f"{beam.logprob:8.2f}" in text
        assert "finished so far 0/2" in text
        # Revisit: focus the view (Tab from the prompt passes the knob grid), ← twice.
        pane.beam_view.focus()
        await pilot.press("left", "left")
        assert pane.beam_view.selected is pane.beam.steps[0]
        text = shown(pane.beam_view)
        assert "live beams after step 1" in text and "pruned at step 1" in text
        assert "(End: newest)" in pane.beam_view._title_plain
        await pilot.press("end")
        assert pane.beam_view.selected is pane.beam.steps[-1]
        # F7 continues the same search to its end; it equals one uninterrupted search.
        await pilot.press("f7")
        await settle(pilot, pane)
        assert pane.beam.status == "done" and len(pane.beam.steps) == 8
        expected = headless(pane, pane.beam.prompt, pane.beam_settings)
        assert [b.ids for b in pane.beam.result.ranking] == [b.ids for b in expected[-1].ranking]


async def test_escape_in_the_prompt_stops_a_running_search(model) -> None:
    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot, num_beams=64, max_tokens=180, end_at_paragraph=False)
        await pilot.press("f5")
        for _ in range(1000):
            await pilot.pause(0.01)
            if pane.beam is not None and len(pane.beam.steps) >= 2:
                break
        assert isinstance(pilot.app.focused, SafeInput)
        await pilot.press("escape")
        await settle(pilot, pane)
        stopped_at = len(pane.beam.steps)
        # 64 beams x 180 steps: long enough that Esc lands mid-search (16 x 120
        # could finish first after the merge; a finished search says "done").
        assert pane.beam.status == "stopped" and 2 <= stopped_at < 180
        await pilot.pause(0.3)
        assert len(pane.beam.steps) == stopped_at  # the worker really stopped
        assert "■ stopped" in pane.beam_view._title_plain


async def test_beam_knobs_change_by_keys_and_typing_with_the_registrys_checks(tiny) -> None:
    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot)
        assert pane.beam_settings == bs.BeamSettings(max_tokens=pane.knobs_a.max_tokens)
        panel = pane.knob_panel
        panel.focus()
        await pilot.press("right")  # beams 4 -> 5
        assert pane.beam_settings.num_beams == 5
        await pilot.press("down", "down", "right")  # early stopping false -> true
        assert pane.beam_settings.early_stopping is True
        await pilot.press("right")
        assert pane.beam_settings.early_stopping == "never"
        await pilot.press("up", "enter")  # length penalty: type a value
        assert isinstance(pilot.app.screen, KnobEditScreen)
        await pilot.press(*"99", "enter")  # outside [-10, 10]: the box says why, stays open
        assert isinstance(pilot.app.screen, KnobEditScreen)
        assert "length penalty must be a number in [-10, 10]" in str(
            pilot.app.screen.query_one("#knob-error").content)
        pilot.app.screen.query_one("#knob-input").value = "-0.5"
        await pilot.press("enter")
        assert pane.beam_settings.length_penalty == -0.5
        await pilot.press("down", "down", "right")  # max tokens, shared with sampling
        assert pane.knobs_a.max_tokens == pane.beam_settings.max_tokens
        await pilot.press("g")  # greedy, outside a text box: width 1
        assert pane.beam_settings.num_beams == 1
        await pilot.press("f4")
        assert pane.mode == "sample" and panel.specs is KNOBS


async def test_keys_f1_lists_never_type_and_typing_never_acts(tiny) -> None:
    """With the prompt focused in beam mode, every key F1 lists under 'outside a text
    box' types into the prompt and acts on nothing; the keys that work while
    typing never type. Outside the prompt, `m` switches the mode."""
    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot, max_tokens=4)
        box = pilot.app.query_one(SafeInput)
        typing, outside = pane_key_rows(pane.BINDINGS)
        box.value = ""
        for binding in pane.BINDINGS:
            for key in binding.key.split(","):
                label = next((k for k, _ in outside if k == _label(key)), None)
                if label is None:
                    continue
                before = (pane.mode, pane.beam_settings, pane.beam, box.value)
                await pilot.press(key)
                assert box.value == before[3] + _char(key), key  # it typed
                assert (pane.mode, pane.beam_settings, pane.beam) == before[:3], key
                assert isinstance(pilot.app.focused, SafeInput), key
        typed = box.value
        for label, _ in typing:
            for key in _keys_for(pane, label):
                await pilot.press(key)
                await settle(pilot, pane)
                while pilot.app.screen is not pilot.app.screen_stack[0]:  # F9's dialog
                    await pilot.press("escape")
                if not isinstance(pilot.app.focused, SafeInput):
                    box.focus()  # Esc leaves the box (and stops): come back
                    await pilot.pause()
                assert box.value == typed, key
        if pane.mode != "beam":
            await pilot.press("f4")
        pane.beam_view.focus()
        await pilot.press("m")
        assert pane.mode == "sample"


def _label(key: str) -> str:
    from genai_tui.tui.keys import key_label

    return key_label(key)


def _char(key: str) -> str:
    from textual.keys import format_key, key_to_character

    return key_to_character(key) or format_key(key)


def _keys_for(pane: GeneratePane, label: str) -> list[str]:
    return [key for binding in pane.BINDINGS for key in binding.key.split(",")
            if _label(key) == label]


def test_model_text_is_shown_as_text_never_markup() -> None:
    hostile = "\x1b[31m[bold]red[/bold] [@click=app.quit]q[/]\n\u202eZ"
    beam = bs.BeamText(hostile, "[/]", (1, 2), -1.5, -0.75, 0)
    step = bs.BeamUpdate(1, [beam], [], [dataclasses.replace(beam, score=None)], [beam], True,
                         "length", [beam])
    for width in (80, 120):
        console = Console(width=width, record=True, color_system=None)
        console.print(step_view([step, step], 1, bs.BeamSettings(), width))
        out = console.export_text()
        assert "[bold]red[/bold] [@click=app.quit]q[/]↵⟨U+202E⟩Z" in out
        assert width > 80 or "␛[31m[bold]red" in out
        assert "-1.50 [/] ←1" in out  # the pruned token, as typed
        assert "\x1b" not in out and "\u202e" not in out


def test_snapshot_beam_mode_at_80x24(snap_compare, model) -> None:
    async def run_before(pilot) -> None:
        pane = await beam_mode(pilot, num_beams=4, max_tokens=16)
        pane.query_one(SafeInput).cursor_blink = False
        await pilot.press("f5")
        await settle(pilot, pane)
        pane.beam_view.focus()
        await pilot.press("left", "left")
        await pilot.pause()

    assert snap_compare(generate_only_app(), terminal_size=SMALL, run_before=run_before)


async def test_wide_terminal_puts_pruned_and_finished_in_a_second_column(model) -> None:
    async with generate_only_app().run_test(size=WIDE) as pilot:
        pane = await beam_mode(pilot, num_beams=4, max_tokens=16)
        await pilot.press("f5")
        await settle(pilot, pane)
        lines = shown(pane.beam_view).splitlines()
        final = pane.beam.steps[-1]
        # the final ranking on the left, the last step's pruned candidates beside it
        assert "final ranking" in lines[0] and f"pruned at step {final.index + 1}" in lines[0]
        assert any("finished so far" in line for line in lines)
        start = next(i for i, line in enumerate(lines) if line.startswith("steps"))
        history = [line for line in lines[start + 1:] if line[:5].strip().isdigit()]
        assert len(history) == len(pane.beam.steps)  # one line per step, newest first
        assert history[0].split()[0] == str(len(pane.beam.steps))


async def test_every_beam_knob_hint_is_shown_whole_at_80x24(tiny) -> None:
    from textual.geometry import Region

    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot)
        panel = pane.knob_panel
        panel.focus()
        await pilot.pause()
        bar = pane.query_one("#gen-hint")
        for index, spec in enumerate(BEAM_SPECS):
            panel.selected = index
            await pilot.pause()
            on_screen = " ".join("".join(seg.text for seg in strip)
                                 for strip in bar.render_lines(Region(0, 0, *bar.size)))
            want = panel.hint().plain
            assert want.startswith(spec.label)
            assert " ".join(on_screen.split()) == " ".join(want.split()), spec.label


async def test_export_writes_every_step_as_the_cli_json_does(tiny, tmp_path) -> None:
    async with generate_only_app().run_test(size=SMALL) as pilot:
        pane = await beam_mode(pilot, num_beams=2, max_tokens=5, end_at_paragraph=False)
        assert pane.export_data() is None  # nothing searched yet
        await pilot.press("f5")
        await settle(pilot, pane)
        export = pane.export_data()
        assert export is not None and export.stem == "generate-beams"
        path = tmp_path / "beams.json"
        export.write(path)
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["format"] == "genai-tui-beam 1" and doc["status"] == "done"
        assert doc["settings"]["num_beams"] == 2
        assert doc["steps"] == [bs.update_json(step) for step in pane.beam.steps]
        assert doc["steps"][-1]["ranking"]
