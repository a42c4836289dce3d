"""The generate pane's beam mode (F4): beam search's knobs, its worker and its view.

`BeamMode` is a mixin of `GeneratePane`. F5 makes a `runs.BeamRun` and drives
it on the pane's `driver.RunDriver` (same worker group, lock and flush timer
as sampling); F6 pulls one step, F7 continues. Sampling-only actions say so
instead of acting (`_sampling_only`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from textual import work
from textual.widgets import Button
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import validate
from genai_tui.service.backend import TextGenerator
from genai_tui.service.beam import validate as validate_beam
from genai_tui.tui.panes.generate.driver import ended_status
from genai_tui.tui.panes.generate.knob_specs import BEAM_SPECS, KNOBS
from genai_tui.tui.panes.generate.run_view import RunView
from genai_tui.tui.panes.generate.runs import BeamRun

if TYPE_CHECKING:
    from genai_tui.tui.panes.generate.pane import GeneratePane


class BeamMode:
    """Beam search in the pane (mixed into `GeneratePane`)."""

    def _start_beam(self, run: BeamRun, budget: int | None) -> None:
        """Drive ``run``'s beam search in the worker: ``budget`` steps, or to the end."""
        drive = self.driver.begin_beam(run)
        self._run_timer(True)
        self.beam_view.set_run(run)
        self._update_status()
        assert self.generator is not None
        self._drive_beam(self.generator, run, budget, drive)

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False,
          description="beam search")
    def _drive_beam(self, generator: TextGenerator, run: BeamRun, budget: int | None,
                    drive: int) -> None:
        worker = get_current_worker()
        self.driver.pull_beam(generator, run, budget, lambda: worker.is_cancelled)
        self.post_message(self.DriveEnded(drive, worker.is_cancelled))

    def _beam_run(self, budget: int | None, new: bool) -> None:
        """Start a beam search (``new``) or continue the current one."""
        generator = self.generator
        assert generator is not None
        if not generator.capabilities.beam_search:
            self._say("Beam search runs on the local model only: a server returns one "
                      "sequence, not every beam's distribution (F9 chooses the back end).",
                      title="Beam search", severity="error")
            return
        run = self.beam
        if new or run is None or run.exhausted:
            if budget is None and not new and run is not None and run.exhausted:
                self._say("This beam search has ended: F5 (or Enter in the prompt) starts "
                          "another.")
                return
            try:
                validate_beam(self.beam_settings)
            except UserError as exc:
                self._say(f"beam search: {exc}", title="Invalid knob", severity="error")
                return
            run = BeamRun(prompt=self.prompt, settings=self.beam_settings)
            self.beam = run
        self._stop_workers()
        self._start_beam(run, budget)

    def _beam_ended(self, message: GeneratePane.DriveEnded) -> None:
        run = self.beam
        if run is None or run.drive != message.drive:
            return
        if run.status == "running":
            run.status = ended_status(run, message.cancelled)
        if self.driver.beam_driving is run:
            self.driver.beam_driving = None
        self.beam_view.update_view()

    def action_beam_mode(self) -> None:
        """Switch between sampling and beam search (the knob grid and the view follow)."""
        self.action_stop()
        panel = self.knob_panel
        if self.mode == "sample":
            self.mode = "beam"
            self.beam_settings = dataclasses.replace(self.beam_settings,
                                                     max_tokens=self.knobs_a.max_tokens)
            panel.validator = validate_beam
            panel.set_knobs(self.beam_settings, "beam", specs=BEAM_SPECS)
            self.beam_view.update_view()
        else:
            self.mode = "sample"
            panel.validator = validate
            panel.set_knobs(self.knobs_b if self.editing == "B" else self.knobs_a,
                            self.editing, specs=KNOBS)
        self.set_class(self.mode == "beam", "-beam")
        self.query_one("#gen-beam-mode", Button).variant = "success" if self.mode == "beam" \
            else "default"
        focused = self.app.focused if self.is_attached else None
        if focused is None or not focused.display or isinstance(focused, RunView):
            self.call_after_refresh(self.action_focus_prompt)
        self._update_status()
        self._update_hint()

    def _sampling_only(self, what: str) -> bool:
        """In beam mode, say that ``what`` belongs to sampling (True: refused)."""
        if self.mode != "beam":
            return False
        self._say(f"{what} is for sampling: F4 switches back from beam search.", timeout=4)
        return True
