"""Image commands: `genai-tui vae ...`, `genai-tui train vae`, `genai-tui train classifier`.

Only Typer and the standard library at module level; torch, the models and
Rich's progress bar load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import command_line, emit_json, progress_bar, say
from genai_tui.errors import UserError
from genai_tui.service.runtime import set_torch_threads, thread_count

MAX_GENERATED_INDEX = 10_000
"""`vae interpolate --a/--b` index at most this many generated digits."""

vae_app = typer.Typer(
    help="The variational autoencoder: sample, reconstruct, interpolate, find anomalies.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(vae_app, name="vae")


@train_app.command("classifier")
def train_classifier_cmd(
    ctx: typer.Context,
    steps: int = opt.steps_option(2000),
    seed: int = opt.seed_option(0, "Seed for data and initialisation."),
    n_train: int = typer.Option(20000, "--n-train", min=10, max=1_000_000,
                                help="Generated training digits."),
    soft: float = typer.Option(0.5, "--soft", min=0.0, max=1.0,
                               help="Share of each batch blurred and dimmed (digits and "
                               "junk alike), so softness is no cue."),
    out: Path | None = opt.out_option("classifier"),
    bundled: bool = opt.bundled_option("judge in assets/classifier"),
    threads: int | None = opt.threads_option(),
    json_out: bool = opt.json_option(),
) -> None:
    """Train the small CNN digit classifier (the judge of generated images)."""
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset
    from genai_tui.service import classifier as service

    out = train_target(out, bundled=bundled, bundled_path=asset("classifier"), stem="classifier")
    set_torch_threads(thread_count(threads))
    events = service.train(steps=steps, seed=seed, n_train=n_train, out=out, soft=soft,
                           command=command_line(ctx))
    last = None
    if json_out:
        for last in events:
            emit_json({"step": last.step, "loss": last.loss, "accuracy": last.accuracy,
                       "elapsed": round(last.elapsed, 2)})
    else:
        with progress_bar(steps, ["loss", "acc"], quiet=False) as bar:
            task = bar.add_task("classifier", total=steps, loss="-", acc="-")
            for last in events:
                acc = f"{last.accuracy:.3f}" if last.accuracy is not None else None
                bar.update(task, completed=last.step, loss=f"{last.loss:.4f}",
                           **({"acc": acc} if acc else {}))
    if last is not None and not json_out:
        say(f"held-out accuracy {last.accuracy:.4f}; saved to {out}")


@train_app.command("vae")
def train_vae_cmd(
    ctx: typer.Context,
    latent_dim: int = typer.Option(16, "--latent-dim", min=1, max=512,
                                   help="Size of the latent vector z (2 = a drawable map)."),
    beta: float = typer.Option(1.0, "--beta", min=0.0, max=100.0,
                               help="Weight of the KL term (beta-VAE; 1 = the ELBO)."),
    data: Path | None = typer.Option(None, "--data",
                                     help="Folder of PNG/JPEG images or an .npz to train on "
                                     "(default: 20,000 generated digits)."),
    steps: int = opt.steps_option(4000),
    seed: int = opt.seed_option(0, "Seed for data, initialisation and batches."),
    hidden: int = typer.Option(128, "--hidden", min=8, max=4096,
                               help="Width of the fully connected layers."),
    batch_size: int = opt.batch_size_option(128, min=2),
    channels: int = typer.Option(32, "--channels", min=1, max=512,
                                 help="Channels of the first conv layer (the second has twice)."),
    blocks: int = typer.Option(0, "--blocks", min=0, max=16,
                               help="Residual conv blocks at each resolution, each side."),
    lr: float = opt.lr_option(2e-3),
    out: Path | None = opt.out_option("vae"),
    bundled: bool = opt.bundled_option("model: assets/vae, or assets/vae2d with --latent-dim 2"),
    threads: int | None = opt.threads_option(),
    json_out: bool = opt.json_option(),
) -> None:
    """Train a convolutional VAE; the bar shows reconstruction and KL (nats per image)."""
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset
    from genai_tui.service import vae as service

    name = "vae2d" if latent_dim == 2 else "vae"
    out = train_target(out, bundled=bundled, bundled_path=asset(name), stem=name)
    set_torch_threads(thread_count(threads))
    events = service.train(latent_dim=latent_dim, beta=beta, steps=steps, seed=seed, data=data,
                           out=out, hidden=hidden, batch_size=batch_size, channels=channels,
                           blocks=blocks, lr=lr, command=command_line(ctx))
    last = None
    if json_out:
        for last in events:
            emit_json({"step": last.step, "reconstruction": round(last.reconstruction, 4),
                       "kl": round(last.kl, 4), "loss": round(last.loss, 4),
                       "test_reconstruction": last.test_reconstruction,
                       "test_kl": last.test_kl, "elapsed": round(last.elapsed, 2)})
        return
    with progress_bar(steps, ["recon", "KL"], quiet=False) as bar:
        task = bar.add_task(f"vae z={latent_dim}", total=steps, recon="-", KL="-")
        for last in events:
            bar.update(task, completed=last.step, recon=f"{last.reconstruction:7.2f}",
                       KL=f"{last.kl:6.2f}")
    if last is not None:
        say(f"held-out reconstruction {last.test_reconstruction:.2f} nats, "
            f"KL {last.test_kl:.2f} nats; saved to {out}")


# -- genai-tui vae ... ------------------------------------------------------------

_MODEL_HELP = "Bundled model: vae (16-D latent) or vae2d (2-D latent)."


def _mode_option() -> Any:
    return typer.Option("auto", "--mode",
                        help="Image mode: auto (from the terminal), truecolor, 256, 16 or ascii.")


def _data_option(help: str = "Folder of PNG/JPEG images or an .npz (default: held-out "
                 "generated digits).") -> Any:
    return typer.Option(None, "--data", help=help)


def _n_option(default: int, help: str) -> Any:
    return typer.Option(default, "--n", "-n", min=1, max=256, help=help)


def _console_and_mode(ascii_only: bool, mode: str) -> tuple[Any, Any]:
    from rich.console import Console

    from genai_tui.images.render import check_mode

    chosen = "ascii" if ascii_only else check_mode(mode)
    return Console(highlight=False), chosen


def _per_row(console: Any, scale: float = 1) -> int:
    tile = 28 if scale == 1 else 14
    return max(1, (console.width + 1) // (tile + 1))


def _print_grid(images: Any, captions: list[str], ascii_only: bool, mode: str,
                ncol: int | None = None, styles: list[Any] | None = None) -> None:
    from genai_tui.images.render import ImageGrid

    console, chosen = _console_and_mode(ascii_only, mode)
    grid = ImageGrid(images, ncol=ncol or _per_row(console), captions=captions, mode=chosen,
                     caption_styles=styles)
    console.print(grid)


def _save(images: Any, png: Path | None, ncol: int) -> None:
    if png is not None:
        from genai_tui.images.render import save_png

        path = save_png(images, png, nrow=ncol)
        say(f"saved {path}", err=True)


def _rows_of_pairs(top: Any, bottom: Any, k: int) -> tuple[Any, list[int]]:
    """Interleave chunks: k of ``top`` over the same k of ``bottom``, and so on."""
    import torch

    parts, order = [], []
    for i in range(0, top.shape[0], k):
        j = min(i + k, top.shape[0])
        parts += [top[i:j], bottom[i:j]]
        order += [("top", n) for n in range(i, j)] + [("bottom", n) for n in range(i, j)]
    return torch.cat(parts), order


@vae_app.command("sample")
def vae_sample(
    n: int = _n_option(16, "How many images."),
    seed: int = opt.seed_option(0, "Seed for z ~ N(0, I)."),
    temperature: float = typer.Option(1.0, "--temperature", min=0.0, max=5.0,
                                      help="Scale of z (lower = more typical digits)."),
    model: str = opt.model_option(_MODEL_HELP, "vae"),
    png: Path | None = opt.png_option(),
    ascii_only: bool = opt.ascii_option(),
    mode: str = _mode_option(),
    json_out: bool = opt.json_option("Print z and the judge's labels (a digit, or null: not a "
                                 "digit) as JSON instead."),
) -> None:
    """Decode images from random points of the latent space (the prior N(0, I))."""
    from genai_tui.service import vae as service

    result = service.sample(service.load(model), n=n, seed=seed, temperature=temperature)
    _save(result.images, png, 8)
    if json_out:
        from genai_tui.service.classifier import judge_images

        note = None
        try:
            figures = judge_images(result.images).to_dict()
        except UserError as e:  # the judge is missing or corrupt: say so, keep the samples
            figures, note = None, str(e)
            say(f"genai-tui: note: no judge labels: {e}", err=True)
        emit_json({"model": model, "seed": seed, "temperature": temperature,
                   "z": [[round(v, 4) for v in z] for z in result.z],
                   "labels": figures["labels"] if figures else None, "judge": figures,
                   **({"judge_error": note} if note else {})})
        return
    _print_grid(result.images, [f"#{i}" for i in range(n)], ascii_only, mode)
    say(f"{n} samples from {model}, seed {seed}")


@vae_app.command("reconstruct")
def vae_reconstruct(
    n: int = _n_option(8, "How many images."),
    data: Path | None = _data_option(),
    seed: int = opt.seed_option(20002, "Seed of the generated digits."),
    model: str = opt.model_option(_MODEL_HELP, "vae"),
    png: Path | None = opt.png_option(),
    ascii_only: bool = opt.ascii_option(),
    mode: str = _mode_option(),
    json_out: bool = opt.json_option("Print errors and z as JSON instead."),
) -> None:
    """Encode images and decode them again; show each input over its reconstruction."""
    from genai_tui.service import vae as service

    images = service.load_data(data, n=n, seed=seed)
    handle = service.load(model)
    result = service.reconstruct(handle, images)
    if json_out:
        z = service.encode(handle, result.inputs)
        emit_json({"model": model, "source": images.source,
                   "errors": [round(e, 6) for e in result.errors],
                   "mean_error": round(sum(result.errors) / len(result.errors), 6),
                   "labels": result.labels, "z": [[round(v, 4) for v in row] for row in z]})
        _save(result.outputs, png, 8)
        return
    from rich.console import Console

    k = min(len(result.errors), _per_row(Console()))
    grid, order = _rows_of_pairs(result.inputs, result.outputs, k)
    captions = [(f"in {result.labels[i]}" if result.labels[i] >= 0 else "in")
                if part == "top" else f"err {result.errors[i]:.4f}" for part, i in order]
    _save(grid, png, k)
    _print_grid(grid, captions, ascii_only, mode, ncol=k)
    say(f"mean squared error {sum(result.errors) / len(result.errors):.4f} "
        f"({images.source})")


@vae_app.command("interpolate")
def vae_interpolate(
    steps: int = opt.steps_option(8, "Images on the path.", min=2, max=64),
    a: int = typer.Option(0, "--a", min=0, help="Index of the first input image."),
    b: int = typer.Option(1, "--b", min=0, help="Index of the second input image."),
    data: Path | None = _data_option(),
    seed: int = opt.seed_option(20002, "Seed of the generated digits."),
    spherical: bool = typer.Option(False, "--slerp", help="Spherical instead of linear path."),
    model: str = opt.model_option(_MODEL_HELP, "vae"),
    png: Path | None = opt.png_option("Also save the strip as a PNG file."),
    ascii_only: bool = opt.ascii_option(),
    mode: str = _mode_option(),
    json_out: bool = opt.json_option("Print t and z as JSON instead."),
) -> None:
    """Morph one image into another by walking a straight line in latent space."""
    from genai_tui.service import vae as service

    if data is None and max(a, b) >= MAX_GENERATED_INDEX:
        # each index below it is a digit to generate: --a 10000000 would draw ten million
        raise UserError(f"--a/--b must be below {MAX_GENERATED_INDEX:,} for the generated "
                        "digits (or give your own images with --data)")
    images = service.load_data(data, n=max(a, b) + 1, seed=seed)
    if max(a, b) >= len(images):
        raise UserError(f"--a/--b must be below {len(images)} (images available)")
    handle = service.load(model)
    result = service.interpolate(handle, images.images[a:a + 1], images.images[b:b + 1],
                                 steps=steps, spherical=spherical)
    _save(result.images, png, steps)
    if json_out:
        emit_json({"model": model, "a": a, "b": b, "t": [round(t, 4) for t in result.t],
                   "z": [[round(v, 4) for v in z] for z in result.z]})
        return
    _print_grid(result.images, [f"t={t:.2f}" for t in result.t], ascii_only, mode)


@vae_app.command("anomaly")
def vae_anomaly(
    n: int = _n_option(16, "Unusual images to score."),
    score: str = typer.Option("elbo", "--score",
                              help="elbo (negative ELBO, nats) or mse (reconstruction error)."),
    data: Path | None = typer.Option(None, "--data",
                                     help="Score these images (folder or .npz) as the "
                                     "suspects (default: noise, blobs, inverted, shapes)."),
    seed: int = opt.seed_option(0, "Seed of the unusual images."),
    model: str = opt.model_option(_MODEL_HELP, "vae"),
    png: Path | None = opt.png_option("Also save the suspects as a PNG file."),
    ascii_only: bool = opt.ascii_option(),
    mode: str = _mode_option(),
    json_out: bool = opt.json_option("Print the scores as JSON instead."),
) -> None:
    """Score images by how badly the VAE explains them; flag the outliers."""
    from genai_tui.images.plots import histogram_text
    from genai_tui.service import vae as service

    if score not in service.SCORES:
        raise UserError(f"--score must be one of: {', '.join(service.SCORES)}")
    suspects = service.load_data(data, n=n) if data is not None else None
    result = service.anomaly(service.load(model), n_unusual=n, score=score, seed=seed,
                             data=suspects)
    _save(result.unusual_images, png, 8)
    if json_out:
        emit_json({"model": model, "score": score, "threshold": round(result.threshold, 6),
                   "auroc": round(result.auroc, 4),
                   "suspects": [{"kind": k, "score": round(s, 6), "flagged": f}
                                for k, s, f in zip(result.unusual_kinds, result.unusual_scores,
                                                   result.flagged, strict=True)],
                   "normal_scores": [round(s, 6) for s in result.normal_scores]})
        return
    fmt = "{:.0f}" if score == "elbo" else "{:.3f}"
    captions = [f"{'!' if f else ' '}{k[:5]} {fmt.format(s)}" for k, s, f in
                zip(result.unusual_kinds, result.unusual_scores, result.flagged, strict=True)]
    styles = ["bold red" if f else "green" for f in result.flagged]
    _print_grid(result.unusual_images, captions, ascii_only, mode, styles=styles)
    console, chosen = _console_and_mode(ascii_only, mode)
    from genai_tui.images.render import mode_for

    hist = service.histogram({"normal digits": result.normal_scores,
                              "unusual": result.unusual_scores}, bins=10,
                             log=score == "elbo" or score == "mse")
    import math

    console.print(histogram_text(hist.edges, hist.series, width=min(console.width, 100),
                                 log=hist.log, threshold=math.log10(max(result.threshold, 1e-12)),
                                 ascii_only=(chosen or mode_for(console)) == "ascii"))
    flagged = sum(result.flagged)
    say(f"{flagged}/{len(result.flagged)} flagged (score > {result.threshold:.4g}, the 99th "
        f"percentile of normal digits); {result.normal_flagged}/{len(result.normal_scores)} "
        f"normal digits flagged; AUROC {result.auroc:.3f}")


@vae_app.command("denoise")
def vae_denoise(
    n: int = _n_option(8, "How many images."),
    noise: float = typer.Option(0.4, "--noise", min=0.0, max=2.0,
                                help="Standard deviation of the added pixel noise."),
    data: Path | None = _data_option(),
    model: str = opt.model_option(_MODEL_HELP, "vae"),
    png: Path | None = opt.png_option(),
    ascii_only: bool = opt.ascii_option(),
    mode: str = _mode_option(),
    json_out: bool = opt.json_option("Print the errors as JSON instead."),
) -> None:
    """Add noise to images and let the VAE clean it up: noisy, reconstruction, original."""
    import torch

    from genai_tui.service import vae as service

    images = service.load_data(data, n=n)
    result = service.denoise(service.load(model), images, noise=noise)
    if json_out:
        emit_json({"model": model, "noise": noise,
                   "noisy_errors": [round(e, 6) for e in result.noisy_errors],
                   "recon_errors": [round(e, 6) for e in result.recon_errors],
                   "encoder_pass_errors": [round(e, 6) for e in result.encoder_errors]})
        return
    from rich.console import Console

    k = min(n, _per_row(Console()))
    rows, captions = [], []
    for i in range(0, n, k):
        j = min(n, i + k)
        rows += [result.noisy[i:j], result.recon[i:j], result.clean[i:j]]
        captions += [f"noisy {e:.3f}" for e in result.noisy_errors[i:j]]
        captions += [f"vae {e:.3f}" for e in result.recon_errors[i:j]]
        captions += ["original"] * (j - i)
    grid = torch.cat(rows)
    _save(grid, png, k)
    _print_grid(grid, captions, ascii_only, mode, ncol=k)
    say(f"mean squared error: noisy {sum(result.noisy_errors) / n:.4f}, VAE (MAP) "
        f"{sum(result.recon_errors) / n:.4f}, one encoder pass "
        f"{sum(result.encoder_errors) / n:.4f}")
