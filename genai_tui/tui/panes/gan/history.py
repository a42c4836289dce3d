"""The numbers a GAN run has produced, as the GAN pane shows them (no Textual):
the curves' history, the step counts and the latest estimate (JS divergence,
modes covered, the collapse flag). `GanPane` takes them as a mixin, so they
are the pane's attributes."""

from __future__ import annotations

from genai_tui.service.gan import GanEvent

HISTORY = 20_000
"""Events kept for the curves (the charts show the last `ChartView.window`)."""


class RunRecord:
    """The current run's history and latest numbers; `clear_run` starts a new one."""

    mode: str

    def clear_run(self) -> None:
        """Forget the run: a new one (reset, new settings, mode switch) starts."""
        self.hist: dict[str, list[float]] = {k: [] for k in ("d_loss", "g_loss", "d_real",
                                                            "d_fake")}
        self.js_hist: list[float] = []
        self.events: list[GanEvent] = []
        """The run's events (the last `HISTORY`), for the CSV export."""
        self.step = self.d_updates = self.g_updates = 0
        self.last_event: GanEvent | None = None
        self.js: float | None = None
        self.modes: tuple[int, int] | None = None
        self.on_modes: float | None = None
        self.collapse = False

    def record(self, ev: GanEvent) -> None:
        """Add one training event to the curves and the latest numbers."""
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

    def take_estimate(self, estimate: tuple) -> None:
        """The worker's latest evaluation: (JS, covered, total, collapse, share on modes)."""
        js, covered, total, collapse, on_modes = estimate
        self.js = js
        self.modes = (covered, total) if covered is not None and total else None
        self.collapse = collapse
        self.on_modes = on_modes
