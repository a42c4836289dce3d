"""`genai-tui lesson`: play a lesson (a TOML file, or the built-in `tour`) in the app."""

from __future__ import annotations

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app


@app.command("lesson")
def lesson_cmd(
    file: str = typer.Argument(..., help="A lesson TOML file, or 'tour' (built in)."),
    ascii: bool = opt.ascii_option("Draw with printable ASCII only."),
    fps: float | None = opt.fps_option(),
) -> None:
    """Play a lesson: Space next step, Backspace back (alt+arrows while typing)."""
    from genai_tui import lesson
    from genai_tui.tui.panes import PANES

    def check(pane_id: str, knobs) -> None:
        next(s for s in PANES if s.PANE_ID == pane_id).load().check_lesson_knobs(knobs)

    checked = lesson.load(file, check_knobs=check)  # LessonError: one line, exit 2
    from genai_tui.tui.app import GenaiApp, run_in_terminal

    run_in_terminal(GenaiApp(lesson=checked, ascii=ascii, fps=fps))
