"""The generate pane: watch a real language model choose each next token.

The worker thread pulls `TokenStep`s from the service's generator and drops
them in a queue; a 30 Hz timer on the UI thread moves them onto the screen,
so the UI never waits on the model and never repaints per token.

Beam mode (F4) swaps the knob grid for beam search's knobs and the outputs for
a `BeamView`; its worker pulls `BeamUpdate`s from `TextGenerator.beam_search`
(what ``genai-tui generate --beam`` prints) through the same queue-and-timer path.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from time import perf_counter
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Input, Static
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import SHARED_KNOBS, validate
from genai_tui.service import generate as svc
from genai_tui.service.backend import BackendSpec, TextGenerator
from genai_tui.service.beam import BeamSettings
from genai_tui.service.beam import validate as validate_beam
from genai_tui.service.runtime import settle_heap, torch_threads
from genai_tui.textsafe import escape_controls
from genai_tui.tui.pane import Export, Pane, json_export
from genai_tui.tui.panes.generate import export
from genai_tui.tui.panes.generate.bars import Legend, StatusBar, TextBar
from genai_tui.tui.panes.generate.beam_view import BeamView
from genai_tui.tui.panes.generate.driver import (
    FAST_FLUSH_HZ,
    FLUSH_HZ,
    RunDriver,
    ended_status,
    reopen,
)
from genai_tui.tui.panes.generate.inspector import Inspector
from genai_tui.tui.panes.generate.knob_specs import BEAM_SPECS, KNOBS
from genai_tui.tui.panes.generate.knobs import KnobPanel
from genai_tui.tui.panes.generate.render import candidate_rows, legend
from genai_tui.tui.panes.generate.run_view import RunView
from genai_tui.tui.panes.generate.runs import BeamRun, Run
from genai_tui.tui.panes.generate.status import (
    beam_status_text,
    describe_backend,
    describe_load_error,
    hint_text,
    status_text,
)
from genai_tui.tui.textbox import SafeInput

DEFAULT_PROMPT = "The assert statement"

DEFAULT_KNOBS_A = svc.Knobs(temperature=0.8, top_k=40, top_p=0.95, seed=0, max_tokens=64)
DEFAULT_KNOBS_B = svc.Knobs(temperature=1.3, seed=0, max_tokens=64)


class GeneratePane(Pane):
    """Streaming generation with every decoding knob, the sampler X-ray,
    counterfactual branches and A/B comparison."""

    PANE_ID = "generate"
    TITLE = "Generate"
    HELP = """
A small GPT-style transformer (trained on Python's documentation) writes a
continuation of your prompt **one token at a time**. At each step it gives a
probability to every token of its vocabulary; the **sampler chain** (the knobs)
reshapes that distribution, then one token is drawn.

- **Colours** show how likely the chosen token was (legend bottom right);
  unlikely tokens are also *italic* or underlined. `p` shows the digits.
- **Candidates** (right): the model's top tokens *before* the knobs and
  *after* them, and the **sampler X-ray**: what each stage leaves and how many
  tokens survive it (e.g. "top-p 0.95 keeps 23").
- **Knobs**: temperature, top-k, top-p, min-p, typical-p, repetition /
  presence / frequency penalties, max tokens, stop strings, seed, greedy and
  the order of the stages. Focus the knob row (Tab or click): ↑/↓ pick a knob,
  ←/→ change it, Enter types a value, Backspace switches it off.
- **Step** one token per key press; **stop** at any time and **continue**.
- **Branch**: move the cursor over the output (←/→ or click), pick another
  candidate (↑/↓ or click) and press Enter/`b`: the model continues from that
  token, and the branch is shown beside the original. `[`/`]` switch runs.
- **A/B**: `v` edits the second knob set (B); F8 runs A and B side by side
  from the same prompt and seed. Starting a generation stops the one running.
- **Speculative decoding**: the run's title shows *tokens per pass* when the
  model checked several tokens in one forward pass. Guesses come from the
  text itself (the last words' earlier continuation); a guess counts only if
  the sampler picks it anyway, so the text is exactly what plain decoding
  writes, just sooner.
- **Beam search** (F4, or `m` outside the prompt, switches between sampling
  and beam search): instead of drawing one token, keep the *width* best
  partial continuations ("beams") by cumulative log-probability; each step
  extends every beam by every token and keeps the best, the rest are
  *pruned*. A continuation that reaches a blank line (or max tokens) is
  *finished* and scored log-prob / length^*length penalty*; *early stopping*
  says when to stop (true: once *width* are finished; false/never: when no live
  beam can beat them). The view shows each step's live beams with their
  log-probabilities (the token the step added in green, `←2`: the beam it
  extends), what was pruned, what has finished, and at the end the final
  ranking. F6 runs one step; ←/→ on the view revisit earlier steps, End
  follows the newest. The same as `genai-tui generate --beam 4
  --length-penalty 1 --early-stopping false` (knob names and defaults are
  shared). Local model only: a server returns one sequence, not every beam.
- **Back end** (F9): our local model, or any OpenAI-compatible server
  (llama.cpp's server, vLLM, Ollama, `genai-tui serve`): give its URL, list
  its models (Ctrl+L) and connect. The status bar names the model and what
  that back end cannot show. A server samples out of sight: there is no
  sampler X-ray and no "after the knobs" column (—), knobs it ignores are
  struck through, and where it returns no logprobs tokens are drawn plain
  and the candidates say so. Stop closes the server's stream; Continue and
  branches send the prompt plus the text so far. The same from the shell:
  `genai-tui --backend URL --model NAME`.
"""
    BINDINGS = [
        Binding("f5", "run", "Run"),
        Binding("f6", "step", "Step"),
        Binding("escape", "stop", "Stop"),
        Binding("f7", "resume", "Continue"),
        Binding("f8", "ab", "A/B"),
        Binding("f9", "backend", "Back end"),
        Binding("f4", "beam_mode", "Beam"),
        Binding("m", "beam_mode", "Switch beam search / sampling", show=False),
        Binding("b", "branch", "Branch at cursor", show=False),
        Binding("n", "step", "Step one token", show=False),
        Binding("s", "stop", "Stop generating", show=False),
        Binding("c", "resume", "Continue generating", show=False),
        Binding("a", "ab", "Run A/B side by side", show=False),
        Binding("v", "switch_set", "Edit knobs A / B", show=False),
        Binding("g", "greedy", "Toggle greedy", show=False),
        Binding("p", "digits", "Show probability digits", show=False),
        Binding("x", "inspector", "Show/hide candidates", show=False),
        Binding("left_square_bracket", "cycle_run(-1)", "Previous run", show=False),
        Binding("right_square_bracket", "cycle_run(1)", "Next run", show=False),
        Binding("slash", "focus_prompt", "Edit prompt", show=False),
    ]
    DEFAULT_CSS = """
    GeneratePane { layout: vertical; height: 1fr; }
    GeneratePane #gen-head { height: auto; }
    GeneratePane #gen-top { height: 1; }
    GeneratePane #gen-top > Static { width: auto; color: $text-muted; }
    GeneratePane #gen-prompt { width: 1fr; }
    GeneratePane #gen-top > Button { min-width: 6; margin-left: 1; }
    GeneratePane #gen-status { height: 1; background: $boost; }
    GeneratePane #gen-main { height: 1fr; }
    GeneratePane #gen-right { display: none; border-left: vkey $primary-darken-2; }
    GeneratePane #gen-right.-shown { display: block; }
    GeneratePane #gen-bottom { height: 1; }
    GeneratePane #gen-hint { width: 1fr; color: $text-muted; }
    /* A knob's hint is a sentence: it takes the legend's place and may wrap onto
       a second line rather than lose its ending on a narrow terminal (two lines
       throughout, so moving between knobs does not make the layout jump). */
    GeneratePane.-knob-hint #gen-bottom { height: 2; }
    GeneratePane.-knob-hint #gen-hint { height: 2; }
    GeneratePane.-knob-hint #gen-legend { display: none; }
    GeneratePane #gen-legend { width: 31; margin-left: 1; }
    GeneratePane #gen-outputs { width: 1fr; height: 1fr; }
    GeneratePane #gen-inspector-box { width: auto; height: 1fr; }
    GeneratePane.-no-inspector #gen-inspector-box { display: none; }
    GeneratePane #gen-beam { display: none; }
    GeneratePane.-beam #gen-beam { display: block; }
    GeneratePane.-beam #gen-outputs { display: none; }
    GeneratePane.-beam #gen-inspector-box { display: none; }
    GeneratePane.-beam #gen-legend { display: none; }
    """

    MODEL_PATH: str | None = None
    """Model folder to load (None: the bundled ``assets/lm``); tests point it at a tiny one."""

    class ModelLoaded(Message):
        def __init__(self, generator: TextGenerator, spec: BackendSpec) -> None:
            super().__init__()
            self.generator = generator
            self.spec = spec

    class ModelFailed(Message):
        def __init__(self, text: str, spec: BackendSpec) -> None:
            super().__init__()
            self.text = text
            self.spec = spec

    class Notes(Message):
        """What a back end said before its first token (prompt cut, knobs ignored)."""

        def __init__(self, drive: int, notes: list[str]) -> None:
            super().__init__()
            self.drive = drive
            self.notes = notes

    class DriveEnded(Message):
        def __init__(self, drive: int, cancelled: bool) -> None:
            super().__init__()
            self.drive = drive
            self.cancelled = cancelled

    def __init__(self, *, id: str | None = None, model_path: str | None = None,
                 backend: BackendSpec | None = None) -> None:
        """``backend``: where to generate (default: the app's ``--backend``, else
        the local model at ``model_path``, else the bundled one)."""
        super().__init__(id=id)
        self.model_path = model_path
        self.backend = backend
        self.generator: TextGenerator | None = None
        self.model_info = ""
        self.model_error = ""
        self.model_loading = False
        self.knobs_a = DEFAULT_KNOBS_A
        self.knobs_b = DEFAULT_KNOBS_B
        self.editing = "A"
        self.runs: list[Run] = []
        self.current: Run | None = None
        self.digits = False
        self.alt = 0
        self.driver = RunDriver()
        """The queue, lock, drive numbers and flush pace (Textual-free)."""
        self._queued: str | None = None
        self._branches = 0
        self._flush_timers: dict[bool, Timer] = {}
        """The flush timers, by "fast stream"; at most one runs."""
        self._active_view: RunView | None = None
        self._alt_step: Any = None
        self.mode = "sample"
        """"sample" (greedy and the sampler chain) or "beam" (beam search)."""
        self.beam_settings = BeamSettings(max_tokens=DEFAULT_KNOBS_A.max_tokens)
        self.beam: BeamRun | None = None

    # layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="gen-head"):  # (a box of its own: see gen-main below)
            with Horizontal(id="gen-top"):
                yield Static("Prompt›")
                yield SafeInput(DEFAULT_PROMPT, placeholder="type a prompt, Enter to generate",
                                id="gen-prompt", compact=True, newlines=True)
                # Buttons for the mouse; the keyboard has F5-F8 (so Tab skips them).
                for label, button_id, tip in (
                    ("▶ Run", "gen-run", "Generate (F5)"),
                    ("⏭ Step", "gen-step", "One token (F6)"),
                    ("■ Stop", "gen-stop", "Stop (Esc)"),
                    ("A/B", "gen-ab", "A and B side by side (F8)"),
                    ("Beam", "gen-beam-mode", "Beam search / sampling (F4)"),
                ):
                    button = Button(label, id=button_id, compact=True, tooltip=tip)
                    button.can_focus = False
                    yield button
            panel = KnobPanel(self.knobs_a, id="gen-knobs")
            panel.validator = validate
            yield panel
            yield StatusBar(id="gen-status")
        with Horizontal(id="gen-main"):
            # Each side in its own box: Textual repaints every widget whose
            # *parent's* region meets a changed line, so a token landing in
            # the output would otherwise re-filter the whole inspector too.
            with Horizontal(id="gen-outputs"):
                yield RunView(id="gen-left")
                yield RunView(id="gen-right")
            with Vertical(id="gen-inspector-box"):
                yield Inspector(id="gen-inspector")
            yield BeamView(id="gen-beam")
        with Horizontal(id="gen-bottom"):
            yield TextBar(id="gen-hint")
            yield Legend(id="gen-legend")

    @property
    def left(self) -> RunView:
        return self.query_one("#gen-left", RunView)

    @property
    def right(self) -> RunView:
        return self.query_one("#gen-right", RunView)

    @property
    def inspector(self) -> Inspector:
        return self.query_one("#gen-inspector", Inspector)

    @property
    def beam_view(self) -> BeamView:
        return self.query_one("#gen-beam", BeamView)

    @property
    def knob_panel(self) -> KnobPanel:
        return self.query_one("#gen-knobs", KnobPanel)

    @property
    def prompt(self) -> str:
        return self.query_one("#gen-prompt", SafeInput).text

    def on_mount(self) -> None:
        self._flush_timers = {
            False: self.set_interval(1 / FLUSH_HZ, self._flush, pause=True),
            True: self.set_interval(1 / FAST_FLUSH_HZ, self._flush, pause=True),
        }
        self.left.show_message(Text("The model loads when this tab is first shown.", "grey50"))
        self.query_one("#gen-legend", Legend).set_text(legend())
        self._update_status()
        self._update_hint()

    def on_resize(self, event: events.Resize) -> None:
        self.inspector.styles.width = max(30, min(48, event.size.width * 2 // 5))

    # model -------------------------------------------------------------------

    def spec(self) -> BackendSpec:
        """The back end this pane uses (or will, once loaded)."""
        if self.backend is not None:
            return self.backend
        from genai_tui.tui.app import GenaiApp

        app = self.app if self.is_attached else None
        if isinstance(app, GenaiApp) and app.backend is not None:
            return app.backend
        return BackendSpec(model=self.model_path or self.MODEL_PATH)

    def on_pane_first_show(self) -> None:
        self.call_after_refresh(self.action_focus_prompt)
        self.use_backend(self.spec())

    def use_backend(self, spec: BackendSpec) -> None:
        """Load ``spec``'s model or reach its server (in a worker); until it answers
        the current back end (if any) stays in use."""
        self.model_loading = True
        if self.generator is None:
            where = "the language model" if spec.local else escape_controls(spec.url or "", False)
            self.left.show_message(Text(f"⏳ Loading {where}…", "bold #ffd75f"))
        self._update_status()
        self._load_model(spec)

    @work(thread=True, exclusive=True, group="generate-load", exit_on_error=False,
          description="loading the language model")
    def _load_model(self, spec: BackendSpec) -> None:
        try:
            with torch_threads(1):
                generator = spec.open(check=True)
        except Exception as exc:  # noqa: BLE001 - any failure is shown, the app stays up
            self.post_message(self.ModelFailed(describe_load_error(exc, spec), spec))
            return
        settle_heap()  # the model lives as long as the app: no full collection walks it
        self.post_message(self.ModelLoaded(generator, spec))

    def on_generate_pane_model_loaded(self, message: ModelLoaded) -> None:
        self.model_loading = False
        if self.generator is not None:  # a switch: the old runs belong to the old model
            self._stop_workers()
            self.driver.reset()
            self._run_timer(False)
            self.runs, self.current = [], None
            self._show(None)
            self.beam = None
            self.beam_view.set_run(None)
            self.generator.close()
            self._say(f"Now generating with {message.generator.describe()}.", timeout=6)
        self.generator = message.generator
        self.model_error = ""
        self.backend = message.spec
        caps = message.generator.capabilities
        self.model_info = describe_backend(message.generator)
        self.knob_panel.set_honoured(None if caps.knobs >= _PANE_KNOBS else caps.knobs)
        self.inspector.set_capabilities(caps)
        self.left.set_run(None)
        self._update_status()
        self._update_hint()
        queued, self._queued = self._queued, None
        if queued:
            getattr(self, f"action_{queued}")()

    def on_generate_pane_model_failed(self, message: ModelFailed) -> None:
        self.model_loading = False
        if self.generator is not None:  # a switch failed: keep what works
            self._update_status()
            self._say(f"{message.text} Still generating with {self.generator.describe()}.",
                      title="Back end", severity="error", timeout=10)
            return
        self.model_error = message.text
        self.left.show_message(Text("✗ " + message.text, style="bold red"))
        self._update_status()
        self._say(message.text, title="Generate", severity="error", timeout=8)

    def action_backend(self) -> None:
        """Choose the back end: the local model, or a server and one of its models."""
        from genai_tui.tui.panes.generate.backend_screen import BackendScreen

        def chosen(spec: BackendSpec | None) -> None:
            if spec is not None:
                self.use_backend(spec)

        self.app.push_screen(BackendScreen(self.spec()), chosen)

    def _say(self, text: str, **kwargs: Any) -> None:
        """A notification of plain text (messages can hold paths or model text)."""
        self.notify(escape_controls(text, keep_newlines=False), markup=False, **kwargs)

    def _ready(self, action: str) -> bool:
        if self.generator is not None:
            return True
        if self.model_loading:
            self._queued = action
            self._say("The model is still loading; it will start when ready.", timeout=3)
        elif self.model_error:
            self._say(self.model_error, title="No model", severity="error")
        else:
            self._queued = action
            self.on_pane_first_show()
        return False

    def _valid(self, knobs: svc.Knobs, name: str) -> bool:
        try:
            validate(knobs)
        except UserError as exc:
            self._say(f"knobs {name}: {exc}", title="Invalid knob", severity="error")
            return False
        return True

    @property
    def busy(self) -> bool:
        """Loading, generating, or holding tokens not yet on screen."""
        return self.model_loading or self.driver.busy

    @property
    def vocab_size(self) -> int | None:
        return self.generator.vocab_size if self.generator is not None else None

    # generation ------------------------------------------------------------

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

    # beam search ---------------------------------------------------------------

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

    def _beam_ended(self, message: DriveEnded) -> None:
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

    def on_generate_pane_notes(self, message: Notes) -> None:
        for note in self.driver.fresh_notes(message.drive, message.notes):
            self._say(note[:1].upper() + note[1:] + ".", timeout=8)

    def on_generate_pane_drive_ended(self, message: DriveEnded) -> None:
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
        knobs_b = _shared(self.knobs_b, self.knobs_a)
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

    def action_switch_set(self) -> None:
        if self._sampling_only("Knob set B"):
            return
        self.editing = "B" if self.editing == "A" else "A"
        self.knob_panel.set_knobs(self.knobs_b if self.editing == "B" else self.knobs_a,
                                  self.editing)
        self._update_status()

    def action_greedy(self) -> None:
        panel = self.knob_panel
        if self.mode == "beam":  # greedy is beam width 1 (and back to the registry's width)
            width = BeamSettings().num_beams if self.beam_settings.num_beams == 1 else 1
            panel.set_value("num_beams", width)
            return
        panel.set_value("greedy", not panel.knobs.greedy)

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

    def action_focus_prompt(self) -> None:
        self.query_one("#gen-prompt", SafeInput).focus()

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

    def _update_status(self) -> None:
        if self.mode == "beam":
            text = beam_status_text(
                loading=self.model_loading, error=self.model_error,
                local_only=self.generator is not None
                and not self.generator.capabilities.beam_search,
                searching=self.driver.beam_driving is not None, model_info=self.model_info)
        else:
            text = status_text(
                self.runs, self.current,
                any(r.status == "running" for r in self.driver.driving), self.editing,
                loading=self.model_loading, error=self.model_error, model_info=self.model_info)
        self.query_one("#gen-status", StatusBar).set_text(text)

    def _update_hint(self) -> None:
        focused = self.app.focused if self.is_attached else None
        self.set_class(isinstance(focused, KnobPanel), "-knob-hint")
        if isinstance(focused, KnobPanel):
            hint = focused.hint()
        elif isinstance(focused, BeamView):
            hint = hint_text("beam_view")
        elif self.mode == "beam":
            hint = hint_text("beam")
        elif isinstance(focused, RunView):
            hint = hint_text("run_view")
        else:
            hint = hint_text("sample")
        self.query_one("#gen-hint", TextBar).set_text(hint)

    # events -------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, RunView) and event.widget.run is not None:
            self._active_view = event.widget
        self._update_hint()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._update_hint()

    @on(Input.Submitted, "#gen-prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        actions = {"gen-run": "run", "gen-step": "step", "gen-stop": "stop", "gen-ab": "ab",
                   "gen-beam-mode": "beam_mode"}
        action = actions.get(event.button.id or "")
        if action:
            event.stop()
            getattr(self, f"action_{action}")()

    def on_knob_panel_changed(self, message: KnobPanel.Changed) -> None:
        knobs = message.panel.knobs
        if isinstance(knobs, BeamSettings):
            self.beam_settings = knobs
            if message.field_name == "max_tokens":  # one length for both modes
                self.knobs_a = dataclasses.replace(self.knobs_a, max_tokens=knobs.max_tokens)
                self.knobs_b = _shared(self.knobs_b, self.knobs_a)
            self._update_hint()
            return
        if self.editing == "B":
            self.knobs_b = knobs
            self.knobs_a = _shared(self.knobs_a, knobs)
        else:
            self.knobs_a = knobs
            self.knobs_b = _shared(self.knobs_b, knobs)
        self._update_hint()

    def on_knob_panel_moved(self, message: KnobPanel.Moved) -> None:
        self._update_hint()

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

    def on_status_bar_set_clicked(self, message: StatusBar.SetClicked) -> None:
        self.action_switch_set()

    def on_legend_clicked(self, message: Legend.Clicked) -> None:
        self.action_digits()

    # export and lessons (genai_tui/tui/panes/generate/export.py) --------------

    EXPORTS = "the runs' text with per-token probabilities as JSON"

    def export_data(self) -> Export | None:
        if self.mode == "beam":
            beam = self.beam
            if beam is None or not beam.steps:
                return None
            return json_export("generate-beams", export.beams_document(beam, self.model_info))
        if not any(run.steps for run in self.runs):
            return None
        return json_export("generate-tokens",
                           export.runs_document(list(self.runs), self.current, self.model_info))

    @classmethod
    def check_lesson_knobs(cls, knobs: Mapping[str, Any]) -> None:
        export.knobs_with(DEFAULT_KNOBS_A, knobs)

    def lesson_knobs(self, names: list[str]) -> dict[str, Any]:
        return {name: getattr(self.knobs_a, name) for name in names}

    def lesson_set_knobs(self, knobs: Mapping[str, Any]) -> None:
        """Set knobs of set A (shared ones on B too) and show set A."""
        self.knobs_a = export.knobs_with(self.knobs_a, knobs)
        self.knobs_b = _shared(self.knobs_b, self.knobs_a)
        self.editing = "A"
        self.knob_panel.set_knobs(self.knobs_a, "A")
        self._update_hint()


def _shared(knobs: svc.Knobs, source: svc.Knobs) -> svc.Knobs:
    """``knobs`` with the shared knobs (the registry's: seed and length, so that an
    A/B run compares decoding from the same start) taken from ``source``."""
    return dataclasses.replace(knobs, **{name: getattr(source, name) for name in SHARED_KNOBS})


_PANE_KNOBS = frozenset(spec.field for spec in KNOBS)
