"""The Train pane: watch a language model learn, stage by stage.

This file wires the pane: the stage views (`views.py`), one `Runner` per
stage (`runner.py`: the run's events pulled in a thread worker), the keys,
the status line and saving. A run's model lives in memory until F7 saves it.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import ContentSwitcher
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.tui.charts import TextLine
from genai_tui.tui.pane import Export, Pane, export_dir, json_export, save_and_view_bindings
from genai_tui.tui.panes.train import runner as rn
from genai_tui.tui.panes.train.help import HELP
from genai_tui.tui.panes.train.tuning_views import PreferView, SftView
from genai_tui.tui.panes.train.views import FinetuneView, PretrainView, StageView
from genai_tui.tui.textbox import SafeInput, SafeTextArea
from genai_tui.tui.widgets import ViewBar, numbered

VIEW_CLASSES: tuple[type[StageView], ...] = (PretrainView, FinetuneView, SftView, PreferView)
VIEWS: tuple[str, ...] = tuple(cls.STAGE for cls in VIEW_CLASSES)
TITLES: dict[str, str] = {cls.STAGE: cls.TITLE for cls in VIEW_CLASSES}

STATE_STYLE = {rn.TRAINING: "bold #87d787", rn.PREPARING: "bold #ffd75f",
               rn.PAUSED: "bold #ffd75f", rn.DONE: "bold #5fafff", rn.STOPPED: "bold #d7875f",
               rn.FAILED: "bold red"}


class TrainPane(Pane):
    """Pretrain a model from scratch or fine-tune the bundled one, live."""

    PANE_ID = "train"
    TITLE = "Train"
    HELP = HELP
    EXPORTS = "the current stage's curves and samples as JSON"

    BINDINGS: ClassVar[list[BindingType]] = [
        # One key, its footer label saying what it does now (check_action).
        Binding("f5", "start", "Start"),
        Binding("f5", "pause", "Pause"),
        Binding("f5", "resume", "Resume"),
        Binding("f6", "stop", "Stop"),
        Binding("f7", "save_model", "Save model"),
        Binding("f4", "next_stage", "Next stage", show=False),
        Binding("f8", "switch_option", "Option: bytes or BPE (Pretrain), the rule (Prefer)",
                show=False),
        *save_and_view_bindings(VIEWS, TITLES, save="Save JSON"),
        Binding("slash", "edit", "Edit the first text box", show=False),
    ]

    DEFAULT_CSS = """
    TrainPane { layout: vertical; }
    TrainPane #train-views { height: 1fr; }
    TrainPane #train-status { height: 2; background: $boost; padding: 0 1;
                              text-wrap: nowrap; text-overflow: ellipsis; }
    """
    can_focus = True

    class Update(Message):
        """A runner has news (posted from its worker thread)."""

        def __init__(self, stage: str) -> None:
            super().__init__()
            self.stage = stage

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = VIEWS[0]
        self.runners: dict[str, rn.Runner] = {}
        self.saved: dict[str, str] = {}
        """Per stage: the folder its model was last saved to."""
        self._resume_on_show: str | None = None
        self._reported: set[rn.Runner] = set()
        self.updates = 0

    def compose(self) -> ComposeResult:
        yield ViewBar(numbered(VIEWS, TITLES), self.view, id="train-bar")
        with ContentSwitcher(initial=f"train-{self.view}", id="train-views"):
            for cls in VIEW_CLASSES:
                yield cls(id=f"train-{cls.STAGE}")
        yield TextLine(id="train-status")

    def on_mount(self) -> None:
        self._update_status()

    # -- showing and hiding --------------------------------------------------------

    def pane_shown(self) -> None:
        super().pane_shown()
        self.call_after_refresh(self._focus_self)
        if self._resume_on_show is not None:
            runner = self.runners.get(self._resume_on_show)
            self._resume_on_show = None
            if runner is not None and runner.state == rn.PAUSED:
                runner.play()
                self._update_status()

    def _focus_self(self) -> None:
        # The pane itself, not its first text box (Textual's auto-focus would pick
        # that): the keys work at once, and the first letter typed types nothing.
        self.focus()

    def pane_hidden(self) -> None:
        for stage, runner in self.runners.items():
            if runner.state in (rn.TRAINING, rn.PREPARING):
                runner.pause()
                self._resume_on_show = stage

    # -- stages ----------------------------------------------------------------------

    @property
    def stage_view(self) -> StageView:
        return self.query_one(f"#train-{self.view}", StageView)

    @property
    def runner(self) -> rn.Runner | None:
        return self.runners.get(self.view)

    def action_set_view(self, view: str) -> None:
        if view not in VIEWS:
            return
        focused = self.app.focused if self.is_attached else None
        if focused is not None and self.stage_view in focused.ancestors_with_self:
            self.focus()  # never leave the focus in a text box of a hidden stage
        self.view = view
        self.query_one(ContentSwitcher).current = f"train-{view}"
        self.query_one(ViewBar).set_value(view)
        runner = self.runner
        self.stage_view.redraw(runner.log if runner else None)
        self._update_status()

    def action_next_stage(self) -> None:
        self.action_set_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])

    def on_view_bar_picked(self, message: ViewBar.Picked) -> None:
        self.action_set_view(message.value)

    def action_switch_option(self) -> None:
        said = self.stage_view.switch_option()
        if said:
            self.notify(said, timeout=3)

    def action_edit(self) -> None:
        boxes = self.stage_view.query("SafeInput, SafeTextArea")
        if boxes:
            boxes.first().focus()

    # -- runs --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        runner = self.runner
        state = runner.state if runner is not None else None
        if action == "start":
            return runner is None or runner.ended
        if action == "pause":
            return state in (rn.TRAINING, rn.PREPARING)
        if action == "resume":
            return state == rn.PAUSED
        if action == "stop":
            return True if runner is not None and runner.active else None
        if action == "save_model":
            return True if runner is not None and runner.run.trainee is not None else None
        return True

    def action_start(self) -> None:
        view = self.stage_view
        try:
            run = view.make_run()
        except UserError as e:
            self.report_error(str(e))
            return
        runner = rn.Runner(run, lambda stage=view.STAGE: self.post_message(self.Update(stage)))
        previous = self.runners.get(view.STAGE)
        if (previous is not None and previous.run.trainee is not None
                and view.STAGE not in self.saved):
            self.notify(f"A new {view.TITLE} run: the previous run's model was not saved "
                        "(F7 saves a run's model before the next F5).", timeout=5)
        self._pause_others(view.STAGE)
        self.runners[view.STAGE] = runner
        self.saved.pop(view.STAGE, None)
        view.redraw(runner.log)
        self.run_worker(lambda: runner.work(lambda: get_current_worker().is_cancelled),
                        thread=True, exclusive=True, group=f"train-{view.STAGE}",
                        exit_on_error=False, description=f"training: {view.TITLE}")
        self._update_status()

    def _pause_others(self, stage: str) -> None:
        for other, runner in self.runners.items():
            if other != stage and runner.state in (rn.TRAINING, rn.PREPARING):
                runner.pause()
                self.notify(f"{TITLES[other]} paused: one run trains at a time.", timeout=3)

    def action_pause(self) -> None:
        if self.runner is not None:
            self.runner.pause()
        self._update_status()

    def action_resume(self) -> None:
        if self.runner is not None:
            self._pause_others(self.view)
            self.runner.play()
        self._update_status()

    def action_stop(self) -> None:
        if self.runner is not None and self.runner.active:
            self.runner.stop()
        self._update_status()

    def action_save_model(self) -> None:
        runner = self.runner
        if runner is None or runner.run.trainee is None:
            self.report_error("nothing to save yet: start a run (F5) first")
            return
        folder = export_dir(self) / f"{runner.stage}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.compute("save", lambda: (runner.stage, runner.save(folder)),
                     description="saving the model")

    def computed(self, kind: str, result: Any, error: str) -> None:
        if kind != "save":
            return
        if error:
            self.report_error(error)
            return
        stage, folder = result
        self.saved[stage] = str(folder)
        self.notify(f"Saved the model to {folder}. The Generate pane's back end (F9) lists "
                    "it.", title="Saved model", markup=False, timeout=6)
        self._update_status()

    def on_train_pane_update(self, message: Update) -> None:
        self.updates += 1
        runner = self.runners.get(message.stage)
        if runner is None:
            return
        if message.stage == self.view:
            self.stage_view.redraw(runner.log)
        if runner.state == rn.FAILED and runner not in self._reported:
            self._reported.add(runner)  # said once
            self.report_error(runner.error)
        self._update_status()

    # -- status ------------------------------------------------------------------------------

    def _update_status(self) -> None:
        self.refresh_bindings()
        self.query_one("#train-status", TextLine).set_text(self.status_text())

    def status_text(self) -> Text:
        runner = self.runner
        title = TITLES[self.view]
        if runner is None:
            return Text.assemble((title, "bold"), " · ready: F5 starts a run",
                                 ("\nthe model stays in memory until F7 saves it · F1: what "
                                  "the curves mean", "dim"))
        log, state = runner.log, runner.state
        text = Text.assemble((title, "bold"), " · ", (state, STATE_STYLE.get(state, "")))
        if log.steps:
            text.append(f" · step {log.step}/{log.steps}")
        # The losses are in the chart's legend; the status adds what it lacks.
        for name, label in (("bits_per_byte", "bits/byte"), ("accuracy", "RM acc"),
                            ("rule_score", "rule"), ("reward", "reward"), ("kl", "KL")):
            value = log.latest.get(name)
            if value is not None and not math.isnan(value):
                text.append(f" · {value:.3f} {label}" if name == "bits_per_byte"
                            else f" · {label} {value:.3f}")
        tps = log.latest.get("tokens_per_s")
        if tps:
            text.append(f" · {tps:,.0f} tok/s")
        if log.elapsed:
            text.append(f" · {log.elapsed:.0f} s")
        warnings = log.warnings()
        if state == rn.FAILED:
            text.append("\n✗ " + (runner.error or "the run failed"), "red")
        elif warnings:
            text.append("\n⚠ " + warnings[-1].message, "bold #ffaf00")
        elif self.saved.get(self.view):
            text.append("\nsaved to " + self.saved[self.view] + " (Generate: F9 lists it)", "dim")
        elif state == rn.PREPARING:
            text.append("\n" + log.last_message(), "dim")
        elif state in (rn.DONE, rn.STOPPED):
            text.append("\nF7 saves the model · F5 starts a new run", "dim")
        elif state == rn.PAUSED:
            text.append("\npaused: F5 resumes · F6 stops · F7 saves the model as it is now", "dim")
        else:
            text.append("\nF5 pauses · F6 stops · F7 saves the model as it is now", "dim")
        return text

    # -- export ------------------------------------------------------------------------------

    def export_data(self) -> Export | None:
        runner = self.runner
        if runner is None or not runner.log.metrics:
            return None
        from genai_tui.service.lifecycle.events import to_json

        log = runner.log
        document = {"stage": runner.stage, "state": runner.state,
                    "metrics": [to_json(m) for m in list(log.metrics)],
                    "samples": [to_json(s) for s in list(log.samples)],
                    "notices": [to_json(n) for n in list(log.notices)],
                    "finished": to_json(log.finished) if log.finished else None}
        json.dumps(document)  # fail here, not half-way through the file
        return json_export(f"train-{runner.stage}", document)

    # -- lessons --------------------------------------------------------------------------------

    def _text_box(self) -> SafeInput | SafeTextArea:
        return self.stage_view.query("SafeInput, SafeTextArea").first()
