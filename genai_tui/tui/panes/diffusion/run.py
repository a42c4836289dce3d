"""The diffusion pane's reverse run: sample a batch from pure noise in a thread
worker (`sampler.drive` paces it to `FRAME_RATE` frames a second and waits on
its `SamplerControl` while paused), show each frame and the finished batch,
and the keys that play, pause and step it. `DiffusionPane` takes it as a
mixin; each run is numbered with the kit's `new_request("run")` so frames of a
superseded run are dropped."""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import work
from textual.message import Message

from genai_tui.errors import UserError
from genai_tui.service import diffusion as svc
from genai_tui.tui.pane import describe_error
from genai_tui.tui.panes.diffusion.reverse import ReverseView, SamplesView, sampler_label
from genai_tui.tui.panes.diffusion.sampler import SamplerControl, drive_in_worker

FRAME_RATE = 20.0
"""Most frames a second the sampler worker sends (each one a model step); below the
30 Hz ceiling so the UI keeps headroom for keys on a busy machine."""


class ReverseRun:
    """The reverse run of `DiffusionPane` (a mixin: it uses the pane's state)."""

    BATCH: int = 16
    """Samples per reverse run."""
    model: Any
    view: str
    sampler: str
    steps: int
    seed: int
    follow: int
    state: str
    frame: svc.SampleStep | None
    frames_shown: int
    finals: Any
    verdict: svc.Judgement | None
    _control: SamplerControl

    class Frame(Message):
        """One sampler step (the worker sends at most `FRAME_RATE` a second, and only
        after the UI has set ``shown`` for the previous one, so frames never pile up)."""

        def __init__(self, step: svc.SampleStep, run: int, shown: threading.Event) -> None:
            super().__init__()
            self.step, self.run, self.shown = step, run, shown

    class Finished(Message):
        def __init__(self, images: Any, verdict: svc.Judgement | None, run: int,
                     error: str = "") -> None:
            super().__init__()
            self.images, self.verdict, self.run, self.error = images, verdict, run, error

    def start_run(self) -> None:
        """Sample a new batch from pure noise with the current settings."""
        if self.model is None:
            return
        run = self.new_request("run")
        self.frame, self.finals, self.verdict = None, None, None
        self.frames_shown = 0
        self.state = "running"
        self._control = SamplerControl()
        settings = svc.SampleSettings(n=self.BATCH, sampler=self.sampler, steps=self.steps,
                                      seed=self.seed)
        self.query_one(SamplesView).show_message(
            Text("Sampling… the grid fills in when the run ends.", style="dim"))
        self._show_status()
        self._sample(self.model, settings, run, self._control)

    @work(thread=True, exclusive=True, group="diffusion-sample", exit_on_error=False,
          description="sampling from the diffusion model")
    def _sample(self, model: svc.DiffusionModel, settings: svc.SampleSettings, run: int,
                control: SamplerControl) -> None:
        try:
            last = drive_in_worker(
                svc.sample_steps(model, settings),
                lambda step, shown: self.post_message(self.Frame(step, run, shown)),
                control, FRAME_RATE)
            if last is None:
                return
            try:
                verdict = svc.judge(last.x_next)
            except UserError:
                verdict = None  # no bundled classifier: the grid goes without readings
            self.post_message(self.Finished(last.x_next, verdict, run))
        except Exception as e:  # noqa: BLE001 - shown in the pane, the app stays up
            self.post_message(self.Finished(None, None, run, describe_error(e)))

    def on_reverse_run_frame(self, message: Frame) -> None:
        message.shown.set()
        if not self.is_current(message.run, "run"):
            return
        self.frame = message.step
        self.frames_shown += 1
        self._show_frame()
        self._show_status()

    def _show_frame(self) -> None:
        if self.frame is not None:
            self.query_one(ReverseView).show_frame(self.frame, self.follow)

    def on_reverse_run_finished(self, message: Finished) -> None:
        if not self.is_current(message.run, "run"):
            return
        if message.error:
            self.state = "failed"
            self.report_error(message.error)
            self._show_status()
            return
        self.state = "done"
        self.finals, self.verdict = message.images, message.verdict
        self._show_samples()
        self._show_status()

    def _show_samples(self) -> None:
        if self.finals is not None:
            self.query_one(SamplesView).show(self.finals, self.verdict, self._sampler_label(),
                                             self.seed)

    def _sampler_label(self) -> str:
        return sampler_label(self.sampler, self.steps, self.model)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause", "play"):
            running = self.view == "reverse" and self.state == "running"
            return running if action == "pause" else not running
        return True

    def action_pause(self) -> None:
        self.action_toggle_pause()

    def action_play(self) -> None:
        self.action_toggle_pause()

    _paused_by_hiding = False

    def pane_hidden(self) -> None:
        # A sampler on a hidden tab would take the CPU from the pane on screen.
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
            self._paused_by_hiding = True
            self._show_status()

    def _resume_after_hiding(self) -> None:
        if self._paused_by_hiding and self.state == "paused":
            self._paused_by_hiding = False
            self._control.play()
            self.state = "running"
            self._show_status()

    def action_toggle_pause(self) -> None:
        if self.model is None:
            return
        if self.view != "reverse":
            self.action_set_view("reverse")
            return
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
        elif self.state == "paused":
            self._control.play()
            self.state = "running"
        elif self.state in ("idle", "done"):
            self.start_run()
        self._show_status()

    def action_step(self) -> None:
        """Pause (if running) and let the sampler take exactly one more step."""
        if self.model is None or self.view != "reverse":
            return
        if self.state in ("idle", "done"):
            self.start_run()
            self._control.pause()
            self.state = "paused"
        elif self.state == "running":
            self._control.pause()
            self.state = "paused"
        elif self.state == "paused":
            self._control.step_once()
        self._show_status()

