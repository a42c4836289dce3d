"""Plays a `genai_tui.lesson.Lesson` in the app: the caption bar and the steps.

Keys: Space = next step, Backspace = back, but only while focus is outside
a text box (there they type, as everywhere in the app); alt+→ / alt+← do
the same from anywhere. The app binds them; this module does the work.

Going back restores what the step changed (the pane shown, the text box's
text, the knobs it set) to their values before it played, then shows the
previous caption and presses the previous step's keys again, so its view
(and its generation, same knobs and seed) is back; keys are never undone
as such (a generation a later step started stays in the run list).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from genai_tui.errors import UserError
from genai_tui.lesson import Lesson, Step
from genai_tui.textsafe import escape_controls

if TYPE_CHECKING:
    from genai_tui.tui.app import GenaiApp


class LessonBar(Static):
    """The current step's caption, its number and the keys, above the footer."""

    DEFAULT_CSS = """
    LessonBar { dock: bottom; height: auto; max-height: 4; padding: 0 1;
                background: $boost; border-top: solid $accent; }
    """

    def show(self, lesson: Lesson, index: int) -> None:
        step = lesson.steps[index]
        text = Text(no_wrap=False)
        text.append(f"{lesson.title} {index + 1}/{len(lesson.steps)}", style="bold")
        text.append("  ")
        text.append(escape_controls(step.caption, keep_newlines=False))
        text.append("   Space next · Backspace back (alt+→/alt+← while typing)", style="dim")
        self.update(text)


@dataclass
class _Undo:
    pane: str | None
    text: tuple[str, str] | None = None
    knobs: tuple[str, dict[str, Any]] | None = None


@dataclass
class LessonPlayer:
    """Which step is showing, and how to undo each step played."""

    lesson: Lesson
    index: int = -1
    undo: list[_Undo] = field(default_factory=list)

    @property
    def step(self) -> Step | None:
        return self.lesson.steps[self.index] if self.index >= 0 else None

    async def forward(self, app: GenaiApp) -> bool:
        """Play the next step; False at the end."""
        if self.index + 1 >= len(self.lesson.steps):
            app.notify("End of the lesson (Backspace goes back, ctrl+q quits).",
                       markup=False)
            return False
        step = self.lesson.steps[self.index + 1]
        before = _Undo(pane=app.active_pane_id)
        pane_id = step.pane or app.active_pane_id
        try:
            pane = await app.show_pane_now(pane_id) if pane_id else None
            if pane is not None and step.text is not None:
                before.text = (pane_id, pane.lesson_text())
                pane.lesson_set_text(step.text)
            if pane is not None and step.knobs:
                before.knobs = (pane_id, pane.lesson_knobs(list(step.knobs)))
                pane.lesson_set_knobs(step.knobs)
        except UserError as e:
            app.notify(f"lesson step {step.number}: {e}", severity="error", markup=False)
        self.undo.append(before)
        self.index += 1
        app.lesson_bar.show(self.lesson, self.index)
        for key in step.keys:
            app.simulate_key(key)
        return True

    async def back(self, app: GenaiApp) -> bool:
        """Undo the current step and show the previous caption; False at the start."""
        if self.index <= 0:
            app.notify("This is the first step.", markup=False)
            return False
        before = self.undo.pop()
        try:
            if before.knobs is not None:
                pane = await app.show_pane_now(before.knobs[0])
                pane.lesson_set_knobs(before.knobs[1])
            if before.text is not None:
                pane = await app.show_pane_now(before.text[0])
                pane.lesson_set_text(before.text[1])
            if before.pane:
                await app.show_pane_now(before.pane)
        except UserError as e:
            app.notify(f"lesson: {e}", severity="error", markup=False)
        self.index -= 1
        app.lesson_bar.show(self.lesson, self.index)
        # Keys are not undone; pressing the step's own keys again returns the
        # pane to the state the step names (its view, its generation).
        for key in self.lesson.steps[self.index].keys:
            app.simulate_key(key)
        return True
