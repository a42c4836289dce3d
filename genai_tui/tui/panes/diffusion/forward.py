"""The diffusion pane's forward view: one example digit x₀ beside x_t, the
numbers (ᾱ_t, the two scales, SNR), the ᾱ_t plot with the current t marked,
and a clickable slider. `ForwardProcess.at(t)` is plain numpy, cheap enough
for the UI thread, so this view has no worker.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from genai_tui.service import diffusion as svc
from genai_tui.tui.panes.diffusion.widgets import AlphaBarPlot, ImagePanel, TSlider


class ForwardView(Vertical):
    """Noise one digit to any t: x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.process: svc.ForwardProcess | None = None
        self.examples: Any = None
        self.labels: list[int] = []
        self.digit = 0
        self.t = 250
        self.alpha_bars: Any = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="df-forward-top"):
            yield ImagePanel("⏳ Loading the diffusion model…", id="df-forward-images")
            with Vertical(id="df-forward-side"):
                yield Static(id="df-forward-info")
                yield AlphaBarPlot(id="df-plot")
        yield TSlider(id="df-slider")

    def set_data(self, alpha_bars: Any, other: Any, examples: Any, labels: list[int]) -> None:
        """The model's ᾱ schedule (``other``: the other schedule, drawn dimmed) and
        the example digits."""
        self.alpha_bars = alpha_bars
        self.examples, self.labels = examples, labels
        self.query_one(AlphaBarPlot).set_curves(alpha_bars, other)
        self._new_process()

    def _new_process(self) -> None:
        if self.examples is None or self.alpha_bars is None:
            return
        self.process = svc.ForwardProcess(self.alpha_bars, self.examples[self.digit],
                                          seed=self.digit)
        self.t = min(self.t, self.process.num_timesteps - 1)
        self.draw()

    def draw(self) -> None:
        process = self.process
        if process is None:
            return
        view = process.at(self.t)
        self.query_one("#df-forward-images", ImagePanel).show(
            [view.x0[None], view.x_t[None]], captions=["x_0", f"x_t  t={self.t}"], ncol=2)
        ab = view.alpha_bar
        info = Text(no_wrap=True, overflow="ellipsis")
        info.append(f"t = {self.t}", style="bold")
        info.append(f" of {process.num_timesteps - 1}\n")
        info.append("ᾱ_t ", style="bold #5fd7ff")
        info.append(f"= {ab:.4f}\n")
        info.append(f"x_t = {ab ** 0.5:.3f}·x_0\n    + {(1 - ab) ** 0.5:.3f}·ε\n")
        snr = view.signal_to_noise
        info.append(f"SNR {snr:.3g}" if snr < 1e4 else "SNR > 1e4", style="dim")
        info.append(f"  digit {self.labels[self.digit]}" if self.labels else "", style="dim")
        self.query_one("#df-forward-info", Static).update(info)
        self.query_one(AlphaBarPlot).mark(self.t)
        self.query_one(TSlider).set(self.t, process.num_timesteps)

    def set_t(self, t: int) -> None:
        if self.process is None:
            return
        self.t = max(0, min(self.process.num_timesteps - 1, t))
        self.draw()

    def on_tslider_changed(self, message: TSlider.Changed) -> None:
        self.set_t(message.t)

    def next_digit(self) -> None:
        if self.examples is not None:
            self.digit = (self.digit + 1) % len(self.examples)
            self._new_process()

    def png_images(self) -> Any:
        """x₀ and x_t as a batch of two images (None before the data arrive)."""
        if self.process is None:
            return None
        view = self.process.at(self.t)
        return [view.x0[None], view.x_t[None]]
