"""The Train pane's run driver (no Textual): one lifecycle stage's events,
pulled in a worker thread, with play/pause/stop from the UI thread.

`RunLog` keeps what a run reported (per-step figures, samples, notices, the
end); `Runner` pulls the run's events one at a time while playing, under a
lock that `save` takes too, so a checkpoint is written between two optimizer
steps and never from half-updated weights. The UI is told at most every
`REFRESH_SECONDS` (at once for samples, notices, the end and state changes).
Pause takes effect within one step; stop closes the generator.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice, Sample

REFRESH_SECONDS = 0.25

READY, PREPARING, TRAINING, PAUSED, STOPPED, DONE, FAILED = (
    "ready", "preparing", "training", "paused", "stopped", "done", "failed")


class RunLog:
    """Everything one run reported, in order; appended by the worker, read by the UI."""

    def __init__(self) -> None:
        self.metrics: list[Metrics] = []
        self.samples: list[Sample] = []
        self.notices: list[Notice] = []
        self.finished: Finished | None = None
        self.latest: dict[str, float] = {}
        """The latest value of each figure (evaluation figures persist between evaluations)."""
        self.step = 0
        self.steps = 0
        self.elapsed = 0.0

    def add(self, event: Event) -> None:
        if isinstance(event, Metrics):
            self.metrics.append(event)
            self.latest.update({k: v for k, v in event.values.items() if not math.isnan(v)})
            self.step, self.steps, self.elapsed = event.step, event.steps, event.elapsed
        elif isinstance(event, Sample):
            self.samples.append(event)
        elif isinstance(event, Notice):
            self.notices.append(event)
        elif isinstance(event, Finished):
            self.finished = event
            self.step = event.step

    def series(self, name: str, *, hold: bool = False, smooth: float = 0.0) -> list[float]:
        """``name`` per step reported (NaN where a step lacks it). ``hold``: carry the
        last value forward (evaluation figures as steps); ``smooth``: an exponential
        moving average with this weight on the past (a batch loss is noisy)."""
        out: list[float] = []
        last = math.nan
        for m in list(self.metrics):
            value = m.values.get(name, math.nan)
            if math.isnan(value):
                out.append(last if hold else math.nan)
                continue
            if smooth and not math.isnan(last):
                value = smooth * last + (1 - smooth) * value
            out.append(value)
            last = value
        return out

    def warnings(self) -> list[Notice]:
        return [n for n in self.notices if n.level == "warn"]

    def last_message(self) -> str:
        return self.notices[-1].message if self.notices else ""


class Runner:
    """Drives one run: ``run.events()`` pulled in `work` (a worker thread)."""

    def __init__(self, run: Any, notify: Callable[[], None]) -> None:
        self.run = run
        self.log = RunLog()
        self.state = READY
        self.error = ""
        self.lock = threading.Lock()
        """Held while an event is being computed, and while saving."""
        self._notify = notify
        self._wake = threading.Event()
        self._state_lock = threading.Lock()
        """Guards the state's changes between the UI thread and the worker (never held
        during a step, so pausing never waits for one)."""
        self._stop = False
        self._last_notify = 0.0

    @property
    def stage(self) -> str:
        return self.run.stage

    @property
    def active(self) -> bool:
        """Started and not ended (training, paused or preparing)."""
        return self.state in (PREPARING, TRAINING, PAUSED)

    @property
    def ended(self) -> bool:
        return self.state in (STOPPED, DONE, FAILED)

    def play(self) -> None:
        with self._state_lock:
            if self.state == PAUSED:
                self.state = TRAINING
                self._wake.set()

    def pause(self) -> None:
        with self._state_lock:
            if self.state in (TRAINING, PREPARING):
                self.state = PAUSED

    def stop(self) -> None:
        self._stop = True
        self._wake.set()

    def save(self, folder: Path) -> Path:
        """Write the model as it is now (between two steps); `UserError` if there is
        no model yet or the folder cannot be written."""
        from genai_tui.errors import UserError

        with self.lock:
            trainee = self.run.trainee
            if trainee is None:
                raise UserError("no model yet: the run is still being set up")
            trainee.record("saved", at_step=self.log.step, of_steps=self.log.steps)
            return trainee.save(folder)

    def work(self, cancelled: Callable[[], bool]) -> None:
        """Pull events until the run ends, is stopped or ``cancelled()``."""
        from genai_tui.service.runtime import torch_threads, trim_heap
        from genai_tui.tui.pane import describe_error

        events = None
        self.state = PREPARING
        self._tell(force=True)
        try:
            with torch_threads(1):  # the other core keeps the screen responsive
                events = self.run.events()
                while not cancelled():
                    if self._stop:
                        self._end(STOPPED)
                        break
                    if self.state == PAUSED:
                        self._tell(force=True)  # once: the pause has taken effect
                        while self.state == PAUSED and not self._stop and not cancelled():
                            self._wake.wait(0.2)
                            self._wake.clear()
                        continue
                    with self.lock:
                        try:
                            event = next(events)
                        except StopIteration:
                            self._end(DONE)
                            break
                        self.log.add(event)
                    if isinstance(event, Metrics):
                        with self._state_lock:  # a pause asked meanwhile stands
                            if self.state == PREPARING:
                                self.state = TRAINING
                    self._tell(force=not isinstance(event, Metrics))
        except Exception as exc:  # noqa: BLE001 - shown in the pane; the app stays up
            self.error = describe_error(exc)
            self._end(FAILED)
        finally:
            if events is not None:
                events.close()  # frees the optimizer, batches and corpus tensors
            del events
            trim_heap()  # ... and gives that memory back
            self._tell(force=True)

    def _end(self, state: str) -> None:
        with self._state_lock:  # after this no pause or play changes it
            self.state = state

    def _tell(self, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._last_notify >= REFRESH_SECONDS:
            self._last_notify = now
            self._notify()
