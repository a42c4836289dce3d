"""The Train pane driven by keys like a user would (Pilot), on tiny runs, and a snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

from genai_tui.service.backend import BackendSpec
from genai_tui.service.generate import load_model
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.charts import ChartView, TextLine
from genai_tui.tui.panes.generate import GeneratePane
from genai_tui.tui.panes.train import TrainPane
from genai_tui.tui.panes.train import runner as rn
from genai_tui.tui.panes.train.pane import VIEWS
from genai_tui.tui.panes.train.tuning_views import PreferView, SftView
from genai_tui.tui.panes.train.views import FinetuneView, PretrainView
from genai_tui.tui.textbox import SafeInput, SafeTextArea
from tests import ROOT
from tests.fixtures.lm import make_model_dir
from tests.service.test_lifecycle import REPEATED

APP_CSS = ROOT / "genai_tui" / "tui" / "app.tcss"
HOSTILE = "\x1b[31mred\x1b[0m [bold]x[/bold] [@click=app.quit]q[/] \x07"


@pytest.fixture
def tiny_runs(monkeypatch, tmp_path) -> Path:
    """Both views start tiny runs: a repeated corpus, one small block, a tiny base model."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(REPEATED, encoding="utf-8")
    monkeypatch.setattr(PretrainView, "SETTINGS", dict(
        corpus=str(corpus), corpus_bytes=20_000, block_size=16, batch_size=8,
        eval_every=10, sample_every=10, sample_tokens=8, lr=1e-2, warmup=3, bf16=False))
    base = make_model_dir(tmp_path / "base", n_layer=1, n_head=2, n_embd=32, block_size=32)
    monkeypatch.setattr(FinetuneView, "SETTINGS", dict(
        model=str(base), block_size=16, batch_size=8, eval_every=5, sample_tokens=6, lr=3e-3,
        warmup=2, bf16=False))
    wide = make_model_dir(tmp_path / "wide", n_layer=1, n_head=2, n_embd=32, block_size=64)
    monkeypatch.setattr(SftView, "SETTINGS", dict(
        model=str(wide), batch_size=4, eval_pairs=8, train_pairs=16, sample_questions=2,
        sample_tokens=6, eval_every=2, bf16=False))
    monkeypatch.setattr(PreferView, "SETTINGS", dict(
        model=str(wide), pairs=4, held_out_pairs=2, rm_steps=3, eval_prompts=2,
        eval_samples=2, eval_every=1, sample_tokens=6))
    return tmp_path


async def until(pilot, cond, tries: int = 1200) -> None:
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


def status(pane: TrainPane) -> str:
    return pane.query_one("#train-status", TextLine).text.plain


async def set_box(pilot, box: SafeInput, value: str) -> None:
    box.value = value
    await pilot.pause()


async def shown(pilot) -> TrainPane:
    pane = pilot.app.query_one(TrainPane)
    await until(pilot, lambda: pilot.app.focused is pane)
    return pane


async def test_pretraining_runs_to_the_end_and_the_model_saves_for_the_generate_pane(
        tiny_runs) -> None:
    app = GenaiApp(initial_pane="train", panes=[TrainPane, GeneratePane], export_dir=tiny_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        assert "ready: F5 starts" in status(pane)
        await set_box(pilot, pane.query_one("#pretrain-steps", SafeInput), "40")
        await set_box(pilot, pane.query_one("#pretrain-width", SafeInput), "32")
        await set_box(pilot, pane.query_one("#pretrain-layers", SafeInput), "1")
        await pilot.press("f5")
        runner = pane.runners["pretrain"]
        await until(pilot, lambda: runner.state == rn.DONE)
        await pilot.pause(0.2)
        assert runner.log.step == 40 and runner.run.settings.n_embd == 32
        assert "done · step 40/40" in status(pane) and "bits/byte" in status(pane)
        legend = pane.query_one("#pretrain-legend-0", TextLine).text.plain
        assert "train " in legend and "held-out " in legend
        chart = pane.query_one("#pretrain-chart-0", ChartView)
        assert chart.rows() is not None  # the curve is drawn
        samples = str(pane.query_one("#pretrain-samples", Static).render())
        assert "before training (step 0)" in samples and "after step 40 (the end)" in samples
        await pilot.press("f7")
        await until(pilot, lambda: "pretrain" in pane.saved)
        folder = Path(pane.saved["pretrain"])
        assert folder.parent == tiny_runs and "saved to" in status(pane)
        assert load_model(folder).card["stages"][0]["stage"] == "pretrain"
        # The Generate pane generates with it (what its back-end dialog does on a pick).
        generate = await app.show_pane_now("generate")
        generate.use_backend(BackendSpec(model=str(folder)))
        await until(pilot, lambda: generate.generator is not None and not generate.model_loading)
        assert generate.generator.lm.num_params() == runner.run.trainee.num_params()


async def test_f_keys_drive_a_run_while_a_text_box_has_focus_and_letters_type(tiny_runs) -> None:
    app = GenaiApp(initial_pane="train", panes=[TrainPane])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        prompt = pane.query_one("#pretrain-prompt", SafeInput)
        await set_box(pilot, pane.query_one("#pretrain-steps", SafeInput), "100000")
        await set_box(pilot, pane.query_one("#pretrain-width", SafeInput), "32")
        await pilot.press("slash")
        assert app.focused is prompt
        await pilot.press("f5")
        runner = pane.runners["pretrain"]
        await until(pilot, lambda: runner.log.step >= 3)
        await pilot.press("f5")
        assert runner.state == rn.PAUSED and "paused" in status(pane)
        await pilot.press(*"12s", "space")  # typed, not a view switch or a save
        assert prompt.value == "def 12s " and pane.view == "pretrain"
        await pilot.press("f5")
        assert runner.state == rn.TRAINING
        await pilot.press("f6")
        await until(pilot, lambda: runner.state == rn.STOPPED)
        assert app.focused is prompt
        await pilot.press("escape", "2")  # out of the box, the number key picks a stage
        assert pane.view == "finetune" and app.query_one(FinetuneView).display


async def test_a_hidden_pane_pauses_its_run_and_resumes_on_return(tiny_runs) -> None:
    from genai_tui.tui.panes.generate import GeneratePane as Other

    app = GenaiApp(initial_pane="train", panes=[TrainPane, Other])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        await set_box(pilot, pane.query_one("#pretrain-steps", SafeInput), "100000")
        await set_box(pilot, pane.query_one("#pretrain-width", SafeInput), "32")
        await pilot.press("f5")
        runner = pane.runners["pretrain"]
        await until(pilot, lambda: runner.log.step >= 2)
        await app.show_pane_now("generate")
        assert runner.state == rn.PAUSED
        await pilot.pause(0.3)
        hidden_at = runner.log.step
        await pilot.pause(0.5)
        assert runner.log.step == hidden_at
        await app.show_pane_now("train")
        await until(pilot, lambda: runner.log.step > hidden_at)
        assert runner.state == rn.TRAINING
        runner.stop()


async def test_fine_tuning_pasted_text_shows_before_and_after_and_warns_of_overfitting(
        tiny_runs) -> None:
    import random

    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta", "zeta"]
    text = (" ".join(rng.choice(words) for _ in range(1200)) + "\n"
            + " ".join(str(rng.randrange(10**6)) for _ in range(150)))
    FinetuneView.SETTINGS.update(lr=1e-2, patience=2)
    app = GenaiApp(initial_pane="train", panes=[TrainPane])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        await pilot.press("2")
        view = pane.query_one(FinetuneView)
        await pilot.press("f5")  # nothing to fine-tune on yet: said, nothing starts
        await pilot.pause()
        assert "finetune" not in pane.runners
        box = view.query_one("#finetune-text", SafeTextArea)
        box.text = text
        await set_box(pilot, view.query_one("#finetune-steps", SafeInput), "120")
        await pilot.press("f5")
        runner = pane.runners["finetune"]
        await until(pilot, lambda: runner.state == rn.DONE)
        await pilot.pause(0.2)
        before = str(view.query_one("#finetune-before", Static).render())
        after = str(view.query_one("#finetune-after", Static).render())
        assert before.startswith("before (step 0") and after.startswith("after (step 120")
        assert runner.run.prompt in before and runner.run.prompt in after
        assert "⚠ overfitting" in status(pane)


async def test_bad_and_hostile_input_is_refused_or_shown_safely(tiny_runs) -> None:
    app = GenaiApp(initial_pane="train", panes=[TrainPane])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        await set_box(pilot, pane.query_one("#pretrain-steps", SafeInput), "many")
        await pilot.press("f5")
        await pilot.pause()
        assert "pretrain" not in pane.runners
        assert any("'many' is not a number" in n.message for n in app._notifications)
        await set_box(pilot, pane.query_one("#pretrain-steps", SafeInput), "10")
        await set_box(pilot, pane.query_one("#pretrain-width", SafeInput), "32")
        await set_box(pilot, pane.query_one("#pretrain-prompt", SafeInput), HOSTILE)
        await pilot.press("f5")
        runner = pane.runners["pretrain"]
        await until(pilot, lambda: runner.state == rn.DONE)
        await pilot.pause(0.2)
        shown_text = str(pane.query_one("#pretrain-samples", Static).render())
        assert "\x1b" not in shown_text and "[bold]x[/bold]" in shown_text
        assert app.is_running
        await pilot.press("f5")  # a new run over an unsaved model: said
        assert any("was not saved" in n.message for n in app._notifications)
        pane.runners["pretrain"].stop()


async def test_sft_answers_the_same_held_out_questions_before_and_after(tiny_runs) -> None:
    app = GenaiApp(initial_pane="train", panes=[TrainPane])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        await pilot.press("3")
        view = pane.query_one(SftView)
        await set_box(pilot, view.query_one("#sft-steps", SafeInput), "4")
        await pilot.press("f5")
        runner = pane.runners["sft"]
        await until(pilot, lambda: runner.state == rn.DONE)
        await pilot.pause(0.2)
        panel = str(view.query_one("#sft-samples", Static).render())
        questions = {s.prompt for s in runner.log.samples}
        assert len(questions) == 2
        for question in questions:
            assert question.strip().splitlines()[0] in panel
        assert panel.count("before: ") == 2 and panel.count("after: ") == 2
        assert "answer loss" in pane.query_one("#sft-legend-0", TextLine).text.plain
        assert "done · step 4/4" in status(pane)


async def test_preference_tuning_shows_its_phases_the_rule_and_reward_and_kl(tiny_runs) -> None:
    app = GenaiApp(initial_pane="train", panes=[TrainPane])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        await pilot.press("4")
        view = pane.query_one(PreferView)
        assert view.rule == "shorter"
        await pilot.press("f8", "f8")  # shorter -> no-repeat -> mentions
        assert view.rule == "mentions"
        await set_box(pilot, view.query_one("#prefer-word", SafeInput), "")
        await pilot.press("f5")  # mentions without a word: said, nothing starts
        await pilot.pause()
        assert "prefer" not in pane.runners
        assert any("needs a word" in n.message for n in app._notifications)
        await pilot.press("f8")
        assert view.rule == "shorter"
        await set_box(pilot, view.query_one("#prefer-steps", SafeInput), "3")
        await pilot.press("f5")
        runner = pane.runners["prefer"]
        await until(pilot, lambda: runner.state == rn.DONE)
        await pilot.pause(0.2)
        assert runner.run.settings.rule == "shorter" and runner.run.settings.steps == 3
        panel = str(view.query_one("#prefer-samples", Static).render())
        assert panel.startswith("rule score ") and "KL " in panel
        assert "before DPO: " in panel and "after DPO: " in panel
        for phase in ("phase 1/3", "phase 2/3", "phase 3/3"):
            assert phase in panel
        legends = [pane.query_one(f"#prefer-legend-{i}", TextLine).text.plain for i in (0, 1)]
        assert "held-out acc " in legends[0] and "reward " in legends[1] and "KL " in legends[1]
        dpo = pane.query_one("#prefer-chart-1", ChartView)
        assert dpo.rows() is not None
        assert "RM acc" in status(pane) and "KL" in status(pane)


async def test_in_every_text_box_listed_letters_type_and_f_keys_act(tiny_runs, tmp_path) -> None:
    """Every key F1 lists, pressed with each text box focused."""
    exports = tmp_path / "exports"
    exports.mkdir()
    app = GenaiApp(initial_pane="train", panes=[TrainPane], export_dir=exports)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await shown(pilot)
        typing_keys = [b.key for b in pane.BINDINGS if not b.key.startswith("f")]
        assert {"s", "1", "2", "3", "4", "slash"} <= set(typing_keys)
        for index, view in enumerate(VIEWS):
            pane.action_set_view(view)
            await pilot.pause()
            for box in pane.stage_view.query("SafeInput, SafeTextArea"):
                box.focus()
                await pilot.pause()
                before = box.text if isinstance(box, SafeTextArea) else box.value
                await pilot.press(*typing_keys)
                after = box.text if isinstance(box, SafeTextArea) else box.value
                assert after == before + "".join(
                    "/" if k == "slash" else k for k in typing_keys), box.id
                assert pane.view == view and not list(exports.iterdir())  # no switch, no save
                await pilot.press("f8")  # the stage's option: acts, types nothing
                after_f8 = box.text if isinstance(box, SafeTextArea) else box.value
                assert after_f8 == after
                await pilot.press("f4")  # next stage: the focus leaves the hidden box
                assert pane.view == VIEWS[(index + 1) % len(VIEWS)]
                assert app.focused is pane
                pane.action_set_view(view)
                await pilot.pause()


class _Host(App[None]):
    """Only the Train pane, so other panes' tabs never change this snapshot."""

    CSS_PATH = str(APP_CSS)

    def compose(self) -> ComposeResult:
        yield TrainPane(id="pane-train")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TrainPane).pane_shown()


def test_snapshot_ready_at_80x24(snap_compare) -> None:
    assert snap_compare(_Host(), terminal_size=(80, 24))
