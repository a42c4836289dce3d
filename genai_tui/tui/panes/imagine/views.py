"""What the Imagine pane's four views draw: the denoising batch (x_t beside x̂_0, then
the finished images with their readings), the guidance row, the attention maps of
one step, and CLIP's search results with the held-out similarity matrix; and
the text of the token line and the status line. Each
view is handed numpy arrays and numbers by the pane and only draws them; the
prompt and captions go into Rich `Text`, never markup."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from genai_tui.service import imagine as svc
from genai_tui.tui.panes.diffusion.widgets import ImagePanel
from genai_tui.tui.panes.imagine import work as wk
from genai_tui.tui.text import truncate

STATES: dict[str, tuple[str, str]] = {
    "running": ("▶", "green"), "paused": ("⏸ paused", "yellow"), "judging": ("✓ reading…", "green"),
    "done": ("✓ done", "green"), "idle": ("idle", "dim"), "failed": ("✗ failed", "red"),
    "loading": ("loading", "dim"), "missing": ("no model", "red")}
"""The run's state as the status line shows it (text, style)."""
NO_DIGIT = "bold red"
"""Caption style of an image the classifier does not read as a digit."""


def _styles(readings: list[wk.Reading]) -> list[str | None]:
    return [NO_DIGIT if r.confidence is not None and r.digit is None else None
            for r in readings]


def token_line(info: svc.Prompt, width: int) -> Text:
    """The prompt as the model reads it: its tokens, then what training never saw
    (kept whole: a long token list is cut first)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("tokens ", style="dim")
    for token in info.tokens:
        text.append(token, style="reverse" if token != svc.START_TOKEN else "dim reverse")
        text.append(" ")
    tail = Text()
    if info.truncated:
        tail.append("(cut: the model reads only these) ", style="yellow")
    if info.unknown:
        tail.append("unknown: ", style="bold yellow")
        tail.append(" ".join(f"'{w}'" for w in info.unknown.words), style="yellow")
        if info.unknown.tokens:
            tail.append(" (tokens: " + " ".join(f"'{t}'" for t in info.unknown.tokens) + ")",
                        style="yellow")
        tail.append(" — generating anyway", style="dim")
    if tail and text.cell_len + tail.cell_len > width:
        text.truncate(max(12, width - tail.cell_len - 1), overflow="ellipsis")
        text.append(" ")
    text.append_text(tail)
    return text


def knob_line(guidance: float, sampler: str, steps: int, timesteps: int, seed: int,
              state: str, frame: svc.ImagineStep | None) -> Text:
    """"w=3 · DDIM 25 · seed 0 · ▶ 12/25"."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"w={guidance:g}", style="bold")
    label = f"DDPM {timesteps}" if sampler == "ddpm" else f"DDIM {steps}"
    text.append(f" · {label} · seed {seed} · ")
    shown, style = STATES.get(state, (state, ""))
    text.append(shown, style=style)
    if frame is not None and state in ("running", "paused"):
        text.append(f" {frame.index + 1}/{frame.total}", style="bold")
    return text


class DenoiseView(Vertical):
    """The batch denoising live: each image's x_t beside its predicted x̂_0, then the
    finished images, each captioned with the classifier's reading and the CLIP score."""

    DEFAULT_CSS = """
    DenoiseView #im-denoise-info { height: auto; display: none; color: $text-muted; }
    """
    LEGEND = ("Under each image: the digit classifier's reading and confidence (red ? = not a "
              "digit) · the CLIP score, the cosine similarity of image and prompt (-1..1). "
              "2 compares guidance scales, 3 shows where each token was attended to.")

    def compose(self) -> ComposeResult:
        yield ImagePanel("⏳ Loading the text-to-image model…", max_scale=2, ncol=4,
                         id="im-denoise")
        # only under finished images: a running batch needs every row at 80x24
        yield Static(self.LEGEND, id="im-denoise-info")

    @property
    def panel(self) -> ImagePanel:
        return self.query_one("#im-denoise", ImagePanel)

    def show_step(self, step: svc.ImagineStep, follow: int) -> None:
        images, captions = [], []
        for i in range(len(step.x_t)):
            mark = "▸" if i == follow else ""
            images += [step.x_t[i], step.x0[i]]
            captions += [f"{mark}#{i + 1} t={step.t}", "pred. x̂0"]
        self.query_one("#im-denoise-info").display = False
        self.panel.show(np.stack(images), captions=captions, ncol=4)

    def show_finals(self, finals: Any, readings: list[wk.Reading], follow: int) -> None:
        captions = [("▸" if i == follow else "") + r.caption() for i, r in enumerate(readings)]
        self.query_one("#im-denoise-info").display = True
        self.panel.show(finals, captions=captions, caption_styles=_styles(readings), ncol=4)


class GuidanceView(Vertical):
    """One seed at several guidance scales, filling in as each finishes."""

    def compose(self) -> ComposeResult:
        yield ImagePanel("", max_scale=2, ncol=6, id="im-guidance")

    def show_row(self, scales: tuple[float, ...], row: dict[float, wk.Scaled],
                 current: float) -> None:
        panel = self.query_one("#im-guidance", ImagePanel)
        if not row:
            panel.show_message(Text("Drawing the same seed at guidance "
                                    + ", ".join(f"{g:g}" for g in scales) + "…", style="dim"))
            return
        blank = np.zeros((28, 28), dtype=np.float32)
        images, captions, styles = [], [], []
        for g in scales:
            done = row.get(g)
            images.append(done.image if done is not None else blank)
            mark = "▸" if g == current else ""
            if done is None:
                captions.append(f"{mark}w={g:g} …")
                styles.append("dim")
            else:
                captions.append(f"{mark}w={g:g} {done.reading.short()}")
                styles.append(_styles([done.reading])[0])
        panel.show(np.stack(images), captions=captions, caption_styles=styles, ncol=6)


class AttentionView(Vertical):
    """The image, then one heatmap per prompt token: where each pixel's
    cross-attention went (each image's maps share one brightness scale)."""

    def compose(self) -> ComposeResult:
        yield ImagePanel("", max_scale=2, ncol=8, id="im-attention")

    def show_message(self, text: Text) -> None:
        self.query_one("#im-attention", ImagePanel).show_message(text)

    def show_maps(self, step: svc.ImagineStep, image: Any, follow: int,
                  final: bool) -> None:
        maps = step.attention[min(follow, len(step.attention) - 1)]  # (L, H, W)
        top = float(maps.max()) or 1.0
        images = [image, *(maps / top)]
        shares = maps.reshape(len(maps), -1).mean(1)
        first = f"#{follow + 1} final" if final else f"#{follow + 1} x̂0 t={step.t}"
        captions = [first, *(f"{tok} {share:.0%}"
                             for tok, share in zip(step.tokens, shares, strict=True))]
        self.query_one("#im-attention", ImagePanel).show(np.stack(images), captions=captions,
                                                         ncol=8)


HEAT = ("#1a0a2e", "#3b0f70", "#8c2981", "#de4968", "#fe9f6d", "#fcfdbf")
"""Low to high similarity (inferno-like), background of the matrix cells."""


class SearchView(Vertical):
    """The prompt as a CLIP query: the nearest held-out images, and the similarity
    matrix of a few held-out (caption, image) pairs, whose diagonal should light up."""

    DEFAULT_CSS = """
    SearchView #im-matches { height: 1fr; }
    SearchView #im-matrix { height: auto; max-height: 9; }
    """

    def compose(self) -> ComposeResult:
        yield ImagePanel("", max_scale=2, ncol=8, id="im-matches")
        yield Static(id="im-matrix")

    def show_message(self, text: Text) -> None:
        self.query_one("#im-matches", ImagePanel).show_message(text)
        self.query_one("#im-matrix", Static).update("")

    def show_found(self, found: wk.Found) -> None:
        self.query_one("#im-matches", ImagePanel).show(found.images, captions=found.captions,
                                                       ncol=8)
        width = self.size.width or 80
        self.query_one("#im-matrix", Static).update(
            matrix_text(found.matrix, found.pair_captions, width))


def matrix_text(matrix: Any, captions: list[str], width: int) -> Text:
    """Rows: held-out captions; columns: their images, in the same order. Each cell's
    background is its cosine similarity (the matrix's own range); ◆ marks each row's
    best image, so the diagonal reads without colour too."""
    m = np.asarray(matrix, dtype=np.float32)
    low, high = float(m.min()), float(m.max())
    span = (high - low) or 1.0
    cells = 3 * m.shape[1]
    room = max(8, width - cells - 2)
    text = Text(no_wrap=True, overflow="crop")
    text.append(truncate("held-out captions × their images (◆ best in row)", room).ljust(room),
                style="bold")
    text.append("  " + "".join(f"{j + 1:^3}" for j in range(m.shape[1])) + "\n", style="dim")
    for i, caption in enumerate(captions):
        text.append(truncate(caption, room).ljust(room) + "  ")
        best = int(m[i].argmax())
        for j, value in enumerate(m[i]):
            level = HEAT[min(len(HEAT) - 1, int((value - low) / span * len(HEAT)))]
            fg = "#000000" if level in HEAT[4:] else "#ffffff"
            text.append(" ◆ " if j == best else "   ", style=Style(bgcolor=level, color=fg))
        if i < len(captions) - 1:
            text.append("\n")
    return text
