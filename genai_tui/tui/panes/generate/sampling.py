"""The generate pane's sampling runs: run, step, continue, stop, branch and A/B.

`SamplingRuns` is a mixin of `GeneratePane`: it starts drives on the pane's
`driver.RunDriver` (a thread worker, group ``generate``, per drive), moves the
driver's queue onto the run views from the flush timer, and shows a run
alone, beside its A/B partner or beside the run it branched from.
"""

from __future__ import annotations

import dataclasses
import random
from time import perf_counter
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import validate
from genai_tui.service import generate as svc
from genai_tui.service.backend import TextGenerator
from genai_tui.tui.panes.generate.bars import StatusBar
from genai_tui.tui.panes.generate.driver import reopen
from genai_tui.tui.panes.generate.inspector import Inspector
from genai_tui.tui.panes.generate.knob_specs import with_shared
from genai_tui.tui.panes.generate.render import candidate_rows
from genai_tui.tui.panes.generate.run_view import RunView
from genai_tui.tui.panes.generate.runs import Run

if TYPE_CHECKING:
    from genai_tui.tui.panes.generate.pane import GeneratePane


class SamplingRuns:
    """Driving and showing sampling runs (mixed into `GeneratePane`)."""

    def _start(self, runs: list[Run], budget: int | None) -> None:
        """Drive ``runs`` round-robin in the worker: ``budget`` tokens each, or to the end."""
        drive = self.driver.begin(runs, budget, perf_counter())
        self._run_timer(True)
        self._refresh_views()
        assert self.generator is not None
        self._drive_runs(self.generator, runs, budget, drive)

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False,
          description="generating tokens")
    def _drive_runs(self, generator: TextGenerator, runs: list[Run], budget: int | None,
                    drive: int) -> None:
        worker = get_current_worker()
        self.driver.pull_runs(generator, runs, budget, lambda: worker.is_cancelled,
                              lambda notes: self.post_message(self.Notes(drive, notes)))
        self.post_message(self.DriveEnded(drive, worker.is_cancelled))

    def on_generate_pane_notes(self, message: GeneratePane.Notes) -> None:
        for note in self.driver.fresh_notes(message.drive, message.notes):
            self._say(note[:1].upper() + note[1:] + ".", timeout=8)

    def on_generate_pane_drive_ended(self, message: GeneratePane.DriveEnded) -> None:
        self._flush()
        self._beam_ended(message)
        now = perf_counter()
        for run in self.driver.settle(self.runs, message.drive, message.cancelled):
            self._end_burst(run, now)
        if message.drive == self.driver.drive:
            self._run_timer(False)
        self._refresh_views()

    def _run_timer(self, on: bool) -> None:
        """Run the flush timer for the current pace (or none)."""
        for fast, timer in self._flush_timers.items():
            if on and fast == self.driver.fast:
                timer.resume()
            else:
                timer.pause()

    def _end_burst(self, run: Run, now: float) -> None:
        timed = self.driver.end_burst(run, now)
        if timed is not None:
            self.call_after_refresh(self._painted, run, *timed)

    def _painted(self, run: Run, started: float, tokens: int) -> None:
        """Record the on-screen rate once the last token of a burst is painted."""
        if tokens:
            run.rate = tokens / max(1e-9, perf_counter() - started)
            self._refresh_titles()

    def _flush(self) -> None:
        """Move buffered tokens onto the screen (runs on the UI thread, ≤ 30 Hz)."""
        driver = self.driver
        if driver.beam_pending:
            for run in driver.drain_beam():
                self._say(run.error, title="Beam search", severity="error")
            self.beam_view.update_view()
        if not driver.pending:
            return
        touched, failed = driver.drain()
        for run in failed:
            self._say(run.error, title=f"Generate ({run.name})", severity="error")
        now = perf_counter()
        if driver.pace(self.runs, touched, now):
            self._run_timer(True)
        for view in (self.left, self.right):
            if view.run is not None and id(view.run) in touched:
                view.update_view(live=view.run.status == "running")
        active = self._inspected_view()
        if active is not None and active.run is not None and id(active.run) in touched:
            # The candidates panel follows the newest token at a calmer rate while streaming.
            if active.follow and driver.inspect_due(now):
                self._update_inspector()

    # actions -------------------------------------------------------------------

    def _new_run(self, name: str, knobs: svc.Knobs) -> Run:
        if knobs.seed is None:  # "random": pick it here, so the run can be repeated
            knobs = dataclasses.replace(knobs, seed=random.randrange(2**31))
            self._say(f"Random seed {knobs.seed}: set the seed knob to {knobs.seed} to "
                      "repeat this run.", timeout=8)
        return Run(name=name, prompt=self.prompt, knobs=knobs)

    def _stop_workers(self) -> None:
        """Cancel the drive. A server's streams are closed too (at once, even
        mid-read); the run continues later by text from what it has."""
        self.workers.cancel_group(self, "generate")
        if self.generator is not None and self.generator.capabilities.branching == "text":
            self.driver.abort_streams()

    def action_run(self) -> None:
        if self.mode == "beam":
            if self._ready("run"):
                self._beam_run(None, new=True)
            return
        if not self._ready("run") or not self._valid(self.knobs_a, "A"):
            return
        self._stop_workers()
        run = self._new_run("main", self.knobs_a)
        self.runs = [run]
        self._branches = 0
        self._show(run)
        self._start([run], None)

    def action_ab(self) -> None:
        if self._sampling_only("A/B") or not self._ready("ab"):
            return
        knobs_b = with_shared(self.knobs_b, self.knobs_a)
        if not self._valid(self.knobs_a, "A") or not self._valid(knobs_b, "B"):
            return
        self._stop_workers()
        knobs_a = self.knobs_a
        if knobs_a.seed is None:  # "random": still one seed for both sides
            seed = random.randrange(2**31)
            knobs_a = dataclasses.replace(knobs_a, seed=seed)
            knobs_b = dataclasses.replace(knobs_b, seed=seed)
            self._say(f"Random seed {seed} (A and B): set the seed knob to {seed} to repeat "
                      "this run.", timeout=8)
        run_a = self._new_run("A", knobs_a)
        run_b = self._new_run("B", knobs_b)
        run_a.partner, run_b.partner = run_b, run_a
        self.runs = [run_a, run_b]
        self._branches = 0
        self._show(run_a)
        self._start([run_a, run_b], None)

    def _target(self) -> list[Run]:
        run = self.current
        if run is None:
            return []
        return [run, run.partner] if run.partner is not None else [run]

    def action_step(self) -> None:
        if not self._ready("step"):
            return
        if self.mode == "beam":
            self._beam_run(1, new=False)
            return
        runs = [r for r in self._target() if not r.exhausted]
        if not runs:
            if not self._valid(self.knobs_a, "A"):
                return
            run = self._new_run("main", self.knobs_a)
            self.runs = [run]
            self._branches = 0
            self._show(run)
            runs = [run]
        self._stop_workers()
        reopen(runs)
        self._start(runs, 1)

    def action_resume(self) -> None:
        if not self._ready("resume"):
            return
        if self.mode == "beam":
            if self.beam is None:
                self._say("Nothing to continue: press F5 (or Enter in the prompt) to search.")
                return
            self._beam_run(None, new=False)
            return
        runs = [r for r in self._target() if not r.exhausted]
        if not runs:
            self._say("Nothing to continue: press F5 (or Enter in the prompt) to generate.")
            return
        self._stop_workers()
        reopen(runs)
        self._start(runs, None)

    def action_stop(self) -> None:
        beam = self.driver.beam_driving
        if beam is not None:
            self._stop_workers()
            beam.status = "stopped"
            self.driver.beam_driving = None
            self._flush()
            self.beam_view.update_view()
            self._update_status()
        if not self.driver.driving:
            return
        self._stop_workers()
        now = perf_counter()
        for run in self.driver.driving:
            if run.status == "running":
                run.status = "stopped"
                self._end_burst(run, now)
        self.driver.driving = []
        self._flush()
        self._refresh_views()

    def action_branch(self) -> None:
        if self._sampling_only("Branching"):
            return
        view = self._inspected_view()
        if view is None or view.run is None or view.selected_step is None or view.cursor is None:
            self._say("Generate first, then pick a token (←/→ or click) to branch from.")
            return
        step = view.selected_step
        rows = candidate_rows(step)
        if not 0 <= self.alt < len(rows):
            return
        alt = rows[self.alt]
        if alt.id == step.id:
            self._say("That is the token the model chose: pick another candidate (↑/↓).")
            return
        self._stop_workers()
        self._branches += 1
        parent = view.run
        branch = parent.branch(
            view.cursor, alt.id, alt.token,
            alt.after if alt.after is not None else 0.0, f"⑂{self._branches}",
        )
        branch.partner = None
        self.runs.append(branch)
        self._show(branch)
        self.right.focus()
        self._start([branch], None)

    def _valid(self, knobs: svc.Knobs, name: str) -> bool:
        try:
            validate(knobs)
        except UserError as exc:
            self._say(f"knobs {name}: {exc}", title="Invalid knob", severity="error")
            return False
        return True

    # showing runs ----------------------------------------------------------------

    def _show(self, run: Run | None) -> None:
        """Make ``run`` current: alone, beside its A/B partner, or beside its parent."""
        self.current = run
        left, right = self.left, self.right
        if run is None:
            left.set_run(None)
            right.set_class(False, "-shown")
        elif run.partner is not None:
            a, b = (run, run.partner) if run.name == "A" else (run.partner, run)
            left.set_run(a)
            right.set_run(b)
            right.set_class(True, "-shown")
        elif run.parent is not None:
            left.set_run(run.parent, compare_fork=run.fork_at)
            if run.fork_at is not None:  # the original, at the fork
                left.move_cursor(run.fork_at, notify=False)
            right.set_run(run)
            right.set_class(True, "-shown")
        else:
            left.set_run(run)
            right.set_class(False, "-shown")
        target = right if run is not None and run.parent is not None else left
        self._active_view = target
        for view in (left, right):
            view.digits = self.digits
        self._update_inspector()
        self._update_status()

    def _refresh_views(self) -> None:
        for view in (self.left, self.right):
            if view.run is not None:
                view.update_view()
        self._update_inspector()
        self._update_status()

    def _refresh_titles(self) -> None:
        for view in (self.left, self.right):
            if view.run is not None:
                view.update_view()

    def _inspected_view(self) -> RunView | None:
        focused = self.app.focused if self.is_attached else None
        if isinstance(focused, RunView) and focused.run is not None:
            return focused
        if self._active_view is not None and self._active_view.run is not None:
            return self._active_view
        return self.left if self.left.run is not None else None

    def _reset_alt(self, view: RunView) -> None:
        """Highlight the most likely token the model did not choose."""
        step = view.selected_step
        self.alt = 0
        if step is None:
            return
        for i, row in enumerate(candidate_rows(step)):
            if row.id != step.id:
                self.alt = i
                return

    def _update_inspector(self) -> None:
        view = self._inspected_view()
        step = view.selected_step if view is not None else None
        position = view.cursor if view is not None else None
        if step is not None and step is not self._alt_step:
            # A new token under the cursor: highlight its best alternative.
            self._alt_step = step
            self._reset_alt(view)  # type: ignore[arg-type]
        self.inspector.show(step, position, self.alt, self.vocab_size)

    # choosing what is shown ----------------------------------------------------

    def action_digits(self) -> None:
        if self._sampling_only("Probability digits"):
            return
        self.digits = not self.digits
        for view in (self.left, self.right):
            view.digits = self.digits
            view.update_view()
        self._update_hint()

    def action_inspector(self) -> None:
        if self._sampling_only("The candidates panel"):
            return
        self.toggle_class("-no-inspector")

    def action_cycle_run(self, step: int) -> None:
        if self._sampling_only("Switching runs"):
            return
        if not self.runs:
            return
        index = self.runs.index(self.current) if self.current in self.runs else 0
        self._show(self.runs[(index + step) % len(self.runs)])

    def on_run_view_selected(self, message: RunView.Selected) -> None:
        self._active_view = message.view
        self._update_inspector()

    def on_run_view_alt_moved(self, message: RunView.AltMoved) -> None:
        self._active_view = message.view
        step = message.view.selected_step
        if step is None:
            return
        rows = min(len(candidate_rows(step)), max(1, self.inspector.rows_shown))
        self.alt = (self.alt + message.delta) % rows
        self._update_inspector()

    def on_run_view_branch_requested(self, message: RunView.BranchRequested) -> None:
        self._active_view = message.view
        self.action_branch()

    def on_inspector_alt_clicked(self, message: Inspector.AltClicked) -> None:
        self.alt = message.index
        self._update_inspector()
        if message.branch:
            self.action_branch()

    def on_status_bar_run_clicked(self, message: StatusBar.RunClicked) -> None:
        if 0 <= message.index < len(self.runs):
            self._show(self.runs[message.index])
