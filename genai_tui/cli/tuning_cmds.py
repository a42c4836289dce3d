"""``genai-tui train sft`` and ``train prefer``: supervised fine-tuning on the
standard library's question/answer pairs, and preference tuning (a reward
model, then DPO) towards a visible rule. Both print through `run_stage`."""

from __future__ import annotations

from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import train_app
from genai_tui.cli.lifecycle_cmds import run_stage, stage_target
from genai_tui.cli.output import command_line


@train_app.command("sft")
def train_sft_cmd(
    ctx: typer.Context,
    steps: int = opt.steps_option(150, "Optimizer steps."),
    lr: float = opt.lr_option(3e-4, "Learning rate (constant after warm-up)."),
    batch_size: int = opt.batch_size_option(16, "Question/answer pairs per step."),
    model: str | None = opt.model_option("Model folder to start from (default: bundled)."),
    seed: int = opt.seed_option(0),
    out: Path | None = opt.out_option("sft"),
    threads: int | None = opt.threads_option(),
    json_lines: bool = opt.json_option(),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Teach the language model to answer "Q: What does module.name do?" from the standard
    library's docstrings (the loss counts answer tokens only)."""
    from genai_tui.service.lifecycle.sft import Sft, SftSettings
    from genai_tui.service.runtime import set_torch_threads

    target = stage_target(out, "sft")
    run = Sft(SftSettings(steps=steps, lr=lr, batch_size=batch_size, model=model, seed=seed))
    set_torch_threads(threads)
    run_stage(run, out=target, json_lines=json_lines, quiet=quiet, command=command_line(ctx))


@train_app.command("prefer")
def train_prefer_cmd(
    ctx: typer.Context,
    rule: str = typer.Option("shorter", "--rule",
                             help="What to prefer: shorter, no-repeat or mentions (--word)."),
    word: str = typer.Option("", "--word", help="The word the 'mentions' rule looks for."),
    pairs: int = typer.Option(160, "--pairs", min=2, max=10_000,
                              help="Training pairs of the model's own answers to rank."),
    held_out_pairs: int = typer.Option(48, "--held-out-pairs", min=1, max=10_000,
                                       help="Held-out pairs the reward model is scored on."),
    rm_steps: int = typer.Option(100, "--rm-steps", min=1, max=opt.MAX_STEPS,
                                 help="Reward-model optimizer steps."),
    steps: int = opt.steps_option(60, "DPO optimizer steps."),
    beta: float = typer.Option(0.1, "--beta", min=1e-3, max=10.0,
                               help="DPO's beta: how far from the reference the policy may go."),
    lr: float = opt.lr_option(3e-5, "DPO learning rate (constant after warm-up)."),
    model: str | None = opt.model_option("Model folder to start from (default: bundled)."),
    seed: int = opt.seed_option(0),
    out: Path | None = opt.out_option("prefer"),
    threads: int | None = opt.threads_option(),
    json_lines: bool = opt.json_option(),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Preference tuning: rank the model's own answers by a rule, train a reward model on
    the pairs, then DPO towards them (reports reward, rule score and KL)."""
    from genai_tui.service.lifecycle.prefer import Prefer, PreferSettings
    from genai_tui.service.runtime import set_torch_threads

    run = Prefer(PreferSettings(rule=rule, word=word, pairs=pairs,
                                held_out_pairs=held_out_pairs, rm_steps=rm_steps, steps=steps,
                                beta=beta, lr=lr, model=model, seed=seed))
    target = stage_target(out, "prefer")
    set_torch_threads(threads)
    run_stage(run, out=target, json_lines=json_lines, quiet=quiet, command=command_line(ctx))
