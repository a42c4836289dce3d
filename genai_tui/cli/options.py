"""Typer options that several commands share, written once: flags, ranges and help.

Each factory returns a fresh ``typer.Option`` for a command's signature
(``seed: int = opt.seed_option(1337, "Seed for initialisation and batches.")``),
so one option reads, validates and is described the same way in every command;
a command passes only what is its own (a default, a sentence of help). Options
that only one command has stay in that command. Only Typer is imported here
(`genai-tui --help` stays fast).
"""

from __future__ import annotations

from typing import Any

import typer

from genai_tui.cli.outpaths import checked_png
from genai_tui.cli.output import SEED_MAX

MAX_THREADS = 64
"""The most torch threads any command accepts."""

MAX_STEPS = 1_000_000
"""The most optimizer (or training) steps a train command accepts."""

TRAIN_JSON_HELP = "One JSON line per report, no bar."
THREADS_HELP = "Torch threads (default: 1, or torch's own count when OMP_NUM_THREADS is set)."
TORCH_THREADS_HELP = "Torch threads (default: torch's own count)."
API_KEY_HELP = "The server's API key (default: $OPENAI_API_KEY). Never printed."


# -- train commands -------------------------------------------------------------


def out_option(stem: str, help: str | None = None) -> Any:
    """``--out/-o``: where a train command writes (`outpaths.train_target` checks it)."""
    return typer.Option(
        None, "--out", "-o",
        help=help or f"Model folder to write (default: a new folder ./{stem}-<date>-<time>; "
        "the bundled one only with --bundled).")


def bundled_option(what: str) -> Any:
    """``--bundled``: write the bundled ``what`` in assets/ (e.g. ``"model in assets/lm"``)."""
    return typer.Option(False, "--bundled", help=f"Write (overwrite) the bundled {what}.")


def steps_option(default: int, help: str = "Optimizer steps.", *, min: int = 1,
                 max: int | None = MAX_STEPS) -> Any:
    """``--steps``: how many steps (optimizer steps, sampler steps, images on a path)."""
    return typer.Option(default, "--steps", min=min, max=max, help=help)


def lr_option(default: float, help: str = "Peak learning rate.") -> Any:
    """``--lr``: the peak learning rate of a train command."""
    return typer.Option(default, "--lr", min=1e-7, max=1.0, help=help)


def batch_size_option(default: int, help: str | None = None, *, min: int = 1) -> Any:
    """``--batch-size``: examples per optimizer step."""
    return typer.Option(default, "--batch-size", min=min, max=4096, help=help)


def text_width_option(default: int = 64) -> Any:
    """``--text-width``: width of a text encoder (CLIP's, the text-to-image model's)."""
    return typer.Option(default, "--text-width", min=8, max=1024,
                        help="Width of the text encoder.")


def text_layers_option(default: int = 2) -> Any:
    """``--text-layers``: transformer blocks of a text encoder."""
    return typer.Option(default, "--text-layers", min=1, max=8,
                        help="Transformer blocks of the text encoder.")


def warmup_option(default: int = 100) -> Any:
    """``--warmup``: learning-rate warm-up steps."""
    return typer.Option(default, "--warmup", min=0, max=MAX_STEPS, help="Warm-up steps.")


def time_limit_option(help: str = "Minutes of training after which to stop early and save.") -> Any:
    """``--time-limit``: minutes (None: no limit; the command refuses 0 or less)."""
    return typer.Option(None, "--time-limit", help=help)


def quiet_option(help: str = "Only the final summary.") -> Any:
    """``--quiet/-q``: no progress lines."""
    return typer.Option(False, "--quiet", "-q", help=help)


def corpus_option(help: str) -> Any:
    """``--corpus/-c``: a UTF-8 text file to train on (None: the built-in corpus)."""
    return typer.Option(None, "--corpus", "-c", help=help)


# -- every kind of command ------------------------------------------------------


def seed_option(default: int = 0, help: str = "Seed for data and initialisation.") -> Any:
    """``--seed``: any seed numpy's and torch's generators both take."""
    return typer.Option(default, "--seed", min=0, max=SEED_MAX, help=help)


def threads_option(default: int | None = None, help: str = THREADS_HELP) -> Any:
    """``--threads``: torch's intra-op thread count (`service.runtime`)."""
    return typer.Option(default, "--threads", min=1, max=MAX_THREADS, help=help)


def json_option(help: str = TRAIN_JSON_HELP) -> Any:
    """``--json``: machine-readable output instead of text (the help says its shape)."""
    return typer.Option(False, "--json", help=help)


def model_option(help: str, default: str | None = None) -> Any:
    """``--model/-m``: a model folder or name (the help says which)."""
    return typer.Option(default, "--model", "-m", help=help)


def png_option(help: str = "Also save the grid as a PNG file.") -> Any:
    """``--png``: a PNG to write, checked when the command line is parsed."""
    return typer.Option(None, "--png", callback=checked_png, help=help)


def ascii_option(help: str = "ASCII characters only, no colour.") -> Any:
    """``--ascii``: printable ASCII only."""
    return typer.Option(False, "--ascii", help=help)


def fps_option(help: str = "Cap repaints per second.") -> Any:
    """``--fps``: the app's repaint cap (`tui.terminal.set_fps` takes the same range)."""
    return typer.Option(None, "--fps", min=1, max=120, help=help)


# -- remote back ends (the app and `generate`) ----------------------------------


def backend_option(default: str, help: str) -> Any:
    """``--backend/-b``: 'local', a server's URL, or 'remote' ($OPENAI_BASE_URL)."""
    return typer.Option(default, "--backend", "-b", help=help)


def api_key_option(help: str = API_KEY_HELP) -> Any:
    """``--api-key``: a server's key, never shown as a default."""
    return typer.Option(None, "--api-key", help=help, show_default=False)


def api_option() -> Any:
    """``--api``: the remote endpoint (the command checks the value)."""
    return typer.Option("completions", "--api",
                        help="Remote endpoint: completions (continues text) or chat.")


def extras_option() -> Any:
    """``--extras/--no-extras``: send the knobs OpenAI's API lacks as extra fields."""
    return typer.Option(
        True, "--extras/--no-extras",
        help="Remote: send top-k, min-p, typical-p, repetition penalty and the penalty window "
        "as extra fields (llama.cpp, vLLM); --no-extras for Ollama or OpenAI.")
