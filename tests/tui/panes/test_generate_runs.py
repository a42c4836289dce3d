"""The generate pane's run driver (`tui/panes/generate/driver.py`), without Textual.

Fake back ends stand in for the model: each run's stream yields numbered
tokens, so the queue's order says who was pulled when.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from genai_tui.service.backend import TokenStream
from genai_tui.service.beam import BeamSettings
from genai_tui.service.generate import Knobs, TokenStep
from genai_tui.textsafe import escape_controls
from genai_tui.tui.panes.generate.driver import (
    FAST_FLUSH_HZ,
    FAST_STREAM,
    FLUSH_HZ,
    INSPECT_HZ,
    RunDriver,
    ended_status,
    reopen,
)
from genai_tui.tui.panes.generate.runs import BeamRun, Run
from genai_tui.tui.panes.generate.status import beam_status_text, capability_note, status_text


def step(token: str, index: int = 0) -> TokenStep:
    return TokenStep(index=index, id=index, token=token, prob=0.5, top_before=[],
                     top_after=[], stages=[], entropy=1.0, elapsed=0.0)


class FakeGenerator:
    """Streams ``<prompt><i>`` for i < lengths[prompt]; a prompt in ``fail`` raises
    after its first token; ``notes`` are said before the first token."""

    def __init__(self, lengths: dict[str, int], fail: frozenset[str] = frozenset(),
                 notes: dict[str, list[str]] | None = None) -> None:
        self.lengths = lengths
        self.fail = fail
        self.notes = notes or {}
        self.opened: list[tuple[str, object]] = []

    def generate(self, prompt: str, knobs: Knobs, *, top_n: int = 10,
                 prefix: object = None) -> TokenStream:
        self.opened.append((prompt, prefix))

        def steps() -> Iterator[TokenStep]:
            for i in range(self.lengths[prompt]):
                if i == 1 and prompt in self.fail:
                    raise RuntimeError(f"{prompt} broke\nsecond line")
                yield step(f"{prompt}{i}", i)

        return TokenStream(steps(), seed=0, notes=self.notes.get(prompt))

    def beam_search(self, prompt: str, settings: BeamSettings) -> Iterator[object]:
        from types import SimpleNamespace

        n = self.lengths[prompt]
        for i in range(n):
            if prompt in self.fail and i == 1:
                raise ValueError("no beams")
            yield SimpleNamespace(index=i, done=i == n - 1)


def never() -> bool:
    return False


def tokens(driver: RunDriver) -> list[str]:
    return [item.token if isinstance(item, TokenStep) else type(item).__name__
            for _, item in driver.pending]


def runs(*names: str) -> list[Run]:
    return [Run(name=name, prompt=name, knobs=Knobs()) for name in names]


# round-robin and budgets --------------------------------------------------------

def test_a_and_b_are_pulled_in_turn_until_each_ends() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    driver.pull_runs(FakeGenerator({"A": 2, "B": 4}), [a, b], None, never)
    assert tokens(driver) == ["A0", "B0", "A1", "B1", "B2", "B3"]
    assert a.exhausted and b.exhausted


def test_a_budget_pulls_that_many_rounds_and_the_next_drive_resumes() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    gen = FakeGenerator({"A": 5, "B": 5})
    driver.pull_runs(gen, [a, b], 1, never)
    assert tokens(driver) == ["A0", "B0"]
    assert not a.exhausted and not b.exhausted
    driver.pending.clear()
    driver.pull_runs(gen, [a, b], 2, never)
    assert tokens(driver) == ["A1", "B1", "A2", "B2"]
    assert len(gen.opened) == 2  # one stream per run, continued, never reopened


def test_exhausted_runs_are_skipped() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    a.exhausted = True
    driver.pull_runs(FakeGenerator({"A": 3, "B": 2}), [a, b], None, never)
    assert tokens(driver) == ["B0", "B1"]


def test_a_failing_run_queues_its_error_and_the_other_goes_on() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    driver.pull_runs(FakeGenerator({"A": 3, "B": 3}, fail=frozenset({"A"})), [a, b], None,
                     never)
    assert tokens(driver) == ["A0", "B0", "RuntimeError", "B1", "B2"]
    assert a.exhausted
    touched, failed = driver.drain()
    assert failed == [a] and a.status == "error"
    assert a.error == escape_controls("RuntimeError: A broke\nsecond line", False)
    assert "\n" not in a.error and "second line" in a.error  # the whole message, one line
    assert touched == {id(a), id(b)}
    assert [s.token for s in b.steps] == ["B0", "B1", "B2"] and b.generated == 3


def test_a_branch_sends_its_prefix() -> None:
    driver = RunDriver(threads=None)
    (run,) = runs("A")
    run.prefix_ids, run.prefix_text = [3, 4], "xy"
    gen = FakeGenerator({"A": 1})
    driver.pull_runs(gen, [run], None, never)
    prefix = gen.opened[0][1]
    assert prefix is not None and prefix.ids == [3, 4] and prefix.text == "xy"


# cancellation ------------------------------------------------------------------------

def test_cancelling_stops_before_the_next_token_even_mid_round() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    checks = 0

    def cancelled() -> bool:
        nonlocal checks
        checks += 1
        return len(driver.pending) >= 3

    driver.pull_runs(FakeGenerator({"A": 9, "B": 9}), [a, b], None, cancelled)
    assert tokens(driver) == ["A0", "B0", "A1"]  # B's turn in round 2 never came
    assert not a.exhausted and not b.exhausted
    assert checks >= 4  # checked before every token


def test_a_cancelled_drive_does_not_start_at_all() -> None:
    driver = RunDriver(threads=None)
    (a,) = runs("A")
    gen = FakeGenerator({"A": 3})
    driver.pull_runs(gen, [a], None, lambda: True)
    assert not driver.pending and not gen.opened


def test_an_aborted_stream_is_not_the_end_of_the_run_and_reopens_from_text() -> None:
    driver = RunDriver(threads=None)
    (a,) = runs("A")
    a.knobs = Knobs(max_tokens=10)
    gen = FakeGenerator({"A": 9})
    driver.pull_runs(gen, [a], 2, never)
    driver.drain()
    driver.driving = [a]
    driver.abort_streams()
    driver.pull_runs(gen, [a], None, never)
    assert not driver.pending and not a.exhausted
    reopen([a])
    assert a.gen is None and a.prefix_text == "A0A1" and a.knobs.max_tokens == 8


def test_the_lock_makes_a_new_drive_wait_for_the_old_ones_last_token() -> None:
    driver = RunDriver(threads=None)
    (a,) = runs("A")
    driver.lock.acquire()  # a cancelled worker still inside next()
    thread = threading.Thread(
        target=driver.pull_runs, args=(FakeGenerator({"A": 2}), [a], None, never))
    thread.start()
    time.sleep(0.1)
    assert not driver.pending
    driver.lock.release()
    thread.join(5)
    assert tokens(driver) == ["A0", "A1"]


# drives, notes and endings ----------------------------------------------------------

def test_drives_are_numbered_and_a_stale_drive_leaves_new_runs_alone() -> None:
    driver = RunDriver(threads=None)
    old, new = runs("A", "B")
    first = driver.begin([old], None, now=1.0)
    second = driver.begin([new], 1, now=2.0)
    assert (first, second) == (1, 2) and driver.live == {1, 2}
    assert old.status == new.status == "running" and new.stepping and not old.stepping
    assert driver.settle([old, new], first, cancelled=True) == [old]
    assert old.status == "stopped" and new.status == "running"
    assert driver.driving == [new] and driver.busy  # the current drive is still on
    assert driver.settle([old, new], second, cancelled=False) == [new]
    assert new.status == "paused" and driver.driving == [] and not driver.live
    assert not driver.busy


def test_notes_are_said_once_per_drive_and_stale_ones_never() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    said: list[list[str]] = []
    gen = FakeGenerator({"A": 1, "B": 1}, notes={"A": ["prompt cut"], "B": ["prompt cut"]})
    drive = driver.begin([a, b], None, now=0.0)
    driver.pull_runs(gen, [a, b], None, never, said.append)
    assert said == [["prompt cut"], ["prompt cut"]]  # each stream says it...
    assert driver.fresh_notes(drive, said[0]) == ["prompt cut"]
    assert driver.fresh_notes(drive, said[1]) == []  # ...the pane says it once
    driver.begin(runs("C"), None, now=0.0)
    assert driver.fresh_notes(drive, ["late"]) == []


@pytest.mark.parametrize(("error", "exhausted", "cancelled", "status"), [
    ("boom", False, False, "error"), ("", True, True, "done"),
    ("", False, True, "stopped"), ("", False, False, "paused"),
])
def test_ended_status(error: str, exhausted: bool, cancelled: bool, status: str) -> None:
    (run,) = runs("A")
    run.error, run.exhausted = error, exhausted
    assert ended_status(run, cancelled) == status


def test_a_burst_is_timed_unless_stepping() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    driver.begin([a], None, now=10.0)
    a.burst_tokens = 7
    assert driver.end_burst(a, 12.5) == (10.0, 7)
    assert a.active_seconds == 2.5 and a.started is None
    driver.begin([b], 1, now=10.0)
    assert driver.end_burst(b, 11.0) is None and b.active_seconds == 0


# pacing -----------------------------------------------------------------------------

def test_a_fast_stream_flushes_less_often_and_a_slow_one_goes_back() -> None:
    driver = RunDriver(threads=None)
    a, b = runs("A", "B")
    driver.begin([a, b], None, now=0.0)
    assert driver.flush_hz == FLUSH_HZ
    for _ in range(70):  # 70 tokens each in 1 s: A and B together above FAST_STREAM
        driver.pending.extend([(a, step("a")), (b, step("b"))])
    touched, _ = driver.drain()
    assert 70 < FAST_STREAM < 140
    assert driver.pace([a, b], touched, now=1.0) is True
    assert driver.fast and driver.flush_hz == FAST_FLUSH_HZ
    assert a.rate == pytest.approx(70) and b.rate == pytest.approx(70)
    assert driver.pace([a, b], touched, now=1.0) is False  # no change, no timer switch
    assert driver.pace([a, b], touched, now=10.0) is True  # 14 tokens/s: slow again
    assert not driver.fast


def test_pace_never_switches_once_the_drive_is_over() -> None:
    driver = RunDriver(threads=None)
    (a,) = runs("A")
    driver.begin([a], None, now=0.0)
    driver.pending.extend((a, step("a")) for _ in range(500))
    touched, _ = driver.drain()
    driver.driving = []
    assert driver.pace([a], touched, now=1.0) is False and not driver.fast


def test_step_mode_has_no_rate() -> None:
    driver = RunDriver(threads=None)
    (a,) = runs("A")
    driver.begin([a], 1, now=0.0)
    driver.pending.extend((a, step("a")) for _ in range(500))
    touched, _ = driver.drain()
    assert driver.pace([a], touched, now=1.0) is False and a.rate is None


def test_the_inspector_follows_at_its_own_pace_while_streaming() -> None:
    driver = RunDriver(threads=None)
    driver.begin(runs("A"), None, now=0.0)
    assert driver.inspect_due(100.0)
    assert not driver.inspect_due(100.0 + 0.5 / INSPECT_HZ)
    assert driver.inspect_due(100.0 + 1.0 / INSPECT_HZ)
    driver.fast = True  # half the rate in a fast stream
    assert not driver.inspect_due(100.0 + 2.5 / INSPECT_HZ)
    assert driver.inspect_due(100.0 + 3.0 / INSPECT_HZ)
    driver.driving = []  # stopped: every flush shows the newest token
    assert driver.inspect_due(100.0 + 3.0 / INSPECT_HZ)


# beam search -------------------------------------------------------------------------

def test_beam_steps_are_pulled_to_the_end_or_by_budget() -> None:
    driver = RunDriver(threads=None)
    run = BeamRun(prompt="P", settings=BeamSettings())
    gen = FakeGenerator({"P": 4})
    driver.begin_beam(run)
    assert driver.beam_driving is run and run.status == "running" and driver.busy
    driver.pull_beam(gen, run, 1, never)
    assert [u.index for _, u in driver.beam_pending] == [0] and not run.exhausted
    driver.pull_beam(gen, run, None, never)
    assert [u.index for _, u in driver.beam_pending] == [0, 1, 2, 3] and run.exhausted
    assert driver.drain_beam() == [] and [u.index for u in run.steps] == [0, 1, 2, 3]


def test_a_failing_beam_search_says_why_and_a_cancelled_one_stops() -> None:
    driver = RunDriver(threads=None)
    run = BeamRun(prompt="P", settings=BeamSettings())
    driver.pull_beam(FakeGenerator({"P": 4}, fail=frozenset({"P"})), run, None, never)
    assert driver.drain_beam() == [run]
    assert run.error == "ValueError: no beams" and run.status == "error" and run.exhausted
    other = BeamRun(prompt="Q", settings=BeamSettings())
    driver.pull_beam(FakeGenerator({"Q": 4}), other, None, lambda: True)
    assert not driver.beam_pending and other.gen is None


def test_reset_forgets_everything_queued() -> None:
    driver = RunDriver(threads=None)
    (a,) = runs("A")
    driver.begin([a], None, now=0.0)
    driver.pending.append((a, step("a")))
    driver.beam_driving = BeamRun(prompt="P", settings=BeamSettings())
    driver.reset()
    assert not driver.pending and not driver.driving and driver.beam_driving is None


@pytest.mark.parametrize("module", ["driver", "status", "runs", "layout", "knob_specs",
                                    "render", "beam_render", "export"])
def test_the_plain_modules_import_neither_textual_nor_torch(module: str) -> None:
    code = (f"import sys, genai_tui.tui.panes.generate.{module}; "
            "assert 'textual' not in sys.modules, 'textual imported'; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# status text (tui/panes/generate/status.py) -------------------------------------------

def test_the_status_bar_names_runs_state_and_the_ab_difference() -> None:
    a, b = runs("A", "B")
    b.knobs = Knobs(temperature=1.3)
    a.partner, b.partner = b, a
    text = status_text([a, b], a, True, "B", loading=False, error="", model_info="tiny")
    assert text.plain.startswith(" A  B  ● generating  knobs  B  v:A/B  A→B temp")
    assert "tiny" not in text.plain  # the runs take the model's place
    clicks = {span.style.meta.get("run") for span in text.spans
              if not isinstance(span.style, str) and span.style.meta}
    assert {0, 1} <= clicks
    idle = status_text([], None, False, "A", loading=False, error="", model_info="tiny")
    assert idle.plain.startswith(" tiny  knobs  A ")
    loading = status_text([], None, False, "A", loading=True, error="x", model_info="tiny")
    assert "loading model" in loading.plain and "no model" not in loading.plain


def test_beam_status_says_what_the_back_end_cannot_do() -> None:
    def plain(**kw: object) -> str:
        args = dict(loading=False, error="", local_only=False, searching=False, model_info="m")
        return beam_status_text(**{**args, **kw}).plain  # type: ignore[arg-type]

    assert plain() == " beam search  m  F4: sampling"
    assert "local model only" in plain(local_only=True)
    assert "searching" in plain(searching=True)
    assert "no model" in plain(error="gone", local_only=True)


def test_capability_note_lists_what_is_missing() -> None:
    from genai_tui.service.backend import LOCAL_CAPABILITIES

    assert capability_note(LOCAL_CAPABILITIES) == ""
    caps = dataclasses.replace(LOCAL_CAPABILITIES, processed_probs=False, stage_xray=False)
    assert capability_note(caps) == " · one distribution, no X-ray"
