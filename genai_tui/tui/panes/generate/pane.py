"""The generate pane (`GeneratePane`): its layout, keys, state and wiring.

The pane composes the prompt, the knob grid, the bars and the views, and
wires them: the run driver (`driver.py`: queue, lock, round-robin, pacing) is
started and flushed by `sampling.SamplingRuns` and `beam_mode.BeamMode`, the
back end is loaded by `backend_loading.BackendLoading`, and the bars' text
comes from `status.py`. Export and lessons (`export.py`) are answered here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Input, Static

from genai_tui.sampling.knobs import validate
from genai_tui.service import generate as svc
from genai_tui.service.backend import BackendSpec, TextGenerator
from genai_tui.service.beam import BeamSettings
from genai_tui.textsafe import escape_controls
from genai_tui.tui.pane import Export, Pane, json_export
from genai_tui.tui.panes.generate import export
from genai_tui.tui.panes.generate.backend_loading import BackendLoading
from genai_tui.tui.panes.generate.bars import Legend, StatusBar, TextBar
from genai_tui.tui.panes.generate.beam_mode import BeamMode
from genai_tui.tui.panes.generate.beam_view import BeamView
from genai_tui.tui.panes.generate.driver import FAST_FLUSH_HZ, FLUSH_HZ, RunDriver
from genai_tui.tui.panes.generate.help import HELP as PANE_HELP
from genai_tui.tui.panes.generate.inspector import Inspector
from genai_tui.tui.panes.generate.knob_specs import with_shared
from genai_tui.tui.panes.generate.knobs import KnobPanel
from genai_tui.tui.panes.generate.render import legend
from genai_tui.tui.panes.generate.run_view import RunView
from genai_tui.tui.panes.generate.runs import BeamRun, Run
from genai_tui.tui.panes.generate.sampling import SamplingRuns
from genai_tui.tui.panes.generate.status import beam_status_text, hint_text, status_text
from genai_tui.tui.textbox import SafeInput

DEFAULT_PROMPT = "The assert statement"

DEFAULT_KNOBS_A = svc.Knobs(temperature=0.8, top_k=40, top_p=0.95, seed=0, max_tokens=64)
DEFAULT_KNOBS_B = svc.Knobs(temperature=1.3, seed=0, max_tokens=64)


class GeneratePane(SamplingRuns, BeamMode, BackendLoading, Pane):
    """Streaming generation with every decoding knob, the sampler X-ray,
    counterfactual branches and A/B comparison."""

    PANE_ID = "generate"
    TITLE = "Generate"
    HELP = PANE_HELP
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

    def _say(self, text: str, **kwargs: Any) -> None:
        """A notification of plain text (messages can hold paths or model text)."""
        self.notify(escape_controls(text, keep_newlines=False), markup=False, **kwargs)

    @property
    def busy(self) -> bool:
        """Loading, generating, or holding tokens not yet on screen."""
        return self.model_loading or self.driver.busy

    @property
    def vocab_size(self) -> int | None:
        return self.generator.vocab_size if self.generator is not None else None

    # knobs and status --------------------------------------------------------

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

    def action_focus_prompt(self) -> None:
        self.query_one("#gen-prompt", SafeInput).focus()

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
                self.knobs_b = with_shared(self.knobs_b, self.knobs_a)
            self._update_hint()
            return
        if self.editing == "B":
            self.knobs_b = knobs
            self.knobs_a = with_shared(self.knobs_a, knobs)
        else:
            self.knobs_a = knobs
            self.knobs_b = with_shared(self.knobs_b, knobs)
        self._update_hint()

    def on_knob_panel_moved(self, message: KnobPanel.Moved) -> None:
        self._update_hint()

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
        self.knobs_b = with_shared(self.knobs_b, self.knobs_a)
        self.editing = "A"
        self.knob_panel.set_knobs(self.knobs_a, "A")
        self._update_hint()


