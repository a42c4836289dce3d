"""The back-end dialog (F9) lists the local models: a model the Train pane
saved in the export folder is listed (name escaped, newest first), the
dialog's keys do not type into its boxes, and picking it makes the Generate
pane generate with it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from genai_tui.service.lifecycle.trainee import Trainee
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.generate import GeneratePane
from genai_tui.tui.panes.generate.backend_screen import BackendScreen
from tests.fixtures.lm import make_model_dir
from tests.tui.panes.test_generate_pane import SIZE, settle, start
from tests.tui.panes.test_generate_pane_remote import wait_for

ODD_NAME = "[b]odd[/b]\x1b[31m"


@pytest.fixture
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An export folder holding two saved models (the newest: ``pretrain-…``); the
    pane starts on a tiny fixture model; the working directory has no models."""
    monkeypatch.setattr(GeneratePane, "MODEL_PATH",
                        str(make_model_dir(tmp_path / "start" / "tiny", block_size=64)))
    trainee = Trainee.fresh(n_layer=1, n_head=2, n_embd=16, block_size=16, seed=0)
    trainee.record("pretrain", steps=7)
    folder = tmp_path / "exports"
    odd = trainee.save(folder / "odd")
    card = json.loads((odd / "card.json").read_text(encoding="utf-8"))
    (odd / "card.json").write_text(json.dumps({**card, "name": ODD_NAME}), encoding="utf-8")
    os.utime(odd / "card.json", (1_000_000, 1_000_000))
    trainee.save(folder / "pretrain-20261207-120000")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return folder


async def test_dialog_lists_a_saved_model_and_the_pane_generates_with_it(export_dir) -> None:
    app = GenaiApp(initial_pane="generate", panes=[GeneratePane], export_dir=export_dir)
    async with app.run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=6, seed=1)
        await pilot.press("f9")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, BackendScreen)
        options = screen.query_one("#be-models")
        await wait_for(pilot, lambda: options.option_count >= 2)
        labels = [options.get_option_at_index(i).prompt.plain
                  for i in range(options.option_count)]
        saved = [label for label in labels if not label.startswith("bundled")]
        assert saved[0].startswith("pretrain-20261207-120000 · ")
        assert "· pretrain 7 steps · 69k params, 1 layers, ctx 16" in saved[0]
        assert saved[1].startswith("[b]odd[/b]␛[31m (odd) · ")  # escaped, shown as typed
        await pilot.pause()
        drawn = "\n".join(options.render_line(y).text for y in range(options.size.height))
        assert "[b]odd[/b]␛[31m (odd)" in drawn and "\x1b" not in drawn, drawn
        # the list is shown without taking focus: typing goes to the URL box
        url = screen.query_one("#be-url")
        assert url.has_focus
        await pilot.press("ctrl+l")  # the dialog's key: lists again and focuses the list
        await wait_for(pilot, lambda: options.has_focus)
        assert url.value == ""
        index = labels.index(saved[0])
        while options.highlighted != index:
            await pilot.press("down")
        await pilot.press("enter")  # pick: fills the model box
        model = screen.query_one("#be-model")
        assert model.value == str(export_dir / "pretrain-20261207-120000")
        assert model.has_focus
        await pilot.press("enter")  # connect
        await wait_for(pilot, lambda: not pane.model_loading and not isinstance(
            pilot.app.screen, BackendScreen))
        await wait_for(pilot, lambda: pane.generator is not None
                       and pane.generator.name == "pretrain-20261207-120000")
        status = pane.query_one("#gen-status").render().plain  # type: ignore[attr-defined]
        assert "1 layers" in status and "ctx 16" in status, status
        await pilot.press("f5")
        await settle(pilot, pane)
        run = pane.runs[-1]
        assert run.status == "done" and len(run.steps) == 6, run.error


async def test_picking_bundled_empties_the_model_box(export_dir) -> None:
    app = GenaiApp(initial_pane="generate", panes=[GeneratePane], export_dir=export_dir)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("f9")
        await pilot.pause()
        screen = pilot.app.screen
        options = screen.query_one("#be-models")
        await wait_for(pilot, lambda: options.option_count >= 2)
        first = options.get_option_at_index(0).prompt.plain
        if not first.startswith("bundled"):
            pytest.skip("no bundled model")
        model = screen.query_one("#be-model")
        assert model.value  # the tiny fixture model's folder
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: options.has_focus)
        while options.highlighted != 0:
            await pilot.press("up")
        await pilot.press("enter")
        assert model.value == "" and model.has_focus
        assert "model bundled: Enter connects" in screen.query_one("#be-status").render().plain
