"""The diffusion pane's Textual-free reverse-process driver (`sampler.py`)."""

from __future__ import annotations

import threading
import time

from genai_tui.tui.panes.diffusion.sampler import SamplerControl, drive


def _run(steps, control, cancelled=lambda: False, shown_now=True):
    seen: list = []

    def show(step, shown: threading.Event) -> None:
        seen.append(step)
        if shown_now:
            shown.set()

    result: list = []
    t = threading.Thread(target=lambda: result.append(
        drive(steps, show, cancelled, control, frame_rate=1000.0, is_last=lambda s: s == 9)))
    t.start()
    return t, seen, result


def test_every_step_is_shown_and_the_last_returned() -> None:
    t, seen, result = _run(range(10), SamplerControl())
    t.join(5)
    assert seen == list(range(10)) and result == [9]


def test_paused_it_takes_one_step_per_grant_then_resumes() -> None:
    control = SamplerControl()
    control.pause()
    t, seen, result = _run(range(10), control)
    time.sleep(0.2)
    assert seen == [0]  # shown, then waiting
    control.step_once()
    time.sleep(0.2)
    assert seen == [0, 1]
    control.play()
    t.join(5)
    assert seen == list(range(10)) and result == [9]


def test_a_cancelled_worker_stops_waiting_and_returns_nothing() -> None:
    stop = threading.Event()
    t, seen, result = _run(range(10), SamplerControl(), cancelled=stop.is_set, shown_now=False)
    time.sleep(0.1)
    assert seen == [0]  # waits for the UI to show the frame (back-pressure)
    stop.set()
    t.join(1)
    assert not t.is_alive() and result == [None]
