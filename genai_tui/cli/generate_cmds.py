"""Language-model commands: `genai-tui generate` and `genai-tui train lm`.

Only Typer and the standard library are imported here; torch and the model
load inside the command functions (`genai-tui --help` stays fast).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import command_line, emit_json, say
from genai_tui.errors import UserError


@app.command("generate")
def generate_cmd(
    prompt: str = typer.Argument(..., help="Text to continue ('-' reads standard input)."),
    temperature: float = typer.Option(
        1.0, "--temperature", "-t",
        help="Divide logits by this; <1 sharper, >1 flatter, 0 greedy."),
    top_k: int = typer.Option(0, "--top-k", "-k", help="Keep the k most likely tokens (0 = off)."),
    top_p: float = typer.Option(
        1.0, "--top-p", "-p",
        help="Keep the smallest set reaching this mass, in (0, 1] (1 = off)."),
    min_p: float = typer.Option(
        0.0, "--min-p", help="Keep tokens with prob >= this x the top prob, in [0, 1] (0 = off)."),
    typical_p: float = typer.Option(
        1.0, "--typical-p", help="Locally typical sampling mass, in (0, 1] (1 = off)."),
    repetition_penalty: float = typer.Option(
        1.0, "--repetition-penalty", help="Scale down seen tokens' logits, > 0 (1 = off)."),
    presence_penalty: float = typer.Option(
        0.0, "--presence-penalty", help="Subtract from every seen token's logit (0 = off)."),
    frequency_penalty: float = typer.Option(
        0.0, "--frequency-penalty", help="Subtract this x the token's count so far (0 = off)."),
    max_tokens: int = typer.Option(64, "--max-tokens", "-n", help="New tokens to generate."),
    stop: list[str] = typer.Option(
        [], "--stop", help="Stop once this text appears (repeatable; kept in the output)."),
    seed: int | None = typer.Option(
        None, "--seed", "-s", help="Random seed (default: a fresh one, shown with --json)."),
    greedy: bool = typer.Option(False, "--greedy", help="Always take the most likely token."),
    order: str = typer.Option(
        ",".join(("penalties", "temperature", "top-k", "top-p", "min-p", "typical-p")),
        "--order", help="Sampler stages in order, comma-separated (a stage left out is off)."),
    model_path: Path | None = typer.Option(
        None, "--model", "-m", help="A model folder (default: the bundled assets/lm)."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per token, then a summary with \"done\": true."),
    top_n: int = typer.Option(
        5, "--top-n", help="Candidates listed per token with --json (after the knobs)."),
    speculative: bool = typer.Option(
        True, "--speculative/--no-speculative",
        help="Guess upcoming tokens by prompt lookup and verify them in one pass "
        "(same tokens, faster)."),
    threads: int = typer.Option(
        1, "--threads", min=1, max=64,
        help="Torch threads (2 is faster on an idle multi-core machine, far slower on a "
        "busy one)."),
    # -- beam search (genai_tui/cli/beam_cmds.py) --
    beam: int = typer.Option(
        0, "--beam", help="Beam search with N beams instead of sampling (0 = off; 1 = greedy)."),
    length_penalty: float = typer.Option(
        1.0, "--length-penalty", help="Beam search: score = log-prob / length ** this."),
    early_stopping: str = typer.Option(
        "false", "--early-stopping", help="Beam search: true, false or never "
        "(Hugging Face semantics)."),
) -> None:
    """Continue PROMPT with the language model, streaming tokens as they are chosen."""
    import secrets
    import time

    from genai_tui.service import generate as gen

    started = time.perf_counter()
    if prompt == "-":
        prompt = sys.stdin.read()
    if not 0 <= top_n <= 100:
        raise UserError(f"--top-n must be in [0, 100], got {top_n}")
    knobs = gen.Knobs(
        temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, typical_p=typical_p,
        repetition_penalty=repetition_penalty, presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty, max_tokens=max_tokens, stop=tuple(stop),
        seed=seed if seed is not None else secrets.randbits(31), greedy=greedy,
        order=gen.parse_order(order))
    gen.validate(knobs)  # before loading anything: a bad knob fails fast
    if beam:
        from genai_tui.cli.beam_cmds import run_beam

        return run_beam(prompt, beam, length_penalty, early_stopping, max_tokens, model_path,
                        as_json, threads)

    import torch

    # One token at a time is latency-bound: by default a single thread avoids
    # OpenMP's waiting on a busy machine (see benchmarks/README.md).
    torch.set_num_threads(threads)
    lm = gen.load_model(model_path)
    steps = gen.generate(prompt, knobs, lm, top_n=top_n if as_json else 0,
                         speculative=speculative)
    count, finish, first_at, t0, speculated = 0, "length", None, time.perf_counter(), 0
    pieces: list[str] = []
    for step in steps:
        count += 1
        if first_at is None:
            first_at = time.perf_counter()
        pieces.append(step.token)
        speculated += step.speculated
        if as_json:
            emit_json({
                "token": step.token, "id": step.id, "prob": step.prob,
                "top": [{"token": c.token, "id": c.id, "prob": c.prob} for c in step.top_after],
                "index": step.index, "raw_prob": step.raw_prob, "entropy": step.entropy,
                "speculated": step.speculated,
            })
        else:
            say(step.token, end="")
        if step.finish:
            finish = step.finish
    elapsed = time.perf_counter() - t0
    if as_json:
        emit_json({
            "done": True, "tokens": count, "stop_reason": finish,
            "tokens_per_s": count / elapsed if elapsed > 0 else 0.0,
            "elapsed": elapsed,
            "time_to_first_token": (first_at - started) if first_at is not None else None,
            "prompt_tokens": len(gen.prompt_ids(prompt, lm)), "seed": knobs.seed,
            "model": lm.name, "text": "".join(pieces), "forward_passes": count - speculated,
        })
    else:
        say("")


@train_app.command("lm")
def train_lm_cmd(
    ctx: typer.Context,
    corpus: Path | None = typer.Option(
        None, "--corpus", "-c", help="UTF-8 text file (default: CPython's bundled docs and "
        "standard-library docstrings, built on this machine)."),
    steps: int = typer.Option(2000, "--steps", help="Total optimizer steps."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Model folder to write (default: the bundled assets/lm)."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from <out>/checkpoint up to --steps."),
    seed: int = typer.Option(1337, "--seed", help="Seed for initialisation and batches."),
    tokenizer: Path | None = typer.Option(
        None, "--tokenizer", help="A .bpe file (default: the bundled genai-bpe-4k)."),
    batch_size: int = typer.Option(16, "--batch-size", help="Sequences per step."),
    block_size: int = typer.Option(256, "--block-size", help="Context length (tokens)."),
    layers: int = typer.Option(4, "--layers", help="Transformer blocks."),
    heads: int = typer.Option(4, "--heads", help="Attention heads per block."),
    width: int = typer.Option(256, "--width", help="Residual stream width (d_model)."),
    lr: float = typer.Option(2e-3, "--lr", help="Peak learning rate."),
    warmup: int = typer.Option(100, "--warmup", help="Warm-up steps."),
    eval_every: int = typer.Option(100, "--eval-every", help="Steps between validation losses."),
    checkpoint_every: int = typer.Option(
        200, "--checkpoint-every", help="Steps between checkpoints."),
    save_dtype: str = typer.Option(
        "float16", "--save-dtype", help="Final weights: float16, bfloat16 or float32."),
    threads: int | None = typer.Option(None, "--threads", help="torch threads (default: torch's)."),
    time_limit: float | None = typer.Option(
        None, "--time-limit", help="Minutes of training after which to stop early and save."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the final summary."),
) -> None:
    """Train the GPT language model with our BPE; checkpoints resume with --resume."""
    from genai_tui.service import train_lm as tl

    if threads is not None and threads < 1:
        raise UserError(f"--threads must be >= 1, got {threads}")
    if time_limit is not None and time_limit <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {time_limit:g}")
    if warmup < 0:
        raise UserError(f"--warmup must be >= 0, got {warmup}")
    settings = tl.TrainSettings(
        corpus=str(corpus) if corpus else None, out=str(out) if out else None,
        tokenizer=str(tokenizer) if tokenizer else None, steps=steps, resume=resume, seed=seed,
        batch_size=batch_size, block_size=block_size, n_layer=layers, n_head=heads,
        n_embd=width, lr=lr, min_lr=lr / 10, warmup=max(1, warmup), eval_every=eval_every,
        checkpoint_every=checkpoint_every, save_dtype=save_dtype, threads=threads,
        time_limit=time_limit * 60 if time_limit is not None else None,
        command=command_line(ctx))
    events = tl.train(settings)
    _run_training(events, quiet)



def _run_training(events, quiet: bool) -> None:  # noqa: ANN001 - an iterator of train events
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from genai_tui.service import train_lm as tl

    console = Console(stderr=True)
    live = console.is_terminal and not quiet
    progress = Progress(
        TextColumn("training"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}  val {task.fields[val]}  {task.fields[tps]} tok/s"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not live)
    task = None
    last_val = "-"
    with progress:
        for event in events:
            if isinstance(event, tl.PrepareEvent):
                if not quiet:
                    say(event.message, err=True)
            elif isinstance(event, tl.StepEvent):
                if task is None:
                    task = progress.add_task("train", total=event.steps, completed=event.step - 1,
                                             loss="-", val=last_val, tps="-")
                progress.update(task, completed=event.step, loss=f"{event.loss:.3f}",
                                val=last_val, tps=f"{event.tokens_per_s:,.0f}")
                if not live and not quiet and (event.step % 10 == 0 or event.step == 1):
                    say(f"step {event.step}/{event.steps}  loss {event.loss:.4f}  "
                        f"lr {event.lr:.2e}  {event.tokens_per_s:,.0f} tok/s  "
                        f"{event.elapsed:.0f}s", err=True)
            elif isinstance(event, tl.EvalEvent):
                last_val = f"{event.val_loss:.3f}"
                if not quiet:
                    progress.console.print(
                        f"step {event.step}: validation loss {event.val_loss:.4f} "
                        f"(perplexity {event.perplexity:.1f})", markup=False, highlight=False)
            elif isinstance(event, tl.CheckpointEvent):
                pass
            elif isinstance(event, tl.DoneEvent):
                progress.stop()
                say(f"done: {event.step} steps, validation loss {event.val_loss:.4f}, "
                    f"perplexity {event.perplexity:.1f}; model in {event.out}")
