"""Tokenizer commands: `genai-tui tokenizers`, `genai-tui tokenize`,
`genai-tui train tokenizer`.

Only the standard library and Typer are imported at module level; the
tokenizers load inside the commands (none of them needs torch).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import emit_json, say, text_arg
from genai_tui.errors import UserError


@train_app.command("tokenizer")
def train_tokenizer(
    vocab_size: int = typer.Option(
        4096, "--vocab-size", "-v", help="Tokens in the vocabulary (256 bytes + merges)."
    ),
    corpus: Path | None = opt.corpus_option(
        "UTF-8 text file to train on (default: CPython's bundled docs and standard-library "
        "docstrings, built on this machine, no download)."),
    out: Path | None = opt.out_option(
        "genai-bpe", "File to write (default: ./genai-bpe-<N>.bpe, or ./genai-chars.chars "
        "with --kind char; the bundled one only with --bundled)."),
    bundled: bool = opt.bundled_option(
        "file in assets/tokenizers (genai-bpe-4k.bpe, or genai-chars.chars with --kind char)"),
    sources: bool = typer.Option(
        False, "--sources", help="Train on the standard library's source files (the training "
        "split of the language model's corpus; held-out files are never seen)."),
    name: str | None = typer.Option(None, "--name", help="Name stored in the file."),
    kind: str = typer.Option(
        "bpe", "--kind", help="bpe (byte-level BPE) or char (the corpus's characters)."
    ),
    quiet: bool = opt.quiet_option("No progress lines."),
) -> None:
    """Train a byte-level BPE tokenizer (GPT-4 pre-split pattern) and save it
    as a .bpe text file with a JSON card next to it (--kind char: save the
    corpus's character set as a .chars file instead)."""
    from genai_tui import corpus as corpus_mod
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset
    from genai_tui.service import train_tokenizer as service

    service.check(kind, vocab_size)
    default = Path(f"genai-bpe-{vocab_size}.bpe" if kind == "bpe" else "genai-chars.chars")
    bundled_file = asset("tokenizers", "genai-bpe-4k.bpe" if kind == "bpe" else "genai-chars.chars")
    if out is None and not bundled:
        out = default
    out = train_target(out, bundled=bundled, bundled_path=bundled_file, stem=default.stem,
                       is_file=True)
    if sources and corpus is not None:
        raise UserError("give --corpus FILE or --sources, not both")
    if sources:
        docs = corpus_mod.source_documents()
        train_docs, _ = corpus_mod.split_documents(docs)
        text = corpus_mod.join_documents(train_docs)
        description = ("training split of: "
                       + corpus_mod.source_description(docs, corpus_mod.SOURCE_VAL_FRACTION))
    elif corpus is None:
        text = corpus_mod.build_corpus()
        description = corpus_mod.corpus_description()
    else:
        text = corpus_mod.load_text_corpus(corpus)
        description = f"user file {corpus.name}"
    name = name or out.stem
    command = service.command_line(kind, vocab_size, corpus, out, name) + (
        " --sources" if sources else "")
    if kind == "char":
        done = service.save_chars(text, out, description=description, corpus=corpus,
                                  command=command)
        say(f"saved {done.characters} characters (+256 byte tokens) -> {done.path} "
            f"(+ {done.card_path.name})")
        return
    total = vocab_size - 256
    every = max(1, total // 16)

    def progress(event) -> None:  # bpe.MergeEvent
        if not quiet and (event.rank % every == 0 or event.rank == total - 1):
            from genai_tui.textsafe import visible_bytes

            say(
                f"merge {event.rank + 1:>5}/{total}  {event.left:>5} + {event.right:<5} -> "
                f"{event.new_id:<5} {visible_bytes(event.token)!r}  (seen {event.count}x)",
                err=True,
            )

    done = service.train_bpe(text, vocab_size, name, out, description=description,
                             corpus=corpus, command=command, progress=progress)
    if done.vocab_size < vocab_size:
        say(f"note: the corpus ran out of pairs at {done.vocab_size} tokens", err=True)
    say(f"trained {done.vocab_size} tokens in {done.seconds:.1f} s -> {done.path} "
        f"(+ {done.card_path.name})")


@app.command("tokenizers")
def list_tokenizers_cmd(
    as_json: bool = opt.json_option("One JSON object on one line."),
) -> None:
    """List the tokenizers: which are available on this machine, and why others are not."""
    from genai_tui.service.tokenize import list_tokenizers

    infos = list_tokenizers()
    if as_json:
        emit_json(
            {
                "tokenizers": [
                    {
                        "name": i.name,
                        "kind": i.kind,
                        "available": i.available,
                        "vocab_size": i.vocab_size,
                        "description": i.description,
                        "reason": i.reason,
                    }
                    for i in infos
                ]
            }
        )
        return
    width = max(len(i.name) for i in infos)
    for i in infos:
        size = f"{i.vocab_size:>7,}" if i.vocab_size else "      ?"
        note = i.description if i.available else f"unavailable: {i.reason}"
        mark = " " if i.available else "-"
        say(f"{mark} {i.name:<{width}}  {i.kind:<8} {size}  {note}")


def _read_input(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise UserError("give either TEXT or --file, not both")
    if file is not None:
        from genai_tui.corpus import load_text_corpus

        try:
            return load_text_corpus(file, what="file")
        except UserError as e:
            if "is empty" in str(e):
                return ""
            raise
    if text is None:
        raise UserError("give the TEXT to tokenize, '-' to read standard input, or --file PATH")
    return text_arg(text)


@app.command("tokenize")
def tokenize_cmd(
    text: str | None = typer.Argument(
        None, help="The text to tokenize; '-' reads standard input.", show_default=False
    ),
    tokenizer: str = typer.Option(
        "genai-bpe", "--tokenizer", "-t", help="Tokenizer name (see 'genai-tui tokenizers')."
    ),
    file: Path | None = typer.Option(None, "--file", "-f", help="Read the text from a UTF-8 file."),
    count: bool = typer.Option(False, "--count", help="Print only the number of tokens."),
    ids: bool = typer.Option(False, "--ids", help="Print only the token ids, space-separated."),
    as_json: bool = opt.json_option(
        'One JSON object: {"tokenizer", "tokens": [{"id", "text", "bytes"}], "count"}.'),
) -> None:
    """Split text into tokens and show them (whitespace and control characters
    made visible), with their ids and counts."""
    if sum((count, ids, as_json)) > 1:
        raise UserError("choose one of --count, --ids and --json")
    source = _read_input(text, file)
    from genai_tui.service.tokenize import tokenize

    result = tokenize(source, tokenizer)
    if count:
        print(result.count)
    elif ids:
        print(" ".join(str(t.id) for t in result.tokens))
    elif as_json:
        emit_json(
            {
                "tokenizer": result.tokenizer,
                "tokens": [
                    {"id": t.id, "text": t.text, "bytes": list(t.bytes)} for t in result.tokens
                ],
                "count": result.count,
            }
        )
    else:
        _print_tokens(result)


def _print_tokens(result) -> None:
    from genai_tui.textsafe import visible, visible_bytes

    def shown(t) -> str:
        return visible(t.text) if "\ufffd" not in t.text else visible_bytes(t.bytes)

    if sys.stdout.isatty():
        from rich.console import Console
        from rich.text import Text

        line = Text()
        for n, t in enumerate(result.tokens):
            line.append(shown(t), style="on #264f78" if n % 2 else "on #5a3e1b")
        Console(highlight=False).print(line, soft_wrap=False)
    else:
        say("|".join(shown(t) for t in result.tokens))
    say("ids: " + " ".join(str(t.id) for t in result.tokens))
    say(
        f"{_plural(result.count, 'token')}, {_plural(result.chars, 'character')}, "
        f"{_plural(result.bytes, 'byte')}, "
        f"{result.chars_per_token:.2f} characters/token ({result.tokenizer})"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
