"""Pure renderers for the Generate pane's beam mode: `BeamUpdate`s -> `rich.text.Text`.

No Textual. One step is shown as sections: the final ranking (once the search
has ended), the live beams with their cumulative log-probabilities, the
candidates pruned at that step, and the hypotheses finished so far. Narrow
(< `TWO_COLUMNS` cells) the sections stack; wide, the pruned and finished
ones go to a second column. Model text passes through `textsafe` and into
`Text` objects, never markup.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from genai_tui.service.beam import BeamSettings, BeamText, BeamUpdate
from genai_tui.textsafe import escape_controls
from genai_tui.tui.panes.generate.render import token_label

TWO_COLUMNS = 110
"""From this width the pruned and finished beams get a column of their own."""
HEAD = Style(color="#d7afff", bold=True)
LOGPROB = Style(color="#5fd7ff", bold=True)
SCORE = Style(color="#ffd75f", bold=True)
DIM = Style(color="grey50")
TEXT = Style(color="grey85")
NEW_TOKEN = Style(color="#87ff87", bold=True)
PRUNED = Style(color="grey70", bgcolor="grey19")
BEST = Style(color="#87ff87", bold=True)

STOP_REASONS = {
    "length": "the longest length was reached",
    "early-stopping": "early stopping: every kept hypothesis is finished",
    "no-improvement": "no live beam could beat the kept hypotheses",
}


def beam_text(text: str) -> str:
    """A continuation on one line: newlines as ↵, tabs as →, controls visible."""
    return escape_controls(text.replace("\n", "↵").replace("\t", "→").replace("\r", "␍"),
                           keep_newlines=False)


def _tail(text: str, room: int) -> tuple[str, bool]:
    """The end of ``text`` that fits ``room`` cells (newest tokens matter most)."""
    if cell_len(text) <= room:
        return text, False
    out: list[str] = []
    used = 0
    for ch in reversed(text):
        w = cell_len(ch)
        if used + w > room - 1:
            break
        out.append(ch)
        used += w
    return "…" + "".join(reversed(out)), True


def _continuation(beam: BeamText, room: int, new_style: Style = NEW_TOKEN) -> Text:
    """The beam's text (its tail if long), with the token this step added highlighted."""
    shown = beam_text(beam.text)
    token = beam_text(beam.token)
    cut, _ = _tail(shown, max(4, room))
    out = Text(no_wrap=True, overflow="crop", end="")
    if token and cut.endswith(token) and len(token) < len(cut):
        out.append(cut[: len(cut) - len(token)], TEXT)
        out.append(token, new_style)
    else:
        out.append(cut, TEXT)
    return out


def _line(*parts: tuple[str, Style] | Text) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    for part in parts:
        if isinstance(part, Text):
            line.append_text(part)
        else:
            line.append(*part)
    return line


def live_section(step: BeamUpdate, width: int) -> list[Text]:
    lines = [_line((f"live beams after step {step.index + 1}", HEAD),
                   ("  cumulative log-prob  ←beam it extends", DIM))]
    if not step.live:
        lines.append(_line(("  none: " + ("every beam reached max tokens" if step.stop_reason
                                          == "length" else "every candidate ended"), DIM)))
    for rank, beam in enumerate(step.live):
        lead = f" {rank + 1:>2} "
        logprob = f"{beam.logprob:8.2f}"
        parent = f" ←{beam.parent + 1:<2} "
        room = width - len(lead) - len(logprob) - len(parent)
        lines.append(_line((lead, DIM), (logprob, LOGPROB), (parent, DIM),
                           _continuation(beam, room)))
    return lines


def _pruned_cell(beam: BeamText) -> Text:
    cell = Text(end="")
    cell.append(f"{beam.logprob:.2f} ", LOGPROB)
    cell.append(token_label(beam.token, 14), PRUNED)
    cell.append(f" ←{beam.parent + 1}  ", DIM)
    return cell


def pruned_section(step: BeamUpdate, width: int, rows: int) -> list[Text]:
    """The pruned candidates, best first, packed onto at most ``rows`` lines
    (the last says how many more there are)."""
    count = len(step.pruned)
    lines = [_line((f"pruned at step {step.index + 1}", HEAD),
                   (f"  {count} candidate{'s' if count != 1 else ''}, best first" if count
                    else "  none", DIM))]
    if not count:
        return lines
    packed: list[list[Text]] = [[]]
    used = 1
    shown = 0
    for beam in step.pruned:
        cell = _pruned_cell(beam)
        if packed[-1] and used + cell.cell_len > width:
            if len(packed) == rows:
                break
            packed.append([])
            used = 1
        packed[-1].append(cell)
        used += cell.cell_len
        shown += 1
    if shown < count:  # room on the last line for "+N more"
        while packed[-1] and used + len(f"+{count - shown} more") > width:
            used -= packed[-1].pop().cell_len
            shown -= 1
    for i, cells in enumerate(packed):
        line = Text(" ", no_wrap=True, overflow="crop", end="")
        for cell in cells:
            line.append_text(cell)
        if i == len(packed) - 1 and shown < count:
            line.append(f"+{count - shown} more", DIM)
        lines.append(line)
    return lines


def _hypothesis(rank: int, beam: BeamText, width: int, best: bool) -> Text:
    lead = f" {rank + 1:>2}. "
    score = f"{beam.score if beam.score is not None else float('nan'):8.3f}"
    logprob = f"{beam.logprob:8.2f}"
    length = f" {len(beam.ids):>3} tok  "
    room = width - len(lead) - len(score) - len(logprob) - len(length) - 1
    return _line((lead, BEST if best else DIM), (score, SCORE), (" ", DIM), (logprob, LOGPROB),
                 (length, DIM), _continuation(beam, room, BEST if best else NEW_TOKEN))


def kept_section(step: BeamUpdate, width: int, settings: BeamSettings) -> list[Text]:
    lines = [_line((f"finished so far {len(step.kept)}/{settings.num_beams}", HEAD),
                   (f"  score = log-prob / length^{settings.length_penalty:g}", DIM))]
    if not step.kept:
        lines.append(_line(("  none yet", DIM)))
    for rank, beam in enumerate(step.kept):
        lines.append(_hypothesis(rank, beam, width, False))
    return lines


def ranking_section(step: BeamUpdate, width: int, settings: BeamSettings) -> list[Text]:
    reason = STOP_REASONS.get(step.stop_reason, step.stop_reason)
    lines = [_line(("final ranking", HEAD), (f"  after {step.index + 1} steps: {reason}", DIM)),
             _line(("      score log-prob length  (score = log-prob / length^"
                    f"{settings.length_penalty:g})", DIM))]
    for rank, beam in enumerate(step.ranking):
        lines.append(_hypothesis(rank, beam, width, rank == 0))
    return lines


def join_lines(lines: list[Text]) -> Text:
    """Lines as one unwrapped `Text` (a table cell or a Static's content)."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for i, line in enumerate(lines):
        if i:
            out.append("\n")
        out.append_text(line)
    return out


def history_section(steps: list[BeamUpdate], index: int, width: int,
                    limit: int | None = None) -> list[Text]:
    """One line per step up to ``index``, newest first: the best live beam, how many
    candidates were pruned (and the best of them), what finished."""
    lines = [_line(("steps", HEAD), ("  best live beam · ✂ pruned · ✓ finished", DIM))]
    shown = steps[: index + 1][::-1]
    if limit is not None:
        shown = shown[:limit]
    for step in shown:
        line = _line((f" {step.index + 1:>3} ", BEST if step.index == index else DIM))
        if step.live:
            line.append(f"{step.live[0].logprob:7.2f} ", LOGPROB)
        else:
            line.append("      — ", DIM)
        line.append(f"✂{len(step.pruned):<4}", DIM)
        line.append(f"✓{len(step.finished)} " if step.finished else "   ", SCORE)
        if step.live:
            line.append_text(_continuation(step.live[0], width - line.cell_len))
        lines.append(line)
    left = index + 1 - len(shown)
    if left > 0:
        lines.append(_line((f"  … {left} earlier step{'s' if left != 1 else ''}", DIM)))
    return lines


def step_view(steps: list[BeamUpdate], index: int, settings: BeamSettings,
              width: int) -> RenderableType:
    """Everything about step ``index`` of ``steps``, laid out for ``width`` cells."""
    step = steps[index]
    width = max(20, width)
    if width < TWO_COLUMNS:
        lines: list[Text] = []
        if step.done:
            lines += ranking_section(step, width, settings) + [Text()]
        lines += live_section(step, width) + [Text()]
        lines += pruned_section(step, width, rows=2)
        if not step.done:
            lines += [Text()] + kept_section(step, width, settings)
        if index:
            lines += [Text()] + history_section(steps, index, width)
        return join_lines(lines)
    left_w = width * 11 // 20
    right_w = width - left_w - 2
    left = (ranking_section(step, left_w, settings) + [Text()]) if step.done else []
    left += live_section(step, left_w)
    if index:
        left += [Text()] + history_section(steps, index, left_w)
    right = pruned_section(step, right_w, rows=6) + [Text()] + kept_section(step, right_w,
                                                                           settings)
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(width=left_w, no_wrap=True)
    grid.add_column(width=right_w, no_wrap=True)
    grid.add_row(join_lines(left), join_lines(right))
    return grid


def waiting_text(message: str) -> Text:
    return Text(message, DIM)
