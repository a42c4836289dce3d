"""The diffusion pane: the forward process (noise a digit to any t) and the reverse
process (a sampler turning pure noise into digits, step by step, live).

The model loads (the pane kit) and samples in thread workers; the sampler
worker (`sampler.drive`) paces itself to at most `FRAME_RATE` frames a second
and waits on its `SamplerControl` while paused. The UI thread only swaps
numpy images into the widgets. No torch here.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Input, Static
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.service import diffusion as svc
from genai_tui.tui.pane import Export, Pane, describe_error, png_export, save_and_view_bindings
from genai_tui.tui.panes.diffusion.forward import ForwardView
from genai_tui.tui.panes.diffusion.sampler import SamplerControl, drive
from genai_tui.tui.panes.diffusion.widgets import ImagePanel
from genai_tui.tui.textbox import SafeInput
from genai_tui.tui.widgets import ViewBar, numbered

VIEWS: tuple[str, ...] = ("forward", "reverse", "samples")
VIEW_TITLES: dict[str, str] = {"forward": "Forward: add noise",
                               "reverse": "Reverse: denoise", "samples": "Samples"}
DDIM_STEPS: tuple[int, ...] = (5, 10, 25, 50, 100, 250, 500, 1000)
FRAME_RATE = 20.0
"""Most frames a second the sampler worker sends (each one a model step); below the
30 Hz ceiling so the UI keeps headroom for keys on a busy machine."""
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




class DiffusionPane(Pane):
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

    BATCH: ClassVar[int] = 16
    """Samples per reverse run."""

    class Frame(Message):
        """One sampler step (the worker sends at most `FRAME_RATE` a second, and only
        after the UI has set ``shown`` for the previous one, so frames never pile up)."""

        def __init__(self, step: svc.SampleStep, run: int, shown: threading.Event) -> None:
            super().__init__()
            self.step, self.run, self.shown = step, run, shown

    class Finished(Message):
        def __init__(self, images: Any, verdict: svc.Judgement | None, run: int,
                     error: str = "") -> None:
            super().__init__()
            self.images, self.verdict, self.run, self.error = images, verdict, run, error

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
            with Vertical(id="df-reverse"):
                yield Static(id="df-status")
                yield ImagePanel("⏳ Loading the diffusion model…", max_scale=2, ncol=3,
                                 id="df-trio")
                yield ImagePanel("", max_scale=1, ncol=16, id="df-batch")
            with Vertical(id="df-samples"):
                yield Static(id="df-samples-info")
                yield ImagePanel("No samples yet: they appear when a reverse run ends.",
                                 max_scale=2, ncol=8, id="df-grid")
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
            self.query_one("#df-trio", ImagePanel).show_message(text)
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

    # reverse process ---------------------------------------------------------

    def start_run(self) -> None:
        """Sample a new batch from pure noise with the current settings."""
        if self.model is None:
            return
        run = self.new_request("run")
        self.frame, self.finals, self.verdict = None, None, None
        self.frames_shown = 0
        self.state = "running"
        self._control = SamplerControl()
        settings = svc.SampleSettings(n=self.BATCH, sampler=self.sampler, steps=self.steps,
                                      seed=self.seed)
        self.query_one("#df-grid", ImagePanel).show_message(
            Text("Sampling… the grid fills in when the run ends.", style="dim"))
        self._show_status()
        self._sample(self.model, settings, run, self._control)

    @work(thread=True, exclusive=True, group="diffusion-sample", exit_on_error=False,
          description="sampling from the diffusion model")
    def _sample(self, model: svc.DiffusionModel, settings: svc.SampleSettings, run: int,
                control: SamplerControl) -> None:
        worker = get_current_worker()

        def cancelled() -> bool:
            return worker.is_cancelled

        try:
            last = drive(svc.sample_steps(model, settings),
                         lambda step, shown: self.post_message(self.Frame(step, run, shown)),
                         cancelled, control, FRAME_RATE, lambda step: step.done)
            if last is None:
                return
            try:
                verdict = svc.judge(last.x_next)
            except UserError:
                verdict = None  # no bundled classifier: the grid goes without readings
            self.post_message(self.Finished(last.x_next, verdict, run))
        except Exception as e:  # noqa: BLE001 - shown in the pane, the app stays up
            self.post_message(self.Finished(None, None, run, describe_error(e)))

    @on(Frame)
    def _on_frame(self, message: Frame) -> None:
        message.shown.set()
        if not self.is_current(message.run, "run"):
            return
        self.frame = message.step
        self.frames_shown += 1
        self._show_frame()
        self._show_status()

    def _show_frame(self) -> None:
        step = self.frame
        if step is None:
            return
        i = min(self.follow, len(step.x_t) - 1)
        self.query_one("#df-trio", ImagePanel).show(
            [step.x_t[i][None], step.x0[i][None], step.eps[i][None]],
            captions=[f"x_t t={step.t}",
                      "x_0 final" if step.index == step.total - 1 else "pred. x_0",
                      "pred. noise"], ncol=3)
        self.query_one("#df-batch", ImagePanel).show(step.x_next, ncol=16)

    @on(Finished)
    def _on_finished(self, message: Finished) -> None:
        if not self.is_current(message.run, "run"):
            return
        if message.error:
            self.state = "failed"
            self.report_error(message.error)
            self._show_status()
            return
        self.state = "done"
        self.finals, self.verdict = message.images, message.verdict
        self._show_samples()
        self._show_status()

    def _show_samples(self) -> None:
        grid = self.query_one("#df-grid", ImagePanel)
        info = self.query_one("#df-samples-info", Static)
        if self.finals is None:
            return
        verdict = self.verdict
        label = self._sampler_label()
        if verdict is None:
            grid.show(self.finals, ncol=8)
            info.update(Text(f"{len(self.finals)} samples · {label} · seed {self.seed}"
                             " · (no classifier bundled)"))
            return
        captions = [f"{lab} {conf:.2f}" if conf > verdict.threshold else f"? {conf:.2f}"
                    for lab, conf in zip(verdict.labels, verdict.confidences, strict=True)]
        styles = [None if conf > verdict.threshold else "bold red"
                  for conf in verdict.confidences]
        grid.show(self.finals, captions=captions, caption_styles=styles, ncol=8)
        digits = sum(c > verdict.threshold for c in verdict.confidences)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{len(self.finals)} samples · {label} · seed {self.seed} · ")
        text.append(f"the classifier reads {digits}/{len(self.finals)} as digits",
                    style="bold")
        text.append(" (captions: digit and confidence; ? = not a digit; s saves them all"
                    " as PNG)", style="dim")
        info.update(text)

    def _sampler_label(self) -> str:
        if self.sampler == "ddpm":
            return f"DDPM {self.model.num_timesteps if self.model else 1000} steps"
        return f"DDIM {self.steps} steps η=0"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause", "play"):
            running = self.view == "reverse" and self.state == "running"
            return running if action == "pause" else not running
        return True

    def action_pause(self) -> None:
        self.action_toggle_pause()

    def action_play(self) -> None:
        self.action_toggle_pause()

    def _show_status(self) -> None:
        self.refresh_bindings()
        text = Text(no_wrap=False)
        if self.model is None:
            text.append("no model", style="red")
        else:
            text.append(self._sampler_label(), style="bold")
            text.append(f" · seed {self.seed} · sample {self.follow + 1}/{self.BATCH}")
            frame = self.frame
            if frame is not None:
                text.append(f" · step {frame.index + 1}/{frame.total} t={frame.t}",
                            style="bold")
            state = {"running": ("▶ running", "green"), "paused": ("⏸ paused", "yellow"),
                     "done": ("✓ done", "green"), "idle": ("idle", "dim"),
                     "failed": ("failed", "red"), "loading": ("loading", "dim")}[self.state]
            text.append(" · ")
            text.append(state[0], style=state[1])
            text.append("\nspace pause · . step · r again · n/e seed · d sampler · +/- steps"
                        " · [/] sample", style="dim")
        # fixed height: no layout pass per frame (a layout per update cost ~35 ms here)
        self.query_one("#df-status", Static).update(text, layout=False)

    _paused_by_hiding = False

    def pane_hidden(self) -> None:
        # A sampler on a hidden tab would take the CPU from the pane on screen.
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
            self._paused_by_hiding = True
            self._show_status()

    def _resume_after_hiding(self) -> None:
        if self._paused_by_hiding and self.state == "paused":
            self._paused_by_hiding = False
            self._control.play()
            self.state = "running"
            self._show_status()

    def action_toggle_pause(self) -> None:
        if self.model is None:
            return
        if self.view != "reverse":
            self.action_set_view("reverse")
            return
        if self.state == "running":
            self._control.pause()
            self.state = "paused"
        elif self.state == "paused":
            self._control.play()
            self.state = "running"
        elif self.state in ("idle", "done"):
            self.start_run()
        self._show_status()

    def action_step(self) -> None:
        """Pause (if running) and let the sampler take exactly one more step."""
        if self.model is None or self.view != "reverse":
            return
        if self.state in ("idle", "done"):
            self.start_run()
            self._control.pause()
            self.state = "paused"
        elif self.state == "running":
            self._control.pause()
            self.state = "paused"
        elif self.state == "paused":
            self._control.step_once()
        self._show_status()

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
