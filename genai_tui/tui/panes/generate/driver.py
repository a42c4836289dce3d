"""The generate pane's run driver: the queue, the lock, round-robin and flush pacing.

Plain Python (no Textual): `tests/tui/panes/test_generate_runs.py` drives it with fake
back ends. The pane's worker thread calls `RunDriver.pull_runs` (sampling:
one `TokenStep` from each run in turn, A and B interleaved) or
`RunDriver.pull_beam` (one `BeamUpdate` at a time); both only append to a
queue. The UI thread numbers drives (`begin`, `begin_beam`), moves the queue
onto the runs from its flush timer (`drain`, `drain_beam`) and asks `pace`
whether the stream is fast enough to repaint less often. The pane owns the
threads, the timers and the screen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from genai_tui.errors import UserError
from genai_tui.service.backend import Prefix, TextGenerator
from genai_tui.service.runtime import gc_paused, torch_threads
from genai_tui.textsafe import escape_controls
from genai_tui.tui.panes.generate.runs import BeamRun, Run

TOP_N = 10
"""Candidates the service reports per token (before and after the knobs)."""
FLUSH_HZ = 30
"""How often buffered tokens reach the screen (at most)."""
FAST_FLUSH_HZ = 6
"""... and while a stream runs faster than `FAST_STREAM`: each repaint costs the
model's thread GIL time, and 6 repaints a second of 20+ new tokens each still
read as a stream (benchmarks/generate_pane.py, 1024 tokens, on-screen/headless
median: 74% at 30 Hz, 84% at 15 Hz, 91% at 10 Hz with the float32 model at
~1,000 tokens/s; with the float16 kernel at ~1,330 tokens/s headless: 86-87%
at 10 Hz, 90-92% at 6 Hz)."""
FAST_STREAM = 120.0
"""Tokens per second above which the pane repaints at `FAST_FLUSH_HZ`."""
INSPECT_HZ = 4
"""How often the candidates panel follows the newest token while streaming
(half that in a fast stream; every token is inspectable once it stops)."""


def describe_generate_error(exc: BaseException) -> str:
    """The whole message of a failed generation, control characters made visible
    (`tui.pane.describe_error` keeps only the first line, and imports Textual)."""
    if isinstance(exc, UserError):
        return escape_controls(str(exc), keep_newlines=False)
    return escape_controls(f"{type(exc).__name__}: {exc}", keep_newlines=False)


def ended_status(run: Run | BeamRun, cancelled: bool) -> str:
    """What a run (sampling or beam) is once its drive has ended."""
    if run.error:
        return "error"
    if run.exhausted:
        return "done"
    return "stopped" if cancelled else "paused"


def reopen(runs: list[Run]) -> None:
    """Runs whose server stream was closed by Stop continue from their text."""
    for run in runs:
        if run.gen is not None and run.gen.aborted and not run.exhausted:
            run.restart_from_text()


class RunDriver:
    """Drives runs for one pane: numbered drives, one at a time, through a queue.

    A drive is one worker's pass over some runs (Run, Step, Continue, A/B, a
    branch) or over a beam search. Each gets a number; messages and runs of
    an older drive are recognised as stale. The worker holds `lock` around
    ``next()``: a cancelled worker may still be inside one, and the next drive
    reuses the same generator.
    """

    def __init__(self, threads: int | None = 1) -> None:
        """``threads``: torch intra-op threads while pulling (None: leave torch alone)."""
        self.threads = threads
        self.pending: deque[tuple[Run, Any]] = deque()
        """(run, `TokenStep` or the exception it raised), oldest first."""
        self.beam_pending: deque[tuple[BeamRun, Any]] = deque()
        self.lock = threading.Lock()
        self.drive = 0
        """The newest drive's number."""
        self.live: set[int] = set()
        """Drives whose worker thread has not finished (a stopped one may
        still be inside one last token)."""
        self.driving: list[Run] = []
        """The runs of the current sampling drive (empty once it ended or stopped)."""
        self.beam_driving: BeamRun | None = None
        self.fast = False
        """The current stream runs faster than `FAST_STREAM` tokens/s."""
        self.said: set[str] = set()
        """Notes already said in the current drive (A and B say theirs once)."""
        self._inspected_at = 0.0

    @property
    def busy(self) -> bool:
        """Generating, or holding tokens not yet on screen."""
        return (bool(self.driving) or bool(self.pending) or bool(self.live)
                or self.beam_driving is not None or bool(self.beam_pending))

    def reset(self) -> None:
        """Forget every run (the back end changed; its workers are cancelled)."""
        self.driving = []
        self.pending.clear()
        self.beam_pending.clear()
        self.beam_driving = None

    # UI thread: starting and ending drives ------------------------------------

    def begin(self, runs: list[Run], budget: int | None, now: float) -> int:
        """Number a new sampling drive over ``runs`` and mark them running."""
        self.drive += 1
        self.live.add(self.drive)
        self.driving = runs
        for run in runs:
            run.status = "running"
            run.started = now
            run.burst_tokens = 0
            run.stepping = budget is not None
            run.drive = self.drive
        self.fast = False
        self.said = set()
        return self.drive

    def begin_beam(self, run: BeamRun) -> int:
        """Number a new beam-search drive over ``run`` and mark it running."""
        self.drive += 1
        self.live.add(self.drive)
        run.drive = self.drive
        run.status = "running"
        self.beam_driving = run
        self.fast = False
        return self.drive

    def abort_streams(self) -> None:
        """Close the current drive's server streams (at once, even mid-read)."""
        for run in self.driving:
            if run.gen is not None and not run.exhausted:
                run.gen.abort()

    def fresh_notes(self, drive: int, notes: list[str]) -> list[str]:
        """The notes of ``drive`` not yet said in it (none for a stale drive)."""
        if drive != self.drive:
            return []
        fresh = [note for note in dict.fromkeys(notes) if note not in self.said]
        self.said.update(fresh)
        return fresh

    def settle(self, runs: list[Run], drive: int, cancelled: bool) -> list[Run]:
        """Once ``drive``'s worker ended: the ``runs`` it left running, now marked
        done, paused, stopped or error."""
        self.live.discard(drive)
        ended = []
        for run in runs:
            if run.drive == drive and run.status == "running":
                run.status = ended_status(run, cancelled)
                ended.append(run)
        if drive == self.drive:
            self.driving = []
        return ended

    def end_burst(self, run: Run, now: float) -> tuple[float, int] | None:
        """Close ``run``'s streaming burst: when it started and how many tokens it
        made, for the on-screen rate once painted (None: nothing to time)."""
        timed = None
        if run.started is not None and not run.stepping:
            run.active_seconds += now - run.started
            timed = (run.started, run.burst_tokens)
        run.started = None
        return timed

    # UI thread: the flush timer ----------------------------------------------------

    def drain(self) -> tuple[set[int], list[Run]]:
        """Move queued tokens onto their runs: the ids of the runs touched, and
        the runs that failed (their ``error`` set)."""
        touched: set[int] = set()
        failed: list[Run] = []
        while self.pending:
            run, item = self.pending.popleft()
            if isinstance(item, BaseException):
                run.error = describe_generate_error(item)
                run.status = "error"
                failed.append(run)
            else:
                run.steps.append(item)
                run.generated += 1
                run.burst_tokens += 1
            touched.add(id(run))
        return touched, failed

    def drain_beam(self) -> list[BeamRun]:
        """Move queued beam steps onto their run; the runs that failed."""
        failed: list[BeamRun] = []
        while self.beam_pending:
            run, item = self.beam_pending.popleft()
            if isinstance(item, BaseException):
                run.error = describe_generate_error(item)
                run.status = "error"
                failed.append(run)
            else:
                run.steps.append(item)
        return failed

    def pace(self, runs: list[Run], touched: set[int], now: float) -> bool:
        """Update the streaming runs' rates; True when the flush pace changed
        (`fast`: A and B together above `FAST_STREAM` tokens/s)."""
        fastest = 0.0
        for run in runs:
            if id(run) in touched and run.started is not None and not run.stepping:
                run.rate = run.burst_tokens / max(1e-9, now - run.started)
                fastest += run.rate
        fast = fastest > FAST_STREAM
        if fast != self.fast and self.driving:
            self.fast = fast
            return True
        return False

    @property
    def flush_hz(self) -> int:
        return FAST_FLUSH_HZ if self.fast else FLUSH_HZ

    def inspect_due(self, now: float) -> bool:
        """Whether the candidates panel should follow the newest token now: at
        `INSPECT_HZ` while streaming (half that when fast), always otherwise."""
        pace = INSPECT_HZ / 2 if self.fast else INSPECT_HZ
        if not self.driving or now - self._inspected_at >= 1 / pace:
            self._inspected_at = now
            return True
        return False

    # worker thread --------------------------------------------------------------

    def pull_runs(self, generator: TextGenerator, runs: list[Run], budget: int | None,
                  cancelled: Callable[[], bool],
                  notes: Callable[[list[str]], None] = lambda notes: None) -> None:
        """Pull `TokenStep`s round-robin over ``runs`` into `pending`: ``budget``
        rounds (step mode), or until every run ends or ``cancelled()``.

        ``cancelled`` is checked before every token; ``notes`` gets what a
        stream says before its first token (prompt cut, knobs ignored).
        """
        # No cyclic GC while streaming: the UI thread's repaints allocate enough
        # to trigger collections that walk the whole app with the GIL held, and
        # the model's thread waits (measured: on-screen/headless median 80% ->
        # 88-93%). Reference counting still frees everything; the pause is the
        # counted one the tokenizer pane uses, so the two never fight.
        # One torch thread: the other core draws the UI, and OpenMP's spinning
        # threads are many times slower on a busy CPU.
        with torch_threads(self.threads), gc_paused(), self.lock:
            live = [run for run in runs if not run.exhausted]
            pulled = 0
            while live and not cancelled() and (budget is None or pulled < budget):
                for run in list(live):
                    if cancelled():
                        break
                    try:
                        if run.gen is None:
                            run.gen = generator.generate(
                                run.prompt, run.knobs, top_n=TOP_N,
                                prefix=Prefix(run.prefix_ids, run.prefix_text)
                                if run.prefix_ids else None)
                            if run.gen.notes:
                                notes(run.gen.notes)
                        step = next(run.gen)
                    except StopIteration:
                        # An aborted stream (Stop on a server) is not the end of the run.
                        run.exhausted = not (run.gen is not None and run.gen.aborted)
                        live.remove(run)
                        continue
                    except Exception as exc:  # noqa: BLE001 - shown in the run, app stays up
                        run.exhausted = True
                        live.remove(run)
                        self.pending.append((run, exc))
                        continue
                    self.pending.append((run, step))
                pulled += 1

    def pull_beam(self, generator: TextGenerator, run: BeamRun, budget: int | None,
                  cancelled: Callable[[], bool]) -> None:
        """Pull `BeamUpdate`s of ``run`` into `beam_pending`: ``budget`` steps, or
        until the search ends or ``cancelled()`` (checked before every step)."""
        with torch_threads(self.threads), gc_paused(), self.lock:
            pulled = 0
            while not cancelled() and not run.exhausted and (budget is None or pulled < budget):
                try:
                    if run.gen is None:
                        run.gen = generator.beam_search(run.prompt, run.settings)
                    step = next(run.gen)
                except StopIteration:
                    run.exhausted = True
                    break
                except Exception as exc:  # noqa: BLE001 - shown in the view, app stays up
                    run.exhausted = True
                    self.beam_pending.append((run, exc))
                    break
                run.exhausted = step.done
                self.beam_pending.append((run, step))
                pulled += 1
