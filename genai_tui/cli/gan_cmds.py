"""GAN commands: `genai-tui gan train`.

Only Typer and the standard library at module level; torch, the service and
Rich's progress bar load inside the command.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app
from genai_tui.cli.output import say
from genai_tui.errors import UserError

gan_app = typer.Typer(
    help="Generative adversarial networks: train one live on 2-D points or digit images.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(gan_app, name="gan")

PROGRESS_SECONDS = 0.1
"""The progress bar redraws at most this often (training runs hundreds of steps/s)."""


@gan_app.command("train")
def train_cmd(
    data: str | None = typer.Option(
        None, "--data",
        help="Points: ring, grid, spiral, moons, line, or a CSV file of x,y points "
        "(default ring). Images: digits."),
    steps: int = opt.steps_option(2000, "Training steps (each: D updates, then one G update)."),
    seed: int = opt.seed_option(0, "Seed for weights, batches and noise."),
    mode: str | None = typer.Option(
        None, "--mode", help="points (2-D) or images (28x28 digits); default: images for "
        "--data digits, else points."),
    loss: str | None = typer.Option(None, "--loss",
                                    help="non-saturating (default for points) or least-squares "
                                         "(default for images)."),
    optimizer: str | None = typer.Option(None, "--optimizer", help="adam (default) or sgd."),
    lr_d: float | None = typer.Option(None, "--lr-d", help="Discriminator learning rate."),
    lr_g: float | None = typer.Option(None, "--lr-g", help="Generator learning rate."),
    d_steps: int | None = typer.Option(None, "--d-steps", min=1, max=100,
                                       help="D updates per G update (default 1)."),
    noise_dim: int | None = typer.Option(None, "--noise-dim", min=1, max=512,
                                         help="Size of z (default 8 points, 32 images)."),
    batch_size: int | None = opt.batch_size_option(
        None, "Batch size (default 128 points, 64 images).", min=2),
    metrics: Path | None = typer.Option(
        None, "--metrics",
        help="Write one JSON object per step to this .jsonl file ('-' for stdout)."),
    plot: bool = typer.Option(False, "--plot",
                              help="Draw the loss curves and the final samples in the terminal."),
    png: Path | None = opt.png_option(
        "Save the final scatter (points) or sample grid (images) as PNG."),
) -> None:
    """Train a GAN and report its losses, D(x), D(G(z)) and (2-D) the JS divergence."""
    from genai_tui.service.gan import GanSettings, GanTrainer
    from genai_tui.service.runtime import torch_threads

    if mode is None:  # "--data digits" alone means image mode
        mode = "images" if data == "digits" else "points"
    if mode not in ("points", "images"):
        raise UserError(f"unknown mode {mode!r}; use points or images")
    if mode == "points" and data == "digits":
        raise UserError("the digits are images: use --mode images (or leave out --mode)")
    settings = GanSettings.for_mode(
        mode, data=data, seed=seed, loss=loss, optimizer=optimizer, lr_d=lr_d, lr_g=lr_g,
        d_steps=d_steps, noise_dim=noise_dim, batch_size=batch_size)
    settings.validate()
    sink = _open_metrics(metrics)
    try:
        with torch_threads(1):
            trainer = GanTrainer(settings)
            js0 = trainer.last_js
            to_stdout = sink is sys.stdout
            history = _train(trainer, steps, sink, quiet=to_stdout)
            _report(trainer, history, js0, plot, png, to_stderr=to_stdout)
    finally:
        if sink is not None and sink is not sys.stdout:
            sink.close()


def _open_metrics(path: Path | None) -> Any:
    if path is None:
        return None
    if str(path) == "-":
        return sys.stdout
    try:
        return path.expanduser().open("w", encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None


def _train(trainer: Any, steps: int, sink: Any, quiet: bool) -> dict[str, list[float]]:
    """Run ``steps`` steps with a progress bar on stderr; returns the metric history."""
    from genai_tui.cli.output import progress_bar

    history: dict[str, list[float]] = {k: [] for k in ("d_loss", "g_loss", "d_real", "d_fake")}
    history["js"] = []
    points = trainer.settings.mode == "points"
    on_hist: list[float] = []
    last_draw = 0.0
    # The stats take ~45 columns: below 100 the bar is shorter and the time left goes.
    with progress_bar(steps, ["stats"], quiet=quiet, labelled=False, narrow_below=100) as bar:
        label = "GAN" if bar.narrow else f"GAN {trainer.settings.mode}"
        task = bar.add_task(label, total=steps, stats="")
        for ev in trainer.train(steps):
            for key in ("d_loss", "g_loss", "d_real", "d_fake"):
                history[key].append(getattr(ev, key))
            if ev.js is not None:
                history["js"].append(ev.js)
            elif ev.on_modes is not None:
                on_hist.append(ev.on_modes)
            if sink is not None:
                sink.write(json.dumps(_rounded(ev.to_dict())) + "\n")
            now = time.monotonic()
            if now - last_draw >= PROGRESS_SECONDS or ev.step == steps:
                last_draw = now
                stats = f"D {ev.d_loss:.3f} G {ev.g_loss:.3f} D(x) {ev.d_real:.2f}"
                if points and trainer.last_js is not None:
                    stats += (f" JS {trainer.last_js:.3f} modes {trainer.last_modes_covered}"
                              f"/{trainer.modes_total}")
                elif trainer.modes_total and trainer.last_on_modes is not None:
                    stats += (f" digits {trainer.last_modes_covered}/10 read "
                              f"{trainer.last_on_modes:.0%}")
                bar.update(task, completed=ev.step, stats=stats)
    if sink is not None:
        sink.flush()
    history["read"] = on_hist
    return history


def _rounded(d: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v)
            for k, v in d.items()}


def _report(trainer: Any, history: dict[str, list[float]], js0: float | None, plot: bool,
            png: Path | None, to_stderr: bool = False) -> None:
    """A summary line (on stderr when stdout carries the JSON lines), plots, the PNG."""
    from rich.console import Console
    from rich.text import Text

    from genai_tui.images.charts import line_chart

    s = trainer.settings
    h = history
    last = {k: (v[-1] if v else float("nan")) for k, v in h.items()}
    n = trainer.step_count
    summary = (f"{s.mode} · {s.data} · {n} step{'' if n == 1 else 's'}: "
               f"D loss {last['d_loss']:.3f}, "
               f"G loss {last['g_loss']:.3f}, D(x) {last['d_real']:.3f}, "
               f"D(G(z)) {last['d_fake']:.3f}")
    if s.mode == "points":
        trainer_js = trainer.last_js
        summary += (f", JS {trainer_js:.3f} bits (start {js0:.3f}), modes covered "
                    f"{trainer.last_modes_covered}/{trainer.modes_total}")
    elif trainer.modes_total and trainer.last_on_modes is not None:
        summary += (f", {trainer.last_on_modes:.0%} of samples read as digits, digits covered "
                    f"{trainer.last_modes_covered}/10")
    if trainer.mode_collapse:
        summary += " — MODE COLLAPSE"
    if plot:
        console = Console(highlight=False, stderr=to_stderr)
        width = max(30, min(console.width, 100))
        console.print(Text("loss: D (orange) and G (blue)", style="bold"))
        console.print(line_chart([(h["d_loss"], "#ff9e3d"), (h["g_loss"], "#5fb4ff")],
                                 width, 10))
        console.print(Text("D(x) (green) and D(G(z)) (pink)", style="bold"))
        console.print(line_chart([(h["d_real"], "#7ee787"), (h["d_fake"], "#f778ba")],
                                 width, 6, y_range=(0.0, 1.0)))
        if s.mode == "points" and h["js"]:
            console.print(Text("JS divergence (bits) every "
                               f"{s.eval_every} steps", style="bold"))
            console.print(line_chart([(h["js"], "#e3d26f")], width, 6, y_range=(0.0, 1.0)))
        if s.mode == "images" and h["read"]:
            console.print(Text("share of samples read as digits every "
                               f"{s.eval_every} steps", style="bold"))
            console.print(line_chart([(h["read"], "#e3d26f")], width, 6, y_range=(0.0, 1.0)))
        _draw_final(trainer, console, width)
    say(summary, err=to_stderr)
    if png is not None:
        saved = _save_png(trainer, png)
        say(f"saved {saved}", err=to_stderr)


def _draw_final(trainer: Any, console: Any, width: int) -> None:
    from rich.text import Text

    if trainer.settings.mode == "points":
        from genai_tui.images.charts import BOTH_GLYPH, FAKE_GLYPH, REAL_GLYPH, scatter_map

        cols = min(width, 64)
        rows = max(8, cols // 2 - 2)
        view = trainer.points_view(cols, rows)
        console.print(Text(f"{REAL_GLYPH} real  {FAKE_GLYPH} generated  {BOTH_GLYPH} both; "
                           "shade: D says real (green) / generated (purple)", style="bold"))
        console.print(scatter_map(view.decision, view.box, view.real, view.fake))
    else:
        from genai_tui.images.render import render_grid

        console.print(Text("G(z) for 16 fixed z", style="bold"))
        console.print(render_grid(trainer.images_view(16).images, ncol=8))


def _save_png(trainer: Any, path: Path) -> Path:
    if trainer.settings.mode == "points":
        from genai_tui.images.charts import save_scatter_png

        view = trainer.points_view(160, 160, cell_aspect=1.0, n_real=2000, n_fake=2000)
        return save_scatter_png(view.decision, view.box, view.real, view.fake, path)
    from genai_tui.images.render import save_png

    return save_png(trainer.images_view(64).images, path, nrow=8, scale=3)
