"""The VAE pane's seven views, computed off the UI thread: each takes the pane's
parameters, the loaded models and the pool of test digits and returns a
`ViewOutput` (the image renderable, the side text, what `s` saves). Pure apart
from the models; no Textual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from genai_tui.errors import UserError
from genai_tui.images.plots import LABEL_COLOURS, histogram_text, scatter_text
from genai_tui.images.render import ImageGrid
from genai_tui.service import vae as svc


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
