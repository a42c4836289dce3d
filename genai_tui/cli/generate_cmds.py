"""Language-model commands: `genai-tui generate`, `genai-tui models` and `genai-tui train lm`.

`generate`'s knob options come from the knob registry (`genai_tui.sampling.knobs`):
flags, defaults and help are written there once. The command holds a
`TextGenerator` (local model or remote server) and streams its `TokenStream`.

Only Typer and the standard library are imported here; torch and the model
load inside the command functions (`genai-tui --help` stays fast).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import command_line, emit_json, say, text_arg
from genai_tui.errors import UserError
from genai_tui.sampling.knobs import (
    BEAM_KNOBS,
    KNOBS,
    format_value,
    knobs_from_values,
    option_help,
    validate,
)


def _knob_parameters() -> list[inspect.Parameter]:
    """One Typer option per knob of the registry (flag, default, help)."""
    params = []
    for knob in KNOBS:
        flags = [knob.option] + ([knob.short_flag] if knob.short_flag else [])
        help_text = option_help(knob)
        annotation: object
        if knob.kind == "float":
            annotation, default = float, knob.default
        elif knob.kind == "int":
            annotation, default = int, knob.default
        elif knob.kind == "seed":
            annotation, default = str, str(knob.default)
            help_text += " A whole number, or 'random'."
        elif knob.kind == "bool":
            annotation, default = bool, knob.default
        elif knob.kind == "stop":
            annotation, default = list[str], []
            help_text += " Repeatable."
        else:  # order
            annotation, default = str, ",".join(knob.default)  # type: ignore[arg-type]
        option = typer.Option(default, *flags, help=help_text, show_default=True)
        params.append(inspect.Parameter(knob.field, inspect.Parameter.KEYWORD_ONLY,
                                        default=option, annotation=annotation))
    return params


def _beam_parameters() -> list[inspect.Parameter]:
    """One Typer option per beam-search knob of the registry (``--beam N`` switches it on)."""
    params = []
    for knob in BEAM_KNOBS:
        help_text = "Beam search: " + knob.help[0].lower() + knob.help[1:]
        annotation: object
        if knob.field == "num_beams":
            annotation, default = int, 0
            help_text = (f"Beam search with N beams instead of sampling (0 = off; the pane "
                         f"starts at {knob.default}). {knob.help} In {knob.range_text()}.")
        elif knob.kind == "float":
            annotation, default = float, knob.default
            help_text += f" In {knob.range_text()}."
        elif knob.kind == "choice":
            annotation, default = str, format_value(knob, knob.default)
            help_text += f" One of {', '.join(name for _, name in knob.choices)}."
        flag = knob.option
        if knob.kind == "bool":
            annotation, default = bool, knob.default
            flag = f"{flag}/--no-{flag[2:]}"
        option = typer.Option(default, flag, help=help_text, show_default=True)
        params.append(inspect.Parameter(knob.field, inspect.Parameter.KEYWORD_ONLY,
                                        default=option, annotation=annotation))
    return params


def knob_options(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command taking ``**knob_values`` one option per knob and per beam-search
    knob (from the registry)."""
    signature = inspect.signature(func, eval_str=True)
    base = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    func.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=base + _knob_parameters() + _beam_parameters())
    return func


BACKEND_HELP = ("'local' (default), a server's URL (e.g. http://127.0.0.1:8000/v1), or "
                "'remote' for $OPENAI_BASE_URL.")


@app.command("generate")
@knob_options
def generate_cmd(
    prompt: str = typer.Argument(..., help="Text to continue ('-' reads standard input)."),
    backend: str = opt.backend_option("local", BACKEND_HELP),
    model: str | None = opt.model_option(
        "Local: a model folder (default: the bundled assets/lm). Remote: the server's "
        "model name (default: its only model)."),
    api_key: str | None = opt.api_key_option(),
    api: str = opt.api_option(),
    extras: bool = opt.extras_option(),
    as_json: bool = opt.json_option(
        "One JSON object per token, then a summary with \"done\": true."),
    top_n: int = typer.Option(
        5, "--top-n", help="Candidates listed per token with --json (after the knobs)."),
    speculative: bool = typer.Option(
        True, "--speculative/--no-speculative",
        help="Local: guess upcoming tokens by prompt lookup and verify them in one pass "
        "(same tokens, faster)."),
    threads: int = opt.threads_option(
        1, "Torch threads (2 is faster on an idle multi-core machine, far slower on a "
        "busy one)."),
    # the knobs' and beam search's options come from the registry (knob_options)
    **knob_values: object,
) -> None:
    """Continue PROMPT with a language model (local, or an OpenAI-compatible server),
    streaming tokens as they are chosen."""
    import time

    from genai_tui.service.backend import TextGenerator
    from genai_tui.service.remote import RemoteError

    started = time.perf_counter()
    prompt = text_arg(prompt, "the prompt")
    if not 0 <= top_n <= 100:
        raise UserError(f"--top-n must be in [0, 100], got {top_n}")
    beam_values = {knob.field: knob_values.pop(knob.field) for knob in BEAM_KNOBS}
    knobs = knobs_from_values(knob_values)
    validate(knobs)  # before loading anything: a bad knob fails fast
    if beam_values["num_beams"]:
        if backend.strip().lower() != "local":
            raise UserError("--beam runs on the local model only (servers do not expose beams)")
        from genai_tui.cli.beam_cmds import run_beam

        return run_beam(prompt, beam_values, knobs.max_tokens,
                        Path(model) if model else None, as_json, threads)
    generator: TextGenerator = _open_backend(backend, model, api_key, api, extras,
                                             speculative, threads)
    stream = generator.generate(prompt, knobs, top_n=top_n if as_json else 0)
    caps = generator.capabilities
    if not as_json:
        for note in stream.notes:
            say(f"genai-tui: note: {note}", err=True)
    count, finish, first_at, t0, speculated = 0, "length", None, time.perf_counter(), 0
    no_probs = 0
    pieces: list[str] = []
    try:
        for step in stream:
            count += 1
            if first_at is None:
                first_at = time.perf_counter()
            pieces.append(step.token)
            speculated += step.speculated
            no_probs += not step.has_probs
            if as_json:
                emit_json({
                    "token": step.token, "id": step.id if caps.token_ids else None,
                    "prob": step.prob if step.has_probs else None,
                    "top": [{"token": c.token, "id": c.id if caps.token_ids else None,
                             "prob": c.prob} for c in step.top_after],
                    "index": step.index,
                    "raw_prob": step.raw_prob if step.has_probs else None,
                    "entropy": step.entropy if step.entropy == step.entropy else None,
                    "speculated": step.speculated,
                })
            else:
                say(step.token, end="")
            if step.finish:
                finish = step.finish
    except RemoteError:
        if pieces and not as_json:
            say("")
        raise
    elapsed = time.perf_counter() - t0
    if as_json:
        emit_json({
            "done": True, "tokens": count, "stop_reason": finish,
            "tokens_per_s": count / elapsed if elapsed > 0 else 0.0,
            "elapsed": elapsed,
            "time_to_first_token": (first_at - started) if first_at is not None else None,
            "prompt_tokens": stream.prompt_tokens, "seed": stream.seed,
            "model": generator.name, "backend": generator.where, "text": "".join(pieces),
            "forward_passes": (count - speculated) if caps.stage_xray else None,
            "unsupported": generator.unsupported(knobs), "notes": stream.notes,
            "probabilities": count > 0 and no_probs == 0,
        })
    else:
        say("")


def _open_backend(backend: str, model: str | None, api_key: str | None, api: str,
                  extras: bool, speculative: bool, threads: int):  # -> TextGenerator
    """The back end ``--backend`` names, ready to generate."""
    from genai_tui.service.backend import BackendSpec

    spec = BackendSpec(backend, model, api_key, api, extras)
    if spec.local:
        if api_key is not None:
            raise UserError("--api-key is for a remote --backend")
        from genai_tui.service.runtime import set_torch_threads

        # One token at a time is latency-bound: by default a single thread avoids
        # OpenMP's waiting on a busy machine (see benchmarks/README.md).
        set_torch_threads(threads)
    return spec.open(speculative=speculative)


@app.command("models")
def models_cmd(
    backend: str = opt.backend_option("remote", "A server's URL (default: $OPENAI_BASE_URL)."),
    api_key: str | None = opt.api_key_option(),
    as_json: bool = opt.json_option("A JSON list of model ids."),
) -> None:
    """List the models an OpenAI-compatible server offers (its /v1/models)."""
    from genai_tui.service import remote

    config = remote.ServerConfig.resolve(None if backend.strip().lower() == "remote"
                                         else backend, api_key)
    names = remote.list_models(config)
    if as_json:
        emit_json({"backend": config.base_url, "models": names})
        return
    for name in names:
        say(name)
    if not names:
        say(f"genai-tui: note: {config.base_url} lists no models", err=True)


@train_app.command("lm")
def train_lm_cmd(
    ctx: typer.Context,
    corpus: Path | None = opt.corpus_option(
        "UTF-8 text file, its tail held out (default: the standard library's source files "
        "on this machine, whole files held out)."),
    steps: int = opt.steps_option(2000, "Total optimizer steps."),
    out: Path | None = opt.out_option("lm"),
    bundled: bool = opt.bundled_option("model in assets/lm"),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from <out>/checkpoint up to --steps."),
    seed: int = opt.seed_option(1337, "Seed for initialisation and batches."),
    tokenizer: Path | None = typer.Option(
        None, "--tokenizer", help="A .bpe file (default: the bundled genai-bpe-4k)."),
    batch_size: int = opt.batch_size_option(16, "Sequences per step."),
    block_size: int = typer.Option(256, "--block-size", help="Context length (tokens)."),
    layers: int = typer.Option(4, "--layers", help="Transformer blocks."),
    heads: int = typer.Option(4, "--heads", help="Attention heads per block."),
    width: int = typer.Option(256, "--width", help="Residual stream width (d_model)."),
    dropout: float = typer.Option(
        0.0, "--dropout", min=0.0, max=0.9,
        help="Dropout on attention and residual outputs while training (narrows the gap "
        "between training and held-out loss)."),
    lr: float = opt.lr_option(2e-3),
    warmup: int = opt.warmup_option(100),
    eval_every: int = typer.Option(100, "--eval-every", help="Steps between validation losses."),
    checkpoint_every: int = typer.Option(
        200, "--checkpoint-every", help="Steps between checkpoints."),
    save_dtype: str = typer.Option(
        "float16", "--save-dtype", help="Final weights: float16, bfloat16 or float32."),
    threads: int | None = opt.threads_option(None, opt.TORCH_THREADS_HELP),
    time_limit: float | None = opt.time_limit_option(
        "Minutes of training after which to stop early and save (the learning-rate decay "
        "then ends at the limit)."),
    bf16: bool | None = typer.Option(
        None, "--bf16/--no-bf16", help="bfloat16 autocast for forward and backward (weights "
        "and evaluation stay float32); default: on where the CPU has bfloat16 natively "
        "(AVX512-BF16 or AMX), off elsewhere, where it would be emulated and slower.",
        show_default=False),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Train the GPT language model with our BPE; checkpoints resume with --resume.

    The default corpus is the standard library's source files, held out by file."""
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset
    from genai_tui.service import train_lm as tl

    if resume and out is None and not bundled:
        raise UserError("--resume needs the folder to continue: give --out FOLDER (or --bundled)")
    out = train_target(out, bundled=bundled, bundled_path=asset("lm"), stem="lm")
    if time_limit is not None and time_limit <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {time_limit:g}")
    settings = tl.TrainSettings(
        corpus=str(corpus) if corpus else None, out=str(out),
        tokenizer=str(tokenizer) if tokenizer else None, steps=steps, resume=resume, seed=seed,
        batch_size=batch_size, block_size=block_size, n_layer=layers, n_head=heads,
        n_embd=width, dropout=dropout, lr=lr, min_lr=lr / 10, warmup=max(1, warmup),
        eval_every=eval_every,
        checkpoint_every=checkpoint_every, save_dtype=save_dtype, threads=threads,
        time_limit=time_limit * 60 if time_limit is not None else None, bf16=bf16,
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
