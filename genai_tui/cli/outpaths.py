"""Output paths, checked before any long work starts.

Every command that writes a file or a model folder calls one of these first,
so `--png /proc/x.png` or `--out /no/such/dir/model` fails in a second with
one line, not after minutes of training. Train commands write a new folder by
default and touch the bundled `assets/` only with `--bundled`.
"""

from __future__ import annotations

import time
from pathlib import Path

from genai_tui.errors import UserError
from genai_tui.paths import assets_dir
from genai_tui.paths import probe_writable as _probe


def check_output_file(path: Path, option: str) -> Path:
    """``path`` can be written as a file: not a folder, its folder exists and is writable."""
    path = path.expanduser()
    if path.is_dir():
        raise UserError(f"{option} {str(path)!r} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: folder {str(folder)!r} does not exist")
    _probe(folder, path)
    return path


def check_output_dir(path: Path, option: str = "--out") -> Path:
    """``path`` can hold a model folder: not a file, and it or its parent is writable."""
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {str(path)!r} is a file; give a folder")
    if path.is_dir():
        _probe(path, path)
        return path
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: folder {str(parent)!r} does not exist")
    _probe(parent, path)
    return path


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def new_name(stem: str, suffix: str = "") -> Path:
    """A fresh name in the current folder: ``<stem>-<date>-<time><suffix>``."""
    return Path(f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}")


def train_target(out: Path | None, *, bundled: bool, bundled_path: Path | None, stem: str,
                 is_file: bool = False, suffix: str = "") -> Path:
    """Where a train command writes.

    Default: a new ``./<stem>-<date>-<time>`` (never the bundled model).
    ``--bundled``: ``bundled_path`` itself. An ``--out`` inside `assets/` is
    refused without ``--bundled``, so a bundled model is never overwritten by
    accident. ``bundled_path=None``: the command makes new models only and has
    no ``--bundled`` (the Train pane's stages); the refusal does not offer it.
    """
    if bundled and out is not None:
        raise UserError("give either --out or --bundled, not both")
    if bundled:
        target = bundled_path
    else:
        target = out.expanduser() if out is not None else new_name(stem, suffix)
        if _inside(target, assets_dir()):
            if bundled_path is None:
                raise UserError(f"{target} is inside the bundled assets ({assets_dir()}): "
                                "choose another --out")
            raise UserError(f"{target} is inside the bundled assets ({assets_dir()}); "
                            "pass --bundled to overwrite the bundled model, or choose "
                            "another --out")
    return check_output_file(target, "--out") if is_file else check_output_dir(target)


def checked_png(value: Path | None) -> Path | None:
    """Typer callback for ``--png``: checked when the command line is parsed."""
    return check_output_file(value, "--png") if value is not None else None
