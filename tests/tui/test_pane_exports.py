"""Export from every pane (issue 14): ctrl+o writes the pane's data, ctrl+s an SVG
screenshot; every file reads back (JSON parses with the probabilities, PNG opens
with Pillow at the grid's size, CSV has the curve's rows) and its full path is
shown after saving. One app run per pane, with the bundled models."""

from __future__ import annotations

import csv
import json
from time import monotonic

import pytest
from PIL import Image

from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes import PANES, load_pane

WAIT = 30.0


async def until(pilot, cond, what: str) -> None:
    deadline = monotonic() + WAIT
    while not cond():
        if monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await pilot.pause(0.05)


async def save(pilot, tmp_path, key: str, pattern: str):
    """Press ``key``; the one new file matching ``pattern``, and the toast naming it."""
    before = set(tmp_path.glob(pattern))
    await pilot.press(key)
    await until(pilot, lambda: set(tmp_path.glob(pattern)) - before, f"{key} saves {pattern}")
    (path,) = set(tmp_path.glob(pattern)) - before
    notes = [n.message for n in pilot.app._notifications]
    assert any(str(path.resolve()) in m for m in notes), notes  # the name is shown
    return path


def _grid_size(n: int, ncol: int, tile: int = 28, padding: int = 2, scale: int = 2):
    """Pixels of a saved grid: ``ncol`` tiles a row, ``padding`` between and around, x2."""
    ncol = min(ncol, n)
    rows = -(-n // ncol)
    return ((ncol * (tile + padding) + padding) * scale,
            (rows * (tile + padding) + padding) * scale)


async def _run(pane_id: str, tmp_path):
    spec = next(s for s in PANES if s.PANE_ID == pane_id)
    app = GenaiApp(panes=[spec], export_dir=tmp_path)
    return app, load_pane(spec)


async def test_tokenizer_exports_its_tokens_as_json(tmp_path) -> None:
    from genai_tui.service import tokenize as svc

    app, cls = await _run("tokenizer", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(cls)
        await until(pilot, lambda: pane.results["a"] is not None, "tokenized")
        await pilot.press("ctrl+s")  # a screenshot from this pane too
        path = await save(pilot, tmp_path, "ctrl+o", "genai-tokens-*.json")
        doc = json.loads(path.read_text(encoding="utf-8"))
        (side,) = doc["tokenizers"]
        expected = svc.tokenize(doc["text"], side["tokenizer"]).tokens
        assert [t["id"] for t in side["tokens"]] == [t.id for t in expected]
        assert b"".join(bytes.fromhex(t["bytes"]) for t in side["tokens"]) == \
            doc["text"].encode("utf-8")
        await pilot.press("f1")  # the help names both keys and what this pane exports
        await pilot.pause(0.2)
        from genai_tui.tui.help import HelpText

        source = app.screen.query_one(HelpText).source
        assert "Ctrl+S" in source and f"Ctrl+O` | export this pane's data: {cls.EXPORTS}" in source
    (svg,) = tmp_path.glob("genai-screenshot-tokenizer-*.svg")
    assert svg.read_text().lstrip().startswith("<svg")


async def test_generate_exports_text_with_per_token_probabilities(tmp_path) -> None:
    app, cls = await _run("generate", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(cls)
        await until(pilot, lambda: pane.generator is not None, "model loaded")
        await pilot.press("ctrl+o")  # nothing yet: a warning says what it would save
        await pilot.pause()
        assert any("Nothing to export yet" in n.message for n in app._notifications)
        await pilot.press("f5")
        await until(pilot, lambda: pane.runs and pane.runs[-1].status == "done"
                    and pane.runs[-1].steps, "a finished run")
        path = await save(pilot, tmp_path, "ctrl+o", "genai-generate-tokens-*.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    run = doc["runs"][0]
    assert run["text"] == "".join(t["token"] for t in run["tokens"]) and run["tokens"]
    for token in run["tokens"]:
        assert 0 < token["prob"] <= 1 and 0 < token["raw_prob"] <= 1
        assert token["top_before"] and all(0 <= c["prob"] <= 1 for c in token["top_before"])
        listed = [c["prob"] for c in token["top_after"] if c["id"] == token["id"]]
        assert listed in ([], [pytest.approx(token["prob"])])  # top-N: a rare draw may miss


async def test_transformer_exports_attention_and_the_position_curve(tmp_path) -> None:
    app, cls = await _run("internals", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(cls)
        await until(pilot, lambda: pane.att.result is not None and not pane.busy, "attention")
        path = await save(pilot, tmp_path, "ctrl+o", "genai-attention-L0-h0-*.csv")
        rows = list(csv.reader(path.open(encoding="utf-8")))
        T = len(pane.att.result.tokens)
        assert len(rows) == T + 1 and len(rows[0]) == T + 2
        for i, row in enumerate(rows[1:]):
            weights = [float(v) for v in row[2:]]
            assert sum(weights) == pytest.approx(1, abs=1e-4)  # softmax over the keys
            assert all(w == 0 for w in weights[i + 1:])  # causal: no future keys
        await pane.run_action("view('positions')")
        await until(pilot, lambda: pane.pos.result is not None and not pane.busy, "positions")
        path = await save(pilot, tmp_path, "ctrl+o", "genai-positions-similarity-*.csv")
        rows = list(csv.reader(path.open(encoding="utf-8")))
        assert rows[0] == ["distance", "mean_similarity"]
        assert len(rows) - 1 == len(pane.pos.result.by_distance) and float(rows[1][1]) == \
            pytest.approx(1, abs=1e-4)  # distance 0: every vector with itself


@pytest.mark.parametrize("pane_id", ["vae", "diffusion"])
async def test_image_panes_export_png_at_the_grid_size(tmp_path, pane_id) -> None:
    app, cls = await _run(pane_id, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(cls)
        if pane_id == "vae":
            await until(pilot, lambda: pane.output is not None and not pane.computing("view"),
                        "samples")
            images, ncol = pane.output.png_images, pane.output.png_ncol
        else:
            await until(pilot, lambda: pane.forward.process is not None and pane.model is not None,
                        "model")
            images, ncol = pane._png_images()
        path = await save(pilot, tmp_path, "ctrl+o", f"genai-{pane_id}-*.png")
    n = len(images)
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == _grid_size(n, ncol)


async def test_gan_exports_its_training_curves_as_csv(tmp_path) -> None:
    app, cls = await _run("gan", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(cls)
        await until(pilot, lambda: not pane.busy and pane.last_event is None, "a run")
        pane.focus()
        for _ in range(3):
            await pilot.press("d")
            await pilot.press("g")
        await until(pilot, lambda: len(pane.events) == 6, "six events")
        path = await save(pilot, tmp_path, "ctrl+o", "genai-gan-points-curves-*.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["kind"] for r in rows] == ["d", "g"] * 3
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    for row, ev in zip(rows, pane.events, strict=True):
        assert float(row["d_loss"]) == pytest.approx(ev.d_loss)
        assert float(row["d_real"]) == pytest.approx(ev.d_real)
