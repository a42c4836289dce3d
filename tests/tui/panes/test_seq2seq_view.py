"""The Transformer pane's encoder-decoder view on the bundled dates model
(issue 18): output token by token, cross-attention per layer and head, the
encoder's bidirectional and the decoder's causal self-attention, beam search,
and the keyboard model with the input focused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console
from rich.text import Text

from genai_tui.service import seq2seq as svc
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.internals import InternalsPane, seq2seq_view
from genai_tui.tui.panes.internals.seq2seq_view import Seq2SeqView


async def _until(pilot, condition, what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _open(pilot, app) -> Seq2SeqView:
    pane = app.query_one(InternalsPane)
    await pilot.pause(0.3)
    await pane.run_action("view('seq2seq')")
    view = app.query_one(Seq2SeqView)
    await _until(pilot, lambda: view.model is not None and view.done, "the first decoding")
    return view


def _plain(app, selector: str) -> str:
    """The widget's text as shown (a Table is rendered, not repr'd)."""
    shown = app.query_one(selector).render()
    shown = getattr(shown, "_renderable", shown)  # a RichVisual wraps what was given
    if isinstance(shown, (str, Text)) or hasattr(shown, "plain"):
        return str(getattr(shown, "plain", shown))
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(shown)
    return console.export_text()


async def test_typed_date_decodes_to_iso_with_its_maps() -> None:
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _open(pilot, app)
        assert view.result.output == "2021-03-03"
        box = view.input
        box.focus()
        box.value = ""
        await pilot.press(*"July 4, 1999", "enter")
        await _until(pilot, lambda: view.done and view.text == "July 4, 1999", "decoding")
        expected = svc.translate("July 4, 1999", view.model)
        r = view.result
        assert r.output == expected.output == "1999-07-04"
        assert "1999-07-04" in _plain(app, "#s2s-out").replace(" ", "")
        # cross-attention: output x input, each row a distribution over the input
        cross = r.cross[-1]
        assert cross.shape[1:] == (len(r.output_tokens), len(r.input_tokens))
        np.testing.assert_allclose(cross.sum(axis=-1), 1.0, atol=1e-4)
        # encoder self-attention sees the future; decoder self-attention does not
        enc, dec = r.encoder[0], r.decoder[0]
        assert np.triu(enc.mean(axis=0), k=1).sum() > 0.1
        np.testing.assert_allclose(np.triu(dec, k=1), 0.0, atol=1e-6)
        assert "all see all" in _plain(app, "#s2s-enc")
        assert "causal" in _plain(app, "#s2s-dec")


async def test_output_appears_one_character_at_a_time(monkeypatch) -> None:
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(100, 30)) as pilot:
        view = await _open(pilot, app)
        lengths: list[int] = []
        handle = Seq2SeqView.on_seq2seq_view_stepped

        def record(self, message) -> None:  # every message the view draws, in order
            handle(self, message)
            if self.result is not None and message.serial == self._serial:
                lengths.append(len(self.result.output_tokens))

        monkeypatch.setattr(Seq2SeqView, "on_seq2seq_view_stepped", record)
        view.text = "the 21st of December, 2012"
        view._start()
        await _until(pilot, lambda: view.done and view.result.output == "2012-12-21", "decoding")
        # one drawing per output character, growing by one: not all at once
        assert lengths == list(range(1, len(view.result.output_tokens) + 1)), lengths


async def test_layer_head_and_mean_keys_change_the_map_shown() -> None:
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _open(pilot, app)
        view.focus_board()
        await pilot.pause()
        n_layer = len(view.result.cross)
        first = _plain(app, "#s2s-cross")
        await pilot.press("right_square_bracket")
        assert view.att_layer % n_layer == 0 and "L0" in _plain(app, "#s2s-cross")
        await pilot.press("right")
        assert view.head == 1 and "head 1" in _plain(app, "#s2s-cross")
        await pilot.press("m")
        assert view.mean and "mean of heads" in _plain(app, "#s2s-cross")
        assert _plain(app, "#s2s-cross") != first
        status = _plain(app, "#s2s-status")
        assert "layer 0/" in status and "head mean" in status


async def test_beam_key_runs_beam_search_and_lists_the_ranking() -> None:
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _open(pilot, app)
        view.focus_board()
        await pilot.press("b")
        await _until(pilot, lambda: view.done and view.result.beams is not None, "beam search")
        expected = svc.translate(view.text, view.model, beam=4)
        assert view.result.output == expected.output
        beams = _plain(app, "#s2s-beams")
        assert "final ranking" in beams and "1. " in beams and "2. " in beams
        assert "beam 4" in _plain(app, "#s2s-status")


async def test_live_beams_come_before_the_ranking_and_width_is_a_knob(monkeypatch) -> None:
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _open(pilot, app)
        shown: list[str] = []
        handle = Seq2SeqView.on_seq2seq_view_stepped

        def record(self, message) -> None:
            handle(self, message)
            shown.append(_plain(app, "#s2s-beams"))

        monkeypatch.setattr(Seq2SeqView, "on_seq2seq_view_stepped", record)
        view.focus_board()
        await pilot.press("f10")  # narrower: 3 beams, beam search on
        await _until(pilot, lambda: view.done and view.result is not None, "beam search")
        assert view.beam == 3 and all(len(s.live) <= 3 for s in view.beam_steps)
        assert "live beams after step 1" in shown[0] and "final ranking" in shown[-1]
        assert view.result.output == svc.translate(view.text, view.model, beam=3).output
        assert len(view.beam_steps[-1].ranking) == 3


async def test_escape_stops_a_beam_search_and_fkeys_do_not_type(monkeypatch) -> None:
    # steps shown 0.5 s apart, so the search is surely still running when Esc comes
    monkeypatch.setattr(seq2seq_view, "REVEAL_DELAY", 0.5)
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(100, 30)) as pilot:
        view = await _open(pilot, app)
        box = view.input
        box.focus()
        await pilot.pause()
        before = box.value
        await pilot.press("f11")
        assert box.value == before and view.beam == 5 and view.beam_on
        view.focus_board()
        await pilot.pause()
        await _until(pilot, lambda: len(view.beam_steps) >= 1, "a first step")
        await pilot.press("escape")
        assert view.stopped and not view.running
        n = len(view.beam_steps)
        await pilot.pause(0.3)
        assert len(view.beam_steps) == n and "stopped" in _plain(app, "#s2s-status")


@pytest.mark.parametrize("key,action_key", [("m", True), ("b", True), ("right_square_bracket",
                                                                       True)])
async def test_letters_type_into_the_input_and_never_act(key, action_key) -> None:
    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(100, 30)) as pilot:
        view = await _open(pilot, app)
        box = view.input
        box.focus()
        box.value = ""
        await pilot.pause()
        before = (view.mean, view.beam_on, view.att_layer)
        await pilot.press(key)
        await pilot.pause(0.1)
        assert box.value == {"m": "m", "b": "b", "right_square_bracket": "]"}[key]
        assert (view.mean, view.beam_on, view.att_layer) == before
        await pilot.press("escape")  # Esc leaves the box; now the key acts
        assert not box.has_focus
        await pilot.press(key)
        await pilot.pause(0.1)
        assert (view.mean, view.beam_on, view.att_layer) != before


def test_snapshot_seq2seq_view_at_80x24(snap_compare) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        view = await _open(pilot, app)
        view.focus_board()
        await pilot.pause(0.2)

    assert snap_compare(GenaiApp(panes=[InternalsPane], depth="truecolor"), terminal_size=(80, 24),
                        run_before=run_before)


async def test_help_lists_the_views_beam_keys() -> None:
    from genai_tui.tui import help as H

    app = GenaiApp(panes=[InternalsPane])
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot, app)
        table = H._key_table(app.query_one(InternalsPane))
    typing, outside = table.split("Keys outside a text box")
    assert "`F10` | Fewer beams" in typing and "`F11` | More beams" in typing
    assert "`Shift+F12` | Length penalty" in typing
    assert "`b` | Beam" in outside and "`m` | Mean/head" in outside
