"""Encoder-decoder commands: `genai-tui seq2seq` and `genai-tui train seq2seq`.

Only Typer and the standard library are imported here; torch and the model
load inside the command functions (`genai-tui --help` stays fast).
"""

from __future__ import annotations

from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import command_line, emit_json, say, text_arg
from genai_tui.errors import UserError
from genai_tui.sampling.knobs import BEAM_KNOB_BY_FIELD, format_value

_BEAMS = BEAM_KNOB_BY_FIELD["num_beams"]
_LENGTH_PENALTY = BEAM_KNOB_BY_FIELD["length_penalty"]
_EARLY = BEAM_KNOB_BY_FIELD["early_stopping"]


def _visible(token: str) -> str:
    from genai_tui.textsafe import visible

    return visible(token)


@app.command("seq2seq")
def seq2seq_cmd(
    text: str = typer.Argument(..., help="A date in words, e.g. 'the 3rd of March, 2021' "
                               "('-' reads standard input)."),
    # names, ranges and help: the knob registry's, as for `generate --beam`
    # (only the width's default differs: 1, greedy, as the view starts)
    beam: int = typer.Option(
        1, _BEAMS.option, "-b", min=int(_BEAMS.lo), max=int(_BEAMS.hi),
        help=f"{_BEAMS.help} In {_BEAMS.range_text()}."),
    length_penalty: float = typer.Option(
        _LENGTH_PENALTY.default, _LENGTH_PENALTY.option,
        help=f"{_LENGTH_PENALTY.help} In {_LENGTH_PENALTY.range_text()}."),
    early_stopping: str = typer.Option(
        format_value(_EARLY, _EARLY.default), _EARLY.option,
        help=f"{_EARLY.help} One of {', '.join(name for _, name in _EARLY.choices)}."),
    model_path: Path | None = opt.model_option(
        "A seq2seq model folder (default: the bundled assets/seq2seq)."),
    as_json: bool = opt.json_option("One JSON object: output, tokens, attention maps, beams."),
) -> None:
    """Rewrite a date as ISO 8601 with the encoder-decoder; shows where each output
    character looked in the input (cross-attention)."""
    from genai_tui.service import seq2seq as svc

    if text == "-":
        text = text_arg(text).strip("\n")
    text = text_arg(text, "the input")
    stopping = svc.parse_early_stopping(early_stopping)
    svc.check_input(text)
    svc.check_beam(beam, length_penalty)
    model = svc.load(str(model_path) if model_path is not None else None)
    result = svc.translate(text, model, beam=beam, length_penalty=length_penalty,
                           early_stopping=stopping)
    if as_json:
        emit_json(svc.result_json(result))
        return
    say(result.output)
    say(f"model: {model.name}  ({model.describe()})", err=True)
    say("cross-attention (mean over heads, last decoder layer): where each output "
        "character looked", err=True)
    cross = result.cross[-1].mean(axis=0)  # (T, S)
    for t, tok in enumerate(result.output_tokens):
        s = int(cross[t].argmax())
        say(f"  {_visible(tok):>6}  <- {_visible(result.input_tokens[s])!s:<3} "
            f"(input position {s}, weight {float(cross[t, s]):.2f})", err=True)
    if result.beams:
        say("final ranking:", err=True)
        for i, hyp in enumerate(result.beams.ranking):
            say(f"  {i + 1}. {svc.tokens_text(list(hyp.tokens)):<14} "
                f"log-prob {hyp.logprob:8.3f}  score {hyp.score:8.3f}", err=True)


@train_app.command("seq2seq")
def train_seq2seq_cmd(
    ctx: typer.Context,
    out: Path | None = opt.out_option("seq2seq"),
    bundled: bool = opt.bundled_option("model in assets/seq2seq"),
    steps: int = opt.steps_option(3000),
    batch_size: int = opt.batch_size_option(64, "Pairs per step."),
    width: int = typer.Option(128, "--width", help="d_model."),
    heads: int = typer.Option(4, "--heads", help="Attention heads."),
    enc_layers: int = typer.Option(2, "--enc-layers", help="Encoder blocks."),
    dec_layers: int = typer.Option(2, "--dec-layers", help="Decoder blocks."),
    lr: float = opt.lr_option(2e-3),
    warmup: int = opt.warmup_option(100),
    seed: int = opt.seed_option(1337, "Seed for initialisation and data."),
    eval_every: int = typer.Option(250, "--eval-every", help="Steps between accuracy checks."),
    final_eval: int = typer.Option(
        1000, "--final-eval", help="Pairs per held-out set in the final (card) evaluation."),
    threads: int | None = opt.threads_option(None, opt.TORCH_THREADS_HELP),
    time_limit: float | None = opt.time_limit_option(),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Train the encoder-decoder on dates -> ISO (data generated here; held-out templates)."""
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset
    from genai_tui.service import train_seq2seq as ts

    target = train_target(out, bundled=bundled, bundled_path=asset("seq2seq"), stem="seq2seq")
    if time_limit is not None and time_limit <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {time_limit:g}")
    settings = ts.TrainSettings(
        out=str(target), steps=steps, seed=seed, batch_size=batch_size, d_model=width,
        n_head=heads, n_enc_layer=enc_layers, n_dec_layer=dec_layers, d_ff=4 * width, lr=lr,
        warmup=warmup, eval_every=eval_every, final_eval_size=final_eval, threads=threads,
        time_limit=time_limit * 60 if time_limit is not None else None,
        command=command_line(ctx))
    for event in ts.train(settings):
        if isinstance(event, ts.StepEvent):
            if not quiet and (event.step % 50 == 0 or event.step == 1):
                say(f"step {event.step}/{event.steps}  loss {event.loss:.4f}  "
                    f"lr {event.lr:.2e}  {event.elapsed:.0f}s", err=True)
        elif isinstance(event, ts.EvalEvent):
            if not quiet:
                say(f"step {event.step}: exact match {event.seen_accuracy:.1%} (held-out dates), "
                    f"{event.unseen_accuracy:.1%} (held-out templates)", err=True)
        elif isinstance(event, ts.DoneEvent):
            say(f"done: {event.step} steps in {event.elapsed:.0f}s; exact match "
                f"{event.seen_accuracy:.1%} on held-out dates, {event.unseen_accuracy:.1%} on "
                f"held-out templates; model in {event.out}")
