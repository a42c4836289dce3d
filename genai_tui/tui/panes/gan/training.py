"""The GAN pane's training loop and how it builds runs (no Textual).

One long-lived thread worker of the pane runs `train`: it owns the current
`GanTrainer` and takes commands from the UI thread through a `Control`
(a queue plus a play flag), so keys never touch the trainer and never wait for
it. Runs are built elsewhere (`build_trainer`, in the pane's kit workers) and
handed over with the ``use`` command; each run carries the request serial the
pane gave it, so the pane can drop updates of a superseded run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from genai_tui.service.gan import GanEvent, GanSettings, GanTrainer, ImagesView, PointsView
from genai_tui.service.runtime import torch_threads

REFRESH_SECONDS = 0.1
"""The worker sends the screen new plots at most this often (10 Hz) while playing."""

View = PointsView | ImagesView
Post = Callable[[int, list[GanEvent], View, GanSettings, float | None, tuple, bool], None]
"""Sends the UI (run serial, new events, a fresh view, settings, steps/s, estimate, playing)."""


class Control:
    """What the UI thread tells the training worker: commands and the play flag.

    Commands: ``use`` (serial, trainer): train this run from now on; ``reset``
    serial: the same run again from fresh weights; ``d`` / ``g`` / ``n``: one
    D, G or full step; ``view``: send a fresh view (the map was resized).
    """

    def __init__(self) -> None:
        self.commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.playing = threading.Event()
        self.wake = threading.Event()

    def send(self, command: str, arg: Any = None) -> None:
        self.commands.put((command, arg))
        self.wake.set()


def same_data(a: GanSettings, b: GanSettings) -> bool:
    """Whether runs with settings ``a`` and ``b`` train on the same data."""
    return (a.mode, a.data, a.seed, a.n_images) == (b.mode, b.data, b.seed, b.n_images)


def build_trainer(settings: GanSettings, current: GanTrainer | None = None) -> GanTrainer:
    """A fresh run with ``settings``, reusing ``current``'s data when it is the
    same (raises `UserError` for bad settings or a bad CSV)."""
    data = current.data if current is not None and same_data(current.settings, settings) else None
    with torch_threads(1):  # as the training worker: these matrices are tiny
        return GanTrainer(settings, data)


def estimate(trainer: GanTrainer) -> tuple:
    """(JS, modes covered, modes total, collapse, share on modes) of the latest evaluation."""
    return (trainer.last_js, trainer.last_modes_covered, trainer.modes_total,
            trainer.mode_collapse, trainer.last_on_modes)


def train(ctl: Control, cancelled: Callable[[], bool], view: Callable[[GanTrainer], View],
          post: Post, failed: Callable[[BaseException], None]) -> None:
    """Run commands and, while ``ctl.playing`` is set, train as fast as possible,
    posting at most every `REFRESH_SECONDS` (at once after a command or a pause),
    until ``cancelled()``."""
    trainer: GanTrainer | None = None
    run = 0
    pending: list[GanEvent] = []
    last_post = time.monotonic()
    rate_t0, rate_steps = time.monotonic(), 0
    rate: float | None = None
    was_playing = False
    with torch_threads(1):
        while not cancelled():
            acted = False
            while True:
                try:
                    command, arg = ctl.commands.get_nowait()
                except queue.Empty:
                    break
                acted = True
                try:
                    if command == "use":
                        run, trainer = arg
                        pending = []
                    elif trainer is None:
                        continue
                    elif command == "reset":
                        trainer.reset()
                        run = arg
                        pending = []
                    elif command == "d":
                        pending.append(trainer.step_d())
                    elif command == "g":
                        pending.append(trainer.step_g())
                    elif command == "n":
                        pending.append(trainer.step())
                except Exception as e:  # noqa: BLE001 - shown; the pane stays alive
                    failed(e)
            if trainer is None:
                ctl.wake.wait(0.1)
                ctl.wake.clear()
                continue
            playing = ctl.playing.is_set()
            if playing:
                pending.append(trainer.step())
                rate_steps += 1
            now = time.monotonic()
            if now - rate_t0 >= 0.5:
                rate = rate_steps / (now - rate_t0) if playing else None
                rate_t0, rate_steps = now, 0
            if was_playing and not playing:
                acted = True  # say at once that training stopped, with its last steps
            was_playing = playing
            if acted or (pending and now - last_post >= REFRESH_SECONDS):
                post(run, pending, view(trainer), trainer.settings, rate, estimate(trainer),
                     playing)
                pending = []
                last_post = now
            elif not playing:
                rate = None
                ctl.wake.wait(0.1)
                ctl.wake.clear()
