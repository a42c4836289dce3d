"""Pilot tests of the tokenizer pane, against the real tokenizer service."""

from __future__ import annotations

import pydoc_data.topics

import pytest
from textual import events
from textual.widgets import DataTable, Static

from genai_tui.service import tokenize as svc
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.tokenizer import TokenizerPane
from genai_tui.tui.panes.tokenizer.pane import SAMPLE_TEXT
from genai_tui.tui.panes.tokenizer.replay_view import ReplayView
from genai_tui.tui.panes.tokenizer.safe_text_area import SafeTextArea
from genai_tui.tui.panes.tokenizer.stats import StatsBar
from genai_tui.tui.panes.tokenizer.token_view import TokenView

SIZE = (100, 30)
HOSTILE = "A\x1b[2JB\x1b]52;c;aGk=\x07C[bold]x[/] [@click=app.quit]q[/]\x1b[31mRED\x9b\u202eZ"


def _available(name: str) -> bool:
    return any(i.name == name and i.available for i in svc.list_tokenizers())


async def settle(pilot, pane: TokenizerPane) -> None:
    """Wait until debounce timers have fired, workers finished and their
    messages were handled."""
    for _ in range(400):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)
        if not pane.busy:
            await pilot.pause()
            if not pane.busy:
                return
    raise AssertionError("the tokenizer pane never settled")


async def start(pilot) -> TokenizerPane:
    pane = pilot.app.query_one(TokenizerPane)
    await settle(pilot, pane)
    return pane


def stats(pane: TokenizerPane, side: str = "a") -> str:
    return pane.query_one(f"#tok-stats-{side}", StatsBar).render().plain


def static_text(pane: TokenizerPane, selector: str) -> str:
    return str(pane.query_one(selector, Static).render())


def view_text(view: TokenView) -> str:
    """What a token view draws on screen, row by row."""
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


async def set_text(pilot, pane: TokenizerPane, text: str) -> None:
    pane.query_one(SafeTextArea).load_text(text)
    await settle(pilot, pane)


async def test_default_text_is_tokenized_with_counts() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        expected = svc.tokenize(SAMPLE_TEXT, "genai-bpe")
        line = stats(pane)
        assert f"{expected.count:,} tokens" in line
        assert f"{len(SAMPLE_TEXT):,} chars" in line
        assert f"{len(SAMPLE_TEXT.encode()):,} bytes" in line
        assert f"{expected.chars_per_token:.2f} chars/token" in line
        shown = view_text(pane.query_one("#tok-tokens-a", TokenView))
        assert "·want" in shown  # visible space
        assert "↵" in shown  # visible newline
        assert str(expected.tokens[1].id) in shown  # ids under the tokens
        view = pane.query_one("#tok-tokens-a", TokenView)
        visible_text = "".join(view.cells.labels)
        token_id = next(str(t.id) for t in expected.tokens if str(t.id) not in visible_text)
        assert token_id in shown
        view.focus()
        await pilot.press("i")  # hide the ids: one row per line
        assert view.rows_per_line == 1 and token_id not in view_text(view)
        await pilot.press("i")
        assert view.rows_per_line == 2 and token_id in view_text(view)


async def test_typing_updates_the_counts() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await set_text(pilot, pane, "")
        assert "0 tokens" in stats(pane)
        text_area = pane.query_one(SafeTextArea)
        text_area.focus()
        await pilot.press(*"hello world")
        await settle(pilot, pane)
        expected = svc.tokenize("hello world", "genai-bpe").count
        assert f"{expected} tokens" in stats(pane)
        assert "11 chars" in stats(pane)
        await pilot.press("enter", *"tab")
        await settle(pilot, pane)
        two_lines = svc.tokenize("hello world\ntab", "genai-bpe").count
        assert f"{two_lines} tokens" in stats(pane)
        assert "↵" in view_text(pane.query_one("#tok-tokens-a", TokenView))


async def test_switching_tokenizer_retokenizes() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await set_text(pilot, pane, "Tokenizers: ÿ!")
        pane.query_one("#tok-select-a").value = "byte"
        await settle(pilot, pane)
        assert stats(pane).startswith("byte · 15 tokens")  # ÿ is two bytes
        await pilot.press("f8")  # next tokenizer
        await settle(pilot, pane)
        assert pane.tokenizer("a") != "byte"
        name = pane.tokenizer("a")
        assert f"{svc.tokenize('Tokenizers: ÿ!', name).count:,} tokens" in stats(pane)


async def test_unavailable_tokenizers_are_listed_but_disabled() -> None:
    from textual.widgets._select import SelectOverlay

    infos = svc.list_tokenizers()
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        overlay = pane.query_one("#tok-select-a").query_one(SelectOverlay)
        assert overlay.option_count == len(infos)
        for index, info in enumerate(infos):
            assert overlay.get_option_at_index(index).disabled == (not info.available)
        await pilot.press("ctrl+l")  # the tokenizer list, with reasons
        listing = str(pilot.app.screen.query_one("#registry-list", Static).render())
        for info in infos:
            assert info.name in listing
            if not info.available:
                assert info.reason[:30] in listing
        # QA: how to close it is on the frame (the footer under a modal shows the pane's keys)
        assert "Esc" in str(pilot.app.screen.query_one("VerticalScroll").border_subtitle)
        await pilot.press("escape")
        assert pilot.app.screen.query(TokenizerPane)


async def test_select_token_by_keys_and_click_shows_merge() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await set_text(pilot, pane, "I want to learn Generative AI")
        tokens = svc.tokenize("I want to learn Generative AI", "genai-bpe").tokens
        view = pane.query_one("#tok-tokens-a", TokenView)
        view.focus()
        await pilot.press("right", "right")  # no selection -> token 0 -> token 1
        await settle(pilot, pane)
        assert view.cursor == 1
        detail = static_text(pane, "#tok-detail")
        token = tokens[1]
        merge = svc.merge_info("genai-bpe", token.id)
        assert merge is not None
        assert f"token 2 of {len(tokens)} · id {token.id}" in detail
        assert " ".join(f"{b:02x}" for b in token.bytes) in detail
        assert f"Merge rank {merge.rank:,}" in detail
        assert f"({merge.left})" in detail and f"({merge.right})" in detail
        # The token's characters are marked in the text area; the user's
        # cursor and selection are left alone (typing must not replace them).
        text_area = pane.query_one(SafeTextArea)
        assert text_area.marked_text == token.text
        assert text_area.selected_text == ""
        await pilot.press("end")
        assert view.cursor == len(tokens) - 1
        await pilot.press("home")
        assert view.cursor == 0
        # Click the third token: columns are max(label, id) + 1 wide with ids shown.
        widths = [max(len(t.text), len(str(t.id))) + 1 for t in tokens]
        await pilot.click(view, offset=(sum(widths[:2]) + 1, 0))
        await settle(pilot, pane)
        assert view.cursor == 2
        assert f"token 3 of {len(tokens)}" in static_text(pane, "#tok-detail")


async def test_replay_merges_forward_and_back() -> None:
    text = "lower newer widest"
    steps = svc.replay(text, "genai-bpe")
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await set_text(pilot, pane, text)
        await pilot.press("f5")
        await settle(pilot, pane)
        replay = pane.query_one(ReplayView)
        assert pilot.app.focused is replay
        assert replay.index == 0
        assert "Raw bytes" in static_text(pane, "#replay-merge")
        assert f"merge 0 of {len(steps) - 1}" in static_text(pane, "#replay-pos")
        view = pane.query_one("#replay-tokens", TokenView)
        assert view.cells is not None and view.cells.ids == steps[0].ids
        await pilot.press("right", "right", "right")
        assert replay.index == 3
        assert view.cells.ids == steps[3].ids
        left, right = steps[3].merged
        merge_line = static_text(pane, "#replay-merge")
        assert f"rank {steps[3].rank:,}" in merge_line
        assert f"(id {steps[3].new_id})" in merge_line
        assert view.cells.marks  # the merged tokens are highlighted
        await pilot.press("left")
        assert replay.index == 2 and view.cells.ids == steps[2].ids
        await pilot.press("end")
        assert replay.index == len(steps) - 1
        final = svc.tokenize(text, "genai-bpe")
        assert view.cells.ids == [t.id for t in final.tokens]
        assert "same as the encoder" in static_text(pane, "#replay-merge")
        await pilot.press("home")
        assert replay.index == 0
        # The buttons do the same (a button ignores clicks while it flashes).
        for button, index in (
            ("#replay-next", 1), ("#replay-next", 2), ("#replay-prev", 1),
            ("#replay-last", len(steps) - 1), ("#replay-first", 0),
        ):
            await pilot.click(button)
            assert replay.index == index
            await pilot.pause(0.25)
        # A tokenizer without merges explains itself instead.
        pane.query_one("#tok-select-a").value = "byte"
        await settle(pilot, pane)
        assert "no merges" in static_text(pane, "#replay-merge")


async def test_hostile_text_is_shown_and_does_nothing() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        screens = list(pilot.app.screen_stack)
        pane.query_one(SafeTextArea).focus()
        await set_text(pilot, pane, "")
        pilot.app.post_message(events.Paste(HOSTILE))  # as a terminal paste arrives
        await settle(pilot, pane)
        assert pane.text == HOSTILE
        view = pane.query_one("#tok-tokens-a", TokenView)
        shown = view_text(view)
        assert "␛" in shown and "␇" in shown
        labels = "".join(view.cells.labels)
        assert "␛[2JB␛]52;c;aGk=␇C[bold]x[/]·[@click=app.quit]q[/]␛[31mRED" in labels
        # The text area draws the same characters as pictures, never raw.
        text_area = pane.query_one(SafeTextArea)
        drawn = "".join(
            strip.text for strip in text_area.render_lines(text_area.region.reset_offset)
        )
        assert "␛" in drawn and "␇" in drawn
        for rendered in (shown, drawn):
            assert not any(ch in rendered for ch in "\x1b\x07\x9b\u202e")
        # Click every token that looks like markup: nothing acts on it.
        clicked = 0
        for index, label in enumerate(view.cells.labels):
            offset = view.token_offset(index)
            if offset is not None and any(ch in label for ch in "[@=]") and offset[1] >= 0:
                await pilot.click(view, offset=offset)
                assert view.cursor == index
                clicked += 1
        assert clicked >= 5
        await settle(pilot, pane)
        assert pilot.app.is_running
        assert pilot.app.return_code is None
        assert list(pilot.app.screen_stack) == screens
        detail = static_text(pane, "#tok-detail")
        assert "\x1b" not in detail
        assert pane.text == HOSTILE  # nothing rewrote the text


async def test_compare_mode_shows_a_second_tokenizer() -> None:
    other = "cl100k_base" if _available("cl100k_base") else "byte"
    text = "I want to learn Generative AI"
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await set_text(pilot, pane, text)
        column_b = pane.query_one("#tok-col-b")
        assert not column_b.display
        await pilot.press("f7")
        await settle(pilot, pane)
        assert column_b.display and pane.compare
        pane.query_one("#tok-select-b").value = other
        await settle(pilot, pane)
        count_a = svc.tokenize(text, "genai-bpe").count
        count_b = svc.tokenize(text, other).count
        assert f"{count_a} tok" in stats(pane, "a")
        assert f"{count_b} tok" in stats(pane, "b")
        change = (count_b - count_a) / count_a * 100
        assert f"({change:+.0f}%)" in stats(pane, "b")
        view_b = pane.query_one("#tok-tokens-b", TokenView)
        assert view_b.token_count == count_b
        if other == "cl100k_base":
            assert "·Gener" in view_text(view_b) and "ative" in view_text(view_b)
        view_b.focus()
        await pilot.press("right")
        await settle(pilot, pane)
        assert static_text(pane, "#tok-detail").startswith(f"{other} token 1")
        await pilot.press("f7")
        assert not column_b.display


async def open_vocab(pilot) -> TokenizerPane:
    """The tokenizer pane, started, on its vocabulary view."""
    pane = await start(pilot)
    await pilot.press("f6")
    await settle(pilot, pane)
    return pane


async def test_vocab_search() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await open_vocab(pilot)
        table = pane.query_one("#vocab-table", DataTable)
        assert table.row_count > 0  # empty search lists ids from 0
        await pilot.press(*"ing")
        await settle(pilot, pane)
        expected = svc.vocab("genai-bpe", "ing", 501)
        assert table.row_count == min(len(expected), 500)
        for row in range(table.row_count):
            assert "ing" in table.get_row_at(row)[1].plain.lower()  # smart case
        table.focus()
        table.move_cursor(row=0)
        await settle(pilot, pane)
        first_id = expected[0][0]
        detail = static_text(pane, "#vocab-detail")
        assert f"id {first_id}" in detail
        merge = svc.merge_info("genai-bpe", first_id)
        if merge is not None:
            assert f"Merge rank {merge.rank:,}" in detail


async def test_vocab_bar_fits_80_columns_and_no_match_clears_the_detail() -> None:
    # QA: at 80 columns the placeholder and the count were cut mid-word, and
    # after a search with no match the last token's details stayed up.
    async with GenaiApp(initial_pane="tokenizer").run_test(size=(80, 24)) as pilot:
        pane = await open_vocab(pilot)
        search = pane.query_one("#vocab-search")
        count = pane.query_one("#vocab-count", Static)
        assert len(search.placeholder) <= search.size.width
        shown = static_text(pane, "#vocab-count")
        assert "ids 0–499" in shown and len(shown) <= count.size.width
        table = pane.query_one("#vocab-table", DataTable)
        table.focus()
        table.move_cursor(row=3)
        await settle(pilot, pane)
        assert "id 3" in static_text(pane, "#vocab-detail")
        search.focus()
        await pilot.press(*"[@zzq")
        await settle(pilot, pane)
        assert "no match" in static_text(pane, "#vocab-count")
        assert "id 3" not in static_text(pane, "#vocab-detail")


async def test_one_megabyte_paste_keeps_the_ui_answering() -> None:
    source = "\n\n".join(pydoc_data.topics.topics.values())
    big = (source * (1_000_000 // len(source) + 1))[:1_000_000]
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        pane.query_one(SafeTextArea).focus()
        await set_text(pilot, pane, "")
        pilot.app.post_message(events.Paste(big))
        await pilot.pause()
        # While the paste is tokenized off the UI thread, keys still work.
        assert not pane.compare
        await pilot.press("f7")
        assert pane.compare and pane.query_one("#tok-col-b").display
        await pilot.press("f7")
        assert not pane.compare
        await settle(pilot, pane)
        expected = svc.tokenize(big, "genai-bpe").count
        assert f"{expected:,} tokens" in stats(pane)
        view = pane.query_one("#tok-tokens-a", TokenView)
        assert view.token_count == expected
        # Only the rows on screen are drawn; the end is reachable at once.
        view.focus()
        await pilot.press("end")
        assert view.cursor == expected - 1
        assert view.scroll_y > 0
        await settle(pilot, pane)
        assert f"token {expected:,} of {expected:,}" in static_text(pane, "#tok-detail")


@pytest.fixture
def no_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StatsBar, "show_timing", False)


def tokenizer_only_app() -> GenaiApp:
    """The real app shell with only this pane, so other panes' tabs leave the snapshot alone."""
    return GenaiApp(initial_pane="tokenizer", panes=[TokenizerPane])


def test_snapshot(snap_compare, no_timings) -> None:
    async def run_before(pilot) -> None:
        pane = await start(pilot)
        pane.query_one("#tok-tokens-a", TokenView).focus()
        await pilot.press("right", "right")
        await settle(pilot, pane)

    assert snap_compare(tokenizer_only_app(), terminal_size=(100, 30), run_before=run_before)


async def test_a_cleared_vocab_table_highlighting_no_row_is_ignored() -> None:
    """The monkey crashed the app: a cleared table posts RowHighlighted with no row key."""
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        pane = await open_vocab(pilot)
        table = pane.query_one("#vocab-table", DataTable)
        table.post_message(DataTable.RowHighlighted(table, -1, None))
        await pilot.pause()
        assert pilot.app.is_running and pilot.app._exception is None
