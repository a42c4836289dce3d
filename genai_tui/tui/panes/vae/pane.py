"""The VAE pane: sample, reconstruct, interpolate, walk and map a latent space,
and use the ELBO to find anomalies and clean up noise.

This file owns the pane: keys, layout, the view parameters and loading (the
pane kit's worker). Each view is computed in a worker by `views.compute_view`;
the UI thread only swaps the renderables in. The pane never imports torch:
tensors stay inside the service's result objects.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Static

from genai_tui.errors import UserError
from genai_tui.service import vae as svc
from genai_tui.tui.pane import Export, Pane, describe_error, png_export, save_and_view_bindings
from genai_tui.tui.panes.vae.views import ViewOutput, WalkState, compute_view
from genai_tui.tui.widgets import ViewBar, numbered

VIEWS: tuple[str, ...] = ("samples", "recon", "interp", "walk", "map", "anomaly", "denoise")
VIEW_TITLES: dict[str, str] = {
    "samples": "Samples", "recon": "Reconstruct", "interp": "Interpolate",
    "walk": "Latent walk", "map": "Latent map", "anomaly": "Anomaly", "denoise": "Denoise",
}
SHORT_TITLES: dict[str, str] = {
    "samples": "Samples", "recon": "Recon", "interp": "Interp", "walk": "Walk", "map": "Map",
    "anomaly": "Anomaly", "denoise": "Denoise",
}
SIDE_WIDTH = 38
"""Columns of the side panel when the pane is wide enough to show it on the right."""
WIDE_AT = 110
"""Narrower panes put the side panel under the images."""
NARROW_SIDE_ROWS: dict[str, int] = {
    "samples": 2, "recon": 2, "interp": 3, "walk": 4, "map": 2, "anomaly": 10, "denoise": 3,
}
WALK_STEP = 0.25
POOL_SIZE = 400
"""Held-out digits kept for reconstruction, interpolation, walks and the map."""


class VAEPane(Pane):
    """A variational autoencoder on handwritten-style digits, seven ways."""

    PANE_ID = "vae"
    TITLE = "VAE"
    HELP = """
A **variational autoencoder** squeezes each 28x28 digit into a few numbers
**z** (the *latent* vector) and learns to draw the digit back from them. The
encoder gives a *distribution* for z (a mean and a variance); training makes
these distributions stay close to a standard normal N(0, I), so **any** z drawn
from N(0, I) decodes to a plausible digit. Loss = reconstruction + β·KL.

- **1 Samples**: decode random z ~ N(0, I). `n` draws new ones (seed shown).
- **2 Reconstruct**: input over its reconstruction, with the squared error.
- **3 Interpolate**: walk the straight line from z(A) to z(B); `a`/`b` pick
  other inputs, `l` switches linear / spherical.
- **4 Latent walk**: ←/→ move z along one dimension, ↑/↓ along another; `[`/`]`
  pick the dimensions, `0` goes to the origin, `n` starts from another digit.
- **5 Latent map**: the 2-D model: decoded images over a grid of z beside the
  test digits encoded (each drawn as its digit). `m` switches between the
  two when there is no room for both.
- **6 Anomaly**: score by −ELBO or reconstruction error (`e`); unusual
  inputs (noise, blobs, inverted digits, shapes) score high and get flagged.
- **7 Denoise**: a noisy input, the VAE's reconstruction and the original;
  `+`/`-` change the noise.

`v` cycles the views, `s` saves the current images as a PNG file.
"""
    BINDINGS: ClassVar = [
        Binding("n", "new", "New"),
        Binding("v", "cycle_view", "Next view"),
        *save_and_view_bindings(VIEWS, VIEW_TITLES),
        Binding("a", "pick(0)", "Interpolate: next input A", show=False),
        Binding("b", "pick(1)", "Interpolate: next input B", show=False),
        Binding("l", "toggle_slerp", "Interpolate: linear / spherical", show=False),
        Binding("left", "walk(0, -1)", "Walk: first dimension down", show=False),
        Binding("right", "walk(0, 1)", "Walk: first dimension up", show=False),
        Binding("down", "walk(1, -1)", "Walk: second dimension down", show=False),
        Binding("up", "walk(1, 1)", "Walk: second dimension up", show=False),
        Binding("left_square_bracket", "dims(-1)", "Walk: previous dimensions", show=False),
        Binding("right_square_bracket", "dims(1)", "Walk: next dimensions", show=False),
        Binding("0", "origin", "Walk: go to the origin", show=False),
        Binding("m", "toggle_map", "Map: manifold / scatter", show=False),
        Binding("e", "toggle_score", "Anomaly: -ELBO / reconstruction error", show=False),
        Binding("plus,equals_sign", "noise(1)", "Denoise: more noise", show=False),
        Binding("minus", "noise(-1)", "Denoise: less noise", show=False),
    ]
    DEFAULT_CSS = f"""
    VAEPane {{ layout: vertical; height: 1fr; }}
    VAEPane:focus {{ background-tint: $foreground 0%; }}
    VAEPane #vae-bar {{ height: 1; background: $boost; }}
    VAEPane #vae-body {{ height: 1fr; }}
    VAEPane #vae-image {{ width: 1fr; height: 1fr; }}
    VAEPane #vae-side {{ width: {SIDE_WIDTH}; height: 1fr; padding: 0 1;
                        border-left: vkey $primary-darken-2; }}
    VAEPane.-narrow #vae-body {{ layout: vertical; }}
    VAEPane.-narrow #vae-side {{ width: 1fr; border-left: none; padding: 0; }}
    """
    can_focus = True
    LOADING = "the VAE models and test digits"
    REBUILD = "genai-tui train vae --bundled"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = "samples"
        self.models: dict[str, Any] = {}
        self.model_errors: dict[str, str] = {}
        self.pool: Any = None
        self.output: ViewOutput | None = None
        self.sample_seed = 0
        self.recon_seed = 0
        self.interp_ab = [0, 1]
        self.slerp = False
        self.walk = WalkState()
        self.map_scatter = False
        self.score = "elbo"
        self.anomaly_seed = 0
        self.noise = 0.4
        self.denoise_seed = 0
        self._resize_timer: Timer | None = None
        self._busy_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield ViewBar(numbered(VIEWS, VIEW_TITLES), self.view, short_titles=SHORT_TITLES,
                      id="vae-bar")
        with Horizontal(id="vae-body"):
            yield Static(id="vae-image")
            yield Static(id="vae-side")

    # loading -----------------------------------------------------------------

    def pane_shown(self) -> None:
        super().pane_shown()
        self.call_after_refresh(self.focus)

    def on_mount(self) -> None:
        self._apply_narrow()

    def on_pane_first_show(self) -> None:
        self.start_loading()

    def show_load_state(self, text: Text) -> None:
        self.query_one("#vae-image", Static).update(text)
        self.query_one("#vae-side", Static).update(Text(""))

    def load(self) -> tuple[dict[str, Any], Any, dict[str, str]]:
        models, errors = {}, {}
        for name in svc.MODEL_NAMES:
            try:
                models[name] = svc.load(name)
            except Exception as e:  # noqa: BLE001 - one missing model leaves the others
                errors[name] = describe_error(e)
        if not models:
            raise UserError("; ".join(errors.values()))
        try:
            pool = svc.test_digits(POOL_SIZE)
        except Exception as e:  # noqa: BLE001
            raise UserError(f"cannot make test digits: {describe_error(e)}") from e
        return models, pool, errors

    def loaded(self, result: tuple[dict[str, Any], Any, dict[str, str]]) -> None:
        self.models, self.pool, self.model_errors = result
        self.interp_ab = _two_different_labels(self.pool.labels)
        for err in self.model_errors.values():
            self.notify(err, severity="error", timeout=8, markup=False)
        self.refresh_view()

    # layout ------------------------------------------------------------------

    @property
    def narrow(self) -> bool:
        return (self.size.width or 80) < WIDE_AT

    def _apply_narrow(self) -> None:
        self.set_class(self.narrow, "-narrow")
        side = self.query_one("#vae-side", Static)
        if self.narrow:
            side.styles.height = NARROW_SIDE_ROWS[self.view]
        else:
            side.styles.height = "1fr"

    def image_area(self) -> tuple[int, int]:
        """Cells available to the image for the current view (computed from the pane)."""
        width, height = self.size.width or 80, max(4, (self.size.height or 20) - 1)
        if self.narrow:
            return width, max(4, height - NARROW_SIDE_ROWS[self.view])
        return max(20, width - SIDE_WIDTH - 1), height

    def on_resize(self, event: events.Resize) -> None:
        self._apply_narrow()
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.15, self.refresh_view)

    # views -------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Recompute the current view in a worker (a newer request replaces an older one)."""
        self._apply_narrow()
        self.query_one(ViewBar).set_value(self.view)
        if self.load_state != "ready" or not self.models:
            return
        width, height = self.image_area()
        side_width = (self.size.width or 80) if self.narrow else SIDE_WIDTH - 2
        params = {
            "view": self.view, "width": width, "height": height, "side_width": side_width,
            "narrow": self.narrow, "sample_seed": self.sample_seed,
            "recon_seed": self.recon_seed, "interp_ab": list(self.interp_ab),
            "slerp": self.slerp, "walk": WalkState(list(self.walk.z), self.walk.dims,
                                                   self.walk.start),
            "map_scatter": self.map_scatter, "score": self.score,
            "anomaly_seed": self.anomaly_seed, "noise": self.noise,
            "denoise_seed": self.denoise_seed,
        }
        self.compute("view", lambda: compute_view(params, self.models, self.pool),
                     "computing the VAE view")
        self._computing(True)

    BUSY_AFTER = 0.25
    """Seconds a view may take before the image shows a loading indicator (the
    anomaly view's first scoring takes seconds; most views take milliseconds)."""

    def _computing(self, busy: bool) -> None:
        """Show a loading indicator over the image while a slow view computes."""
        if self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None
        image = self.query_one("#vae-image", Static)
        if busy:
            self._busy_timer = self.set_timer(self.BUSY_AFTER, self._show_busy)
        elif image.loading:
            image.loading = False

    def _show_busy(self) -> None:
        self._busy_timer = None
        self.query_one("#vae-image", Static).loading = True

    def computed(self, kind: str, output: ViewOutput | None, error: str) -> None:
        self._computing(False)
        if output is None:
            self.query_one("#vae-image", Static).update(Text(error, style="red"))
            self.report_error(error)
            return
        self.output = output
        if output.walk is not None and not self.walk.z:
            self.walk = output.walk
        self.query_one("#vae-image", Static).update(output.image)
        self.query_one("#vae-side", Static).update(output.side)

    def on_view_bar_picked(self, message: ViewBar.Picked) -> None:
        self.action_set_view(message.value)

    # actions -----------------------------------------------------------------

    def action_set_view(self, view: str) -> None:
        if view in VIEWS and view != self.view:
            self.view = view
            self.refresh_view()

    def action_cycle_view(self) -> None:
        self.action_set_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])

    def action_new(self) -> None:
        if self.view == "samples":
            self.sample_seed += 1
        elif self.view == "recon":
            self.recon_seed += 1
        elif self.view == "interp":
            n = len(self.pool.labels) if self.pool is not None else 2
            self.interp_ab = [(self.interp_ab[0] + 2) % n, (self.interp_ab[1] + 2) % n]
        elif self.view == "walk":
            n = len(self.pool.labels) if self.pool is not None else 1
            self.walk = WalkState(dims=self.walk.dims, start=(self.walk.start + 1) % n)
        elif self.view == "anomaly":
            self.anomaly_seed += 1
        elif self.view == "denoise":
            self.denoise_seed += 1
        self.refresh_view()

    def action_pick(self, which: int) -> None:
        if self.view != "interp" or self.pool is None:
            return
        n = len(self.pool.labels)
        nxt = (self.interp_ab[which] + 1) % n
        if nxt == self.interp_ab[1 - which]:
            nxt = (nxt + 1) % n
        self.interp_ab[which] = nxt
        self.refresh_view()

    def action_toggle_slerp(self) -> None:
        if self.view == "interp":
            self.slerp = not self.slerp
            self.refresh_view()

    def action_walk(self, axis: int, direction: int) -> None:
        if self.view != "walk" or not self.walk.z:
            return
        dim = self.walk.dims[axis]
        self.walk.z = svc.walk_step(self.walk.z, dim, direction * WALK_STEP)
        self.refresh_view()

    def action_dims(self, step: int) -> None:
        if self.view != "walk" or not self.walk.z:
            return
        d = len(self.walk.z)
        first = (self.walk.dims[0] + 2 * step) % d if d > 2 else 0
        self.walk.dims = (first, (first + 1) % d)
        self.refresh_view()

    def action_origin(self) -> None:
        if self.view == "walk" and self.walk.z:
            self.walk.z = [0.0] * len(self.walk.z)
            self.walk.start = -1
            self.refresh_view()

    def action_toggle_map(self) -> None:
        if self.view == "map":
            self.map_scatter = not self.map_scatter
            self.refresh_view()

    def action_toggle_score(self) -> None:
        if self.view == "anomaly":
            self.score = "mse" if self.score == "elbo" else "elbo"
            self.refresh_view()

    def action_noise(self, step: int) -> None:
        if self.view == "denoise":
            self.noise = round(min(1.0, max(0.0, self.noise + 0.1 * step)), 2)
            self.refresh_view()

    EXPORTS = "the images shown as PNG"

    def export_data(self) -> Export | None:
        if self.output is None or self.output.png_images is None:
            return None
        return png_export(f"vae-{self.output.view}", self.output.png_images,
                          self.output.png_ncol)


def _two_different_labels(labels: list[int]) -> list[int]:
    for j in range(1, len(labels)):
        if labels[j] != labels[0]:
            return [0, j]
    return [0, min(1, len(labels) - 1)]
