"""A text corpus every machine has: CPython's own documentation.

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
