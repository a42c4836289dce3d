"""The inspector: the selected token's candidates before/after the knobs and
the sampler X-ray (`Inspector`), drawn from `render.py`'s `Text` straight to strips.
"""

from __future__ import annotations

import dataclasses
import math

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from genai_tui.service.backend import LOCAL_CAPABILITIES, Capabilities
from genai_tui.service.generate import TokenStep
from genai_tui.tui.panes.generate.bars import set_plain_title
from genai_tui.tui.panes.generate.render import (
    candidate_rows,
    candidates_text,
    model_prob,
    percent,
    token_label,
    xray_header,
    xray_text,
)


class Inspector(Widget):
    """The selected token's candidates before/after the knobs and the sampler X-ray.

    Click a candidate row to pick it as the alternative; double-click it (or
    click ⑂ branch, or press Enter in the run view) to branch there. The table
    shrinks to fit the height, so nothing needs scrolling. Lines are rendered
    straight to strips (the Text-to-visual path costs ~7x more per update).
    """

    DEFAULT_CSS = """
    Inspector {
        border-top: solid $primary-darken-2; border-left: vkey $primary-darken-2;
        width: 36; height: 1fr; padding: 0 0 0 1;
    }
    """

    class AltClicked(Message):
        def __init__(self, index: int, branch: bool) -> None:
            super().__init__()
            self.index = index
            self.branch = branch

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows_shown = 0
        self.step: TokenStep | None = None
        self.alt = 0
        self.position: int | None = None
        self.vocab_size: int | None = None
        self.capabilities: Capabilities = LOCAL_CAPABILITIES
        """What the back end returns: views it lacks say so instead of showing zeros."""
        self._strips: list[Strip] = []
        self._built_for: tuple | None = None
        self._text_console = Console(width=400, color_system="truecolor", legacy_windows=False)
        self._base = Style()
        set_plain_title(self, "candidates")

    def set_capabilities(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities
        self._built_for = None
        self.refresh()

    def show(self, step: TokenStep | None, position: int | None, alt: int,
             vocab_size: int | None = None) -> None:
        if (step, position, alt, vocab_size) == (self.step, self.position, self.alt,
                                                 self.vocab_size):
            return
        self.step, self.position, self.alt, self.vocab_size = step, position, alt, vocab_size
        if step is None:
            title = "candidates"
        elif not step.has_probs:
            title = f"#{position} {token_label(step.token, 10)} p ?"
        elif not self.capabilities.processed_probs:
            title = f"#{position} {token_label(step.token, 10)} {percent(step.prob).strip()}"
        else:
            title = (f"#{position} {token_label(step.token, 10)} "
                     f"{percent(model_prob(step)).strip()}→{percent(step.prob).strip()}")
        set_plain_title(self, title)
        self._built_for = None
        self.refresh()

    def content_text(self) -> Text:
        """Everything the inspector shows, as one Text (lines split by newlines)."""
        step = self.step
        width = max(20, self.content_region.width or 34)
        if step is None:
            return Text(
                "The selected token's candidates,\nbefore and after the knobs,\n"
                "and the sampler X-ray\nappear here.", style="grey50")
        caps = self.capabilities
        if not step.has_probs:
            self.rows_shown = 0
            text = Text(end="")
            text.append("drew ", "grey62")
            text.append(token_label(step.token, 16), "bold")
            text.append("\n\nNo probabilities for this token: the server returned none "
                        "(it may not support logprobs).\nThe candidates and the sampler "
                        "X-ray need them.", "grey62")
            return text
        height = self.content_region.height or 14
        rows = candidate_rows(step)
        if not caps.processed_probs:  # one distribution from the server: no "after the knobs"
            rows = [dataclasses.replace(r, after=None) for r in rows]
        xray_lines = len(step.stages) + 2 + 1 if caps.stage_xray else 3
        max_rows = max(3, height - 2 - xray_lines - 1)
        self.rows_shown = min(len(rows), max_rows)
        text = Text(end="")
        text.append("⑂ branch", Style(color="black", bgcolor="#d7afff", meta={"branch": True}))
        entropy = "?" if math.isnan(step.entropy) else f"{step.entropy:.2f}"
        text.append(f" H {entropy} nats", "grey62")
        text.append("  ↑↓ pick ⏎ branch\n" if width >= 40 else "\n", "grey50")
        text.append_text(candidates_text(step, rows, self.alt, width, max_rows))
        if not caps.stage_xray:
            text.append("no sampler X-ray: the server\nsamples out of sight (— : not\n"
                        "reported)\n", "grey50")
            draw = Text("drew ", style="grey62", end="")
            draw.append(token_label(step.token, 10), "bold")
            draw.append(f" {percent(step.prob).strip()}", "grey62")
            text.append_text(draw)
            return text
        text.append_text(xray_header(width))
        alt_id = rows[self.alt].id if 0 <= self.alt < len(rows) else None
        text.append_text(xray_text(step, width, self.vocab_size, alt_id))
        survivors = step.stages[-1].kept if step.stages else self.vocab_size
        draw = Text("drew ", style="grey62", end="")
        draw.append(token_label(step.token, 10), "bold")
        draw.append(f" {percent(step.prob).strip()}", "grey62")
        if survivors is not None:
            draw.append(f" of {survivors} left", "grey62")
        text.append_text(draw)
        return text

    def _build(self) -> None:
        key = (self.content_region.size, self.step, self.alt)
        if key == self._built_for:
            return
        self._built_for = key
        self._base = self.rich_style  # one CSS lookup per rebuild, not per line
        console = self._text_console
        self._strips = [Strip(list(line.render(console)))
                        for line in self.content_text().split("\n", allow_blank=True)]

    def on_resize(self) -> None:
        self._built_for = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._built_for = None

    def render_lines(self, crop):  # type: ignore[override]
        self._build()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        base = self._base
        if 0 <= y < len(self._strips):
            return self._strips[y].crop_extend(0, width, base).apply_style(base)
        return Strip.blank(width, base)

    def on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "alt" in meta:
            event.stop()
            self.post_message(self.AltClicked(int(meta["alt"]), branch=event.chain >= 2))
        elif meta.get("branch"):
            event.stop()
            self.post_message(self.AltClicked(self.alt, branch=True))
