"""Over SSH and slow links (issue 14): the repaint cap (--fps), its SSH default,
and the check on its range."""

from __future__ import annotations

import pytest
from textual import screen as textual_screen

from genai_tui.errors import UserError
from genai_tui.tui import terminal
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.tokenizer import TokenizerPane


@pytest.fixture(autouse=True)
def _keep_update_period():
    period = textual_screen.UPDATE_PERIOD
    yield
    textual_screen.UPDATE_PERIOD = period


@pytest.mark.parametrize("environ, fps, period", [
    ({}, 12, 1 / 12),                        # --fps 12: Textual batches repaints into 1/12 s
    ({"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, None, 1 / terminal.SSH_FPS),  # the default
    ({"SSH_TTY": "/dev/pts/3"}, 40, 1 / 40),  # an explicit cap wins over the SSH default
])
def test_fps_caps_repaints(monkeypatch, environ, fps, period) -> None:
    for name in ("SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = GenaiApp(panes=[TokenizerPane], fps=fps)
    assert textual_screen.UPDATE_PERIOD == pytest.approx(period)
    assert app.max_fps == (fps if fps is not None else terminal.SSH_FPS)


def test_no_cap_locally_by_default(monkeypatch) -> None:
    for name in ("SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    before = textual_screen.UPDATE_PERIOD
    app = GenaiApp(panes=[TokenizerPane])
    assert app.max_fps is None and textual_screen.UPDATE_PERIOD == before


@pytest.mark.parametrize("fps", [0, 0.5, 121, 1000])
def test_fps_out_of_range_is_a_user_error(fps) -> None:
    with pytest.raises(UserError, match="--fps must be between 1 and 120"):
        terminal.set_fps(fps)


async def test_a_capped_app_still_paints_and_answers_keys() -> None:
    app = GenaiApp(panes=[TokenizerPane], fps=5)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("f6")  # the vocabulary view
        await pilot.pause(0.5)
        assert app.query_one(TokenizerPane).view == "vocab"
        text = "\n".join(s.text for s in app.screen._compositor.render_strips())
        assert "Vocab F6" in text
