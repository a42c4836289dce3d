"""The generate pane: Pilot tests against the real generation service.

Most tests load a tiny random-weight model (tests/fixtures/lm.py) for speed;
`test_bundled_model_matches_headless` and the snapshot use the bundled
``assets/lm`` model when it exists.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.geometry import Region

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import parse_order
from genai_tui.service import generate as svc
from genai_tui.service.generate import Candidate, Knobs, StageTrace, TokenStep
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.generate import GeneratePane
from genai_tui.tui.panes.generate.inspector import Inspector
from genai_tui.tui.panes.generate.knob_specs import KNOBS, SPEC_BY_FIELD, parse_stop, unparse_stop
from genai_tui.tui.panes.generate.knobs import KnobEditScreen, KnobPanel
from genai_tui.tui.panes.generate.layout import RunLayout
from genai_tui.tui.panes.generate.render import candidate_rows, legend
from genai_tui.tui.panes.generate.run_view import RunView
from genai_tui.tui.textbox import SafeInput
from tests.fixtures.lm import make_model_dir

SIZE = (100, 30)
BUNDLED = svc.default_model_dir()
HAVE_BUNDLED = (BUNDLED / "card.json").is_file() and (BUNDLED / "model.safetensors").is_file()
HOSTILE = "\x1b[31mred\x1b[0m [bold]x[/bold] [@click=app.quit]q[/] \x07\u202eZ"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", seed=0, block_size=64)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> Path:
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", str(tiny_model))
    return tiny_model


def generate_only_app() -> GenaiApp:
    """The real app shell with only this pane, so other panes' tabs leave the snapshot alone."""
    return GenaiApp(initial_pane="generate", panes=[GeneratePane])


async def settle(pilot, pane: GeneratePane) -> None:
    """Wait for the model to load and every generation to end and reach the screen."""
    for _ in range(1500):
        await pilot.pause(0.02)
        if not pane.busy:
            await pilot.pause()
            if not pane.busy:
                return
    raise AssertionError("the generate pane never settled")


async def start(pilot, max_tokens: int = 16, **knobs) -> GeneratePane:
    pane = pilot.app.query_one(GeneratePane)
    await settle(pilot, pane)
    assert pane.generator is not None, pane.model_error
    pane.knobs_a = dataclasses.replace(pane.knobs_a, max_tokens=max_tokens, **knobs)
    pane.knobs_b = dataclasses.replace(pane.knobs_b, max_tokens=max_tokens,
                                       seed=pane.knobs_a.seed)
    pane.knob_panel.set_knobs(pane.knobs_a, "A")
    return pane


def view_text(view: RunView) -> str:
    """Everything a run view has laid out (not only the rows on screen)."""
    layout = view._layout
    assert layout is not None
    return "\n".join("".join(text for text, _, kind in line if kind in "tf")
                     for line in layout.lines)


def title(widget) -> str:
    """A border title as plain text (the property returns markup)."""
    return Text.from_markup(widget.border_title or "").plain


def screen_rows(view: RunView) -> list[str]:
    return [view.render_line(y).text for y in range(view.size.height)]


# --- streaming, stop, continue, step ---------------------------------------------


async def test_stream_shows_every_token(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=20)
        await pilot.press("enter")  # the prompt has focus: Enter runs
        await settle(pilot, pane)
        (run,) = pane.runs
        assert run.status == "done" and len(run.steps) == 20 and run.generated == 20
        headless = list(svc.generate(run.prompt, run.knobs, pane.generator.lm, top_n=10))
        assert [s.id for s in run.steps] == [s.id for s in headless]  # same seed, same text
        text = view_text(pane.left).replace("\n", "")
        assert text.startswith("The assert statement")
        assert "20/20 tok" in title(pane.left)
        assert "tok/s" in title(pane.left)
        assert run.rate is not None and run.rate > 0
        # The inspector follows the newest token.
        assert pane.inspector.step is run.steps[-1]


async def test_stop_and_continue(tiny, monkeypatch) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=5000)
        real = pane.generator.generate

        def paced(*args, **kwargs):
            # The fused decoder writes the tiny model's 5,000 tokens in well under a
            # second: on a busy machine the run could end before Esc was handled.
            stream = real(*args, **kwargs)
            steps = stream._steps
            stream._steps = (time.sleep(0.002) or step for step in steps)
            return stream

        monkeypatch.setattr(pane.generator, "generate", paced)
        await pilot.press("f5")
        for _ in range(500):
            await pilot.pause(0.01)
            if pane.runs and len(pane.runs[0].steps) >= 3:
                break
        await pilot.press("escape")
        await settle(pilot, pane)
        run = pane.runs[0]
        stopped_at = len(run.steps)
        assert run.status == "stopped" and 3 <= stopped_at < 5000
        await pilot.pause(0.2)
        assert len(run.steps) == stopped_at  # the worker really stopped
        assert "■" in title(pane.left)
        # Continue picks up the same generator where it stopped.
        await pilot.press("f7")
        for _ in range(500):
            await pilot.pause(0.01)
            if len(run.steps) >= stopped_at + 3:
                break
        await pilot.press("escape")
        await settle(pilot, pane)
        assert len(run.steps) >= stopped_at + 3
        continued = list(svc.generate(run.prompt, run.knobs, pane.generator.lm))
        assert [s.id for s in run.steps] == [s.id for s in continued[: len(run.steps)]]


async def test_step_mode_one_token_per_press(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=10)
        for expected in (1, 2, 3):
            await pilot.press("f6")
            await settle(pilot, pane)
            assert len(pane.runs[0].steps) == expected
            assert pane.runs[0].status == "paused"
        pane.left.focus()
        await pilot.press("n")  # the letter works outside the prompt
        await settle(pilot, pane)
        assert len(pane.runs[0].steps) == 4
        await pilot.click("#gen-step")  # and the button
        await settle(pilot, pane)
        assert len(pane.runs[0].steps) == 5
        headless = list(svc.generate(pane.runs[0].prompt, pane.runs[0].knobs, pane.generator.lm))
        assert [s.id for s in pane.runs[0].steps] == [s.id for s in headless[:5]]


# --- knobs ---------------------------------------------------------------------------


async def test_change_knobs_by_keys_mouse_and_typing(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        panel = pane.knob_panel
        panel.focus()
        await pilot.pause()
        assert KNOBS[panel.selected].field == "temperature"
        await pilot.press("right", "right", "left", "right")
        assert pane.knobs_a.temperature == pytest.approx(0.90)
        assert "0.90" in panel.render().plain  # the value is on screen
        await pilot.press("down", "shift+right")  # top-k 40 -> 50
        assert pane.knobs_a.top_k == 50
        await pilot.press("backspace")  # off
        assert pane.knobs_a.top_k == 0
        assert "top-k" in pane.query_one("#gen-hint").render().plain  # hint follows the knob
        # Mouse: click a knob's ▸ (select it first), scroll the wheel over it.
        index = [k.field for k in KNOBS].index("min_p")
        col = index % panel._columns()
        row = index // panel._columns()
        cell_w = panel.size.width // panel._columns()
        await pilot.click(panel, offset=(col * cell_w + 3, row))
        assert KNOBS[panel.selected].field == "min_p"
        await pilot.click(panel, offset=(col * cell_w + cell_w - 2, row))
        assert pane.knobs_a.min_p == pytest.approx(0.01)
        # Typing an invalid value: a clear message, nothing changes, the app lives.
        panel.selected = [k.field for k in KNOBS].index("top_p")
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, KnobEditScreen)
        box = pilot.app.screen.query_one("#knob-input")
        box.value = "1.5"
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, KnobEditScreen)
        assert "top-p must be in (0, 1]" in str(pilot.app.screen.query_one("#knob-error").render())
        box.value = "0.5"
        await pilot.press("enter")
        assert not isinstance(pilot.app.screen, KnobEditScreen)
        assert pane.knobs_a.top_p == 0.5
        # Stop strings and the stage order are typed too.
        panel.selected = [k.field for k in KNOBS].index("order")
        await pilot.press("right")  # next preset
        assert pane.knobs_a.order != svc.DEFAULT_ORDER
        await pilot.press("enter")
        pilot.app.screen.query_one("#knob-input").value = "pen, bogus"
        await pilot.press("enter")
        error = str(pilot.app.screen.query_one("#knob-error").render())
        assert "unknown sampler stage 'bogus'" in error
        await pilot.press("escape")
        assert pane.knobs_a.order != svc.DEFAULT_ORDER
        # Greedy by key: every chosen token is the model's most likely one.
        await pilot.press("g")
        assert pane.knobs_a.greedy
        await pilot.press("f5")
        await settle(pilot, pane)
        run = pane.runs[0]
        assert run.knobs.greedy and run.knobs.top_p == 0.5
        assert all(s.id == s.top_before[0].id for s in run.steps)


async def test_every_knob_hint_is_shown_whole_at_80x24(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=(80, 24)) as pilot:
        pane = await start(pilot)
        panel = pane.knob_panel
        panel.focus()
        await pilot.pause()
        bar = pane.query_one("#gen-hint")
        assert not pane.query_one("#gen-legend").display  # the hint takes the whole row
        for index, spec in enumerate(KNOBS):
            panel.selected = index
            await pilot.pause()
            shown = " ".join("".join(seg.text for seg in strip)
                             for strip in bar.render_lines(Region(0, 0, *bar.size)))
            want = panel.hint().plain
            assert want.startswith(spec.label)
            assert " ".join(shown.split()) == " ".join(want.split()), spec.label
        pane.left.focus()  # away from the knobs: one line again, with the legend
        await pilot.pause()
        assert pane.query_one("#gen-legend").display and bar.size.height == 1


def test_knob_specs_step_within_range() -> None:
    for spec in KNOBS:
        value = getattr(Knobs(), spec.field)
        for steps in (1, 10, 1000, -1, -10, -1000):
            value = spec.stepped(value, steps)
            trial = dataclasses.replace(Knobs(), **{spec.field: value})
            svc.validate(trial)  # a stepped knob is always valid


@given(st.lists(st.text(min_size=1, max_size=8), max_size=4))
def test_stop_strings_round_trip(stops: list[str]) -> None:
    stops = [s for s in stops if s.strip(" ")]
    cleaned = tuple(s for s in stops if s == s.strip(" "))
    assert parse_stop(unparse_stop(cleaned)) == cleaned


def test_parse_order_and_errors() -> None:
    assert parse_order("tmp, k") == ("temperature", "top-k", "penalties", "top-p", "min-p",
                                     "typical-p")
    with pytest.raises(UserError, match="twice"):
        parse_order("k,top-k")
    with pytest.raises(UserError):
        SPEC_BY_FIELD["seed"].parse("-3")
    assert SPEC_BY_FIELD["seed"].parse("random") is None


# --- selecting tokens, candidates, X-ray -------------------------------------------


async def test_select_token_updates_candidates_and_xray(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=12)
        await pilot.press("f5")
        await settle(pilot, pane)
        run = pane.runs[0]
        pane.left.focus()
        await pilot.pause()
        await pilot.press("left", "left", "left")
        assert pane.left.cursor == 8
        assert pane.inspector.step is run.steps[8]
        assert title(pane.inspector).startswith("#8 ")
        body = "\n".join(pane.inspector.render_line(y).text
                         for y in range(pane.inspector.size.height))
        top = run.steps[8].top_before[0]
        assert "model" in body and "knobs" in body
        assert "top-k 40" in body and "   40 " in body  # top-k 40 keeps 40 tokens
        assert "top-p 0.95" in body and "sampler X-ray" in body
        assert top.token.strip()[:3] in body.replace("·", " ")
        kept = {s.label: s.kept for s in run.steps[8].stages}
        assert kept["top-k 40"] == 40 and kept["top-p 0.95"] <= 40
        # Click a token: find where token 2 is drawn.
        target = None
        for y in range(pane.left.size.height):
            x = 0
            for seg in pane.left.render_line(y):
                if seg.style and seg.style.meta.get("token") == 2:
                    target = (x, y)
                    break
                x += seg.cell_length
            if target:
                break
        assert target is not None
        region = pane.left.content_region
        await pilot.click(pane.left, offset=(target[0] + region.x - pane.left.region.x,
                                             target[1] + region.y - pane.left.region.y))
        assert pane.left.cursor == 2 and pane.inspector.step is run.steps[2]
        # ↑/↓ move the highlighted alternative; the X-ray follows it.
        before = pane.alt
        await pilot.press("down")
        assert pane.alt == (before + 1) % pane.inspector.rows_shown
        # End follows the newest token again.
        await pilot.press("end")
        assert pane.left.follow and pane.left.cursor == 11


# --- branches and A/B -----------------------------------------------------------------


async def test_branch_from_an_alternative(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=12)
        await pilot.press("f5")
        await settle(pilot, pane)
        main = pane.runs[0]
        pane.left.focus()
        await pilot.pause()
        pane.left.move_cursor(4)
        await pilot.pause()
        rows = candidate_rows(main.steps[4])
        alt = rows[pane.alt]
        assert alt.id != main.steps[4].id
        await pilot.press("enter")  # branch here
        await settle(pilot, pane)
        assert len(pane.runs) == 2
        branch = pane.runs[1]
        assert branch.parent is main and branch.fork_at == 4
        assert [s.id for s in branch.steps[:4]] == [s.id for s in main.steps[:4]]
        assert branch.steps[4].id == alt.id
        assert len(branch.steps) == 12  # same total length as the original
        assert branch.status == "done" and main.status == "done"
        # Side by side: the original left, the branch right; both kept.
        assert pane.left.run is main and pane.right.run is branch
        assert pane.right.has_class("-shown")
        # The continuation is what the service makes from prompt + prefix.
        expected = list(svc.generate(main.prompt, branch.knobs, pane.generator.lm,
                                     prefix_ids=branch.prefix_ids))
        assert [s.id for s in branch.steps[5:]] == [s.id for s in expected]
        # The runs strip lists both; [ switches back to the original alone.
        assert "⑂1 @4" in pane.query_one("#gen-status").render().plain
        await pilot.press("left_square_bracket")
        assert pane.current is main and not pane.right.has_class("-shown")


async def test_branch_by_mouse(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=8)
        await pilot.press("f5")
        await settle(pilot, pane)
        pane.left.focus()
        pane.left.move_cursor(1)
        await pilot.pause()
        inspector = pane.query_one(Inspector)
        # Click the third candidate row, then the ⑂ branch button.
        row_y = next(y for y in range(inspector.size.height)
                     if any(seg.style and seg.style.meta.get("alt") == 2
                            for seg in inspector.render_line(y)))
        dx = inspector.content_region.x - inspector.region.x
        dy = inspector.content_region.y - inspector.region.y
        await pilot.click(inspector, offset=(dx + 6, dy + row_y))
        assert pane.alt == 2
        await pilot.click(inspector, offset=(dx + 2, dy))
        await settle(pilot, pane)
        assert len(pane.runs) == 2 and pane.runs[1].steps[1].id == candidate_rows(
            pane.runs[0].steps[1])[2].id


async def test_ab_side_by_side(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=10, seed=7)
        pane.knob_panel.focus()
        await pilot.press("v")  # edit knob set B
        assert pane.editing == "B" and pane.knob_panel.has_class("-set-b")
        await pilot.press("right", "right")  # B: temperature 1.30 -> 1.40
        assert pane.knobs_b.temperature == pytest.approx(1.40)
        assert pane.knobs_a.temperature == pytest.approx(0.80)
        await pilot.press("f8")
        await settle(pilot, pane)
        run_a, run_b = pane.runs
        assert (run_a.name, run_b.name) == ("A", "B")
        assert run_a.prompt == run_b.prompt
        assert run_a.knobs.seed == run_b.knobs.seed == 7  # same seed
        assert run_b.knobs.temperature == pytest.approx(1.40)
        assert len(run_a.steps) == len(run_b.steps) == 10
        assert pane.left.run is run_a and pane.right.run is run_b
        # Each title starts with what sets its side apart; the status bar says A→B.
        # (B's defaults also turn top-k and top-p off)
        assert title(pane.left).startswith("✓ A · temp 0.80 top-k 40 top-p 0.95 · ")
        assert title(pane.right).startswith("✓ B · temp 1.40 top-k off top-p off · ")
        status = pane.query_one("#gen-status").render().plain
        assert "A→B temp 0.80→1.40, top-k 40→off, top-p 0.95→off" in status
        for run in (run_a, run_b):
            headless = list(svc.generate(run.prompt, run.knobs, pane.generator.lm))
            assert [s.id for s in run.steps] == [s.id for s in headless]


async def test_ab_titles_fit_at_80x24_and_say_when_the_knobs_are_the_same(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=(80, 24)) as pilot:
        pane = await start(pilot, max_tokens=4)
        pane.knobs_b = pane.knobs_a
        await pilot.press("f8")
        await settle(pilot, pane)
        assert "A and B: same knobs" in pane.query_one("#gen-status").render().plain
        for view in (pane.left, pane.right):
            head = title(view).split(" · ")[:2]
            assert head[1] == "same knobs"
            # the start of the title is on screen, not cut
            top = view.render_lines(Region(0, 0, view.size.width, 1))[0]
            shown = "".join(seg.text for seg in top)
            assert " · ".join(head)[:12] in shown


async def test_ab_with_random_seed_shares_one_seed(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=3, seed=None)
        pane.knobs_b = dataclasses.replace(pane.knobs_b, seed=None)
        await pilot.click("#gen-ab")
        await settle(pilot, pane)
        run_a, run_b = pane.runs
        assert run_a.knobs.seed is not None and run_a.knobs.seed == run_b.knobs.seed


async def test_mouse_on_legend_runs_strip_and_inspector_toggle(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=6)
        await pilot.click("#gen-run")
        await settle(pilot, pane)
        await pilot.click("#gen-legend")  # probability digits on
        assert pane.digits
        assert any(ch in "".join(screen_rows(pane.left)) for ch in "₀₁₂₃₄₅₆₇₈₉")
        pane.left.focus()
        pane.left.move_cursor(2)
        await pilot.pause()
        await pilot.press("b")
        await settle(pilot, pane)
        assert pane.current is pane.runs[1]
        await pilot.click("#gen-status", offset=(1, 0))  # the "main" chip
        assert pane.current is pane.runs[0]
        width_before = pane.left.size.width
        await pilot.press("x")  # hide the candidates panel: the output gets its room
        await pilot.pause()
        assert not pane.inspector.display or pane.inspector.size.width == 0
        assert pane.left.size.width > width_before


# --- hostile text, missing model ---------------------------------------------------


async def test_hostile_prompt_and_output_are_visible_text(tiny, monkeypatch) -> None:
    real_generate = svc.generate

    def hostile_generate(prompt, knobs, model=None, **kwargs):
        for step in real_generate(prompt, knobs, model, **kwargs):
            if step.index == 1:
                step = dataclasses.replace(step, token="\x1b[2J[red]boom[/red]\x07")
            yield step

    monkeypatch.setattr(svc, "generate", hostile_generate)
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=4)
        prompt = pane.query_one(SafeInput)
        prompt.value = HOSTILE
        assert "\x1b" not in prompt.value and "␛[31m" in prompt.value
        await pilot.press("f5")
        await settle(pilot, pane)
        rows = "\n".join(screen_rows(pane.left))
        assert "␛[31mred␛[0m [bold]x[/bold] [@click=app.quit]q[/]" in rows
        assert "␇⟨U+202E⟩Z" in rows
        assert "␛[2J[red]boom[/red]␇" in rows
        assert "\x1b" not in rows and "\x07" not in rows
        assert pilot.app.is_running
        pane.left.move_cursor(1)
        await pilot.pause()
        assert "␛[2J[red]" in title(pane.inspector)


async def test_pasted_multiline_prompt_reaches_the_model_with_newlines(tiny) -> None:
    from textual import events

    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=3)
        box = pane.query_one(SafeInput)
        box.value = ""
        box.focus()
        box.post_message(events.Paste("def f(x):\n\treturn x\x1b[2J"))
        await pilot.pause()
        await pilot.press("ctrl+j")
        assert box.value == "def f(x):↵    return x␛[2J↵"
        assert pane.prompt == "def f(x):\n    return x␛[2J\n"
        await pilot.press("enter")
        await settle(pilot, pane)
        assert pane.runs[0].prompt == pane.prompt
        rows = screen_rows(pane.left)
        assert rows[0].startswith("def f(x):") and rows[1].startswith("    return x␛[2J")


async def test_stop_string_ends_the_run(tiny) -> None:
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=30, greedy=True)
        await pilot.press("f5")
        await settle(pilot, pane)
        first = pane.runs[0].steps[2].token
        assert first.strip()
        pane.knobs_a = dataclasses.replace(pane.knobs_a, stop=(first.strip(),))
        await pilot.press("f5")
        await settle(pilot, pane)
        run = pane.runs[0]
        assert len(run.steps) <= 3 and run.status == "done"
        assert "stop string" in title(pane.left)


async def test_missing_model_is_a_clear_message(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", str(tmp_path / "nowhere"))
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = pilot.app.query_one(GeneratePane)
        await settle(pilot, pane)
        assert pane.generator is None and "does not exist" in pane.model_error
        assert any("does not exist" in row for row in screen_rows(pane.left))
        await pilot.press("f5")
        await pilot.pause()
        assert pilot.app.is_running and not pane.runs


async def test_corrupt_model_is_a_clear_message(monkeypatch, tmp_path, tiny_model) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_model.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", str(broken))
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = pilot.app.query_one(GeneratePane)
        await settle(pilot, pane)
        assert "corrupt" in pane.model_error


# --- pure parts -------------------------------------------------------------------------


def _step(token: str, index: int = 0, prob: float = 0.5) -> TokenStep:
    cands = [Candidate(1, "a", 0.5), Candidate(2, "b", 0.3)]
    return TokenStep(index=index, id=1, token=token, prob=prob, top_before=cands,
                     top_after=cands[:1], stages=[StageTrace("top-k", "top-k 1", 1, cands[:1])],
                     entropy=1.0, elapsed=0.0, raw_prob=prob)


@given(st.text(max_size=30), st.lists(st.text(max_size=12), max_size=30),
       st.integers(min_value=4, max_value=50), st.booleans())
def test_layout_fits_width_and_keeps_every_token(prompt, tokens, width, digits) -> None:
    layout = RunLayout(width, digits)
    layout.add_prompt(prompt)
    for i, token in enumerate(tokens):
        layout.add_token(_step(token, i), fork=i == 2)
    assert layout.count == len(tokens) and len(layout.first_line) == len(tokens)
    from rich.cells import cell_len

    for line in layout.lines:
        assert sum(cell_len(text) for text, _, _ in line) <= width
        for text, _, _ in line:
            assert "\x1b" not in text and "\n" not in text
    assert layout.first_line == sorted(layout.first_line)


def test_candidate_rows_mark_cut_tokens() -> None:
    rows = candidate_rows(_step("a"))
    assert [(r.id, r.before, r.after) for r in rows] == [(1, 0.5, 0.5), (2, 0.3, 0.0)]


def test_legend_names_every_band() -> None:
    plain = legend().plain
    for label in ("≥50%", "≥20%", "≥5%", "≥1%", "<1%"):
        assert label in plain
    styles = {str(span.style) for span in legend().spans}
    assert any("underline" in s for s in styles) and any("bold" in s for s in styles)


def test_knob_panel_and_views_use_text_not_markup() -> None:
    assert isinstance(legend(), Text)
    assert KnobPanel(Knobs()).render().plain  # renders without an app


# --- the bundled model --------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_BUNDLED, reason="bundled model assets/lm not present")
async def test_bundled_model_matches_headless(monkeypatch) -> None:
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", None)
    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=60, greedy=True)
        await pilot.press("f5")
        await settle(pilot, pane)
        run = pane.runs[0]
        headless = list(svc.generate(run.prompt, run.knobs, pane.generator.lm))
        assert "".join(s.token for s in run.steps) == "".join(s.token for s in headless)
        assert view_text(pane.left).replace("\n", "").startswith("The assert statement")
        # speculative decoding confirmed guesses: the title says how many tokens a pass made
        speculated = sum(s.speculated for s in run.steps)
        assert speculated == sum(s.speculated for s in headless) > 0
        assert f"{60 / (60 - speculated):.2f} tok/pass" in str(pane.left.border_title)


def test_snapshot(snap_compare, monkeypatch, tiny_model) -> None:
    monkeypatch.setattr(RunView, "SHOW_RATES", False)
    monkeypatch.setattr(GeneratePane, "MODEL_PATH", None if HAVE_BUNDLED
                        else str(tiny_model))

    async def run_before(pilot) -> None:
        pane = await start(pilot, max_tokens=40)  # default knobs, seed 0: deterministic
        pane.query_one(SafeInput).cursor_blink = False
        await pilot.press("f5")
        await settle(pilot, pane)
        pane.left.focus()
        await pilot.press("left", "left")
        await pilot.pause()

    assert snap_compare(generate_only_app(), terminal_size=SIZE, run_before=run_before)


async def test_random_seed_empty_and_long_prompts_are_said_on_screen(tiny) -> None:
    app = generate_only_app()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await start(pilot, max_tokens=3, seed=None)
        box = pane.query_one(SafeInput)
        box.value = ""
        await pilot.pause()
        pane.action_run()
        await settle(pilot, pane)
        messages = [n.message for n in app._notifications]
        seed = pane.runs[0].knobs.seed
        assert seed is not None
        assert any(f"Random seed {seed}" in m for m in messages), messages
        assert any(m.startswith("Empty prompt") for m in messages), messages
        box.value = "word " * 200  # > the fixture's 64-token context
        await pilot.pause()
        pane.knobs_a = dataclasses.replace(pane.knobs_a, seed=7)
        pane.action_run()
        await settle(pilot, pane)
        messages = [n.message for n in app._notifications]
        assert any("longer than the model's 64-token context" in m for m in messages), messages
        assert pane.runs[0].knobs.seed == 7
        assert sum("Random seed" in m for m in messages) == 1  # a fixed seed is not noted


async def test_a_value_typed_in_one_burst_with_enter_is_not_lost(tiny) -> None:
    """Issue 12: keys typed within ~0.5 s of the Enter that opens the knob box
    were dropped (``temp: '' is not a number``). Posted at once, as a terminal
    delivers a burst, they all arrive."""
    from textual import events

    async with GenaiApp(initial_pane="generate").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        pane.knob_panel.focus()
        await pilot.pause()
        for key, char in [("enter", "\r"), ("1", "1"), ("full_stop", "."), ("2", "2"),
                          ("enter", "\r")]:
            pilot.app.post_message(events.Key(key, char))
        for _ in range(200):  # until the burst has been handled (slow under a busy suite)
            await pilot.pause(0.05)
            if not isinstance(pilot.app.screen, KnobEditScreen) and pane.knobs_a.temperature != 0.8:
                break
        assert not isinstance(pilot.app.screen, KnobEditScreen)
        assert pane.knobs_a.temperature == pytest.approx(1.2)
        # Enter on the empty box keeps the value
        await pilot.press("enter")
        await pilot.press("enter")
        assert pane.knobs_a.temperature == pytest.approx(1.2)


async def test_keys_typed_during_a_pane_switch_reach_the_new_pane_in_order(tiny) -> None:
    """Issue 12: keys pressed while a pane was still being built reached no pane
    (focus was not inside one yet) and were lost. The app holds them and replays
    them in order once the pane has focus: F3, typed text, then F5 runs it."""
    from textual import events

    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        app = pilot.app
        app.post_message(events.Key("f3", None))
        while app.active_pane_id != "generate":  # the switch has begun: the pane is not built
            await asyncio.sleep(0)
        assert app.focused is None
        burst = [("home", None), ("H", "H"), ("i", "i"), ("space", " "), ("f5", None)]
        for key, char in burst:  # at once, as a terminal delivers what was typed meanwhile
            app.post_message(events.Key(key, char))
        for _ in range(200):
            await pilot.pause(0.05)
            panes = pilot.app.query(GeneratePane)
            if panes and panes.first().runs:
                break
        pane = pilot.app.query_one(GeneratePane)
        assert pilot.app.active_pane_id == "generate"
        assert pane.query_one(SafeInput).value.startswith("Hi The assert")
        await settle(pilot, pane)
        assert pane.runs and pane.runs[0].prompt.startswith("Hi The assert")


def test_run_in_terminal_leaves_the_process_at_once_after_a_real_run(monkeypatch) -> None:
    from genai_tui.tui import app as app_module

    exits: list[int] = []

    class Exited(Exception):
        pass

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise Exited

    monkeypatch.setattr(app_module.os, "_exit", fake_exit)
    app = GenaiApp()
    monkeypatch.setattr(app, "run", lambda: None)  # never mounted: a normal return
    app_module.run_in_terminal(app)
    assert exits == []

    def ran() -> None:
        app.ran = True
        app._return_code = 3

    monkeypatch.setattr(app, "run", ran)
    with pytest.raises(Exited):
        app_module.run_in_terminal(app)
    assert exits == [3]
