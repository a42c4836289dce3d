"""The GAN pane: GAN Lab in a terminal. Watch a generator and a discriminator
train against each other, on 2-D points or on digit images.

This file wires the pane: its keys, the run state the plots show, and the kit
hooks (the first run loads through `load`, later runs are built through
`compute("build")`, each run numbered with `new_request("run")`). The
training loop is in `training.py`, the text it shows in `draw.py`, the
widgets in `widgets.py`, the settings dialog in `settings.py`, its CSS in
`style.py`.
"""

from __future__ import annotations

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

from genai_tui.service.gan import GanEvent, GanSettings, GanTrainer, ImagesView, PointsView
from genai_tui.tui.charts import ChartView, TextLine
from genai_tui.tui.pane import Export, Pane, csv_export, describe_error
from genai_tui.tui.panes.gan import draw, export, training
from genai_tui.tui.panes.gan.draw import D_COLOUR, FAKE_COLOUR, G_COLOUR, JS_COLOUR, REAL_COLOUR
from genai_tui.tui.panes.gan.history import RunRecord
from genai_tui.tui.panes.gan.settings import GanSettingsScreen
from genai_tui.tui.panes.gan.style import PANE_CSS
from genai_tui.tui.panes.gan.widgets import MapView


class GanPane(RunRecord, Pane):
    """Train a GAN live and watch its losses, D's decision map and G's samples."""

    PANE_ID = "gan"
    TITLE = "GAN"
    HELP = draw.HELP

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

    DEFAULT_CSS = PANE_CSS

    class Update(Message):
        """New events and a fresh view from the training worker."""

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
            """The run's request serial (`new_request("run")`)."""
            self.events = events
            self.view = view
            self.settings = settings
            self.rate = rate

    class Failed(Message):
        """A command of the training worker raised; the run goes on."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    LOADING = "the GAN"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.settings: dict[str, GanSettings] = {
            "points": GanSettings.for_mode("points"),
            "images": GanSettings.for_mode("images"),
        }
        self.mode = "points"
        self._ctl = training.Control()
        self._map_size = (40, 16)
        self._trainer: GanTrainer | None = None
        """The latest run handed to the worker (the UI only reads its data and settings)."""
        self._training = False
        self.run_id = 0
        """The run the plots show (its request serial)."""
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
        """A run is being built: from its request until its first update."""
        self.rate: float | None = None
        self.clear_run()

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

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._remember_map_size)

    def _remember_map_size(self) -> None:
        size = self.query_one(MapView).size
        if size.width > 0 and size.height > 0 and (size.width, size.height) != self._map_size:
            self._map_size = (size.width, size.height)
            self._ctl.send("view")  # redraw at the new size, even while paused

    # -- runs: the first one loads through the kit, later ones are computed ------

    def on_pane_first_show(self) -> None:
        self._first_settings = self.settings[self.mode]
        self.start_loading()

    def load(self) -> GanTrainer:
        return training.build_trainer(self._first_settings)

    def show_load_state(self, text: Text) -> None:
        if self.load_state == "loading":
            text = Text("⏳ " + draw.building_text(self._first_settings), "bold")
        self.query_one(MapView).show_message(text)

    def loaded(self, result: GanTrainer) -> None:
        self._use(result)

    def load_failed(self, error: str) -> None:
        self.busy = False
        self._update_status()

    def _build(self, settings: GanSettings) -> None:
        """Build a run with ``settings`` in the kit's build worker; a newer build
        supersedes it, and updates of the current run are dropped meanwhile."""
        self.busy = True
        self.query_one(MapView).show_message(Text("⏳ " + draw.building_text(settings), "bold"))
        current = self._trainer
        self.compute("build", lambda: training.build_trainer(settings, current),
                     description="building a GAN run")
        self._update_status()

    def computed(self, kind: str, result: Any, error: str) -> None:
        if kind != "build":
            return
        if not error:
            self._use(result)
            return
        self.busy = False
        # the kit's notification has markup=False: the text quotes the user's CSV
        self.report_error(error)
        view = self.query_one(MapView)
        if view.view is not None:
            view.set_view(view.view)  # the previous run goes on
        else:
            view.show_message(Text("✗ " + error, style="bold red"))
        self._update_status()

    def _use(self, trainer: GanTrainer) -> None:
        """Hand ``trainer`` to the training worker as a new run (started once)."""
        self._trainer = trainer
        self._ctl.send("use", (self.new_request("run"), trainer))
        if not self._training:
            self._training = True
            self._train_loop()

    @work(thread=True, exclusive=True, group="gan-train", exit_on_error=False,
          description="GAN training")
    def _train_loop(self) -> None:
        worker = get_current_worker()

        def post(*update: Any) -> None:
            self.post_message(self.Update(*update))

        training.train(self._ctl, lambda: worker.is_cancelled, self._view, post,
                       lambda e: self.post_message(self.Failed(describe_error(e))))

    def _view(self, trainer: GanTrainer) -> PointsView | ImagesView:
        """A fresh view of ``trainer`` at the map's size (called by the worker)."""
        if trainer.settings.mode == "points":
            cols, rows = self._map_size
            return trainer.points_view(cols, rows)
        return trainer.images_view(64)

    # -- messages from the worker ------------------------------------------------

    def on_gan_pane_failed(self, message: Failed) -> None:
        self.report_error(message.text)

    def on_gan_pane_update(self, message: Update) -> None:
        if not self.is_current(message.run_id, "run") or self.computing("build"):
            return  # a superseded run, or the one a build in progress replaces
        if message.run_id != self.run_id:
            self.run_id = message.run_id
            self.clear_run()
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
            self.record(ev)
        if message.estimate is not None:
            self.take_estimate(message.estimate)
        self.rate = message.rate
        if message.view is not None:
            self.query_one(MapView).set_view(message.view)
        self._refresh_plots()
        self._update_status()
        self.query_one("#gan-legend", TextLine).set_text(self._legend())

    # -- export -------------------------------------------------------------------

    EXPORTS = "the training curves (losses, D(x), D(G(z)), JS divergence) as CSV"

    def export_data(self) -> Export | None:
        if not self.events:
            return None
        return csv_export(f"gan-{self.mode}-curves", export.COLUMNS,
                          list(export.curve_rows(self.events)))

    # -- drawing (the text: draw.py) ------------------------------------------------

    def _refresh_plots(self) -> None:
        h, ev = self.hist, self.last_event
        self.query_one("#gan-loss-title", TextLine).set_text(draw.loss_title(ev))
        self.query_one("#gan-loss", ChartView).set_series(
            [(h["d_loss"], D_COLOUR), (h["g_loss"], G_COLOUR)])
        self.query_one("#gan-dx-title", TextLine).set_text(draw.dx_title(ev))
        self.query_one("#gan-dx", ChartView).set_series(
            [(h["d_real"], REAL_COLOUR), (h["d_fake"], FAKE_COLOUR)])
        self.query_one("#gan-js", ChartView).set_series([(self.js_hist, JS_COLOUR)])
        self.query_one("#gan-js-title", TextLine).set_text(draw.js_title(self))

    def _legend(self) -> Text:
        return draw.legend(self.mode)

    def _update_status(self) -> None:
        self.refresh_bindings()
        self.last_action_at = time.perf_counter()
        self.query_one("#gan-status", TextLine).set_text(draw.status(self))

    # -- actions --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause", "play"):
            return bool(self.playing) == (action == "pause")
        return True

    def action_pause(self) -> None:
        self.action_toggle_play()

    def action_play(self) -> None:
        self.action_toggle_play()

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

    def _step(self, command: str) -> None:
        self._started()
        self._pause()
        self._ctl.send(command)
        self._update_status()

    def action_step_d(self) -> None:
        self._step("d")

    def action_step_g(self) -> None:
        self._step("g")

    def action_step_once(self) -> None:
        self._step("n")

    def action_reset(self) -> None:
        self._started()
        self._ctl.send("reset", self.new_request("run"))

    def action_switch_mode(self) -> None:
        self._started()
        self._pause()
        self.mode = "images" if self.mode == "points" else "points"
        self.query_one("#gan-legend", TextLine).set_text(self._legend())
        self._build(self.settings[self.mode])

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
        self.mode = settings.mode
        self._build(settings)
