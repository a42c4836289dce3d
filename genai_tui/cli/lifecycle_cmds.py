"""``genai-tui train pretrain`` and ``train finetune``: the Train pane's stages
for scripts, and `run_stage`, the one consumer of a lifecycle stage's events
(a progress bar and the samples as they come, or ``--json`` lines) that the
``sft`` and ``prefer`` commands use too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import train_app
from genai_tui.cli.output import command_line, emit_json, say, text_arg

SHOWN_METRICS = ("loss", "val_loss")
"""The figures the bar shows, unless the stage names its own (``run.shown``)."""


def run_stage(run: Any, *, out: Path | None, json_lines: bool, quiet: bool,
              command: str = "") -> dict:
    """Consume ``run.events()``: a bar, notices and samples on stderr (or one JSON
    line per event on stdout), then save ``run.trainee`` to ``out`` (if given).
    Returns the `Finished` summary."""
    from genai_tui.service.lifecycle.events import Finished, Metrics, Notice, Sample, to_json

    summary: dict = {}
    bar = None
    task = None
    shown = tuple(getattr(run, "shown", SHOWN_METRICS))
    fields = {name: "-" for name in shown}

    def show(text: str) -> None:
        """Untrusted text (model output, file names) on stderr, controls made visible,
        above the bar when there is one."""
        if bar is None:
            say(text, err=True)
            return
        from rich.text import Text

        from genai_tui.textsafe import escape_controls

        bar.console.print(Text(escape_controls(text, True)))

    try:
        for event in run.events():
            if json_lines:
                emit_json(to_json(event))
            if isinstance(event, Metrics):
                for name in shown:
                    value = event.get(name)
                    if value is not None:
                        fields[name] = f"{value:.3f}"
                if json_lines:
                    continue
                if bar is None:
                    from genai_tui.cli.output import progress_bar

                    bar = progress_bar(event.steps, list(shown), quiet, narrow_below=100)
                    bar.start()
                    task = bar.add_task(run.stage, total=event.steps, **fields)
                bar.update(task, completed=event.step, **fields)
            elif isinstance(event, Notice) and not json_lines and not quiet:
                show(("warning: " if event.level == "warn" else "") + event.message)
            elif isinstance(event, Sample) and not json_lines and not quiet:
                show(f"[{event.label} step {event.step}] {event.prompt}{event.text}")
            elif isinstance(event, Finished):
                summary = {**event.summary, "steps": event.step}
    finally:
        if bar is not None:
            bar.stop()
    if out is not None and run.trainee is not None:
        if command:
            run.trainee.card["command"] = command
        path = run.trainee.save(out)
        summary["out"] = str(path)
        if json_lines:
            emit_json({"event": "saved", "out": str(path)})
    if not json_lines:
        shown = {k: v for k, v in summary.items() if k != "history"}
        for key, value in shown.items():
            say(f"{key}: {value}")
    return summary


def stage_target(out: Path | None, stem: str) -> Path:
    """``--out`` checked, or a new ``./<stem>-<date>-<time>``; never inside the bundled
    assets (these commands make new models: they have no ``--bundled``)."""
    from genai_tui.cli.outpaths import train_target

    return train_target(out, bundled=False, bundled_path=None, stem=stem)


@train_app.command("pretrain")
def train_pretrain_cmd(
    ctx: typer.Context,
    steps: int = opt.steps_option(600, "Optimizer steps."),
    layers: int = typer.Option(2, "--layers", min=1, max=12, help="Transformer blocks."),
    heads: int = typer.Option(4, "--heads", min=1, max=64, help="Attention heads per block."),
    width: int = typer.Option(128, "--width", min=8, max=4096, help="Residual stream width."),
    block_size: int = typer.Option(128, "--block-size", min=8, max=1024,
                                   help="Context length (tokens)."),
    batch_size: int = opt.batch_size_option(16, "Sequences per step."),
    tokenizer: str = typer.Option(
        "byte", "--tokenizer", help="byte (256 ids; samples look like code soonest) or bpe "
        "(the bundled model's 4096 tokens)."),
    lr: float = opt.lr_option(3e-3),
    sample_every: int = typer.Option(50, "--sample-every", min=1,
                                     help="Steps between samples of text."),
    prompt: str = typer.Option("def ", "--prompt", help="Prompt of the samples."),
    corpus: Path | None = opt.corpus_option(
        "UTF-8 text file, its tail held out (default: the standard library's sources, "
        "whole files held out)."),
    seed: int = opt.seed_option(0),
    out: Path | None = opt.out_option("pretrain"),
    threads: int | None = opt.threads_option(),
    json_lines: bool = opt.json_option(),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Pretrain a small GPT from random weights, with samples as it learns (the Train pane's
    first stage)."""
    from genai_tui.service.lifecycle.pretrain import Pretrain, PretrainSettings
    from genai_tui.service.runtime import set_torch_threads

    target = stage_target(out, "pretrain")
    run = Pretrain(PretrainSettings(
        steps=steps, n_layer=layers, n_head=heads, n_embd=width, block_size=block_size,
        batch_size=batch_size, lr=lr, sample_every=sample_every,
        prompt=text_arg(prompt, "--prompt"),
        corpus=str(corpus) if corpus else None, seed=seed, tokenizer=tokenizer))
    set_torch_threads(threads)
    run_stage(run, out=target, json_lines=json_lines, quiet=quiet, command=command_line(ctx))


@train_app.command("finetune")
def train_finetune_cmd(
    ctx: typer.Context,
    text_file: Path = typer.Argument(..., help="UTF-8 text to fine-tune on ('-': stdin)."),
    steps: int = opt.steps_option(120, "Optimizer steps."),
    lr: float = opt.lr_option(3e-4, "Learning rate (constant after warm-up)."),
    batch_size: int = opt.batch_size_option(8, "Windows per step."),
    block_size: int = typer.Option(128, "--block-size", min=8, max=4096,
                                   help="Window length (tokens; shortened for a short text)."),
    held_out: float = typer.Option(0.15, "--held-out", min=0.05, max=0.5,
                                   help="Share of the text held out (its tail)."),
    prompt: str = typer.Option("", "--prompt", help="Prompt for the before/after samples "
                               "(default: the start of the held-out part)."),
    model: str | None = opt.model_option("Model folder to start from (default: bundled)."),
    seed: int = opt.seed_option(0),
    out: Path | None = opt.out_option("finetune"),
    threads: int | None = opt.threads_option(),
    json_lines: bool = opt.json_option(),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Fine-tune the language model on your text, watching the held-out loss for overfitting."""
    from genai_tui.corpus import load_text_corpus
    from genai_tui.service.lifecycle.finetune import Finetune, FinetuneSettings
    from genai_tui.service.runtime import set_torch_threads

    if str(text_file) == "-":
        text, source = text_arg("-", "standard input"), "standard input"
    else:
        text, source = load_text_corpus(text_file, "text file"), text_file.name
    target = stage_target(out, "finetune")
    run = Finetune(FinetuneSettings(
        text=text, source=source, steps=steps, lr=lr, batch_size=batch_size,
        block_size=block_size, val_fraction=held_out, prompt=text_arg(prompt, "--prompt"),
        model=model, seed=seed))
    set_torch_threads(threads)
    run_stage(run, out=target, json_lines=json_lines, quiet=quiet, command=command_line(ctx))
