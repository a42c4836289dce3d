"""The Train pane's run driver (no Textual): play, pause, stop and save between steps."""

from __future__ import annotations

import threading
import time

from genai_tui.service.generate import load_model
from genai_tui.tui.panes.train import runner as rn
from tests.service.test_lifecycle import tiny_pretrain


def start(runner: rn.Runner) -> threading.Thread:
    thread = threading.Thread(target=runner.work, args=(lambda: False,), daemon=True)
    thread.start()
    return thread


def wait(cond, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "condition never held"
        time.sleep(0.01)


def test_a_run_goes_to_its_end_and_the_log_has_every_step(tmp_path) -> None:
    told = []
    runner = rn.Runner(tiny_pretrain(tmp_path, steps=30), lambda: told.append(1))
    start(runner).join(60)
    assert runner.state == rn.DONE
    log = runner.log
    assert [m.step for m in log.metrics] == list(range(1, 31))
    assert log.finished is not None and log.step == 30
    assert len(log.series("loss")) == 30
    held = log.series("val_loss", hold=True)
    assert all(v != v for v in held[:19]) and held[19] == held[28]  # NaN until the first eval
    assert told  # the UI heard about it


def test_pause_stops_within_a_step_and_resume_goes_on(tmp_path) -> None:
    runner = rn.Runner(tiny_pretrain(tmp_path, steps=100_000), lambda: None)
    thread = start(runner)
    wait(lambda: runner.log.step >= 3)
    runner.pause()
    assert runner.state == rn.PAUSED
    time.sleep(0.2)
    paused_at = runner.log.step
    time.sleep(0.4)
    assert runner.log.step == paused_at  # nothing trains while paused
    runner.play()
    wait(lambda: runner.log.step >= paused_at + 3)
    assert runner.state == rn.TRAINING
    runner.stop()
    thread.join(10)
    assert runner.state == rn.STOPPED and not thread.is_alive()
    assert runner.log.finished is None  # stopped, not finished


def test_saving_while_training_writes_a_loadable_model_between_steps(tmp_path) -> None:
    runner = rn.Runner(tiny_pretrain(tmp_path, steps=100_000), lambda: None)
    thread = start(runner)
    wait(lambda: runner.log.step >= 2)
    folder = runner.save(tmp_path / "mid-run")
    saved_at = runner.run.trainee.card["stages"][-1]["at_step"]
    runner.stop()
    thread.join(10)
    lm = load_model(folder)
    assert lm.card["stages"][-1] == {"stage": "saved", "at_step": saved_at, "of_steps": 100_000}
    assert saved_at >= 2


def test_a_run_that_fails_says_why_and_ends(tmp_path) -> None:
    run = tiny_pretrain(tmp_path)
    run.settings.corpus = str(tmp_path / "missing.txt")
    runner = rn.Runner(run, lambda: None)
    start(runner).join(30)
    assert runner.state == rn.FAILED and "missing.txt" in runner.error
