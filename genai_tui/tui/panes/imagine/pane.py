"""The Imagine pane: type a prompt, watch a small text-to-image diffusion model draw it.

This file owns loading (the pane kit: the text-to-image model, and CLIP when it
is bundled), the prompt box and its token line, the views and their keys, the
sampling knobs (F-keys, so they work while typing), the status line and the PNG
export. The runs (the denoising worker, the guidance row) are the `ImagineRuns`
mixin in `run.py`; the views' drawing is in `views.py`; the model work the
workers call is in `work.py`. No torch here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import ContentSwitcher, Input, Static

from genai_tui.service import imagine as svc
from genai_tui.tui.charts import TextLine
from genai_tui.tui.pane import Export, Pane, png_export, save_and_view_bindings
from genai_tui.tui.panes.diffusion.sampler import SamplerControl
from genai_tui.tui.panes.imagine import work as wk
from genai_tui.tui.panes.imagine.clip_views import SEARCH_K, ClipViews, MapView
from genai_tui.tui.panes.imagine.help import HELP
from genai_tui.tui.panes.imagine.run import BATCH, GUIDANCE_ROW, ImagineRuns
from genai_tui.tui.panes.imagine.views import (
    AttentionView,
    DenoiseView,
    GuidanceView,
    SearchView,
    knob_line,
    token_line,
)
from genai_tui.tui.textbox import SafeInput
from genai_tui.tui.widgets import ViewBar, numbered

GUIDANCE_KEYS = Binding.Group("w±")
STEP_KEYS = Binding.Group("Steps±")
VIEWS: tuple[str, ...] = ("denoise", "guidance", "attention", "search", "map")
VIEW_TITLES: dict[str, str] = {"denoise": "Denoise", "guidance": "Guidance",
                               "attention": "Attention", "search": "Search (CLIP)",
                               "map": "Map (CLIP)"}
GUIDANCES: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0)
DDIM_STEPS: tuple[int, ...] = (5, 10, 25, 50, 100)
DEFAULT_PROMPT = "a thick seven"


class ImaginePane(ClipViews, ImagineRuns, Pane):
    """Text to image: a prompt, classifier-free guidance, cross-attention, CLIP."""

    PANE_ID = "imagine"
    TITLE = "Imagine"
    HELP = HELP
    EXPORTS = "the images shown as PNG"
    LOADING = "the text-to-image model"
    REBUILD = wk.IMAGINE_BUILD
    BINDINGS: ClassVar[list[BindingType]] = [
        # One key, its footer label saying what it does now (check_action).
        Binding("f5", "pause", "Pause"),
        Binding("f5", "resume", "Resume"),
        Binding("f5", "draw", "Draw"),
        # F6/F7 and F10/F11 each take one footer label, so F1 Help fits at 80 columns
        Binding("f6", "guidance(-1)", "Guidance down", group=GUIDANCE_KEYS),
        Binding("f7", "guidance(1)", "Guidance up", group=GUIDANCE_KEYS),
        Binding("f8", "toggle_sampler", "Sampler"),
        Binding("f10", "change_steps(-1)", "Fewer steps", group=STEP_KEYS),
        Binding("f11", "change_steps(1)", "More steps", group=STEP_KEYS),
        Binding("f12", "next_seed", "Seed"),
        *save_and_view_bindings(VIEWS, VIEW_TITLES),
        Binding("slash", "edit", "Edit the prompt", show=False),
        Binding("full_stop", "step", "One step", show=False),
        Binding("left_square_bracket", "follow(-1)", "Follow the previous image", show=False),
        Binding("right_square_bracket", "follow(1)", "Follow the next image", show=False),
        Binding("left", "attention_step(-1)", "Attention: an earlier step", show=False),
        Binding("right", "attention_step(1)", "Attention: a later step", show=False),
    ]
    DEFAULT_CSS = """
    ImaginePane { layout: vertical; height: 1fr; }
    ImaginePane:focus { background-tint: $foreground 0%; }
    ImaginePane #im-top { height: 1; }
    ImaginePane #im-top > Static { width: auto; color: $text-muted; }
    ImaginePane #im-prompt { width: 1fr; }
    ImaginePane #im-tokens { height: 1; }
    ImaginePane #im-row { height: 1; background: $boost; }
    ImaginePane #im-bar { width: auto; max-width: 60%; }
    ImaginePane #im-knobs { width: 1fr; padding-left: 1; }
    ImaginePane #im-views { height: 1fr; }
    """
    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = "denoise"
        self.models = wk.Models()
        self.guidance = svc.SampleSettings().guidance  # 1: where the bundled model is best
        self.steps = 25
        self.sampler = "ddim"
        self.seed = 0
        self.follow = 0
        self.state = "loading"
        self.frame: svc.ImagineStep | None = None
        self.finals: Any = None
        self.readings: list[wk.Reading] | None = None
        self.attention_steps: list[svc.ImagineStep] = []
        self.attention_pick: int | None = None
        """Index into `attention_steps` (None: the latest)."""
        self.row: dict[float, wk.Scaled] = {}
        self.row_key: tuple | None = None
        self.found: wk.Found | None = None
        self.last_settings: svc.SampleSettings | None = None
        """The settings of the latest denoising run (tests read them)."""
        self._control = SamplerControl()

    def compose(self) -> ComposeResult:
        with Horizontal(id="im-top"):  # as the Generate pane's prompt row
            yield Static("Prompt›")
            yield SafeInput(DEFAULT_PROMPT, placeholder="a prompt, e.g. a thin 3 leaning left"
                            " (Enter draws it)", compact=True, id="im-prompt")
        yield TextLine(id="im-tokens")
        with Horizontal(id="im-row"):
            yield ViewBar(numbered(VIEWS, VIEW_TITLES), self.view, narrow_below=200,
                          short_titles={"guidance": "Guide", "attention": "Attn",
                                        "search": "Search", "map": "Map"},
                          id="im-bar")
            yield TextLine(id="im-knobs")
        with ContentSwitcher(initial="im-denoise-view", id="im-views"):
            yield DenoiseView(id="im-denoise-view")
            yield GuidanceView(id="im-guidance-view")
            yield AttentionView(id="im-attention-view")
            yield SearchView(id="im-search-view")
            yield MapView(id="im-map-view")

    def on_mount(self) -> None:
        self.show_knobs()

    # -- showing, hiding, loading ---------------------------------------------------------

    def pane_shown(self) -> None:
        super().pane_shown()
        self.call_after_refresh(self.focus)
        self.resume_after_hiding()

    def on_pane_first_show(self) -> None:
        self.start_loading()

    def load(self) -> wk.Models:
        return wk.load_models()

    def show_load_state(self, text: Text) -> None:
        self.query_one(DenoiseView).panel.show_message(text)

    def loaded(self, result: wk.Models) -> None:
        self.models = result
        if result.imagine is None:
            self.state = "missing"
            self.report_error(result.imagine_error)
            text = Text(style="red")
            text.append("No text-to-image model: ", style="bold")
            text.append(result.imagine_error)
            text.append(f"\n\nBuild it with: {wk.IMAGINE_BUILD}")
            if result.clip is None:
                text.append(f"\nFor the CLIP scores and the search view: {wk.CLIP_BUILD}")
            else:
                text.append("\nThe search and map views (4, 5) work: they need only CLIP.")
            for view in (DenoiseView, GuidanceView, AttentionView, SearchView):
                self._message(view, text)
        else:
            if result.clip is None:
                self.notify(f"CLIP scores n/a: {self.clip_reason()}", timeout=6,
                            severity="warning", markup=False)
            self.state = "idle"
            self.start_run()
            self._show_view()
        self.show_prompt()
        self.show_knobs()

    def clip_reason(self) -> str:
        """Why there are no CLIP scores, in one line."""
        first = (self.models.clip_error or "no CLIP model").splitlines()[0]
        return f"{first[:120]} (build it with: {wk.CLIP_BUILD})"

    def _message(self, view: type, text: Text) -> None:
        widget = self.query_one(view)
        if isinstance(widget, DenoiseView):
            widget.panel.show_message(text)
        elif isinstance(widget, GuidanceView):
            widget.query_one("#im-guidance").show_message(text)
        else:
            widget.show_message(text)

    # -- the prompt -----------------------------------------------------------------------

    @property
    def prompt(self) -> str:
        return self.query_one("#im-prompt", SafeInput).text

    def sample_settings(self, n: int) -> svc.SampleSettings:
        return svc.SampleSettings(prompt=self.prompt, guidance=self.guidance, steps=self.steps,
                                  sampler=self.sampler, seed=self.seed, n=n)

    @on(Input.Submitted, "#im-prompt")
    def _on_submit(self, event: Input.Submitted) -> None:
        event.stop()
        self._redraw_all()

    @on(Input.Changed, "#im-prompt")
    def _on_change(self, event: Input.Changed) -> None:
        event.stop()
        self.show_prompt()

    def show_prompt(self) -> None:
        """The token line: the prompt as the model reads it, and what it never saw."""
        line = self.query_one("#im-tokens", TextLine)
        model = self.models.imagine
        if model is None:
            line.set_text(Text("(no model to read the prompt)", style="dim"))
            return
        info = svc.prompt_info(model, self.prompt)
        text = token_line(info, line.size.width or 80)
        line.set_text(text)

    def action_edit(self) -> None:
        self.query_one("#im-prompt", SafeInput).focus()

    # -- knobs ----------------------------------------------------------------------------

    def _redraw_all(self) -> None:
        """The prompt or a knob changed: draw again (and the row, if it is shown)."""
        self.attention_pick = None
        self.start_run()
        if self.view == "guidance":
            self.start_row()
        elif self.view == "search":
            self.start_search()
        self.show_knobs()

    def action_guidance(self, direction: int) -> None:
        index = min(range(len(GUIDANCES)), key=lambda i: abs(GUIDANCES[i] - self.guidance))
        index = max(0, min(len(GUIDANCES) - 1, index + direction))
        if GUIDANCES[index] == self.guidance:
            return
        self.guidance = GUIDANCES[index]
        self.attention_pick = None
        self.start_run()
        if self.view == "guidance":
            self.show_row()
        self.show_knobs()

    def action_toggle_sampler(self) -> None:
        self.sampler = "ddpm" if self.sampler == "ddim" else "ddim"
        self._redraw_all()

    def action_change_steps(self, direction: int) -> None:
        if self.sampler != "ddim":
            self.notify("DDPM always takes every step; F8 switches to DDIM.", timeout=3)
            return
        limit = self.models.imagine.num_timesteps if self.models.imagine else 1000
        options = [s for s in DDIM_STEPS if s <= limit]
        bigger = [s for s in options if s > self.steps]
        smaller = [s for s in options if s < self.steps]
        if direction > 0 and bigger:
            self.steps = bigger[0]
        elif direction < 0 and smaller:
            self.steps = smaller[-1]
        else:
            return
        self._redraw_all()

    def action_next_seed(self) -> None:
        self.seed += 1
        self._redraw_all()

    def action_follow(self, delta: int) -> None:
        self.follow = (self.follow + delta) % BATCH
        self._show_view()
        self.show_knobs()

    def action_attention_step(self, delta: int) -> None:
        if self.view != "attention" or not self.attention_steps:
            return
        last = len(self.attention_steps) - 1
        pick = last if self.attention_pick is None else self.attention_pick
        pick = max(0, min(last, pick + delta))
        self.attention_pick = None if pick == last and self.state == "done" else pick
        self.show_attention()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return self.state == "running"
        if action == "resume":
            return self.state == "paused"
        if action == "draw":
            return self.state not in ("running", "paused")
        return True

    def action_pause(self) -> None:
        self.action_toggle_pause()

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_draw(self) -> None:
        self.action_toggle_pause()

    def show_knobs(self) -> None:
        total = self.models.imagine.num_timesteps if self.models.imagine else 1000
        self.query_one("#im-knobs", TextLine).set_text(knob_line(
            self.guidance, self.sampler, self.steps, total, self.seed, self.state, self.frame))
        self.refresh_bindings()

    def on_resize(self) -> None:
        self.show_prompt()

    # -- views ----------------------------------------------------------------------------

    def action_set_view(self, view: str) -> None:
        if view not in VIEWS:
            return
        self.view = view
        self.query_one(ContentSwitcher).current = f"im-{view}-view"
        self.query_one(ViewBar).set_value(view)
        self._show_view()
        self.show_knobs()

    def on_view_bar_picked(self, message: ViewBar.Picked) -> None:
        self.action_set_view(message.value)

    def _show_view(self) -> None:
        if self.state == "loading":
            return
        if self.view == "search":  # CLIP alone: works without the text-to-image model
            self.start_search()
            return
        if self.view == "map":
            self.start_map()
            return
        if self.models.imagine is None:
            return
        if self.view == "denoise":
            self.show_run()
        elif self.view == "guidance":
            self.start_row()
            self.show_row()
        elif self.view == "attention":
            self.show_attention()

    def show_run(self) -> None:
        if self.view == "denoise":
            view = self.query_one(DenoiseView)
            if self.finals is not None and self.readings is not None:
                view.show_finals(self.finals, self.readings, self.follow)
            elif self.frame is not None:
                view.show_step(self.frame, self.follow)
        elif self.view == "attention":
            self.show_attention()
        self.show_knobs()

    def show_row(self) -> None:
        if self.view == "guidance":
            self.query_one(GuidanceView).show_row(GUIDANCE_ROW, self.row, self.guidance)

    def _attention_step(self) -> svc.ImagineStep | None:
        if not self.attention_steps:
            return None
        pick = self.attention_pick
        return self.attention_steps[-1 if pick is None else pick]

    def show_attention(self) -> None:
        view = self.query_one(AttentionView)
        step = self._attention_step()
        if step is None:
            if self.guidance == 0:
                why = ("Guidance 0 ignores the prompt: there is no conditional pass, so no "
                       "cross-attention to show. F7 raises the guidance.")
            else:
                why = "The maps appear as the run draws (F5 draws)."
            view.show_message(Text(why, style="dim"))
            return
        i = min(self.follow, len(step.x0) - 1)
        image = step.x_next[i] if step.done else step.x0[i]
        view.show_maps(step, image, self.follow, step.done)

    # -- saving ---------------------------------------------------------------------------

    def export_data(self) -> Export | None:
        images, ncol = self._png_images()
        if images is None:
            return None
        return png_export(f"imagine-{self.view}", images, ncol)

    def _png_images(self) -> tuple[Any, int]:
        if self.view == "denoise":
            if self.finals is not None:
                return self.finals, BATCH
            if self.frame is not None:
                f = self.frame
                return np.stack([im for i in range(len(f.x_t)) for im in (f.x_t[i], f.x0[i])]), 4
        if self.view == "guidance" and self.row:
            return np.stack([self.row[g].image for g in GUIDANCE_ROW if g in self.row]), 6
        if self.view == "attention":
            step = self._attention_step()
            if step is not None:
                i = min(self.follow, len(step.x0) - 1)
                maps = step.attention[i]
                image = step.x_next[i] if step.done else step.x0[i]
                return np.concatenate([image[None], maps / (float(maps.max()) or 1.0)]), 8
        if self.view == "search" and self.found is not None:
            return self.found.images, SEARCH_K
        return None, 0
