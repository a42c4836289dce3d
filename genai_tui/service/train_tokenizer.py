"""Training a tokenizer and writing its model card: byte-level BPE (a ``.bpe``
file) or a character set (a ``.chars`` file), each with a JSON card beside it
(corpus size and SHA-256, vocabulary, time, the exact command).

Pure Python over `genai_tui.tokenizers`; no torch, no Textual. The CLI
(`genai-tui train tokenizer`) validates its options, picks the output path and
prints; this module trains and saves.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genai_tui.errors import UserError

MAX_VOCAB = 65536
KINDS = ("bpe", "char")


@dataclass(frozen=True)
class Trained:
    """What a training run wrote."""

    path: Path
    """The tokenizer file (.bpe or .chars)."""
    card_path: Path
    vocab_size: int
    seconds: float
    characters: int = 0
    """For a character set: how many distinct characters (before the 256 bytes)."""


def check(kind: str, vocab_size: int) -> None:
    """Raise `UserError` unless ``kind`` and ``vocab_size`` can be trained."""
    if kind not in KINDS:
        raise UserError(f"--kind must be 'bpe' or 'char', got {kind!r}")
    if not 256 <= vocab_size <= MAX_VOCAB:
        raise UserError(f"--vocab-size must be between 256 and {MAX_VOCAB}, got {vocab_size}")


def command_line(kind: str, vocab_size: int, corpus: Path | None, out: Path, name: str) -> str:
    """The command line that reproduces this training run (recorded in the card)."""
    parts = ["genai-tui", "train", "tokenizer"]
    if kind != "bpe":
        parts += ["--kind", kind]
    else:
        parts += ["--vocab-size", str(vocab_size)]
    if corpus is not None:
        parts += ["--corpus", str(corpus)]
    parts += ["--out", str(out)]
    if kind == "bpe" and name != out.stem:
        parts += ["--name", name]
    return " ".join(shlex.quote(p) for p in parts)


def train_bpe(text: str, vocab_size: int, name: str, out: Path, *, description: str,
              corpus: Path | None, command: str,
              progress: Callable[[Any], None] | None = None) -> Trained:
    """Train byte-level BPE on ``text`` and save it with its card; ``progress``
    gets each `bpe.MergeEvent`."""
    from genai_tui.tokenizers import bpe

    start = time.perf_counter()
    tok = bpe.train(text, vocab_size, name=name, progress=progress)
    seconds = time.perf_counter() - start
    path = tok.save(out)
    card_path = _write_card(path, bpe_card(tok, text, description, seconds, corpus, command))
    return Trained(path, card_path, tok.vocab_size, seconds)


def save_chars(text: str, out: Path, *, description: str, corpus: Path | None,
               command: str) -> Trained:
    """Save ``text``'s character set (plus 256 byte-fallback tokens) with its card."""
    from genai_tui.tokenizers.simple import CharTokenizer

    tok = CharTokenizer.from_text(text, name=out.stem)
    path = tok.save(out)
    card = {
        "name": tok.name,
        "kind": "characters + 256 byte fallback tokens",
        "format": "genai-chars v1 (see genai_tui/tokenizers/simple.py)",
        "characters": len(tok.chars),
        "vocab_size": tok.vocab_size,
        "corpus": _corpus_entry(text, description, corpus),
        "command": command,
    }
    return Trained(path, _write_card(path, card), tok.vocab_size, 0.0, len(tok.chars))


def bpe_card(tok: Any, text: str, description: str, seconds: float, corpus: Path | None,
             command: str) -> dict[str, Any]:
    """The JSON card of a trained BPE tokenizer."""
    from genai_tui.tokenizers import bpe

    data = text.encode("utf-8")
    ids = tok.encode(text)
    pattern_name = {
        bpe.GPT4_SPLIT_PATTERN: "cl100k_base (GPT-4)",
        bpe.GPT2_SPLIT_PATTERN: "r50k_base (GPT-2)",
    }.get(tok.pattern, "custom")
    return {
        "name": tok.name,
        "kind": "byte-level BPE",
        "format": "genai-bpe v1 (see genai_tui/tokenizers/bpe.py)",
        "vocab_size": tok.vocab_size,
        "merges": len(tok.merges),
        "pre_split_pattern": pattern_name,
        "corpus": _corpus_entry(text, description, corpus),
        "corpus_tokens": len(ids),
        "bytes_per_token": round(len(data) / max(1, len(ids)), 3),
        "train_seconds": round(seconds, 2),
        "python": platform.python_version(),
        "command": command,
        "tie_break": "most frequent pair; ties -> smallest (left id, right id)",
    }


def _corpus_entry(text: str, description: str, corpus: Path | None) -> dict[str, Any]:
    data = text.encode("utf-8")
    return {
        "description": description,
        "file": str(corpus) if corpus else None,
        "characters": len(text),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _write_card(path: Path, card: dict[str, Any]) -> Path:
    card_path = path.with_suffix(".json")
    try:
        card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
    except OSError as e:
        raise UserError(f"cannot write {str(card_path)!r}: {e.strerror or e}") from None
    return card_path
