"""Text-to-image commands: `genai-tui imagine "a thick seven"` and `genai-tui train imagine`.

Only Typer and the standard library at module level; torch and the model load
inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import emit_json, say, text_arg
from genai_tui.errors import UserError
from genai_tui.service.runtime import set_torch_threads, thread_count

MAX_PROMPT_CHARS = 1000


def _load(model_dir: Path | None):  # -> ImagineModel
    from genai_tui.service import imagine as service

    if model_dir is not None and not model_dir.is_dir():
        raise UserError(f"--model {str(model_dir)!r} is not a folder")
    return service.load(model_dir)


@app.command("imagine")
def imagine_cmd(
    prompt: str = typer.Argument(..., help="What to draw, e.g. \"a thick seven\" ('-': stdin)."),
    guidance: float = typer.Option(1.0, "--guidance", "-g", min=0.0, max=20.0,
                                   help="Classifier-free guidance: 0 ignores the prompt, "
                                        "1 the plain conditional model, more follows it "
                                        "harder (see --guidance-interval)."),
    interval: float = typer.Option(
        0.3, "--guidance-interval", min=0.0, max=1.0,
        help="Guide (above 1) only while t < this share of T, the low-noise end; the "
             "other steps take the plain conditional model (1: every step)."),
    steps: int = opt.steps_option(25, "DDIM steps (ignored by ddpm).", max=None),
    sampler: str = typer.Option("ddim", "--sampler", help="ddim or ddpm (all T steps)."),
    seed: int = opt.seed_option(0, "Seed of the starting noise (same seed, same images)."),
    n: int = typer.Option(1, "--n", min=1, max=256, help="How many images."),
    png: Path | None = opt.png_option("Also save the images as a PNG."),
    attention: bool = typer.Option(
        False, "--attention", help="Also show where each token's cross-attention went "
                                   "(last step, first image)."),
    ascii_only: bool = opt.ascii_option(),
    json_out: bool = opt.json_option("JSON: seed, guidance, the prompt's tokens and unknown "
                                     "words, the classifier's verdict on each image; no picture."),
    ncol: int = typer.Option(8, "--ncol", min=1, max=64, help="Images per row."),
    model_dir: Path | None = opt.model_option(
        "Model folder (default: the bundled assets/imagine)."),
    threads: int | None = opt.threads_option(),
) -> None:
    """Draw digits from a text prompt with the text-to-image diffusion model."""
    from genai_tui.service import imagine as service

    prompt = text_arg(prompt, "the prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UserError(f"the prompt is too long ({len(prompt)} characters; at most "
                        f"{MAX_PROMPT_CHARS})")
    settings = service.SampleSettings(prompt=prompt, guidance=guidance,
                                      guidance_interval=interval, steps=steps,
                                      sampler=sampler, seed=seed, n=n,
                                      attention=attention or json_out,
                                      threads=thread_count(threads))
    settings = service.validate(settings)  # before the model loads
    model = _load(model_dir)
    info = service.prompt_info(model, prompt)
    from collections import deque

    (last,) = deque(service.imagine(model, settings), maxlen=1)
    images = last.x_next
    if png is not None:
        from genai_tui.images.render import save_png

        save_png(images, png, nrow=ncol)
    label = f"ddim-{last.total}" if settings.sampler == "ddim" else f"ddpm-{last.total}"
    verdict, judge_error = None, None
    try:
        from genai_tui.service.diffusion import judge

        verdict = judge(images)
    except UserError as e:
        judge_error = str(e)
        say(f"genai-tui: note: no classifier verdict: {e}", err=True)
    if json_out:
        out: dict = {"prompt": prompt, "tokens": info.tokens[1:],
                     "unknown_words": info.unknown.words, "unknown_tokens": info.unknown.tokens,
                     "truncated": info.truncated, "guidance": guidance,
                     "guidance_interval": settings.guidance_interval,
                     "sampler": settings.sampler, "steps": last.total, "seed": seed, "n": n,
                     "seconds": round(last.elapsed, 4),
                     "ink": [round(float(v), 2) for v in service.ink(images)]}
        if verdict is not None:
            out["digits"] = [{"label": lab, "confidence": round(c, 4),
                              "confident": c > verdict.threshold}
                             for lab, c in zip(verdict.labels, verdict.confidences, strict=True)]
        else:
            out["digits"] = None
            out["judge_error"] = judge_error
        if last.attention is not None:
            # share of attention each token got, over the pixels of each image
            shares = last.attention.mean(axis=(2, 3))  # (N, L)
            out["attention"] = [{"token": tok, "share": [round(float(v), 4) for v in shares[:, i]]}
                                for i, tok in enumerate(last.tokens)]
        emit_json(out)
        return
    from rich.console import Console

    from genai_tui.images.render import render_grid

    console = Console(no_color=True, color_system=None) if ascii_only else Console()
    mode = "ascii" if ascii_only else None
    captions = None
    if verdict is not None:
        captions = [f"{lab} {c:.0%}" if c > verdict.threshold else f"? {c:.0%}"
                    for lab, c in zip(verdict.labels, verdict.confidences, strict=True)]
    console.print(render_grid(images, ncol=ncol, captions=captions, mode=mode))
    if attention and last.attention is not None:
        maps = last.attention[0]  # (L, H, W), shares of each pixel's attention
        peak = max(float(maps.max()), 1e-9)
        console.print(render_grid([m[None] / peak for m in maps], ncol=min(len(maps), 8),
                                  captions=list(last.tokens), mode=mode))
    from rich.text import Text

    console.print(Text(f"{n} image{'s' if n > 1 else ''} for {prompt!r}: guidance "
                       f"{guidance:g}, {label}, seed {seed}, {last.elapsed:.2f} s"
                       + (f"; saved {png}" if png else "")))
    if info.unknown:
        parts = []
        if info.unknown.words:
            parts.append("words " + ", ".join(repr(w) for w in info.unknown.words))
        if info.unknown.tokens:
            parts.append("tokens " + " ".join(info.unknown.tokens))
        console.print(Text("never seen in training (read anyway): " + "; ".join(parts)))
    if info.truncated:
        console.print(Text(f"the prompt was cut to its first {len(info.ids)} tokens"))


@train_app.command("imagine")
def train_imagine_cmd(
    ctx: typer.Context,
    steps: int = opt.steps_option(4000),
    out: Path | None = opt.out_option("imagine"),
    bundled: bool = opt.bundled_option("model in assets/imagine"),
    seed: int = opt.seed_option(0, "Seed for data and initialisation."),
    train_images: int = typer.Option(30000, "--n-data", min=16, max=1_000_000,
                                     help="Captioned training digits."),
    batch_size: int = opt.batch_size_option(64, min=2),
    lr: float = opt.lr_option(1e-3),
    channels: int = typer.Option(16, "--channels", min=8, max=256,
                                 help="U-Net channels at full resolution (multiple of 8)."),
    text_width: int = opt.text_width_option(64),
    text_layers: int = opt.text_layers_option(2),
    p_uncond: float = typer.Option(0.15, "--p-uncond", min=0.0, max=1.0,
                                   help="Condition dropout (the null caption's share)."),
    timesteps: int = typer.Option(1000, "--timesteps", min=2, max=10000, help="T."),
    eval_every: int = typer.Option(0, "--eval-every", min=0, max=opt.MAX_STEPS,
                                   help="Steps between held-out losses (0: at the end only)."),
    eval_samples: int = typer.Option(
        0, "--eval-samples", min=0, max=10000,
        help="Samples per prompt the classifier judges for the card (0: skip; "
             "the bundled model used 100)."),
    time_limit: float | None = opt.time_limit_option(),
    threads: int | None = opt.threads_option(),
    json_out: bool = opt.json_option(),
) -> None:
    """Train the text-to-image model: a U-Net with cross-attention to its own text encoder,
    on captioned generated digits, with condition dropout for classifier-free guidance."""
    from genai_tui.cli.lifecycle_cmds import run_stage
    from genai_tui.cli.outpaths import train_target
    from genai_tui.cli.output import command_line
    from genai_tui.paths import asset
    from genai_tui.service import imagine as service

    if channels % 8:
        raise UserError("--channels must be a multiple of 8")
    if text_width % 4:
        raise UserError("--text-width must be a multiple of 4 (the text encoder's heads)")
    if time_limit is not None and time_limit <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {time_limit:g}")
    target = train_target(out, bundled=bundled, bundled_path=asset("imagine"), stem="imagine")
    settings = service.TrainSettings(
        steps=steps, batch_size=batch_size, train_images=train_images, p_uncond=p_uncond,
        base_channels=channels, text_width=text_width, text_layers=text_layers, lr=lr,
        timesteps=timesteps, seed=seed, eval_every=eval_every, eval_samples=eval_samples,
        time_limit=time_limit * 60 if time_limit is not None else 0.0)
    run = service.ImagineTraining(settings)  # validates before any work
    set_torch_threads(thread_count(threads))
    run_stage(run, out=target, json_lines=json_out, quiet=False, command=command_line(ctx))
