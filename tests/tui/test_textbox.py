"""The shared text boxes (tui/textbox.py)."""

from __future__ import annotations

import re

import pytest
from textual.app import App, ComposeResult

from genai_tui.tui.textbox import NUMBER_RESTRICT, SafeInput


class Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield SafeInput(id="number", type="number")
        yield SafeInput(id="integer", type="integer")


async def test_a_number_box_rejects_a_bad_key_at_once_after_many_digits() -> None:
    """The monkey froze the app: Textual's own number pattern backtracks
    exponentially on 22 nines and an ``=`` (2^40 tries for 40 nines)."""
    async with Boxes().run_test() as pilot:
        for box_id in ("number", "integer"):
            box = pilot.app.query_one(f"#{box_id}", SafeInput)
            box.focus()
            await pilot.press(*["9"] * 40, "equals_sign", "x")
            assert box.value == "9" * 40  # the '=' and 'x' were refused, and quickly
        number = pilot.app.query_one("#number", SafeInput)
        number.value = ""
        number.focus()
        await pilot.press("minus", "1", "full_stop", "5", "e", "minus", "3")
        assert number.value == "-1.5e-3" and number.is_valid
        integer = pilot.app.query_one("#integer", SafeInput)
        integer.value = ""
        integer.focus()
        await pilot.press("1", "full_stop", "2")
        assert integer.value == "12"


@pytest.mark.parametrize("kind, good, bad", [
    ("integer", ["", "-", "+3", "12", "1_000"], ["1.5", "a", "1=2", "--1"]),
    ("number", ["", "-", ".5", "-1.5e-3", "2E+4", "1_000.25", "3."],
     ["abc", "1=2", "1.2.3", "1e5e5", "nan"]),
])
def test_number_patterns_let_numbers_through_and_nothing_else(kind, good, bad) -> None:
    pattern = NUMBER_RESTRICT[kind]
    assert all(re.fullmatch(pattern, s) for s in good)
    assert not any(re.fullmatch(pattern, s) for s in bad)
    assert re.fullmatch(pattern, "9" * 100_000 + "=") is None  # linear time


class Prompts(App[None]):
    def compose(self) -> ComposeResult:
        yield SafeInput(id="prompt", newlines=True)
        yield SafeInput(id="plain")


async def test_a_prompt_box_keeps_newlines_and_a_plain_box_keeps_the_first_line() -> None:
    from textual import events

    async with Prompts().run_test() as pilot:
        prompt = pilot.app.query_one("#prompt", SafeInput)
        plain = pilot.app.query_one("#plain", SafeInput)
        for box in (prompt, plain):
            box.focus()
            await pilot.pause()
            box.post_message(events.Paste("def f(x):\n\treturn x\x1b[31m"))
            await pilot.pause()
        assert prompt.value == "def f(x):↵    return x␛[31m"  # shown on one line, escaped
        assert prompt.text == "def f(x):\n    return x␛[31m"  # the model gets newlines
        assert plain.value == plain.text == "def f(x):"
        prompt.focus()
        await pilot.press("end", "ctrl+j", "y")
        assert prompt.text.endswith("\ny")
        plain.focus()
        await pilot.press("end", "ctrl+j")
        assert plain.value == "def f(x):"  # Ctrl+J is not a newline here
