"""The Imagine pane's runs: the denoising run of the prompt (a thread worker paced by
the diffusion pane's `drive`, with pause, one step and back-pressure, then the
finished images' readings) and the guidance row (one scale after another, each
posted as it finishes). `ImaginePane` takes `ImagineRuns` as a mixin; every run
is numbered with the kit's `new_request`, so frames and images of a superseded
run are dropped."""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from genai_tui.service import imagine as svc
from genai_tui.tui.pane import describe_error
from genai_tui.tui.panes.diffusion.sampler import SamplerControl, drive_in_worker
from genai_tui.tui.panes.imagine import work as wk

FRAME_RATE = 20.0
"""Most frames a second the denoising worker sends (as the diffusion pane)."""
BATCH = 4
"""Images per prompt in the denoise view."""
GUIDANCE_ROW: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0)
"""The scales the guidance view compares, same seed."""
KEPT_STEPS = 100
"""At most this many steps' attention maps are kept for ←/→ (DDPM's 1000 are thinned)."""

NO_RUN_GOING = ("idle", "done", "failed", "judging")
"""States in which F5 (or a step) starts a new run: while the judges read the last
images ("judging") the footer says Draw, and a new run supersedes that one."""


class ImagineRuns:
    """The runs of `ImaginePane` (a mixin: it uses the pane's state and widgets)."""

    models: wk.Models
    view: str
    state: str
    frame: svc.ImagineStep | None
    finals: Any
    readings: list[wk.Reading] | None
    attention_steps: list[svc.ImagineStep]
    row: dict[float, wk.Scaled]
    row_key: tuple | None
    _control: SamplerControl

    class Frame(Message):
        """One denoising step (sent after the UI has shown the previous one)."""

        def __init__(self, step: svc.ImagineStep, run: int, shown: threading.Event) -> None:
            super().__init__()
            self.step, self.run, self.shown = step, run, shown

    class Finished(Message):
        def __init__(self, images: Any, readings: list[wk.Reading] | None, run: int,
                     error: str = "") -> None:
            super().__init__()
            self.images, self.readings, self.run, self.error = images, readings, run, error

    class ScaleDone(Message):
        """One image of the guidance row (or why it failed)."""

        def __init__(self, scaled: wk.Scaled | None, run: int, error: str = "") -> None:
            super().__init__()
            self.scaled, self.run, self.error = scaled, run, error

    # -- the denoising run --------------------------------------------------------------

    def start_run(self, paused: bool = False) -> None:
        """Draw the prompt with the current settings (a new run supersedes the last)."""
        if self.models.imagine is None:
            return
        run = self.new_request("run")
        self.frame, self.finals, self.readings = None, None, None
        self.attention_steps = []
        self._control = SamplerControl()
        if paused:
            self._control.pause()
        self.state = "paused" if paused else "running"
        settings = self.sample_settings(BATCH)
        self.last_settings = settings
        self._denoise(self.models.imagine, self.models.clip, settings, run, self._control)
        self.show_run()

    @work(thread=True, exclusive=True, group="imagine-run", exit_on_error=False,
          description="drawing the prompt")
    def _denoise(self, model: Any, clip: Any, settings: svc.SampleSettings, run: int,
                 control: SamplerControl) -> None:
        worker = get_current_worker()
        try:
            last = drive_in_worker(
                svc.imagine(model, settings),
                lambda step, shown: self.post_message(self.Frame(step, run, shown)),
                control, FRAME_RATE)
            if last is None:
                return
            found = wk.readings(last.x_next, settings.prompt, clip)
            if not worker.is_cancelled:
                self.post_message(self.Finished(last.x_next, found, run))
        except Exception as e:  # noqa: BLE001 - shown in the pane, the app stays up
            self.post_message(self.Finished(None, None, run, describe_error(e)))

    def on_imagine_runs_frame(self, message: Frame) -> None:
        message.shown.set()
        if not self.is_current(message.run, "run"):
            return
        step = message.step
        self.frame = step
        stride = max(1, math.ceil(step.total / KEPT_STEPS))
        if step.attention is not None and (step.index % stride == 0 or step.done):
            self.attention_steps.append(step)
        if step.done:
            self.state = "judging"
        self.show_run()

    def on_imagine_runs_finished(self, message: Finished) -> None:
        if not self.is_current(message.run, "run"):
            return
        if message.error:
            self.state = "failed"
            self.report_error(message.error)
        else:
            self.state = "done"
            self.finals, self.readings = message.images, message.readings
        self.show_run()

    # -- pause, play, one step ------------------------------------------------------------

    _paused_by_hiding = False

    def pane_hidden(self) -> None:
        # a sampler on a hidden tab would take the CPU from the pane on screen
        self.stop_row()
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
            self._paused_by_hiding = True
            self.show_run()

    def resume_after_hiding(self) -> None:
        if self._row_stopped and self.view == "guidance":
            self.start_row()
        if self._paused_by_hiding and self.state == "paused":
            self._paused_by_hiding = False
            self._control.play()
            self.state = "running"
            self.show_run()

    def action_toggle_pause(self) -> None:
        """F5: pause or resume the run; start one when none is going."""
        if self.models.imagine is None:
            return
        self._paused_by_hiding = False
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
        elif self.state == "paused":
            self._control.play()
            self.state = "running"
        elif self.state in NO_RUN_GOING:
            self.start_run()
            return
        self.show_run()

    def action_step(self) -> None:
        """Pause (if running) and let the sampler take exactly one more step."""
        if self.models.imagine is None:
            return
        if self.state in NO_RUN_GOING:
            self.start_run(paused=True)  # shows the first step, then waits
            return
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
        elif self.state == "paused":
            self._control.step_once()
        self.show_run()

    # -- the guidance row -----------------------------------------------------------------

    def start_row(self) -> None:
        """Fill the guidance row for the current prompt, seed and sampler, unless it
        already shows exactly those."""
        if self.models.imagine is None:
            return
        base = self.sample_settings(1)
        key = (base.prompt, base.steps, base.sampler, base.seed)
        if key == self.row_key and not self._row_stopped:
            return
        if key != self.row_key:
            self.row = {}
        self.row_key, self._row_stopped = key, False
        missing = tuple(g for g in GUIDANCE_ROW if g not in self.row)
        if missing:
            run = self.new_request("row")
            self._fill_row(self.models.imagine, self.models.clip, base, missing, run)
        self.show_row()

    _row_stopped = False

    def stop_row(self) -> None:
        """Stop filling the row (a hidden pane); `start_row` draws the rest later."""
        if self.row_key is not None and len(self.row) < len(GUIDANCE_ROW):
            self.new_request("row")  # what the stopped worker still sends is dropped
            self.workers.cancel_group(self, "imagine-row")
            self._row_stopped = True

    @work(thread=True, exclusive=True, group="imagine-row", exit_on_error=False,
          description="drawing the guidance row")
    def _fill_row(self, model: Any, clip: Any, base: svc.SampleSettings,
                  scales: tuple[float, ...], run: int) -> None:
        worker = get_current_worker()
        for g in scales:
            if worker.is_cancelled:
                return
            try:
                scaled = wk.one_scale(model, replace(base, guidance=g, attention=False), clip)
            except Exception as e:  # noqa: BLE001 - shown in the pane, the app stays up
                self.post_message(self.ScaleDone(None, run, describe_error(e)))
                return
            if not worker.is_cancelled:
                self.post_message(self.ScaleDone(scaled, run))

    def on_imagine_runs_scale_done(self, message: ScaleDone) -> None:
        if not self.is_current(message.run, "row"):
            return
        if message.error:
            self.report_error(message.error)
            self.row_key = None
            return
        self.row[message.scaled.guidance] = message.scaled
        self.show_row()

    # the pane provides these
    def sample_settings(self, n: int) -> svc.SampleSettings:
        raise NotImplementedError

    def show_run(self) -> None:
        raise NotImplementedError

    def show_row(self) -> None:
        raise NotImplementedError
