"""Inside the transformer: `genai-tui attention`, `genai-tui embed ...`, `genai-tui lens`.

Only Typer and the standard library are imported here; torch, NumPy and the
models load inside the command functions (`genai-tui --help` stays fast).
Layers and heads are numbered from 0.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app
from genai_tui.cli.output import emit_json, say, text_arg
from genai_tui.errors import UserError

embed_app = typer.Typer(
    help="Embeddings: nearest neighbours, analogies (a - b + c), similarity matrices, PCA maps.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(embed_app, name="embed")

MODEL_HELP = "A language-model folder (default: the bundled assets/lm)."
BACKEND_HELP = ("lm = the language model's token embedding table; "
                "minilm = all-MiniLM-L6-v2 sentence embeddings (optional extra).")
AMONG_HELP = ("minilm: search among these words/sentences, comma- or semicolon-separated "
              "(default: a built-in list of ~110 words).")


def _read(prompt: str) -> str:
    return text_arg(prompt, "the prompt")


def _label(text: str, width: int, token: bool = True) -> str:
    """A token shown visibly (spaces as ·), or typed text with control characters
    made visible, cut to ``width`` columns, padded."""
    from genai_tui.textsafe import escape_controls, visible

    shown = visible(text) if token else escape_controls(text, keep_newlines=False)
    if len(shown) > width:
        shown = shown[:width - 1] + "…"
    return shown.ljust(width)


def _lm(model_path: Path | None):
    from genai_tui.service import internals as svc

    return svc.get_lm(str(model_path) if model_path is not None else None)


def _backend(backend: str) -> str:
    from genai_tui.service import internals as svc

    svc.check_backend(backend)
    if backend == "minilm" and not svc.minilm_available():
        raise svc.MiniLMUnavailable(svc.MINILM_HINT)
    return backend


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 6)


# -- attention --------------------------------------------------------------------


@app.command("attention")
def attention_cmd(
    prompt: str = typer.Argument(..., help="Text to look at ('-' reads standard input)."),
    layer: int | None = typer.Option(None, "--layer", "-l", help="Layer (0-based; default all)."),
    head: int | None = typer.Option(
        None, "--head", "-H", help="Head (0-based; default: the mean over heads)."),
    model_path: Path | None = opt.model_option(MODEL_HELP),
    as_json: bool = opt.json_option(
        "One JSON object: tokens, and per layer and head the weights "
        "(softmax) and the Q·K scores before it (null where the causal mask hides a key)."),
) -> None:
    """Attention weights of every layer and head: row = query token, column = the
    earlier token it looks at (percent; '·' = hidden by the causal mask)."""
    from genai_tui.service import internals as svc

    prompt = _read(prompt)
    if layer is not None and layer < 0:
        raise UserError(f"--layer must be >= 0, got {layer}")
    if head is not None and head < 0:
        raise UserError(f"--head must be >= 0, got {head}")
    svc.check_prompt(prompt)
    lm = _lm(model_path)
    svc.check_layer_head(lm, layer, head)
    amap = svc.attention(prompt, lm)
    layers = [layer] if layer is not None else list(range(amap.n_layer))
    heads = [head] if head is not None else list(range(amap.n_head))
    if as_json:
        emit_json({
            "tokens": amap.tokens, "ids": amap.ids, "n_layer": amap.n_layer,
            "n_head": amap.n_head, "truncated": amap.truncated,
            "layers": [{"layer": li, "heads": [{
                "head": hi,
                "weights": [[_num(x) for x in row] for row in amap.weights[li, hi].tolist()],
                "scores": [[_num(x) for x in row] for row in amap.scores[li, hi].tolist()],
            } for hi in heads]} for li in layers],
        })
        return
    if amap.truncated:
        say(f"(the first {amap.truncated} tokens were dropped to fit the context)")
    for li in layers:
        which = f"head {head}" if head is not None else f"mean of {amap.n_head} heads"
        say(f"layer {li}, {which}  (of {amap.n_layer} layers x {amap.n_head} heads)")
        w = amap.head(li, head)
        say(" " * 17 + " ".join(f"{j:>3}" for j in range(len(amap.ids))))
        for i, tok in enumerate(amap.tokens):
            cells = [f"{round(100 * float(w[i, j])):>3}" if j <= i else "  ·"
                     for j in range(len(amap.ids))]
            say(f"{i:>3} {_label(tok, 12)} " + " ".join(cells))
        say("")


# -- logit lens -------------------------------------------------------------------


@app.command("lens")
def lens_cmd(
    prompt: str = typer.Argument(..., help="Text to look at ('-' reads standard input)."),
    top: int = typer.Option(3, "--top", "-k", min=1, max=50,
                            help="Tokens listed per layer and position with --json."),
    model_path: Path | None = opt.model_option(MODEL_HELP),
    as_json: bool = opt.json_option(
        "One JSON object: tokens, layer names and per layer and position "
        "the top tokens with probabilities (and the actual next token's probability)."),
) -> None:
    """The logit lens: what each layer would predict next if it were the last
    (its residual stream through the final LayerNorm and the unembedding)."""
    from genai_tui.service import internals as svc

    prompt = _read(prompt)
    svc.check_prompt(prompt)
    lens = svc.logit_lens(prompt, _lm(model_path), top=top)
    if as_json:
        emit_json({
            "tokens": lens.tokens, "ids": lens.ids, "layers": lens.layers,
            "truncated": lens.truncated,
            "cells": [[{
                "top": [{"id": c.id, "token": c.token, "prob": round(c.prob, 6)} for c in cell.top],
                "target_prob": None if cell.target_prob is None else round(cell.target_prob, 6),
                "target_rank": cell.target_rank,
            } for cell in row] for row in lens.cells],
        })
        return
    say("top guess for the next token, per position (rows) and layer (columns)")
    say(" " * 17 + "".join(f"{name:<15}" for name in lens.layers))
    for pos, tok in enumerate(lens.tokens):
        cells = []
        for row in lens.cells:
            best = row[pos].top[0]
            cells.append(_label(best.token, 9) + f" {round(100 * best.prob):>3}% ")
        say(f"{pos:>3} {_label(tok, 12)} " + "".join(cells).rstrip())


# -- embeddings -------------------------------------------------------------------


def _among(among: str | None) -> list[str] | None:
    if among is None:
        return None
    from genai_tui.service import internals as svc

    words = svc.parse_words(text_arg(among, "--among"))
    if not words:
        raise UserError("--among lists no words")
    return words


def _print_neighbors(result: Any, as_json: bool) -> None:
    if as_json:
        emit_json({
            "model": result.backend, "searched": result.searched,
            "query": [{"text": r.text, "ids": r.ids, "pieces": r.pieces} for r in result.query],
            "neighbors": [{"text": n.label, "id": n.id, "similarity": round(n.similarity, 6)}
                          for n in result.neighbors],
        })
        return
    for r in result.query:
        if r.note:
            say(f"note: {r.note}")
    what = "tokens" if result.backend == "lm" else "words"
    say(f"cosine similarity, {result.searched} {what} searched ({result.backend})")
    for n in result.neighbors:
        ident = f"#{n.id:<5} " if n.id is not None else ""
        label = _label(n.label, 40, token=result.backend == "lm").rstrip()
        say(f"{n.similarity:+.3f}  {ident}{label}")


@embed_app.command("neighbors")
def neighbors_cmd(
    word: str = typer.Argument(..., help="A word ('#123' = token id 123; '·' = a space)."),
    backend: str = opt.model_option(BACKEND_HELP, "lm"),
    k: int = typer.Option(10, "--k", "-k", min=1, max=100, help="How many neighbours."),
    among: str | None = typer.Option(None, "--among", help=AMONG_HELP),
    lm_path: Path | None = typer.Option(None, "--lm", help=MODEL_HELP),
    as_json: bool = opt.json_option("One JSON object."),
) -> None:
    """Nearest neighbours of WORD by cosine similarity."""
    from genai_tui.service import internals as svc

    backend = _backend(backend)
    model = _lm(lm_path) if backend == "lm" else None
    result = svc.neighbors(text_arg(word, "the word"), backend, k, model=model,
                           among=_among(among))
    _print_neighbors(result, as_json)


@embed_app.command("analogy")
def analogy_cmd(
    a: str = typer.Argument(..., help="a in a - b + c (e.g. king)."),
    b: str = typer.Argument(..., help="b (e.g. man)."),
    c: str = typer.Argument(..., help="c (e.g. woman)."),
    backend: str = opt.model_option(BACKEND_HELP, "lm"),
    k: int = typer.Option(10, "--k", "-k", min=1, max=100, help="How many results."),
    among: str | None = typer.Option(None, "--among", help=AMONG_HELP),
    lm_path: Path | None = typer.Option(None, "--lm", help=MODEL_HELP),
    as_json: bool = opt.json_option("One JSON object."),
) -> None:
    """Vector arithmetic A - B + C: the nearest vectors, the three inputs excluded."""
    from genai_tui.service import internals as svc

    backend = _backend(backend)
    model = _lm(lm_path) if backend == "lm" else None
    a, b, c = (text_arg(w, "a word") for w in (a, b, c))
    _print_neighbors(svc.analogy(a, b, c, backend, k, model=model, among=_among(among)), as_json)


@embed_app.command("similarity")
def similarity_cmd(
    words: list[str] = typer.Argument(..., help="Words or quoted sentences."),
    backend: str = opt.model_option(BACKEND_HELP, "lm"),
    lm_path: Path | None = typer.Option(None, "--lm", help=MODEL_HELP),
    as_json: bool = opt.json_option("One JSON object."),
) -> None:
    """Cosine-similarity matrix of WORDS (default: MiniLM sentence embeddings)."""
    from genai_tui.service import internals as svc

    backend = _backend(backend)
    model = _lm(lm_path) if backend == "lm" else None
    sim = svc.similarity([text_arg(w, "a word") for w in words], backend, model=model)
    if as_json:
        emit_json({"model": sim.backend, "labels": sim.labels,
                   "matrix": [[round(float(x), 6) for x in row] for row in sim.matrix.tolist()]})
        return
    width = max(6, min(16, max(len(w) for w in sim.labels)))
    for i, label in enumerate(sim.labels):
        say(f"{i:>3} {_label(label, width, token=False)} "
            + " ".join(f"{float(x):+.2f}" for x in sim.matrix[i]))


@embed_app.command("map")
def map_cmd(
    words: list[str] = typer.Argument(..., help="At least two words."),
    backend: str = opt.model_option(BACKEND_HELP, "lm"),
    lm_path: Path | None = typer.Option(None, "--lm", help=MODEL_HELP),
    as_json: bool = opt.json_option("One JSON object."),
) -> None:
    """2-D PCA coordinates of WORDS' vectors (the Transformer pane draws them)."""
    from genai_tui.service import internals as svc

    backend = _backend(backend)
    model = _lm(lm_path) if backend == "lm" else None
    proj = svc.projection([text_arg(w, "a word") for w in words], backend, model=model)
    if as_json:
        emit_json({"model": proj.backend, "explained": [round(x, 6) for x in proj.explained],
                   "points": [{"text": t, "x": round(x, 6), "y": round(y, 6)}
                              for t, (x, y) in zip(proj.labels, proj.points, strict=True)]})
        return
    say(f"PC1 explains {100 * proj.explained[0]:.0f}% of the variance, "
        f"PC2 {100 * proj.explained[1]:.0f}%")
    for t, (x, y) in zip(proj.labels, proj.points, strict=True):
        say(f"{x:+8.3f} {y:+8.3f}  {_label(t, 40, token=False).rstrip()}")
