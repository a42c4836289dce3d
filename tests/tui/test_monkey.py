"""A few hundred random events across every pane, from a fixed seed (the
10,000-event run is `make monkey`; see tests/monkey.py)."""

from __future__ import annotations

from genai_tui.tui.panes import PANES
from tests.monkey import run


async def test_a_seeded_monkey_finds_no_crash_no_stuck_worker_and_quits_cleanly() -> None:
    report = await run(n_events=300, seed=12)
    print(report.summary())
    assert report.crashed is None, report.summary()
    assert not report.stuck_workers, report.summary()
    assert report.quit_cleanly, report.summary()
    assert len(report.panes_seen) == len(PANES), report.summary()  # it went everywhere
    assert sum(report.kinds.values()) == 300
    # The 250 ms budget is measured by `make monkey` on a quiet machine; under
    # the parallel suite a pane's first build can take longer, so the test
    # catches what the demo hit (a UI frozen for seconds), not jitter.
    assert report.lag_ms_max < 3000, report.summary()


async def test_the_monkey_never_clicks_the_footers_quit() -> None:
    """A click on "^q Quit" quits, as it should; the monkey must not count that a crash."""
    from textual.widgets._footer import FooterKey

    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.tokenizer import TokenizerPane
    from tests.monkey import _quits

    app = GenaiApp(panes=[TokenizerPane])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = {k.key: k.region for k in app.screen.query(FooterKey)}
        quit_at, help_at = keys["ctrl+q"], keys["f1"]
        assert _quits(app.screen, quit_at.x + 1, quit_at.y)
        assert not _quits(app.screen, help_at.x + 1, help_at.y)
        assert not _quits(app.screen, 5, 5)
