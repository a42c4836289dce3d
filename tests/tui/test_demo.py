"""Issue 14 pieces: lessons, --ascii, NO_COLOR, screenshots and exports."""

from __future__ import annotations

import pytest

from genai_tui import display, lesson
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.tokenizer import TokenizerPane


def test_tour_is_a_valid_lesson() -> None:
    from genai_tui.tui.panes import PANES

    def check(pane_id, knobs):
        next(s for s in PANES if s.PANE_ID == pane_id).load().check_lesson_knobs(knobs)

    tour = lesson.load("tour", check_knobs=check)
    assert [s.pane for s in tour.steps][:2] == ["tokenizer", "internals"]
    assert tour.pane_at(2) == "internals"


@pytest.mark.parametrize("body, message", [
    ('[[step]]\ncaption = "a"\n[[step]]\npane = "nope"\ncaption = "b"', "step 2: unknown pane"),
    ('[[step]]\ncaption = "a"\nkeys = ["space"]', "step 1: unknown or refused key"),
    ('[[step]]\npane = "tokenizer"', "step 1: needs a 'caption'"),
    ('[[step]]\ncaption = "a"\ncolour = 1', "step 1: unknown key 'colour'"),
    ('[[step', "not valid TOML"),
])
def test_bad_lesson_names_the_step(tmp_path, body, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(lesson.LessonError) as err:
        lesson.load(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_knob_names_the_step() -> None:
    from genai_tui.tui.panes.generate import GeneratePane

    body = '[[step]]\npane = "generate"\ncaption = "a"\nknobs = { temperature = -1 }'
    with pytest.raises(lesson.LessonError, match="step 1"):
        lesson.parse(body, check_knobs=lambda p, k: GeneratePane.check_lesson_knobs(k))


def test_fold_is_printable_ascii_cell_for_cell() -> None:
    text = "╭─┤│━ ▀█░▒▓ ⣿⠉⣀ … é ₃"
    folded = display.fold(text)
    assert folded.isascii() and folded.isprintable() and len(folded) == len(text)


def _frame(app) -> list:
    from rich.segment import Segment

    out: list = []

    def walk(item) -> None:
        if isinstance(item, Segment):
            out.append(item)
        else:
            for child in item:
                walk(child)

    walk(app.screen._compositor.render_update(full=True).strips)
    return out


async def test_ascii_frames_are_printable_ascii() -> None:
    app = GenaiApp(panes=[TokenizerPane], ascii=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        text = "".join(seg.text for seg in _frame(app) if not seg.control)
        assert text and all(" " <= ch <= "~" for ch in text)
    display.configure()


async def test_no_color_frames_carry_no_colour(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = GenaiApp(panes=[TokenizerPane])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        for seg in _frame(app):
            if seg.style is not None:
                for colour in (seg.style.color, seg.style.bgcolor):
                    assert colour is None or colour.is_default
    assert app.display_profile.depth == "mono"
    display.configure()


async def test_ctrl_s_saves_an_svg_screenshot_while_typing(tmp_path) -> None:
    app = GenaiApp(panes=[TokenizerPane], export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await pilot.pause()
    (path,) = tmp_path.glob("genai-screenshot-tokenizer-*.svg")
    assert path.read_text().lstrip().startswith("<svg")


def test_cli_bad_lesson_is_one_line_exit_2(tmp_path) -> None:
    import subprocess
    import sys

    path = tmp_path / "bad.toml"
    path.write_text('[[step]]\ncaption = "ok"\n[[step]]\npane = "nope"\ncaption = "b"\n')
    done = subprocess.run([sys.executable, "-m", "genai_tui", "lesson", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "step 2: unknown pane 'nope'" in done.stderr


async def test_lesson_forward_and_back_restores_the_text() -> None:
    body = ('[[step]]\npane = "tokenizer"\ntext = "first"\ncaption = "one"\n'
            '[[step]]\ntext = "second"\ncaption = "two"\n')
    checked = lesson.parse(body, pane_ids=("tokenizer",))
    app = GenaiApp(panes=[TokenizerPane], lesson=checked)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(TokenizerPane)
        for _ in range(200):  # the first step's text arrives once the pane has mounted
            if pane.lesson_text() == "first":
                break
            await pilot.pause(0.05)
        assert pane.lesson_text() == "first" and app.lesson.index == 0
        await pilot.pause(0.3)  # the pane focuses its text box once shown
        app.screen.set_focus(None)
        await pilot.press("space")
        await pilot.pause()
        assert pane.lesson_text() == "second" and app.lesson.index == 1
        await pilot.press("alt+left")
        await pilot.pause()
        assert pane.lesson_text() == "first" and app.lesson.index == 0
        pane._text_box().focus()
        await pilot.press("space")  # typing: a space, not the next step
        await pilot.pause()
        assert app.lesson.index == 0 and " " in pane.lesson_text()
