"""The Generate pane's beam-mode view: one step of a beam search at a time.

While the search runs the view follows the newest step; ←/→ go back and
forth over the steps seen (what was live and what was pruned at each), Home
goes to the first, End follows the newest again. The text comes from
`beam_render` (plain `Text`, never markup).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from genai_tui.sampling.knobs import BEAM_KNOB_BY_FIELD, format_value
from genai_tui.service.beam import BeamUpdate
from genai_tui.tui.panes.generate.beam_render import step_view, waiting_text
from genai_tui.tui.panes.generate.runs import BeamRun

STATUS_MARKS = {"running": "● running", "paused": "⏸ paused", "stopped": "■ stopped",
                "done": "✓ done", "error": "✗ error", "idle": ""}


class BeamView(VerticalScroll, can_focus=True):
    """A beam search's steps: live beams, pruned candidates, finished hypotheses,
    and the final ranking; ←/→ pick the step."""

    BINDINGS = [
        Binding("left", "step(-1)", "Previous step", show=False),
        Binding("right", "step(1)", "Next step", show=False),
        Binding("home", "first", "First step", show=False),
        Binding("end", "follow", "Newest step", show=False),
    ]
    DEFAULT_CSS = """
    BeamView {
        border-top: solid $primary-darken-2; height: 1fr; width: 1fr; padding: 0 1;
        scrollbar-size-vertical: 1;
        /* the scrollbar's column is always kept: the width lines are cut to never
           changes when a tall step brings the scrollbar in (no Resize comes then) */
        scrollbar-gutter: stable;
    }
    BeamView:focus { border-top: solid $accent; }
    BeamView > #beam-body { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: BeamRun | None = None
        self.index: int | None = None
        """The step shown (None: follow the newest)."""
        self._message: Text | None = Text(
            "Beam search: type a prompt and press Enter (or F5); F6 runs one step.", "grey50")
        self._shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="beam-body")

    @property
    def body(self) -> Static:
        return self.query_one("#beam-body", Static)

    # content -------------------------------------------------------------------

    def set_run(self, run: BeamRun | None) -> None:
        if run is not self.run:
            self.run = run
            self.index = None
            self.scroll_home(animate=False)
        self._message = None
        self.update_view()

    def show_message(self, text: Text) -> None:
        self._message = text
        self.update_view()

    @property
    def selected_index(self) -> int | None:
        run = self.run
        if run is None or not run.steps:
            return None
        return len(run.steps) - 1 if self.index is None else min(self.index, len(run.steps) - 1)

    @property
    def selected(self) -> BeamUpdate | None:
        index = self.selected_index
        return None if index is None else self.run.steps[index]  # type: ignore[union-attr]

    def _width(self) -> int:
        return max(20, self.scrollable_content_region.width - 1)

    def update_view(self) -> None:
        """Re-render if the step shown, its status or the width changed."""
        if not self.is_mounted:
            return
        run = self.run
        step = self.selected
        width = self._width()
        key = (id(self._message), id(run), id(step), width,
               run.status if run is not None else "", run.error if run is not None else "")
        self._set_title()
        if key == self._shown:
            return
        self._shown = key
        if self._message is not None or run is None:
            self.body.update(self._message or Text())
        elif run.error and step is None:
            self.body.update(Text("✗ " + run.error, "bold red"))
        elif step is None:
            self.body.update(waiting_text("⏳ scoring the first step…"))
        else:
            self.body.update(step_view(run.steps, self.selected_index or 0, run.settings,
                                       width))

    def _set_title(self) -> None:
        run = self.run
        title = "beam search"
        if run is not None:
            s = run.settings
            early = format_value(BEAM_KNOB_BY_FIELD["early_stopping"], s.early_stopping)
            title += (f" · {s.num_beams} beam{'s' if s.num_beams != 1 else ''}"
                      f" · len pen {s.length_penalty:g} · early {early}")
            step = self.selected
            if step is not None:
                title += f" · step {step.index + 1}/{len(run.steps)}"
                if self.index is not None:
                    title += " (End: newest)"
            mark = STATUS_MARKS.get(run.status, "")
            if mark:
                title += f" · {mark}"
        if getattr(self, "_title_plain", None) != title:
            self._title_plain = title
            self.border_title = Text(title)  # plain text: never markup

    def on_resize(self) -> None:
        self.update_view()

    # keys -----------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        run = self.run
        if run is None or not run.steps:
            return
        last = len(run.steps) - 1
        current = last if self.index is None else self.index
        new = max(0, min(last, current + delta))
        self.index = None if new == last and run.status == "running" else new
        self.update_view()

    def action_first(self) -> None:
        if self.run is not None and self.run.steps:
            self.index = 0
            self.update_view()

    def action_follow(self) -> None:
        self.index = None
        self.update_view()
