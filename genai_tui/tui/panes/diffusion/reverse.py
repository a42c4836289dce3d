"""The diffusion pane's reverse and samples views: what they draw from the
pane's run (the status lines, the x_t / x̂_0 / ε̂ trio of the followed sample
and the batch strip; the finished grid with the classifier's readings). The
run itself (its worker, pause and step) belongs to the pane."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from genai_tui.service import diffusion as svc
from genai_tui.tui.panes.diffusion.widgets import ImagePanel

STATES: dict[str, tuple[str, str]] = {
    "running": ("▶ running", "green"), "paused": ("⏸ paused", "yellow"),
    "done": ("✓ done", "green"), "idle": ("idle", "dim"),
    "failed": ("failed", "red"), "loading": ("loading", "dim")}
"""The run's state as the status line shows it (text, style)."""


def sampler_label(sampler: str, steps: int, model: Any) -> str:
    """"DDPM 1000 steps" or "DDIM 50 steps η=0"."""
    if sampler == "ddpm":
        return f"DDPM {model.num_timesteps if model else 1000} steps"
    return f"DDIM {steps} steps η=0"


class ReverseView(Vertical):
    """The reverse process live: status, the followed sample's trio, the batch."""

    def compose(self) -> ComposeResult:
        yield Static(id="df-status")
        yield ImagePanel("⏳ Loading the diffusion model…", max_scale=2, ncol=3, id="df-trio")
        yield ImagePanel("", max_scale=1, ncol=16, id="df-batch")

    def show_message(self, text: Text) -> None:
        self.query_one("#df-trio", ImagePanel).show_message(text)

    def show_frame(self, step: svc.SampleStep, follow: int) -> None:
        i = min(follow, len(step.x_t) - 1)
        self.query_one("#df-trio", ImagePanel).show(
            [step.x_t[i][None], step.x0[i][None], step.eps[i][None]],
            captions=[f"x_t t={step.t}",
                      "x_0 final" if step.index == step.total - 1 else "pred. x_0",
                      "pred. noise"], ncol=3)
        self.query_one("#df-batch", ImagePanel).show(step.x_next, ncol=16)

    def show_status(self, label: str | None, seed: int, follow: int, batch: int,
                    frame: svc.SampleStep | None, state: str) -> None:
        """The two status lines (``label`` None: there is no model)."""
        text = Text(no_wrap=False)
        if label is None:
            text.append("no model", style="red")
        else:
            text.append(label, style="bold")
            text.append(f" · seed {seed} · sample {follow + 1}/{batch}")
            if frame is not None:
                text.append(f" · step {frame.index + 1}/{frame.total} t={frame.t}",
                            style="bold")
            shown, style = STATES[state]
            text.append(" · ")
            text.append(shown, style=style)
            text.append("\nspace pause · . step · r again · n/e seed · d sampler · +/- steps"
                        " · [/] sample", style="dim")
        # fixed height: no layout pass per frame (a layout per update cost ~35 ms here)
        self.query_one("#df-status", Static).update(text, layout=False)


class SamplesView(Vertical):
    """The finished batch, each sample captioned with the classifier's reading."""

    def compose(self) -> ComposeResult:
        yield Static(id="df-samples-info")
        yield ImagePanel("No samples yet: they appear when a reverse run ends.",
                         max_scale=2, ncol=8, id="df-grid")

    def show_message(self, text: Text) -> None:
        self.query_one("#df-grid", ImagePanel).show_message(text)

    def show(self, finals: Any, verdict: svc.Judgement | None, label: str, seed: int) -> None:
        grid = self.query_one("#df-grid", ImagePanel)
        info = self.query_one("#df-samples-info", Static)
        if verdict is None:
            grid.show(finals, ncol=8)
            info.update(Text(f"{len(finals)} samples · {label} · seed {seed}"
                             " · (no classifier bundled)"))
            return
        captions = [f"{lab} {conf:.2f}" if conf > verdict.threshold else f"? {conf:.2f}"
                    for lab, conf in zip(verdict.labels, verdict.confidences, strict=True)]
        styles = [None if conf > verdict.threshold else "bold red"
                  for conf in verdict.confidences]
        grid.show(finals, captions=captions, caption_styles=styles, ncol=8)
        digits = sum(c > verdict.threshold for c in verdict.confidences)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{len(finals)} samples · {label} · seed {seed} · ")
        text.append(f"the classifier reads {digits}/{len(finals)} as digits", style="bold")
        text.append(" (captions: digit and confidence; ? = not a digit; s saves them all"
                    " as PNG)", style="dim")
        info.update(text)
