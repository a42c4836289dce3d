"""`genai-tui export`: our language model as a Hugging Face folder or a GGUF file.

Only Typer and the standard library are imported here; torch, safetensors,
``tokenizers`` and ``gguf`` load inside the command (`genai_tui/service/export.py`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app
from genai_tui.cli.output import emit_json, say
from genai_tui.errors import UserError

FORMATS = ("hf", "gguf")  # repeated from service/export.py so --help stays torch-free
DTYPES = ("f32", "f16")


@app.command("export")
def export_cmd(
    dest: Path = typer.Argument(
        ..., help="hf: the folder to write; gguf: the .gguf file to write."),
    fmt: str = typer.Option(
        ..., "--format", "-f", help="hf (config.json, model.safetensors, tokenizer.json) "
        "or gguf (one file, llama.cpp's GPT-2 layout)."),
    model: Path | None = opt.model_option(
        "A model folder of ours (default: the bundled assets/lm)."),
    dtype: str = typer.Option(
        "f32", "--dtype", help="Weight precision: f32 (exact) or f16 (half the size; "
        "GGUF keeps norms and biases in f32)."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing non-empty folder (hf) or file (gguf)."),
    as_json: bool = opt.json_option("Print what was written as JSON."),
) -> None:
    """Export the language model in a standard format (Hugging Face or GGUF)."""
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    dtype = dtype.strip().lower()
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")

    from genai_tui.service import export as ex
    from genai_tui.service import generate as gen

    lm = gen.load_model(model)
    result = ex.export(lm, fmt, dest, dtype=dtype, force=force)
    if as_json:
        emit_json({"format": result.format, "path": str(result.path),
                   "files": [str(f) for f in result.files], "dtype": result.dtype,
                   "tensors": result.tensors, "vocab_size": result.vocab_size,
                   "merges": result.merges, "model": lm.name})
        return
    say(f"wrote {result.path} ({result.format}, {result.dtype}, {result.tensors} tensors, "
        f"vocab {result.vocab_size}, {result.merges} merges)")
    for f in result.files:
        if f != result.path:
            say(f"  {f.name}")
