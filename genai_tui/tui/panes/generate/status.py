"""The generate pane's status text: the status bar, the hint line, the model line.

Plain Python (no Textual): each function returns the `rich.text.Text` or the
string a bar shows, from the pane's state passed in. The status bar's run
labels and knob-set badge carry click meta (``run``, ``set``) that
`bars.StatusBar` turns into messages.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from genai_tui.errors import UserError
from genai_tui.service.backend import BackendSpec, Capabilities, TextGenerator
from genai_tui.textsafe import escape_controls
from genai_tui.tui.panes.generate.runs import Run, pair_difference

HINTS = {
    "beam_view": "←→ step  Home first  End newest  ↑↓ scroll  F5 search  F6 one step  "
                 "F4 sampling",
    "beam": "⏎/F5 beam search  F6 one step  Esc stop  F7 continue  F4 sampling  Tab ↓",
    "run_view": "←→ token  ↑↓ alternative  ⏎/b branch  End follow  [ ] runs  p digits",
    "sample": "⏎/F5 run  F6 step  Esc stop  F7 continue  F8 A/B  Tab ↓",
}
"""The hint line's keys by what has focus (the knob grid's hint is the knob's own)."""


def hint_text(where: str) -> Text:
    """The keys that act now, for ``where`` (a key of `HINTS`)."""
    return Text(HINTS[where], "grey62")


def _model_state(text: Text, loading: bool, error: str, lead: str = "") -> bool:
    """Append "loading" or "no model" (True if either was appended)."""
    if loading:
        text.append(f"{lead}⏳ loading model… ", "bold #ffd75f")
    elif error:
        text.append(f"{lead}✗ no model ", "bold red")
    else:
        return False
    return True


def status_text(runs: list[Run], current: Run | None, generating: bool, editing: str, *,
                loading: bool, error: str, model_info: str) -> Text:
    """The sampling status bar: the runs (the current one reversed, those shown
    beside it tinted), the model's state, whether it is generating, and the
    knob set being edited (with an A/B pair's difference)."""
    text = Text(end="", no_wrap=True, overflow="ellipsis")
    if runs:
        for i, run in enumerate(runs):
            shown = run is current or (
                current is not None and run in (current.partner, current.parent))
            style = Style(meta={"run": i}, bold=True,
                          reverse=run is current, color="#d7afff" if shown else None)
            text.append(f" {run.label} ", style)
        text.append(" ")
    if not _model_state(text, loading, error) and not runs:
        text.append(f" {model_info} " if model_info else " ", "grey62")
    if generating:
        text.append("● generating ", "bold #5fd75f")
    text.append(" knobs ", "grey62")
    text.append(f" {editing} ", Style(meta={"set": True}, bold=True, reverse=True,
                                      color="#d7afff" if editing == "B" else "#5fd7ff"))
    text.append(" v:A/B", Style(color="grey50", meta={"set": True}))
    difference = pair_difference(current) if current is not None else None
    if difference is not None:
        text.append(f"  {difference}", "bold #d7afff")
    return text


def beam_status_text(*, loading: bool, error: str, local_only: bool, searching: bool,
                     model_info: str) -> Text:
    """Beam mode's status bar: the mode, the model's state (``local_only``: this
    back end cannot search), whether it is searching, and the way back."""
    text = Text(end="", no_wrap=True, overflow="ellipsis")
    text.append(" beam search ", Style(bold=True, reverse=True, color="#87ff87"))
    if _model_state(text, loading, error, lead=" "):
        pass
    elif local_only:
        text.append(" local model only (F9) ", "bold #ff875f")
    elif searching:
        text.append(" ● searching ", "bold #5fd75f")
    else:
        text.append(f" {model_info} " if model_info else " ", "grey62")
    text.append(" F4: sampling", "grey50")
    return text


def describe_backend(generator: TextGenerator) -> str:
    """The status bar's line: the model, and what this back end cannot show."""
    if generator.where == "local":
        line = generator.describe()
    else:  # the model @ host:port: the API and tokenizer are in the notification and F1
        host = generator.where.split("://", 1)[-1].removesuffix("/v1")
        line = f"{generator.name} @ {host}"
    return escape_controls(line + capability_note(generator.capabilities), False)


def capability_note(caps: Capabilities) -> str:
    """`` · one distribution, no X-ray`` for what a back end lacks ("" for none)."""
    missing = []
    if not caps.raw_probs:
        missing.append("no probabilities")
    elif not caps.processed_probs:
        missing.append("one distribution")
    if not caps.stage_xray:
        missing.append("no X-ray")
    return " · " + ", ".join(missing) if missing else ""


def describe_load_error(exc: BaseException, spec: BackendSpec) -> str:
    """Why ``spec``'s model or server could not be used, and (locally) how to make one."""
    if not spec.local:
        reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        return f"Cannot use the server: {reason}"
    where = spec.model or "assets/lm"
    if isinstance(exc, UserError):
        return f"Cannot load the language model: {exc}"
    if isinstance(exc, FileNotFoundError):
        return (f"The language model is missing ({where}): {exc}. "
                "Train one with `genai-tui train lm`.")
    return f"Cannot load the language model ({where}): {type(exc).__name__}: {exc}"
