"""The diffusion pane: the forward process (noise a digit to any t) and the reverse
process (a sampler turning pure noise into digits, step by step, live).

This file owns loading (the pane kit), the views and their keys, the sampler
knobs, the seed box and the PNG export. The reverse run (its worker, frames,
pause and step) is the `ReverseRun` mixin in `run.py`, the reverse and samples
views' drawing in `reverse.py`, the forward view in `forward.py`, the image
widgets in `widgets.py`, the worker's pacing in `sampler.py`. The UI thread
only swaps numpy images into the widgets. No torch here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Input

from genai_tui.errors import UserError
from genai_tui.service import diffusion as svc
from genai_tui.tui.pane import Export, Pane, png_export, save_and_view_bindings
from genai_tui.tui.panes.diffusion.forward import ForwardView
from genai_tui.tui.panes.diffusion.reverse import ReverseView, SamplesView
from genai_tui.tui.panes.diffusion.run import ReverseRun
from genai_tui.tui.panes.diffusion.sampler import SamplerControl
from genai_tui.tui.panes.diffusion.widgets import ImagePanel
from genai_tui.tui.textbox import SafeInput
from genai_tui.tui.widgets import ViewBar, numbered

VIEWS: tuple[str, ...] = ("forward", "reverse", "samples")
VIEW_TITLES: dict[str, str] = {"forward": "Forward: add noise",
                               "reverse": "Reverse: denoise", "samples": "Samples"}
DDIM_STEPS: tuple[int, ...] = (5, 10, 25, 50, 100, 250, 500, 1000)
EXAMPLES = 8
"""Example digits for the forward process; `n` cycles through them."""
BATCH_ROWS = 7
"""Rows the batch strip under the trio needs (one row of half-size tiles)."""


def trio_rows(width: int, height: int) -> int:
    """Rows for x_t / x_0 / noise side by side: the largest scale (28-pixel tiles at 2x,
    1x or half size, plus a caption row) that fits ``width`` and leaves ``BATCH_ROWS``."""
    for pixels in (56, 28):
        rows = pixels // 2 + 1
        if 3 * pixels + 2 <= width and rows + BATCH_ROWS <= height:
            return rows
    return 8




class DiffusionPane(ReverseRun, Pane):
    """A DDPM on digits: noise going in, digits coming out."""

    PANE_ID = "diffusion"
    TITLE = "Diffusion"
    HELP = """
A **diffusion model** learns to undo noise. The *forward process* adds a little
Gaussian noise at each of T = 1000 steps until a digit is pure static; in closed
form x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε, where **ᾱ_t** (alpha-bar) is the share
of the signal's variance left at step t (the plot). A U-Net is trained to look at
x_t and predict the noise ε that was added (Ho et al. 2020).

To **generate**, start from pure noise x_T and repeatedly subtract the predicted
noise. Each step also gives a guess of the clean image, **x̂_0**, shown beside x_t
and the predicted noise ε̂.

- **DDPM** takes all 1000 steps and adds fresh noise at each one.
- **DDIM** (Song et al. 2021) jumps through a few steps (`+`/`-`) and, with
  η = 0, adds no noise: the same seed always gives the same digits.

**1 Forward**: ←/→ move t by 10, PgUp/PgDn by 100, Home/End to the ends; click the
slider; `n` takes another digit.
**2 Reverse**: `space` pauses and resumes, `.` takes one step, `r` samples again,
`n` next seed, `e` types a seed, `d` switches DDPM/DDIM, `[`/`]` follow another
sample of the batch.
**3 Samples**: the finished batch, each read by a digit classifier.

`v` cycles the views, `s` saves the current images as a PNG file.
"""
    BINDINGS: ClassVar = [
        Binding("v", "cycle_view", "View"),
        # One key, its footer label saying what it will do now (check_action).
        Binding("space", "pause", "Pause"),
        Binding("space", "play", "Play"),
        Binding("full_stop", "step", "Step"),
        Binding("r", "restart", "Resample"),
        *save_and_view_bindings(VIEWS, VIEW_TITLES),
        Binding("left", "move_t(-10)", "Forward: t - 10", show=False),
        Binding("right", "move_t(10)", "Forward: t + 10", show=False),
        Binding("pageup", "move_t(-100)", "Forward: t - 100", show=False),
        Binding("pagedown", "move_t(100)", "Forward: t + 100", show=False),
        Binding("home", "move_t(-100000)", "Forward: t = 0", show=False),
        Binding("end", "move_t(100000)", "Forward: t = T - 1", show=False),
        Binding("n", "next", "Next digit / seed", show=False),
        Binding("d", "toggle_sampler", "Reverse: DDPM / DDIM", show=False),
        Binding("plus,equals_sign", "change_steps(1)", "Reverse: more DDIM steps", show=False),
        Binding("minus", "change_steps(-1)", "Reverse: fewer DDIM steps", show=False),
        Binding("e", "edit_seed", "Reverse: type a seed", show=False),
        Binding("left_square_bracket", "follow(-1)", "Reverse: follow previous sample",
                show=False),
        Binding("right_square_bracket", "follow(1)", "Reverse: follow next sample", show=False),
    ]
    DEFAULT_CSS = """
    DiffusionPane { layout: vertical; height: 1fr; }
    DiffusionPane:focus { background-tint: $foreground 0%; }
    DiffusionPane #df-bar { height: 1; background: $boost; }
    DiffusionPane #df-views { height: 1fr; }
    DiffusionPane #df-forward-top { height: 1fr; }
    DiffusionPane #df-forward-images { width: 1fr; min-width: 30; }
    DiffusionPane #df-forward-side { width: 22; padding-left: 1; }
    DiffusionPane #df-forward-info { height: auto; }
    DiffusionPane #df-status { height: 2; }
    DiffusionPane #df-trio { height: 8; }
    DiffusionPane #df-batch { height: 1fr; }
    DiffusionPane #df-samples-info { height: auto; }
    DiffusionPane #df-seed { dock: bottom; display: none; width: 40; }
    DiffusionPane #df-seed.-shown { display: block; }
    """
    can_focus = True
    LOADING = "the diffusion model"
    REBUILD = "genai-tui train diffusion --bundled"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = "forward"
        self.model: Any = None
        self.sampler = "ddim"
        self.steps = 50
        self.seed = 0
        self.follow = 0
        self.state = "loading"
        """loading, idle, running, paused, done or failed."""
        self.frame: svc.SampleStep | None = None
        self.frames_shown = 0
        self.finals: Any = None
        self.verdict: svc.Judgement | None = None
        self._control = SamplerControl()

    def compose(self) -> ComposeResult:
        yield ViewBar(numbered(VIEWS, VIEW_TITLES), self.view, id="df-bar")
        with ContentSwitcher(initial="df-forward", id="df-views"):
            yield ForwardView(id="df-forward")
            yield ReverseView(id="df-reverse")
            yield SamplesView(id="df-samples")
        # disabled while hidden: Textual's auto-focus would otherwise give a hidden Input
        # the focus at start-up and the first key would vanish into it
        yield SafeInput(placeholder="seed (Enter to sample, Esc to cancel)", id="df-seed",
                    type="integer", disabled=True)

    # loading -----------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        # the reverse view's trio gets the largest scale that leaves the batch strip
        # BATCH_ROWS rows; views are 1 bar row and 2 status rows smaller than the pane
        width, height = event.size.width, event.size.height - 3
        rows = trio_rows(width, height)
        self.query_one("#df-trio", ImagePanel).styles.height = rows

    def pane_shown(self) -> None:
        super().pane_shown()
        self.call_after_refresh(self.focus)
        self._resume_after_hiding()

    def on_pane_first_show(self) -> None:
        self.start_loading()

    def show_load_state(self, text: Text) -> None:
        if self.load_state == "failed":
            self.state = "failed"
            self.query_one("#df-forward-images", ImagePanel).show_message(text)

    def load(self) -> dict[str, Any]:
        try:
            model, error = svc.load_model(), ""
            alpha_bars = model.alpha_bars()
            other_name = "cosine" if model.schedule_name == "linear" else "linear"
            other = svc.schedule_alpha_bars(other_name, model.num_timesteps)
        except UserError as e:
            # no bundled model: the forward process still works on the linear schedule
            model, error = None, str(e)
            alpha_bars = svc.schedule_alpha_bars("linear")
            other = svc.schedule_alpha_bars("cosine")
        examples, labels = svc.example_digits(EXAMPLES)
        return {"model": model, "error": error, "alpha_bars": alpha_bars, "other": other,
                "examples": examples, "labels": labels}

    def loaded(self, result: dict[str, Any]) -> None:
        self.model = result["model"]
        self.forward.set_data(result["alpha_bars"], result["other"], result["examples"],
                              result["labels"])
        if self.model is None:
            self.state = "failed"
            self.report_error(result["error"])
            text = Text("No diffusion model: " + result["error"] + "\n\nTrain one with: "
                        f"{self.REBUILD}", style="red")
            self.query_one(ReverseView).show_message(text)
        else:
            self.state = "idle"
            if self.view == "reverse":
                self.start_run()
        self._show_status()

    # views -------------------------------------------------------------------

    def action_set_view(self, view: str) -> None:
        if view not in VIEWS:
            return
        self.view = view
        self.query_one(ContentSwitcher).current = f"df-{view}"
        self.query_one(ViewBar).set_value(view)
        if view == "reverse" and self.state == "idle":
            self.start_run()
        self._show_status()

    def action_cycle_view(self) -> None:
        self.action_set_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])

    def on_view_bar_picked(self, message: ViewBar.Picked) -> None:
        self.action_set_view(message.value)

    # forward process ---------------------------------------------------------

    @property
    def forward(self) -> ForwardView:
        return self.query_one(ForwardView)

    def action_move_t(self, delta: int) -> None:
        if self.view == "forward":
            self.forward.set_t(self.forward.t + delta)

    def action_next(self) -> None:
        if self.view == "forward":
            self.forward.next_digit()
        else:
            self.seed += 1
            self._restart_in_reverse()

    def _show_status(self) -> None:
        self.refresh_bindings()
        label = None if self.model is None else self._sampler_label()
        self.query_one(ReverseView).show_status(label, self.seed, self.follow, self.BATCH,
                                                self.frame, self.state)

    def action_restart(self) -> None:
        self._restart_in_reverse()

    def _restart_in_reverse(self) -> None:
        self.start_run()
        if self.view != "reverse":
            self.action_set_view("reverse")

    def action_toggle_sampler(self) -> None:
        self.sampler = "ddpm" if self.sampler == "ddim" else "ddim"
        self.notify(f"Sampler: {self._sampler_label()}", timeout=2)
        self._restart_in_reverse()

    def action_change_steps(self, direction: int) -> None:
        if self.sampler != "ddim":
            self.notify("DDPM always takes every step; press d for DDIM.", timeout=3)
            return
        limit = self.model.num_timesteps if self.model else 1000
        options = [s for s in DDIM_STEPS if s <= limit]
        bigger = [s for s in options if s > self.steps]
        smaller = [s for s in options if s < self.steps]
        if direction > 0 and bigger:
            self.steps = bigger[0]
        elif direction < 0 and smaller:
            self.steps = smaller[-1]
        else:
            return
        self._restart_in_reverse()

    def action_follow(self, delta: int) -> None:
        self.follow = (self.follow + delta) % self.BATCH
        self._show_frame()

    def action_edit_seed(self) -> None:
        box = self.query_one("#df-seed", Input)
        box.value = str(self.seed)
        box.disabled = False
        box.add_class("-shown")
        box.focus()

    @on(Input.Submitted, "#df-seed")
    def _on_seed(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            seed = int(event.value)
            if not 0 <= seed < 2**63:
                raise ValueError
        except ValueError:
            self.notify("The seed must be a whole number from 0 to 2**63 - 1.",
                        severity="error")
            return
        self._hide_seed_box()
        self.seed = seed
        self._restart_in_reverse()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.query_one("#df-seed", Input).has_class("-shown"):
            event.stop()
            self._hide_seed_box()

    def _hide_seed_box(self) -> None:
        box = self.query_one("#df-seed", Input)
        box.remove_class("-shown")
        box.disabled = True
        self.focus()

    # saving ------------------------------------------------------------------

    EXPORTS = "the images shown as PNG"

    def export_data(self) -> Export | None:
        images, ncol = self._png_images()
        if images is None:
            return None
        return png_export(f"diffusion-{self.view}", images, ncol)

    def _png_images(self) -> tuple[Any, int]:
        if self.view == "forward" and self.forward.process is not None:
            return self.forward.png_images(), 2
        if self.view == "reverse" and self.frame is not None:
            i = min(self.follow, len(self.frame.x_t) - 1)
            f = self.frame
            return [f.x_t[i][None], f.x0[i][None], f.eps[i][None]], 3
        if self.view == "samples" and self.finals is not None:
            return self.finals, 8
        return None, 0
