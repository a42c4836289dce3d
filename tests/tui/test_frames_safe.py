"""No escape sequence from data reaches the terminal (issue 12's security probe).

Hostile text is pasted into every text box of a pane; then the frame Textual
would write (the compositor's full update rendered to terminal bytes, exactly
what `App._display` sends) is scanned: the only escape sequences in it are the
renderer's own (SGR colours and cursor moves), and no text segment carries a
control character, a C1 code, a bidi override or a zero-width character.
Notifications are plain text whatever they quote.
"""

from __future__ import annotations

import re

import pytest
from textual import events

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.textbox import SafeInput, SafeTextArea

OSC52 = "\x1b" + "F" * 32 + "]52;c;UFdORUQ=" + "\x1b" + "G" * 32 + "\\"
HOSTILE = (OSC52 + " \x1b]52;c;UFdORUQ=\x07 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ "
           "\x9b31m \x00 \u202eevil \u200b [@click=app.quit]q[/] [/x] [bold]b")
RENDERER_OWN = re.compile(r"\x1b\[[0-9;?]*[mHJKABCDfhl]")
BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def frame_bytes(app) -> str:
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


def text_segments(app) -> list[str]:
    from rich.segment import Segment

    out: list[str] = []

    def walk(item) -> None:
        if isinstance(item, Segment):
            if not item.control:
                out.append(item.text)
        else:
            for child in item:
                walk(child)

    walk(app.screen._compositor.render_update(full=True).strips)
    return out


def assert_frame_is_safe(app) -> None:
    raw = frame_bytes(app)
    assert "\x1b]" not in raw, "an OSC sequence reached the terminal"
    leftover = RENDERER_OWN.sub("", raw)
    assert not BAD_CHARS.search(leftover.replace("\r", "").replace("\n", "")), (
        repr(BAD_CHARS.search(leftover)))
    for text in text_segments(app):
        assert not BAD_CHARS.search(text), repr(text)


async def paste_into_every_box(app, pilot) -> int:
    from textual.widgets import Input, TextArea

    plain = [w for w in app.screen.query("*") if isinstance(w, (Input, TextArea))
             and not isinstance(w, (SafeInput, SafeTextArea))]
    assert not plain, f"text boxes that are not the escaping ones: {plain}"
    boxes = [w for w in app.screen.query("*") if isinstance(w, (SafeInput, SafeTextArea))
             and w.display and w.region.area]
    for box in boxes:
        box.focus()
        await pilot.pause()
        box.post_message(events.Paste(HOSTILE))
        await pilot.pause(0.2)
        assert_frame_is_safe(app)
    return len(boxes)


def _pane(name: str):
    from genai_tui.tui.panes import PANES, load_pane

    return load_pane(next(spec for spec in PANES if spec.PANE_ID == name))


@pytest.mark.parametrize("pane,action", [
    ("tokenizer", None), ("tokenizer", "show_view('vocab')"), ("internals", None),
    ("diffusion", "edit_seed"),
], ids=["tokenizer-text", "tokenizer-vocab-search", "transformer-prompt", "diffusion-seed"])
async def test_pasted_escape_sequences_never_reach_the_terminal(pane, action) -> None:
    app = GenaiApp(panes=[_pane(pane)])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        if action:
            await app.query_one(_pane(pane)).run_action(action)
            await pilot.pause(0.3)
        assert await paste_into_every_box(app, pilot) >= 1
        assert app.is_running


async def test_gan_settings_csv_box_and_its_error_line_are_safe() -> None:
    from genai_tui.tui.panes.gan.settings import GanSettingsScreen

    app = GenaiApp(panes=[_pane("gan")])
    async with app.run_test(size=(100, 36)) as pilot:
        await pilot.pause(0.5)
        pane = app.query_one(_pane("gan"))
        pane.action_settings()
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, GanSettingsScreen)
        csv = screen.query_one("#gan-set-csv", SafeInput)
        csv.focus()
        csv.post_message(events.Paste(HOSTILE))
        await pilot.pause(0.2)
        assert_frame_is_safe(app)
        screen.action_apply()  # the CSV does not exist: the error line quotes the path
        await pilot.pause(0.3)
        error = str(screen.query_one("#gan-set-error").render())
        assert error, "no error shown for a missing CSV"
        assert_frame_is_safe(app)
        assert app.is_running


async def test_notifications_never_parse_markup_or_show_controls() -> None:
    app = GenaiApp(panes=[_pane("tokenizer")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        app.notify("saved d[/x] [@click=app.quit]q[/] \x1b]52;c;UFdORUQ=\x07", title="[b]t")
        app.query_one(_pane("tokenizer")).notify("card value [/x]", markup=True)
        await pilot.pause(0.3)
        notes = list(app._notifications)
        assert len(notes) == 2 and all(not n.markup for n in notes)
        assert "[@click=app.quit]q[/]" in notes[0].message and "\x1b" not in notes[0].message
        assert notes[0].title == "[b]t"
        assert notes[1].message == "card value [/x]"
        assert_frame_is_safe(app)
        assert app.is_running
