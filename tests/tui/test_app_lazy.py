"""Panes other than the first are built only when first shown."""

from textual.widgets import TabbedContent

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.pane import Pane
from genai_tui.tui.panes import PANES, pane_classes


async def test_only_the_first_pane_is_built_at_start_and_f3_builds_the_next() -> None:
    ids = [cls.PANE_ID for cls in pane_classes()]
    app = GenaiApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert [p.id for p in app.query(Pane)] == [f"pane-{ids[0]}"]
        if len(ids) > 1:
            await pilot.press("f3")
            await pilot.pause()
            assert app.query_one(TabbedContent).active == ids[1]
            assert app.active_pane is not None and app.active_pane.PANE_ID == ids[1]
            await pilot.press("f2")
            await pilot.pause()
            assert app.query_one(TabbedContent).active == ids[0]
            assert len(app.query(Pane)) == 2


async def test_switching_panes_moves_focus_into_the_new_pane() -> None:
    ids = [cls.PANE_ID for cls in pane_classes()]
    if len(ids) < 2:
        return
    app = GenaiApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        await pilot.pause()
        assert app.focused is not None
        assert app.active_pane in app.focused.ancestors_with_self


def test_registry_names_match_the_pane_classes() -> None:
    classes = pane_classes()  # PaneSpec.load checks id and title against the class
    ids = [cls.PANE_ID for cls in classes]
    assert len(set(ids)) == len(ids)
    assert all(cls.HELP.strip() for cls in classes)


async def test_f3_leaves_a_pane_even_when_focus_sits_deep_inside_it() -> None:
    # Hiding a focused widget used to refocus a sibling in the old pane, and
    # the tabs switched straight back (seen from the Transformer pane).
    ids = [spec.PANE_ID for spec in PANES]
    start = ids.index("internals")
    app = GenaiApp(initial_pane="internals")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        assert app.active_pane in app.focused.ancestors_with_self
        await pilot.press("f3")
        await pilot.pause(0.3)
        assert app.query_one(TabbedContent).active == ids[(start + 1) % len(ids)]
        await pilot.press("f2")
        await pilot.pause(0.3)
        assert app.query_one(TabbedContent).active == "internals"


async def test_help_screen_footer_offers_close() -> None:
    from textual.widgets import Footer

    from genai_tui.tui.help import HelpScreen

    app = GenaiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        footer = app.screen.query_one(Footer)
        keys = {b.description for _, b, *_ in app.screen.active_bindings.values() if b.show}
        assert "Close" in keys and footer.display
