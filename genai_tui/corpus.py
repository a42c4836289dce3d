"""Text corpora every machine has: CPython's own documentation and sources.

Two corpora, both deterministic for a given Python build and never downloaded:

- `source_documents()` (the language model's pretraining corpus, issue 16):
  every standard-library source file whole (code, comments, docstrings;
  test suites included, ``site-packages`` not), plus the bundled help topics,
  one `Document` each. `split_documents` holds out whole documents, chosen by
  a hash of their name, so no file is ever split across train and held-out
  and the split does not move when files are added or removed elsewhere.
- `build_corpus()` (the tokenizer's default corpus and the first model's),
  described below.

`build_corpus()` concatenates, in a fixed order,

1. the help topics bundled with CPython (`pydoc_data.topics.topics`, the text
   behind ``help("FOR")``), sorted by topic name, and
2. the docstrings of the standard library's pure-Python modules (module,
   class, function and method docstrings), read by parsing the source files
   with `ast`, so no module is imported and nothing runs. Files are visited in
   sorted path order; test suites, IDLE, tkinter, lib2to3, ``site-packages``
   and other non-library folders are skipped.

Documents are separated by a blank line plus `DOC_SEPARATOR`. The result
depends only on the Python build (its version is part of the cache key), never
on the network. The text is cached under ``$XDG_CACHE_HOME/genai-tui/`` (or
``~/.cache/genai-tui/``) and rebuilt when the cache is missing or unreadable.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import os
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from genai_tui.errors import UserError

BUILDER_VERSION = 1
"""Bump when the builder's output changes, so stale caches are not reused."""

DOC_SEPARATOR = "\n\n"

_SKIP_DIRS = frozenset(
    {
        "test", "tests", "idlelib", "tkinter", "turtledemo", "lib2to3", "site-packages",
        "dist-packages", "__pycache__", "ensurepip", "venv", "config", "Tools", "msilib",
        "__phello__", "pydoc_data",
    }
)
_SKIP_FILES = frozenset({"antigravity.py", "this.py", "__hello__.py", "turtle.py"})

DESCRIPTION = (
    "CPython {version} bundled docs: pydoc_data.topics ({topics} help topics) + "
    "docstrings of {files} stdlib source files (parsed with ast, sorted by path)"
)


SOURCE_SKIP_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})
SOURCE_MAX_BYTES = 400_000
"""Source files larger than this are generated tables (Unicode data, help-topic
dumps), not code a person wrote: left out."""
SOURCE_DESCRIPTION = (
    "CPython {version} standard-library sources: {files} .py files whole (code, comments, "
    "docstrings; tests included), plus {topics} pydoc help topics; {mb:.1f} MB; held out: "
    "whole documents whose name hashes into the last {val_percent:g}%"
)


@dataclass(frozen=True)
class Document:
    """One file (or help topic) of a corpus, kept whole."""

    name: str
    """Its path under the standard library (``json/decoder.py``) or ``topic:FOR``."""
    text: str


def source_documents() -> list[Document]:
    """The pretraining corpus: help topics (sorted by name), then every stdlib source
    file under `SOURCE_MAX_BYTES` in sorted path order, as UTF-8 text with ``\n`` line
    endings. Files that are not UTF-8 are skipped. Deterministic per Python build."""
    docs = [Document(f"topic:{name}", inspect.cleandoc(text).strip() + "\n")
            for name, text in sorted(_topics().items()) if text.strip()]
    root = stdlib_dir()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SOURCE_SKIP_DIRS
                             and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            try:
                if path.stat().st_size > SOURCE_MAX_BYTES:
                    continue
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            text = text.replace("\r\n", "\n")
            if text.strip():
                docs.append(Document(path.relative_to(root).as_posix(), text))
    return docs


def hash_share(text: str) -> float:
    """A number in [0, 1) fixed by ``text`` alone (SHA-256): splits by it are stable
    across machines and runs, whatever the order of the items."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_held_out(name: str, val_fraction: float) -> bool:
    """Whether the document ``name`` is in the held-out split: a hash of the name,
    not its position, so the split is stable and whole files are held out."""
    return hash_share(name) >= 1.0 - val_fraction


SOURCE_VAL_FRACTION = 0.05
"""The share of documents held out (`TrainSettings.val_fraction`'s default too)."""


def split_documents(docs: list[Document], val_fraction: float = SOURCE_VAL_FRACTION
                    ) -> tuple[list[Document], list[Document]]:
    """(train, held-out) documents; every document lands whole on one side."""
    if not 0.0 <= val_fraction < 1.0:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train = [d for d in docs if not is_held_out(d.name, val_fraction)]
    held = [d for d in docs if is_held_out(d.name, val_fraction)]
    return train, held


def join_documents(docs: list[Document]) -> str:
    """Documents as one training stream, separated by a blank line."""
    return DOC_SEPARATOR.join(d.text.strip("\n") for d in docs) + "\n"


def source_description(docs: list[Document], val_fraction: float) -> str:
    """One line for a model card: what `source_documents()` held on this machine."""
    topics = sum(d.name.startswith("topic:") for d in docs)
    mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    return SOURCE_DESCRIPTION.format(version=sys.version.split()[0], files=len(docs) - topics,
                                     topics=topics, mb=mb, val_percent=100 * val_fraction)


def stdlib_dir() -> Path:
    """The folder holding the standard library's ``.py`` files."""
    return Path(sysconfig.get_paths()["stdlib"])


def _iter_stdlib_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        # Sorting in place fixes os.walk's order, so the corpus is deterministic.
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in _SKIP_DIRS and not d.startswith(("config-", "."))
        )
        for name in sorted(filenames):
            if name.endswith(".py") and name not in _SKIP_FILES and not name.startswith("test_"):
                yield Path(dirpath) / name


def _docstrings(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []
    nodes: list[ast.AST] = [tree]
    # Depth-first in source order (ast.walk is breadth-first, which scatters a
    # class's method docstrings away from the class's own).
    while nodes:
        node = nodes.pop()
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc and len(doc) >= 20:
                found.append(doc)
            body = getattr(node, "body", [])
            nodes.extend(reversed([n for n in body if isinstance(
                n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]))
    return found


def _topics() -> dict[str, str]:
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions strip pydoc_data
        return {}
    return dict(topics)


def corpus_stats() -> dict[str, int | str]:
    """Counts describing the built corpus (for a model card)."""
    files = sum(1 for _ in _iter_stdlib_files(stdlib_dir()))
    return {
        "python": sys.version.split()[0],
        "topics": len(_topics()),
        "files": files,
        "builder_version": BUILDER_VERSION,
    }


def corpus_description() -> str:
    """One line describing what `build_corpus()` contains on this machine."""
    stats = corpus_stats()
    return DESCRIPTION.format(version=stats["python"], topics=stats["topics"], files=stats["files"])


def _build() -> str:
    docs: list[str] = []
    for _name, text in sorted(_topics().items()):
        text = inspect.cleandoc(text).strip()
        if text:
            docs.append(text)
    for path in _iter_stdlib_files(stdlib_dir()):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        docs.extend(d.strip() for d in _docstrings(source))
    # Normalise line endings so the corpus is identical across platforms.
    return DOC_SEPARATOR.join(docs).replace("\r\n", "\n") + "\n"


def cache_path() -> Path:
    """Where the built corpus is cached (one file per Python version and builder version)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    version = ".".join(map(str, sys.version_info[:3]))
    return Path(base) / "genai-tui" / f"corpus-py{version}-v{BUILDER_VERSION}.txt"


def build_corpus(use_cache: bool = True) -> str:
    """The default training text (a few MB): CPython help topics + stdlib docstrings.

    Deterministic for a given Python build. Cached on disk; pass
    ``use_cache=False`` to rebuild (the cache is then refreshed).
    """
    path = cache_path()
    if use_cache:
        try:
            cached = path.read_bytes()
            text, _, digest = cached.rpartition(b"\n#sha256:")
            if hashlib.sha256(text).hexdigest() == digest.decode("ascii", "replace").strip():
                return text.decode("utf-8")
        except (OSError, ValueError):
            pass
    text = _build()
    _write_cache(path, text)
    return text


def _write_cache(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    payload = data + b"\n#sha256:" + hashlib.sha256(data).hexdigest().encode("ascii") + b"\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".corpus-")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except OSError:
        pass  # caching is an optimisation only


def load_text_corpus(path: str | os.PathLike[str], what: str = "corpus file") -> str:
    """Read a user's UTF-8 text file; `UserError` if it is missing, unreadable,
    not UTF-8 or empty (``what`` names the file in the message)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise UserError(f"{what} {str(p)!r} is a directory, not a text file") from None
    except FileNotFoundError:
        raise UserError(f"{what} {str(p)!r} does not exist") from None
    except OSError as e:
        raise UserError(f"cannot read {what} {str(p)!r}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(
            f"{what} {str(p)!r} is not UTF-8 text (bad byte at offset {e.start})"
        ) from None
    if not text.strip():
        raise UserError(f"{what} {str(p)!r} is empty")
    return text


def split_corpus(text: str, val_fraction: float = 0.05) -> tuple[str, str]:
    """Split into (train, validation): the last ``val_fraction`` of the text,
    cut at a line boundary where possible. Deterministic."""
    if not 0.0 <= val_fraction < 1.0:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0.0 or not text:
        return text, ""
    cut = int(len(text) * (1.0 - val_fraction))
    newline = text.rfind("\n", 0, cut)
    if newline > cut - 10_000 and newline > 0:
        cut = newline + 1
    return text[:cut], text[cut:]
