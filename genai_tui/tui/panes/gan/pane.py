"""The GAN pane: GAN Lab in a terminal. Watch a generator and a discriminator
train against each other, on 2-D points or on digit images."""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.worker import get_current_worker

from genai_tui import display
from genai_tui.images.charts import BOTH_GLYPH, FAKE_GLYPH, REAL_GLYPH, REAL_SIDE_GLYPH
from genai_tui.service.gan import (
    GanEvent,
    GanSettings,
    GanTrainer,
    ImagesView,
    PointsView,
)
from genai_tui.service.runtime import torch_threads
from genai_tui.tui.pane import Export, Pane, describe_error
from genai_tui.tui.panes.gan import export
from genai_tui.tui.panes.gan.settings import GanSettingsScreen
from genai_tui.tui.panes.gan.widgets import ChartView, MapView, TextLine

REFRESH_SECONDS = 0.1
"""The worker sends the screen new plots at most this often (10 Hz) while playing."""
HISTORY = 20_000
"""Events kept for the curves (the charts show the last `ChartView.window`)."""

D_COLOUR = "#ff9e3d"
G_COLOUR = "#5fb4ff"
REAL_COLOUR = "#7ee787"
FAKE_COLOUR = "#f778ba"
JS_COLOUR = "#e3d26f"


class _Control:
    """What the UI thread tells the training worker: commands and the play flag."""

    def __init__(self) -> None:
        self.commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.playing = threading.Event()
        self.wake = threading.Event()

    def send(self, command: str, arg: Any = None) -> None:
        self.commands.put((command, arg))
        self.wake.set()


class GanPane(Pane):
    """Train a GAN live and watch its losses, D's decision map and G's samples."""

    PANE_ID = "gan"
    TITLE = "GAN"
    HELP = """\
A **generative adversarial network** is two networks in a game. The
**generator** G turns random noise z into samples; the **discriminator** D
scores how *real* a sample looks. D learns to tell real data from G's output;
G learns to fool D. At the ideal end, G's samples match the data and D says
0.5 everywhere (D loss 2 ln 2 ≈ 1.39, G loss ln 2 ≈ 0.69 with the
non-saturating loss).

- **2-D mode**: real points `•`, generated points `×` (`⊕` where both) over
  D's **decision map**: green where D says "real", purple where it says
  "generated". G's points follow the map's gradient towards green.
- **Image mode**: a small DCGAN on the digit data; the grid shows G's samples
  for a fixed z, so you see the same "latent points" sharpen into digits.
- **JS divergence** (2-D): how different the histograms of real and generated
  points are, in bits (0 = same, 1 = disjoint). **Modes covered**: modes that
  get their share of sharp samples. **Mode collapse**: G gathers its samples
  around at most half of the modes and a warning appears (to see it: settings,
  D learning rate 0.0001).

`space` plays and pauses; pause and take one D step (`d`) or one G step (`g`)
to see each player's move. `m` switches between 2-D points and images.
Settings: data set (ring, grid, spiral, moons, line, or your CSV of x,y
points), loss (non-saturating or least squares), optimiser, learning rates,
D steps per G step, noise size, batch size, seed. Same seed, same run.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Short labels: at 80 columns the footer must leave room for ^q Quit.
        # One key, its footer label saying what it will do now (check_action).
        Binding("space", "pause", "Pause"),
        Binding("space", "play", "Play"),
        Binding("d", "step_d", "Step D"),
        Binding("g", "step_g", "Step G"),
        Binding("n", "step_once", "One step (D then G)", show=False),
        Binding("r", "reset", "Reset"),
        Binding("s", "settings", "Settings"),
        Binding("m", "switch_mode", "Mode"),
    ]

    DEFAULT_CSS = """
    GanPane { layout: vertical; }
    #gan-main { height: 1fr; }
    #gan-left { width: 1fr; min-width: 30; }
    #gan-right { width: 38; padding-left: 1; }
    #gan-legend, .gan-title { height: 1; }
    #gan-loss { height: 2fr; }
    #gan-dx, #gan-js { height: 1fr; }
    #gan-status { height: 2; background: $boost; padding: 0 1; }
    #gan-status, #gan-legend, .gan-title { text-wrap: nowrap; text-overflow: ellipsis; }
    GanPane.-images #gan-right { width: 32; }
    """

    class Update(Message):
        """New events and a fresh view from the worker."""

        def __init__(self, run_id: int, events: list[GanEvent],
                     view: PointsView | ImagesView | None, settings: GanSettings,
                     rate: float | None, estimate: tuple | None = None,
                     playing: bool = False) -> None:
            super().__init__()
            self.playing = playing
            """Whether the worker was training when it sent this; the first update
            with False after a pause carries the last steps it will take."""
            self.estimate = estimate
            """(JS, modes covered, modes total, collapse, share on modes) of the latest
            evaluation (images: JS is None, the modes are digits)."""
            self.run_id = run_id
            self.events = events
            self.view = view
            self.settings = settings
            self.rate = rate

    class Failed(Message):
        """Building a run failed (bad CSV, ...); the previous run goes on."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Busy(Message):
        """The worker is building a run (loading torch, data)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.settings: dict[str, GanSettings] = {
            "points": GanSettings.for_mode("points"),
            "images": GanSettings.for_mode("images"),
        }
        self.mode = "points"
        self._ctl = _Control()
        self._map_size = (40, 16)
        self.run_id = 0
        self.updates = 0
        """Update messages handled (the plots redraw once per update)."""
        self.worker_training = False
        """Whether the last update said the worker was training (see `Update.playing`)."""
        self.last_update_at = 0.0
        self.last_action_at = 0.0
        """perf_counter() when the latest update / key action took effect (benchmarks)."""
        self._focus_pending = False
        self.playing = False
        self.busy = True
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self.rate: float | None = None
        self.last_event: GanEvent | None = None
        self.js: float | None = None
        self.modes: tuple[int, int] | None = None
        self.on_modes: float | None = None
        self.collapse = False
        self._clear_history()

    def _clear_history(self) -> None:
        self.hist: dict[str, list[float]] = {k: [] for k in ("d_loss", "g_loss", "d_real",
                                                            "d_fake")}
        self.js_hist: list[float] = []
        self.events: list[GanEvent] = []
        """The run's events (the last `HISTORY`), for the CSV export."""

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="gan-main"):
            with Vertical(id="gan-left"):
                yield TextLine(self._legend(), id="gan-legend")
                yield MapView(id="gan-map")
            with Vertical(id="gan-right"):
                yield TextLine(Text("loss"), id="gan-loss-title", classes="gan-title")
                yield ChartView(id="gan-loss")
                yield TextLine(Text("D(x)"), id="gan-dx-title", classes="gan-title")
                yield ChartView(y_range=(0.0, 1.0), id="gan-dx")
                yield TextLine(Text("JS divergence"), id="gan-js-title", classes="gan-title")
                yield ChartView(y_range=(0.0, 1.0), window=200, id="gan-js")
        yield TextLine(id="gan-status")

    def on_mount(self) -> None:
        self._update_status()

    def pane_shown(self) -> None:
        super().pane_shown()
        # Keys work only with focus inside the pane; after a tab switch the tab
        # strip holds it.
        self._focus_pending = True
        self.call_after_refresh(self._focus_map)
        self._resume_after_hiding()

    def _focus_map(self) -> None:
        """Move focus into the pane unless the user has put it elsewhere since.

        Also called when the first run is ready: at start-up the screen's
        auto-focus may land on the tab strip after `pane_shown`."""
        if not self._focus_pending:
            return
        self._focus_pending = False
        tabs = self.app.query("#panes")
        if tabs and getattr(tabs.first(), "active", self.PANE_ID) != self.PANE_ID:
            return
        focused = self.app.focused
        if focused is None or self not in focused.ancestors_with_self:
            self.query_one(MapView).focus()

    def on_pane_first_show(self) -> None:
        self._ctl.send("build", self.settings[self.mode])
        self._train_loop()

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._remember_map_size)

    def _remember_map_size(self) -> None:
        size = self.query_one(MapView).size
        if size.width > 0 and size.height > 0 and (size.width, size.height) != self._map_size:
            self._map_size = (size.width, size.height)
            self._ctl.send("view")  # redraw at the new size, even while paused

    # -- the training worker ---------------------------------------------------

    @work(thread=True, exclusive=True, group="gan-train", exit_on_error=False,
          description="GAN training")
    def _train_loop(self) -> None:
        worker = get_current_worker()
        ctl = self._ctl
        trainer: GanTrainer | None = None
        run_id = 0
        pending: list[GanEvent] = []
        last_post = time.monotonic()
        rate_t0, rate_steps = time.monotonic(), 0
        rate: float | None = None
        was_playing = False
        with torch_threads(1):
            while not worker.is_cancelled:
                acted = False
                while True:
                    try:
                        command, arg = ctl.commands.get_nowait()
                    except queue.Empty:
                        break
                    acted = True
                    try:
                        if command == "build":
                            self.post_message(self.Busy(_building_text(arg)))
                            if trainer is not None and trainer.settings.mode == arg.mode:
                                trainer.reset(arg)
                            else:
                                trainer = GanTrainer(arg)
                            run_id += 1
                            pending = []
                        elif trainer is None:
                            continue
                        elif command == "reset":
                            trainer.reset()
                            run_id += 1
                            pending = []
                        elif command == "d":
                            pending.append(trainer.step_d())
                        elif command == "g":
                            pending.append(trainer.step_g())
                        elif command == "n":
                            pending.append(trainer.step())
                    except Exception as e:  # noqa: BLE001 - shown; the pane stays alive
                        self.post_message(self.Failed(describe_error(e)))
                if trainer is None:
                    ctl.wake.wait(0.1)
                    ctl.wake.clear()
                    continue
                playing = ctl.playing.is_set()
                if playing:
                    pending.append(trainer.step())
                    rate_steps += 1
                now = time.monotonic()
                if now - rate_t0 >= 0.5:
                    rate = rate_steps / (now - rate_t0) if playing else None
                    rate_t0, rate_steps = now, 0
                if was_playing and not playing:
                    acted = True  # say at once that training stopped, with its last steps
                was_playing = playing
                if acted or (pending and now - last_post >= REFRESH_SECONDS):
                    self.post_message(self.Update(run_id, pending, self._view(trainer),
                                                  trainer.settings, rate, _estimate(trainer),
                                                  playing))
                    pending = []
                    last_post = now
                elif not playing:
                    rate = None
                    ctl.wake.wait(0.1)
                    ctl.wake.clear()

    def _view(self, trainer: GanTrainer) -> PointsView | ImagesView:
        if trainer.settings.mode == "points":
            cols, rows = self._map_size
            return trainer.points_view(cols, rows)
        return trainer.images_view(64)

    # -- messages from the worker ------------------------------------------------

    def on_gan_pane_busy(self, message: Busy) -> None:
        self.busy = True
        self.query_one(MapView).show_message(Text("⏳ " + message.text, "bold"))
        self._update_status()

    def on_gan_pane_failed(self, message: Failed) -> None:
        self.busy = False
        # the kit's notification has markup=False: the text quotes the user's CSV
        self.report_error(message.text)
        view = self.query_one(MapView)
        if view.view is not None:
            view.set_view(view.view)
        else:
            view.show_message(Text("✗ " + message.text, style="bold red"))
        self._update_status()

    def on_gan_pane_update(self, message: Update) -> None:
        if message.run_id != self.run_id:
            self.run_id = message.run_id
            self._clear_history()
            self.js = None
            self.modes = None
            self.on_modes = None
            self.collapse = False
            self.step = self.d_updates = self.g_updates = 0
            self.last_event = None
        self.updates += 1
        self.worker_training = message.playing
        self.last_update_at = time.perf_counter()
        if self.busy and self.last_event is None and not message.events:
            self._focus_pending = True  # the first run is ready: see `_focus_map`
            self.call_after_refresh(self._focus_map)
        self.busy = False
        self.mode = message.settings.mode
        self.set_class(self.mode == "images", "-images")
        self.settings[self.mode] = message.settings
        for ev in message.events:
            self._record(ev)
        if message.estimate is not None:
            js, covered, total, collapse, on_modes = message.estimate
            self.js = js
            self.modes = (covered, total) if covered is not None and total else None
            self.collapse = collapse
            self.on_modes = on_modes
        self.rate = message.rate
        if message.view is not None:
            self.query_one(MapView).set_view(message.view)
        self._refresh_plots()
        self._update_status()
        self.query_one("#gan-legend", TextLine).set_text(self._legend())

    def _record(self, ev: GanEvent) -> None:
        self.last_event = ev
        self.events.append(ev)
        if len(self.events) > HISTORY:
            del self.events[: len(self.events) - HISTORY]
        self.step, self.d_updates, self.g_updates = ev.step, ev.d_updates, ev.g_updates
        for key, values in self.hist.items():
            values.append(getattr(ev, key))
            if len(values) > HISTORY:
                del values[: len(values) - HISTORY]
        if ev.js is not None:
            self.js = ev.js
            self.js_hist.append(ev.js)
        elif ev.on_modes is not None and self.mode == "images":
            self.on_modes = ev.on_modes
            self.js_hist.append(ev.on_modes)  # image mode: share read as digits
        if len(self.js_hist) > HISTORY:
            del self.js_hist[: len(self.js_hist) - HISTORY]
        if ev.modes_covered is not None:
            self.modes = (ev.modes_covered, ev.modes_total)
        self.collapse = ev.mode_collapse

    # -- export -------------------------------------------------------------------

    EXPORTS = "the training curves (losses, D(x), D(G(z)), JS divergence) as CSV"

    def export_data(self) -> Export | None:
        if not self.events:
            return None
        events, mode = list(self.events), self.mode
        return Export(f"gan-{mode}-curves", ".csv",
                      lambda path: export.write_curves(path, events))

    # -- drawing ------------------------------------------------------------------

    def _refresh_plots(self) -> None:
        h = self.hist
        ev = self.last_event
        loss = Text(no_wrap=True, overflow="ellipsis")
        loss.append("loss ")
        loss.append("━ D ", style=D_COLOUR)
        loss.append(_num(ev.d_loss if ev else None))
        loss.append("  ")
        loss.append("━ G ", style=G_COLOUR)
        loss.append(_num(ev.g_loss if ev else None))
        self.query_one("#gan-loss-title", TextLine).set_text(loss)
        self.query_one("#gan-loss", ChartView).set_series(
            [(h["d_loss"], D_COLOUR), (h["g_loss"], G_COLOUR)])
        dx = Text(no_wrap=True, overflow="ellipsis")
        dx.append("━ D(x) ", style=REAL_COLOUR)
        dx.append(_num(ev.d_real if ev else None))
        dx.append("  ")
        dx.append("━ D(G(z)) ", style=FAKE_COLOUR)
        dx.append(_num(ev.d_fake if ev else None))
        self.query_one("#gan-dx-title", TextLine).set_text(dx)
        self.query_one("#gan-dx", ChartView).set_series(
            [(h["d_real"], REAL_COLOUR), (h["d_fake"], FAKE_COLOUR)])
        js = Text(no_wrap=True, overflow="ellipsis")
        if self.mode == "points":
            js.append("━ JS divergence ", style=JS_COLOUR)
            js.append(_num(self.js))
            js.append(" bits")
        else:
            js.append("━ read as digits ", style=JS_COLOUR)
            js.append("—" if self.on_modes is None else f"{self.on_modes:.0%}")
            if self.modes is not None:
                js.append(f" · {self.modes[0]}/10 digits")
        self.query_one("#gan-js", ChartView).set_series([(self.js_hist, JS_COLOUR)])
        self.query_one("#gan-js-title", TextLine).set_text(js)

    def _legend(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.mode == "points":
            t.append(REAL_GLYPH, style=f"bold {REAL_COLOUR}")
            t.append(" real  ")
            t.append(FAKE_GLYPH, style=f"bold {FAKE_COLOUR}")
            t.append(" generated  ")
            t.append(BOTH_GLYPH, style="bold")
            t.append(" both  D: ")
            if display.current().glyph_cues:  # the shade alone cannot say it
                t.append(f"{REAL_SIDE_GLYPH}real", style="on #19552d")
                t.append(" ")
                t.append("fake", style="on #461e5a")
            else:
                t.append("real", style="on #19552d")
                t.append(" ")
                t.append("fake", style="on #461e5a")
        else:
            t.append("G(z) for a fixed z: the same noise, sharpening into digits")
        return t

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause", "play"):
            return bool(self.playing) == (action == "pause")
        return True

    def action_pause(self) -> None:
        self.action_toggle_play()

    def action_play(self) -> None:
        self.action_toggle_play()

    def _update_status(self) -> None:
        self.refresh_bindings()
        s = self.settings[self.mode]
        line1 = Text()
        if self.busy:
            line1.append("⏳ building ", style="bold")
        elif self.playing:
            line1.append("▶ training ", style="bold green")
        else:
            line1.append("⏸ paused ", style="bold yellow")
        line1.append(f" step {self.step}")
        line1.append(f" (D {self.d_updates}, G {self.g_updates})", style="dim")
        if self.playing and self.rate is not None:
            line1.append(f"  {self.rate:.0f} steps/s")
        if self.modes is not None:
            line1.append(f"  {'modes' if self.mode == 'points' else 'digits'} covered "
                         f"{self.modes[0]}/{self.modes[1]}")
        line2 = Text()
        if self.collapse and self.modes is not None:
            what = "modes" if self.mode == "points" else "digits"
            line2.append(f" ⚠ MODE COLLAPSE: G covers only {self.modes[0]} of "
                         f"{self.modes[1]} {what} ", style="bold white on red")
            line2.append(" try r (reset), a lower G lr, or least squares")
        else:
            data = s.data if s.mode == "images" else _short_data(s.data)
            line2.append(f"{'2-D' if s.mode == 'points' else 'images'} · ", style="dim")
            line2.append(Text(data, style="dim"))
            line2.append(f" · {s.loss} · {s.optimizer} · lr D {s.lr_d:g} G {s.lr_g:g}"
                         f" · D steps {s.d_steps} · seed {s.seed}", style="dim")
        self.last_action_at = time.perf_counter()
        status = Text("\n").join([line1, line2])
        self.query_one("#gan-status", TextLine).set_text(status)

    # -- actions --------------------------------------------------------------------

    def _started(self) -> bool:
        if not self._shown_once:
            self.pane_shown()
        return True

    _paused_by_hiding = False

    def pane_hidden(self) -> None:
        # Training on a hidden tab would take the CPU from the pane on screen.
        if self.playing:
            self._pause()
            self._paused_by_hiding = True
            self._update_status()

    def _resume_after_hiding(self) -> None:
        if self._paused_by_hiding:
            self._paused_by_hiding = False
            self.action_toggle_play()
            self.notify("Training was paused while this tab was hidden; it goes on now.",
                        title="GAN", timeout=3)

    def action_toggle_play(self) -> None:
        self._started()
        self.playing = not self.playing
        if self.playing:
            self._ctl.playing.set()
        else:
            self._ctl.playing.clear()
            self.rate = None
        self._ctl.wake.set()
        self._update_status()

    def _pause(self) -> None:
        if self.playing:
            self.playing = False
            self._ctl.playing.clear()
            self.rate = None

    def action_step_d(self) -> None:
        self._started()
        self._pause()
        self._ctl.send("d")
        self._update_status()

    def action_step_g(self) -> None:
        self._started()
        self._pause()
        self._ctl.send("g")
        self._update_status()

    def action_step_once(self) -> None:
        self._started()
        self._pause()
        self._ctl.send("n")
        self._update_status()

    def action_reset(self) -> None:
        self._started()
        self._ctl.send("reset")

    def action_switch_mode(self) -> None:
        self._started()
        self._pause()
        self.mode = "images" if self.mode == "points" else "points"
        self.busy = True
        self._ctl.send("build", self.settings[self.mode])
        self.query_one("#gan-legend", TextLine).set_text(self._legend())
        self._update_status()

    def action_settings(self) -> None:
        self._started()

        def apply(settings: GanSettings | None) -> None:
            if settings is None:
                return
            self.settings[settings.mode] = settings
            self.apply_settings(settings)

        self.app.push_screen(GanSettingsScreen(self.settings[self.mode]), apply)

    def apply_settings(self, settings: GanSettings) -> None:
        """Restart training with ``settings`` (raises UserError when invalid)."""
        settings = replace(settings)
        settings.validate()
        self._pause()
        self.busy = True
        self.mode = settings.mode
        self._ctl.send("build", settings)
        self._update_status()


def _estimate(trainer: GanTrainer) -> tuple:
    return (trainer.last_js, trainer.last_modes_covered, trainer.modes_total,
            trainer.mode_collapse, trainer.last_on_modes)


def _num(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.3f}"


def _short_data(data: str) -> str:
    return data if len(data) <= 24 else "…" + data[-23:]


def _building_text(settings: GanSettings) -> str:
    if settings.mode == "images":
        return "Drawing digits and building the DCGAN…"
    return f"Building the GAN on {_short_data(settings.data)}…"
