"""Diffusion commands: `genai-tui diffusion sample|noise` and `genai-tui train diffusion`.

Only Typer and the standard library at module level; torch, the model and
Rich's progress bar load inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import emit_json, say
from genai_tui.errors import UserError
from genai_tui.service.runtime import set_torch_threads, thread_count

diffusion_app = typer.Typer(
    help="The diffusion model (DDPM): sample digits from noise, watch the forward process.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(diffusion_app, name="diffusion")


def _load(model_dir: Path | None):  # -> DiffusionModel
    from genai_tui.service import diffusion as service

    if model_dir is not None and not model_dir.is_dir():
        raise UserError(f"--model {str(model_dir)!r} is not a folder")
    return service.load_model(model_dir)


def _console(ascii_only: bool):
    from rich.console import Console

    return Console(no_color=True, color_system=None) if ascii_only else Console()


def _mode(ascii_only: bool):
    return "ascii" if ascii_only else None


@diffusion_app.command("sample")
def sample_cmd(
    n: int = typer.Option(16, "--n", min=1, max=1024, help="How many images."),
    sampler: str = typer.Option("ddim", "--sampler", help="ddim or ddpm (all T steps)."),
    steps: int = opt.steps_option(50, "DDIM steps (ignored by ddpm).", max=None),
    eta: float = typer.Option(0.0, "--eta", min=0.0, max=1.0,
                              help="DDIM noise: 0 deterministic, 1 like DDPM."),
    seed: int = opt.seed_option(0, "Seed of the starting noise."),
    png: Path | None = opt.png_option("Also save the grid as a PNG."),
    ascii_only: bool = opt.ascii_option(),
    frames: Path | None = typer.Option(
        None, "--frames", help="Write the trajectory (x_t of every step) as PNGs into DIR."),
    json_out: bool = opt.json_option("JSON: the classifier's reading "
                                  "of each sample and the timing; no picture."),
    ncol: int = typer.Option(8, "--ncol", min=1, max=64, help="Images per row."),
    precision: str = typer.Option(
        "fp32", "--precision", help="fp32 (90% of DDIM-25 samples judged digits), bf16 "
        "(about 1.7x faster where the CPU has it natively; 88%) or auto (bf16 where native)."),
    model_dir: Path | None = opt.model_option(
        "Model folder (default: the bundled assets/diffusion)."),
    threads: int | None = opt.threads_option(),
) -> None:
    """Sample digits from pure noise with DDIM or DDPM and show them."""
    from genai_tui.service import diffusion as service

    settings = service.SampleSettings(n=n, sampler=service.check_choice(
        sampler, service.SAMPLERS, "sampler"), steps=steps, eta=eta, seed=seed,
        precision=service.check_choice(precision, service.PRECISIONS, "precision"),
        threads=thread_count(threads))
    if frames is not None and frames.exists() and not frames.is_dir():
        raise UserError(f"--frames {str(frames)!r} is a file; give a folder")
    model = _load(model_dir)
    iterator = service.sample_steps(model, settings)  # validates before any work
    if frames is not None:
        from genai_tui.images.render import save_png

        try:
            frames.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create {frames}: {e.strerror}") from None
    last = None
    for last in iterator:
        if frames is not None:
            save_png(last.x_t, frames / f"step{last.index:04d}_t{last.t:04d}.png", nrow=ncol)
    assert last is not None
    images = last.x_next
    if frames is not None:
        save_png(images, frames / f"step{last.total:04d}_final.png", nrow=ncol)
    if png is not None:
        from genai_tui.images.render import save_png

        save_png(images, png, nrow=ncol)
    if json_out:
        out: dict = {"n": n, "sampler": settings.sampler,
                     "steps": last.total, "eta": eta if settings.sampler == "ddim" else None,
                     "seed": seed, "seconds": round(last.elapsed, 4)}
        try:
            verdict = service.judge(images)
            out["digits"] = [{"label": lab, "confidence": round(c, 4)}
                             for lab, c in zip(verdict.labels, verdict.confidences, strict=True)]
            out["judged_digits"] = verdict.digit_fraction
            from genai_tui.service.classifier import judge_images

            out["judge"] = judge_images(images, fid=n >= 2).to_dict()
        except UserError as e:
            # The sample itself is fine; say why the judge's figures are absent.
            out["digits"] = None
            out["judge"] = None
            out["judge_error"] = str(e)
            say(f"genai-tui: note: no judge figures: {e}", err=True)
        emit_json(out)
        return
    from genai_tui.images.render import render_grid

    console = _console(ascii_only)
    console.print(render_grid(images, ncol=ncol, mode=_mode(ascii_only)))
    label = f"ddim-{last.total} eta={eta:g}" if settings.sampler == "ddim" else f"ddpm-{last.total}"
    say(f"{n} samples, {label}, seed {seed}, {last.elapsed:.2f} s"
        + (f"; saved {png}" if png else "") + (f"; frames in {frames}" if frames else ""))


@diffusion_app.command("noise")
def noise_cmd(
    t: list[int] = typer.Option([500], "--t", help="Timestep(s) 0..T-1 to show (repeatable)."),
    digit: int = typer.Option(0, "--digit", min=0, max=63, help="Which example digit."),
    seed: int = opt.seed_option(0, "Seed of the example and its noise."),
    schedule: str | None = typer.Option(
        None, "--schedule", help="linear or cosine (default: the bundled model's)."),
    png: Path | None = opt.png_option("Also save the images as a PNG."),
    ascii_only: bool = opt.ascii_option(),
    json_out: bool = opt.json_option("JSON numbers, no picture."),
) -> None:
    """Show the forward process q(x_t | x_0): an example digit noised to step t."""
    from genai_tui.service import diffusion as service

    set_torch_threads(thread_count())
    if schedule is not None:
        name = service.check_choice(schedule, service.SCHEDULES, "schedule")
        process = service.forward_process(schedule=name, digit=digit, seed=seed)
    else:
        try:
            model = service.load_model()
        except UserError:
            model = None  # no bundled model: fall back to the linear schedule
        name = model.schedule_name if model else "linear"
        process = service.forward_process(model, schedule=name, digit=digit, seed=seed)
    ts = sorted(set(t))
    for value in ts:
        if not 0 <= value < process.num_timesteps:
            raise UserError(f"--t must be between 0 and {process.num_timesteps - 1}, got {value}")
    views = [process.at(value) for value in ts]
    if png is not None:
        from genai_tui.images.render import save_png

        save_png([process.x0[None]] + [v.x_t[None] for v in views], png, nrow=len(views) + 1)
    if json_out:
        emit_json({"schedule": name, "timesteps": process.num_timesteps, "digit": digit,
                   "seed": seed,
                   "views": [{"t": v.t, "alpha_bar": v.alpha_bar,
                              "signal_scale": v.alpha_bar ** 0.5,
                              "noise_scale": (1 - v.alpha_bar) ** 0.5,
                              "snr": v.signal_to_noise} for v in views]})
        return
    from genai_tui.images.render import render_grid

    images = [process.x0[None]] + [v.x_t[None] for v in views]
    captions = ["x_0"] + [f"t={v.t}" for v in views]
    console = _console(ascii_only)
    console.print(render_grid(images, ncol=min(len(images), 8), captions=captions,
                              mode=_mode(ascii_only)))
    for v in views:
        say(f"t={v.t}: alpha-bar {v.alpha_bar:.4f}, x_t = {v.alpha_bar ** 0.5:.3f} x_0 + "
            f"{(1 - v.alpha_bar) ** 0.5:.3f} eps ({name} schedule, T={process.num_timesteps})")
    if png is not None:
        say(f"saved {png}")


@train_app.command("diffusion")
def train_diffusion_cmd(
    ctx: typer.Context,
    steps: int = opt.steps_option(2400),
    schedule: str = typer.Option("linear", "--schedule", help="Noise schedule: linear or cosine."),
    out: Path | None = opt.out_option("diffusion"),
    bundled: bool = opt.bundled_option("model in assets/diffusion"),
    seed: int = opt.seed_option(0, "Seed for data and initialisation."),
    n_data: int = typer.Option(20000, "--n-data", min=16, max=1_000_000,
                               help="Generated training digits."),
    batch_size: int = opt.batch_size_option(128),
    lr: float = opt.lr_option(1e-3),
    channels: int = typer.Option(16, "--channels", min=8, max=256,
                                 help="U-Net channels at full resolution (multiple of 8)."),
    timesteps: int = typer.Option(1000, "--timesteps", min=2, max=10000, help="T."),
    judge_n: int = typer.Option(256, "--judge", min=0, max=10000,
                                help="Samples the classifier judges for the card (0: skip)."),
    time_limit: float | None = opt.time_limit_option(),
    max_minutes: float | None = typer.Option(
        None, "--max-minutes", hidden=True,
        help="The old name of --time-limit (the bundled card's command uses it)."),
    threads: int | None = opt.threads_option(),
    json_out: bool = opt.json_option(),
) -> None:
    """Train the DDPM's U-Net on generated digits (predicting the noise, Ho et al. 2020)."""
    from genai_tui.service import diffusion as service

    name = service.check_choice(schedule, service.SCHEDULES, "schedule")
    if channels % 8:
        raise UserError("--channels must be a multiple of 8")
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset

    if time_limit is not None and max_minutes is not None:
        raise UserError("give --time-limit only (--max-minutes is its old name)")
    minutes = time_limit if time_limit is not None else max_minutes
    if minutes is not None and minutes <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {minutes:g}")
    out = train_target(out, bundled=bundled, bundled_path=asset("diffusion"), stem="diffusion")
    settings = service.TrainSettings(steps=steps, schedule=name, timesteps=timesteps,
                                     batch_size=batch_size, lr=lr, n_data=n_data, seed=seed,
                                     base_channels=channels,
                                     time_limit=minutes * 60 if minutes is not None else 0.0)
    set_torch_threads(thread_count(threads))
    from genai_tui.cli.output import command_line, progress_bar

    events = service.train(settings, out, command=command_line(ctx), judge_samples=judge_n)
    last = None
    if json_out:
        for last in events:
            emit_json({"step": last.step, "loss": round(last.loss, 5), "lr": last.lr,
                       "elapsed": round(last.elapsed, 2)})
    else:
        with progress_bar(steps, ["loss"], quiet=False) as bar:
            task = bar.add_task("diffusion", total=steps, loss="-")
            for last in events:
                bar.update(task, completed=last.step, loss=f"{last.loss:.4f}")
    card = service.load_model(out).card
    metrics = card.get("metrics", {})
    quality = metrics.get("sample_quality")
    tail = (f"; classifier reads {quality['judged_digits']:.0%} of {quality['n']} "
            f"{quality['sampler']} samples as digits" if quality else "")
    if not json_out:
        say(f"final loss {metrics.get('final_loss')}; saved to {out}{tail}")
