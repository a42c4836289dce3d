"""The VAE pane: sample, reconstruct, interpolate, walk and map a latent space,
and use the ELBO to find anomalies and clean up noise.

Everything heavy (loading, encoding, decoding) runs in thread workers that
build Rich renderables; the UI thread only swaps them in. The pane never
imports torch: tensors stay inside the service's result objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Static

from genai_tui.errors import UserError
from genai_tui.images.plots import LABEL_COLOURS, histogram_text, scatter_text
from genai_tui.images.render import ImageGrid
from genai_tui.service import vae as svc
from genai_tui.tui.pane import Export, Pane, describe_error, png_export
from genai_tui.tui.widgets import ViewBar

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


def capacity(width: int, height: int, captions: bool, group_rows: int = 1,
             group_cols: int = 1, min_count: int = 4,
             max_scale: float = 2) -> tuple[float, int, int]:
    """(scale, columns, rows) of 28-pixel tiles that fit ``width`` x ``height`` cells.

    Rows come in groups of ``group_rows`` (e.g. input over reconstruction) and
    columns in groups of ``group_cols``. Prefers the largest scale that still
    shows ``min_count`` groups.
    """
    best = (0.5, group_cols, group_rows)
    for scale in (s for s in (2, 1, 0.5) if s <= max_scale):
        tile_w = 28 * int(scale) if scale >= 1 else 14
        tile_h = math.ceil(tile_w / 2) + (1 if captions else 0)
        ncol = (width + 1) // (tile_w + 1) // group_cols * group_cols
        nrow = (height + 1) // (tile_h + 1) // group_rows * group_rows
        groups = (ncol // group_cols) * (nrow // group_rows)
        if groups >= min_count or (scale == 0.5 and groups >= 1):
            return scale, ncol, nrow
        if groups >= 1 and best[1] * best[2] == group_cols * group_rows:
            best = (scale, ncol, nrow)
    return best


@dataclass
class ViewOutput:
    """What a view shows: the image renderable, the side text, what `s` saves."""

    view: str
    image: Any
    side: Text
    png_images: Any = None
    png_ncol: int = 8
    walk: WalkState | None = None
    """The walk's state after this output (its z is filled in on the first show)."""


@dataclass
class WalkState:
    z: list[float] = field(default_factory=list)
    dims: tuple[int, int] = (0, 1)
    start: int = 0
    """Index in the pool of the digit the walk started from (-1 = the origin)."""




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
        Binding("s", "save_file", "Save PNG"),
        *[Binding(str(i + 1), f"set_view('{view}')", f"View: {VIEW_TITLES[view]}", show=False)
          for i, view in enumerate(VIEWS)],
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
        yield ViewBar(VIEWS, VIEW_TITLES, SHORT_TITLES, id="vae-bar")
        with Horizontal(id="vae-body"):
            yield Static(id="vae-image")
            yield Static(id="vae-side")

    # loading -----------------------------------------------------------------

    def pane_shown(self) -> None:
        super().pane_shown()
        self.call_after_refresh(self.focus)

    def on_mount(self) -> None:
        self._apply_narrow()
        self.query_one(ViewBar).show(self.view, self.size.width or 80)

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
        self.query_one(ViewBar).show(self.view, event.size.width)
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.15, self.refresh_view)

    # views -------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Recompute the current view in a worker (a newer request replaces an older one)."""
        self._apply_narrow()
        self.query_one(ViewBar).show(self.view, self.size.width or 80)
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
        self.action_set_view(message.view)

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


# -- the views, computed in a worker thread ------------------------------------


def compute_view(params: dict[str, Any], models: dict[str, Any], pool: Any) -> ViewOutput:
    """Build what one view shows. Pure apart from the models; runs off the UI thread."""
    view = params["view"]
    handle = models.get("vae") or next(iter(models.values()))
    return {
        "samples": _samples, "recon": _recon, "interp": _interp, "walk": _walk,
        "map": _map, "anomaly": _anomaly, "denoise": _denoise,
    }[view](params, handle if view != "map" else models.get("vae2d"), pool)


def _model_line(handle: Any) -> Text:
    return Text(f"model {handle.name}: z has {handle.latent_dim} dims, β={handle.beta:g}",
                style="dim")


def _samples(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    scale, ncol, nrow = capacity(p["width"], p["height"], captions=False, min_count=6)
    n = max(1, ncol * nrow)
    result = svc.sample(handle, n=n, seed=p["sample_seed"])
    grid = ImageGrid(result.images, ncol=ncol, scale=scale)
    side = Text()
    side.append(f"{n} samples decoded from z ~ N(0, I)", style="bold")
    side.append(f"  seed {result.seed}\n")
    side.append("n: new samples, s: save as PNG\n", style="dim")
    if not p["narrow"]:
        side.append_text(_model_line(handle))
    return ViewOutput("samples", grid, side, result.images, ncol)


def _recon(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    scale, ncol, nrow = capacity(p["width"], p["height"], captions=True, group_rows=2,
                                 min_count=4)
    n = max(1, ncol * nrow // 2)
    start = (p["recon_seed"] * n) % max(1, len(pool.labels) - n)
    data = svc.Images(pool.images[start:start + n], pool.labels[start:start + n], pool.source)
    result = svc.reconstruct(handle, data)
    images, captions = [], []
    for i in range(0, n, ncol):
        j = min(n, i + ncol)
        images += [result.inputs[k] for k in range(i, j)] + [result.outputs[k]
                                                            for k in range(i, j)]
        captions += [f"in {result.labels[k]}" for k in range(i, j)]
        captions += [f"err {result.errors[k]:.4f}" for k in range(i, j)]
    grid = ImageGrid(images, ncol=ncol, scale=scale, captions=captions)
    mean = sum(result.errors) / len(result.errors)
    side = Text()
    side.append("Input above, reconstruction below", style="bold")
    side.append(f"\nmean squared error {mean:.4f} · n: other inputs", style="dim")
    return ViewOutput("recon", grid, side, images, ncol)


def _interp(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    scale, ncol, nrow = capacity(p["width"], p["height"], captions=True, min_count=5)
    steps = max(2, min(16, ncol * nrow))
    a, b = p["interp_ab"]
    result = svc.interpolate(handle, pool.images[a:a + 1], pool.images[b:b + 1], steps=steps,
                             spherical=p["slerp"])
    captions = [f"t={t:.2f}" for t in result.t]
    captions[0], captions[-1] = f"A ({pool.labels[a]})", f"B ({pool.labels[b]})"
    grid = ImageGrid(result.images, ncol=ncol, scale=scale, captions=captions)
    side = Text()
    side.append("From A to B through latent space", style="bold")
    side.append(f"\n{'spherical' if p['slerp'] else 'linear'} path, {steps} steps; "
                f"A = test digit #{a}, B = #{b}\n", style="")
    side.append("a/b: other A/B · l: linear/spherical", style="dim")
    return ViewOutput("interp", grid, side, result.images, ncol)


def _walk(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    state: WalkState = p["walk"]
    if not state.z:
        start = state.start % len(pool.labels)
        state = WalkState(svc.encode(handle, pool.images[start:start + 1])[0], state.dims, start)
    image = svc.decode(handle, [state.z])
    scale = 2 if p["height"] >= 28 and p["width"] >= 56 else (1 if p["height"] >= 14 else 0.5)
    grid = ImageGrid(image, ncol=1, scale=scale)
    side = _z_text(state, p["side_width"], p["narrow"])
    return ViewOutput("walk", grid, side, image, 1, walk=state)


def _z_text(state: WalkState, width: int, narrow: bool) -> Text:
    text = Text()
    origin = "the origin" if state.start < 0 else f"test digit #{state.start}"
    text.append(f"z from {origin}: ←/→ z{state.dims[0]}, ↑/↓ z{state.dims[1]}", style="bold")
    text.append("  [/]: other dims, 0: origin\n", style="dim")
    if narrow:
        per_line = max(1, width // 13)
        for i, v in enumerate(state.z):
            style = "bold reverse" if i in state.dims else ""
            text.append(f"z{i:<2}{v:+6.2f}", style=style)
            text.append("\n" if (i + 1) % per_line == 0 else "  ")
        return text
    bar_w = max(6, width - 14)
    for i, v in enumerate(state.z):
        style = "bold reverse" if i in state.dims else ""
        text.append(f"z{i:<2} {v:+5.2f} ", style=style)
        half = bar_w // 2
        n = min(half, round(abs(v) / 4 * half))
        bar = [" "] * bar_w
        for k in range(n):
            bar[half + k if v > 0 else half - 1 - k] = "█"
        bar[half] = "│" if bar[half] == " " else bar[half]
        text.append("".join(bar), style="cyan" if i in state.dims else "blue")
        text.append("\n")
    return text


def _map(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    from rich.table import Table

    if handle is None:
        raise UserError("the 2-D model (assets/vae2d) is not available")
    width, height, span = p["width"], p["height"], 2.5
    px = 2 * height
    grid_n = max(4, min(12, px // 8))
    # Leave room beside the mosaic for the scatter of encoded digits.
    tile = max(4, min(28, px // grid_n, int(width * 0.55) // grid_n))
    lm = svc.latent_map(handle, pool, grid=grid_n, tile=tile, span=span)
    mosaic_w, mosaic_h = grid_n * tile, math.ceil(grid_n * tile / 2)
    scatter_w = width - mosaic_w - 2
    side = Text()
    if scatter_w >= 20:
        image: Any = Table.grid(padding=(0, 2))
        image.add_row(ImageGrid(lm.mosaic, ncol=1),
                      scatter_text(lm.points, lm.labels, width=scatter_w, height=mosaic_h,
                                   span=span))
        side.append(f"Left: decoded z over [-{span}, {span}]² (z₂ up). ", style="bold")
        side.append("Right: the test digits encoded, each drawn as its label, same square.")
    elif p["map_scatter"]:
        image = scatter_text(lm.points, lm.labels, width=width, height=height, span=span)
        side.append("Test digits encoded by the 2-D VAE, each drawn as its label. ",
                    style="bold")
        side.append("m: decoded grid", style="dim")
    else:
        image = ImageGrid(lm.mosaic, ncol=1)
        side.append(f"Decoded z over [-{span}, {span}]² (z₂ up). ", style="bold")
        side.append("m: scatter of test digits", style="dim")
    if not p["narrow"]:
        side.append("\n\n")
        for d in range(10):
            side.append(f"{d} ", style=LABEL_COLOURS[d])
        side.append("\nNeighbouring z decode to similar digits: the encoder has sorted "
                    "the digits into regions of the plane.", style="dim")
    return ViewOutput("map", image, side, lm.mosaic, 1)


def _anomaly(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    scale, ncol, nrow = capacity(p["width"], p["height"], captions=True, min_count=4,
                                 max_scale=1)
    n = max(4, min(32, ncol * nrow))
    result = svc.anomaly(handle, n_normal=200, n_unusual=n, score=p["score"],
                         seed=p["anomaly_seed"])
    fmt = "{:.0f}" if result.score == "elbo" else "{:.3f}"
    captions = [f"{'!' if f else ''}{k[:5]} {fmt.format(s)}" for k, s, f in
                zip(result.unusual_kinds, result.unusual_scores, result.flagged, strict=True)]
    styles = ["bold red" if f else "green" for f in result.flagged]
    grid = ImageGrid(result.unusual_images, ncol=ncol, scale=scale, captions=captions,
                     caption_styles=styles)
    hist = svc.histogram({"digits": result.normal_scores, "unusual": result.unusual_scores},
                         bins=7 if p["narrow"] else 12, log=True)
    width = min(p["side_width"], 60)
    side = Text()
    label = "−ELBO (nats)" if result.score == "elbo" else "reconstruction error"
    side.append(f"score: {label} · e: switch\n", style="bold")
    side.append_text(histogram_text(hist.edges, hist.series, width=width, log=True,
                                    threshold=math.log10(max(result.threshold, 1e-12))))
    side.append(f"\nflagged {sum(result.flagged)}/{len(result.flagged)} unusual, "
                f"{result.normal_flagged}/{len(result.normal_scores)} digits; "
                f"AUROC {result.auroc:.3f}", style="")
    return ViewOutput("anomaly", grid, side, result.unusual_images, ncol)


def _denoise(p: dict[str, Any], handle: Any, pool: Any) -> ViewOutput:
    scale, ncol, nrow = capacity(p["width"], p["height"], captions=True, group_cols=3,
                                 min_count=2)
    n = max(1, ncol // 3 * nrow)
    start = (p["denoise_seed"] * n) % max(1, len(pool.labels) - n)
    data = svc.Images(pool.images[start:start + n], pool.labels[start:start + n], pool.source)
    result = svc.denoise(handle, data, noise=p["noise"], seed=p["denoise_seed"])
    images, captions = [], []
    for i in range(n):
        images += [result.noisy[i], result.recon[i], result.clean[i]]
        captions += [f"noisy {result.noisy_errors[i]:.3f}", f"vae {result.recon_errors[i]:.3f}",
                     "original"]
    grid = ImageGrid(images, ncol=max(3, ncol - ncol % 3), scale=scale, captions=captions)
    side = Text()
    mean_noisy = sum(result.noisy_errors) / n
    mean_recon = sum(result.recon_errors) / n
    mean_pass = sum(result.encoder_errors) / n
    side.append(f"noise σ={result.noise:.1f}: error {mean_noisy:.3f} → {mean_recon:.3f}",
                style="bold")
    side.append(f" (one encoder pass: {mean_pass:.3f})\n")
    side.append("vae = the most probable digit z given the noisy image (MAP). "
                "+/-: noise, n: other digits", style="dim")
    return ViewOutput("denoise", grid, side, images, max(3, ncol - ncol % 3))
