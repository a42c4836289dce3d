"""The generate pane's back end: load the local model or reach a server, in a worker.

`BackendLoading` is a mixin of `GeneratePane`. A switch (F9) keeps the working
back end until the new one answers, and keeps it when the new one fails, so
it does not use the pane kit's one-shot loader (`Pane.start_loading`, whose
failure replaces the pane's view); it shares the kit's worker group name
(``generate-load``), `settle_heap` after loading and `report_error`. An action
asked for while loading is queued and runs once the model is ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from genai_tui.service.backend import BackendSpec
from genai_tui.service.runtime import settle_heap, torch_threads
from genai_tui.textsafe import escape_controls
from genai_tui.tui.pane import export_dir
from genai_tui.tui.panes.generate.knob_specs import KNOBS
from genai_tui.tui.panes.generate.status import describe_backend, describe_load_error

if TYPE_CHECKING:
    from genai_tui.tui.panes.generate.pane import GeneratePane

_PANE_KNOBS = frozenset(spec.field for spec in KNOBS)


class BackendLoading:
    """Loading and switching the pane's `TextGenerator` (mixed into `GeneratePane`)."""

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

    def on_generate_pane_model_loaded(self, message: GeneratePane.ModelLoaded) -> None:
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

    def on_generate_pane_model_failed(self, message: GeneratePane.ModelFailed) -> None:
        self.model_loading = False
        if self.generator is not None:  # a switch failed: keep what works
            self._update_status()
            self._say(f"{message.text} Still generating with {self.generator.describe()}.",
                      title="Back end", severity="error", timeout=10)
            return
        self.model_error = message.text
        self.left.show_message(Text("✗ " + message.text, style="bold red"))
        self._update_status()
        self.report_error(escape_controls(message.text, keep_newlines=False))

    def action_backend(self) -> None:
        """Choose the back end: the local model, or a server and one of its models."""
        from genai_tui.tui.panes.generate.backend_screen import BackendScreen

        def chosen(spec: BackendSpec | None) -> None:
            if spec is not None:
                self.use_backend(spec)

        here = Path.cwd()
        folders = [export_dir(self)] + ([here] if here != export_dir(self) else [])
        self.app.push_screen(BackendScreen(self.spec(), folders), chosen)

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
