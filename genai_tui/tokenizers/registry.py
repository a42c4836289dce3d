"""Which tokenizers this machine has, and how to load them by name.

Names:

- ``genai-bpe``: our byte-level BPE (``assets/tokenizers/genai-bpe-4k.bpe``);
- ``char``: characters of the same corpus (``assets/tokenizers/genai-chars.chars``);
- ``byte``: raw UTF-8 bytes;
- ``cl100k_base``, ``o200k_base``, ``p50k_base``, ``r50k_base``: OpenAI's
  rank files, where found offline (`genai_tui.tokenizers.tiktoken_files`);
- ``hf:<short name>`` for ``tokenizer.json`` files found on this machine
  (`genai_tui.tokenizers.hf.discover`), ``hf:<path>`` for any other;
- ``bpe:<path>`` (or a path ending in ``.bpe``): a file made by
  ``genai-tui train tokenizer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genai_tui.errors import AssetError, UserError
from genai_tui.tokenizers.base import Tokenizer

DEFAULT = "genai-bpe"


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    description: str
    available: bool
    reason: str = ""
    vocab_size: int | None = None


def _bpe_header_vocab(path: Path) -> int | None:
    try:
        with path.open(encoding="utf-8") as f:
            for _, line in zip(range(20), f, strict=False):
                if line.startswith("merges "):
                    return 256 + int(line.split()[1])
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


def entries() -> list[Entry]:
    """Every tokenizer we know of, available or not (with the reason)."""
    from genai_tui.tokenizers import bpe, hf, simple, tiktoken_files

    out: list[Entry] = []
    path = bpe.default_path()
    size = _bpe_header_vocab(path) if path.is_file() else None
    out.append(
        Entry(
            DEFAULT,
            "bpe",
            "our byte-level BPE, 4096 tokens, trained on CPython's docs",
            size is not None,
            "" if size is not None else f"{path} is missing or unreadable; "
            f"make it with: genai-tui train tokenizer --out {path}",
            size,
        )
    )
    try:
        char_size = simple.load_default_chars().vocab_size
        char_reason = ""
    except AssetError as e:
        char_size, char_reason = None, str(e)
    out.append(
        Entry(
            "char",
            "char",
            "one token per character of the CPython-docs corpus; bytes for other characters",
            char_size is not None,
            char_reason,
            char_size,
        )
    )
    out.append(Entry("byte", "byte", "raw UTF-8 bytes, 256 tokens", True, "", 256))
    for name, info in tiktoken_files.KNOWN.items():
        found, reason = tiktoken_files.locate(name)
        out.append(
            Entry(name, "tiktoken", info.description, found is not None, reason, info.vocab_size)
        )
    discovered = hf.discover()
    for name, p in discovered:
        out.append(Entry(name, "hf", f"Hugging Face tokenizer.json at {p}", True, "", None))
    if not discovered:
        out.append(
            Entry(
                "hf:PATH",
                "hf",
                "a Hugging Face tokenizer.json, named by its path",
                False,
                "no tokenizer.json found on this machine; name one: hf:/path/to/tokenizer.json",
            )
        )
    return out


def names() -> list[str]:
    """Names of the available tokenizers."""
    return [e.name for e in entries() if e.available]


def load(name: str) -> Tokenizer:
    """Load the tokenizer ``name``; `UserError` naming the choices if unknown."""
    from genai_tui.tokenizers import bpe, hf, simple, tiktoken_files

    name = name.strip()
    if name == DEFAULT:
        return bpe.load_default()
    if name == "char":
        return simple.load_default_chars()
    if name == "byte":
        return simple.ByteTokenizer()
    if name in tiktoken_files.KNOWN:
        return tiktoken_files.load(name)
    if name.startswith("hf:"):
        rest = name[3:]
        for short, p in hf.discover():
            if short == name:
                return hf.HFTokenizer(p, name=name)
        if not rest:
            raise UserError("give a path after hf:, e.g. hf:/path/to/tokenizer.json")
        return hf.HFTokenizer(Path(rest).expanduser(), name=name)
    if name.startswith("bpe:") or name.endswith(".bpe"):
        rest = name.removeprefix("bpe:")
        if not rest.strip():  # Path("") is "." (the message named the current folder)
            raise UserError("give a path after bpe:, e.g. bpe:/path/to/file.bpe")
        return bpe.BPETokenizer.load(Path(rest).expanduser(), name=name)
    if name.endswith(".json") and Path(name).expanduser().is_file():
        return hf.HFTokenizer(Path(name).expanduser(), name=f"hf:{name}")
    choices = ", ".join(names())
    raise UserError(
        f"unknown tokenizer {name!r}; choose one of: {choices}, hf:PATH or bpe:PATH"
    )
