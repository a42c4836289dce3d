"""The diffusion pane's reverse-process driver, without Textual: pull sampler
steps in a worker thread, hand each to the UI and wait until it is shown
(back-pressure: a slow UI slows the animation instead of queueing frames),
pace to a frame rate, and honour pause and single steps.

`SamplerControl` is what the UI thread holds: ``pause``, ``play`` and
``step_once`` (one more step while paused). Waits use short timeouts so a
cancelled worker (a new run, the pane closing) stops within 50 ms.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

WAIT = 0.05
"""Seconds between cancellation checks while waiting."""


class SamplerControl:
    """Play / pause / one step, shared by the UI thread and one sampling worker."""

    def __init__(self) -> None:
        self._resume = threading.Event()
        self._resume.set()
        self._grant = threading.Semaphore(0)

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def pause(self) -> None:
        self._resume.clear()

    def play(self) -> None:
        self._resume.set()

    def step_once(self) -> None:
        """While paused, let the worker take exactly one more step."""
        self._grant.release()

    def wait_while_paused(self, cancelled: Callable[[], bool]) -> bool:
        """Block until resumed or granted one step; False when ``cancelled()``."""
        while not self._resume.is_set():
            if cancelled():
                return False
            if self._grant.acquire(timeout=WAIT):
                return True
        return not cancelled()


def drive(steps: Iterable[Any], show: Callable[[Any, threading.Event], None],
          cancelled: Callable[[], bool], control: SamplerControl,
          frame_rate: float, is_last: Callable[[Any], bool]) -> Any:
    """Pull ``steps``; after each, call ``show(step, shown)`` and wait until the UI
    sets ``shown``; then pace to ``frame_rate`` and wait while paused. Returns the
    last step (None when cancelled or there was none)."""
    last = None
    next_time = time.monotonic()
    shown = threading.Event()
    for step in steps:
        if cancelled():
            return None
        last = step
        shown.clear()
        show(step, shown)
        if is_last(step):
            break
        while not shown.wait(WAIT):
            if cancelled():
                return None
        # pace to frame_rate so every step is seen, then honour pause / single step
        next_time += 1.0 / frame_rate
        delay = next_time - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_time = time.monotonic()
        if control.paused:
            if not control.wait_while_paused(cancelled):
                return None
            next_time = time.monotonic()
    return None if cancelled() else last


def drive_in_worker(steps: Iterable[Any], post: Callable[[Any, threading.Event], None],
                    control: SamplerControl, frame_rate: float) -> Any:
    """`drive` from inside a Textual thread worker: cancelled with the worker, the
    last step being the one whose ``done`` is true. ``post(step, shown)`` posts the
    frame message. Returns the last step (None when cancelled)."""
    from textual.worker import get_current_worker

    worker = get_current_worker()
    return drive(steps, post, lambda: worker.is_cancelled, control, frame_rate,
                 lambda step: step.done)
