"""The app shell around the panes: help screen and command palette."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.widgets import TabbedContent

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.help import HelpScreen, HelpText
from genai_tui.tui.panes.tokenizer import TokenizerPane
from genai_tui.tui.panes.tokenizer.token_view import TokenView

SIZE = (100, 30)


async def _palette_prompts(pilot, query: str) -> list[str]:
    await pilot.press("ctrl+p")
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    for _ in range(50):  # the palette searches its providers asynchronously
        await pilot.pause(0.05)
        options = pilot.app.screen.query_one(CommandList).options
        if options:
            break
    return [str(option.prompt) for option in options]


async def test_f1_opens_help_for_the_pane_and_escape_closes_it() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        assert isinstance(pilot.app.screen, HelpScreen)
        text = pilot.app.screen.query_one(HelpText).source
        assert text.startswith("# Tokenizer")
        assert "Byte-pair encoding" in text and "rank" in text
        assert "| `F5` | Replay |" in text  # the pane's keys, from its BINDINGS, as written
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, HelpScreen)
        assert pilot.app.screen.query(TokenizerPane)


async def test_question_mark_opens_help_outside_the_text_box() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        pilot.app.query_one("#tok-tokens-a", TokenView).focus()
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, HelpScreen)


async def test_command_palette_lists_go_to_tokenizer() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        prompts = await _palette_prompts(pilot, "Go to Tok")
        assert any("Go to Tokenizer" in p for p in prompts), prompts
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, CommandPalette)


async def test_command_palette_runs_a_pane_action() -> None:
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        prompts = await _palette_prompts(pilot, "Tokenizer: Replay")
        assert any("Tokenizer: Replay" in p for p in prompts), prompts
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.05)
            if pilot.app.query_one(TokenizerPane).view == "replay":
                break
        assert pilot.app.query_one(TokenizerPane).view == "replay"
        assert pilot.app.query_one("#panes", TabbedContent).active == "tokenizer"


async def test_a_second_command_palette_is_never_pushed() -> None:
    """The monkey crashed the app (DuplicateIds): palette open, F1 over it, then a
    click on the header's icon pushed a second palette with the same id."""
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(pilot.app.screen, CommandPalette)
        pilot.app.push_screen(HelpScreen(None))
        await pilot.pause()
        pilot.app.action_command_palette()  # what the header's icon runs
        await pilot.pause()
        palettes = [s for s in pilot.app.screen_stack if isinstance(s, CommandPalette)]
        assert len(palettes) == 1 and pilot.app.is_running


async def test_footer_keys_of_past_focus_changes_are_freed() -> None:
    """Textual's footer kept every key it had ever shown (data_bind watchers are
    pruned only when the watched value changes): ~11 per focus change."""
    import gc

    from textual.widgets._footer import FooterKey

    gc.collect()
    # keys an earlier test's app left in this worker process are not this app's
    before = {id(o) for o in gc.get_objects() if type(o) is FooterKey}
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(30):
            await pilot.press("tab")
        await pilot.pause(0.3)
        gc.collect()
        alive = [o for o in gc.get_objects()
                 if type(o) is FooterKey and id(o) not in before]  # not __class__ lookups
        assert len(alive) == len(pilot.app.query(FooterKey)) > 0


async def test_a_pane_loads_while_long_thread_workers_run() -> None:
    """Textual runs thread workers in the event loop's default executor:
    Python's has min(32, cores + 4) threads, six on two cores. A GAN training
    loop, a sampler and a few tokenizer jobs still finishing after being
    superseded used to fill it; every later worker then waited (found by the
    monkey: "UI did not settle", with F1's Markdown help, parsed there, blank)."""
    import threading

    release = threading.Event()
    async with GenaiApp(initial_pane="tokenizer").run_test(size=SIZE) as pilot:
        await pilot.pause()
        try:
            for i in range(12):  # more than any default executor on a small machine
                pilot.app.run_worker(lambda: release.wait(60), thread=True, group=f"busy-{i}")
            done = threading.Event()
            pilot.app.run_worker(done.set, thread=True, group="late")
            for _ in range(100):
                if done.is_set():
                    break
                await pilot.pause(0.05)
            assert done.is_set(), "a new thread worker never started"
        finally:
            release.set()
