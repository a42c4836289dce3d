"""The local language models a user can pick: the bundled one and saved model folders.

A model folder holds ``card.json``, ``config.json`` and ``model.safetensors``
(plus the tokenizer file its card names), as `Trainee.save` and
``genai-tui train lm`` write them. `local_models(folders)` lists the bundled
model, then every model folder directly inside ``folders`` (the app's export
folder, the working directory), newest first, each with a one-line
description from its card. Folders that are not models, or whose card or
config is unreadable, are left out. Nothing here loads weights or imports
torch: a listing reads two small JSON files per folder.

Names and descriptions come from files on disk: they are data. Callers show
them through `genai_tui.textsafe` (`LocalModel.label` is already escaped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genai_tui.service.generate import CARD_FILE, default_model_dir
from genai_tui.textsafe import escape_controls

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
"""`genai_tui.models.gpt`'s file names (that module imports torch; this one must not)."""
MAX_JSON_BYTES = 4_000_000
"""A card or config bigger than this is not read (the bundled card is ~60 kB)."""
MAX_ENTRIES = 5_000
"""Entries looked at per folder (a huge working directory is not walked to its end)."""
_CONFIG_INTS = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd")
GPT_CONFIG_FIELDS = frozenset(_CONFIG_INTS + ("dropout", "bias"))
"""`GPTConfig`'s fields: a config with others is some other model (the seq2seq one)."""


@dataclass(frozen=True)
class LocalModel:
    """A model the local back end can load."""

    path: Path | None
    """Its folder; None for the bundled model (what an empty model box loads)."""
    name: str
    """The card's name (else the folder's), controls escaped."""
    description: str
    """One line: parameters, shape and the stages it went through (escaped)."""
    modified: float
    """When its card was written (seconds since the epoch)."""

    @property
    def bundled(self) -> bool:
        return self.path is None

    @property
    def label(self) -> str:
        """``name · description`` (plus the folder when the card names it otherwise)."""
        folder = "" if self.path is None or self.path.name == self.name else (
            f" ({escape_controls(self.path.name, False)})")
        return f"{self.name}{folder} · {self.description}"


def _read_object(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _valid_config(config: dict[str, Any]) -> bool:
    if not set(config) <= GPT_CONFIG_FIELDS:
        return False
    values = [config.get(k) for k in _CONFIG_INTS]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
        return False
    return config["n_embd"] % config["n_head"] == 0


def _has_tokenizer(folder: Path, card: dict[str, Any]) -> bool:
    spec = card.get("tokenizer") or {}
    if not isinstance(spec, dict):
        return False
    kind = spec.get("kind", "bpe")
    if kind == "byte":
        return True
    file = spec.get("file")
    return kind == "bpe" and isinstance(file, str) and (folder / Path(file).name).is_file()


def _params(config: dict[str, Any]) -> int:
    """GPT-2 parameter count from the shape (tied head; what `GPT.num_params` says)."""
    v, t, n, c = (config[k] for k in ("vocab_size", "block_size", "n_layer", "n_embd"))
    bias = config.get("bias", True) is not False
    # 2 LayerNorms (2C each with bias), c_attn (3C^2 + 3C), c_proj (C^2 + C),
    # c_fc (4C^2 + 4C), mlp c_proj (4C^2 + C): 12C^2 + 13C with biases
    per_block = 12 * c * c + (13 * c if bias else 2 * c)
    return v * c + t * c + n * per_block + (2 * c if bias else c)


def _count(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    return f"{n / 1e3:.0f}k" if n >= 1e3 else str(n)


def describe_card(card: dict[str, Any], config: dict[str, Any]) -> str:
    """One line about a model, what tells saved models apart first:
    ``pretrain 600 steps → finetune 200 steps · 929k params, 2 layers, ctx 64``."""
    params = card.get("parameters")
    if not isinstance(params, int) or isinstance(params, bool) or params < 1:
        params = _params(config)
    parts = []
    stages = card.get("stages")
    names = []
    if isinstance(stages, list):
        for stage in stages[:6]:
            if isinstance(stage, dict) and isinstance(stage.get("stage"), str):
                steps = stage.get("steps")
                more = f" {steps:,} steps" if isinstance(steps, int) else ""
                names.append(f"{stage['stage'][:20]}{more}")
    if names:
        parts.append(" → ".join(names) + (" → …" if len(stages) > 6 else ""))
    elif isinstance(card.get("steps"), int):
        parts.append(f"trained {card['steps']:,} steps")
    else:
        origin = card.get("origin") or card.get("base")
        if isinstance(origin, str):
            parts.append(origin[:40])
    parts.append(f"{_count(params)} params, {config['n_layer']} layers, "
                 f"ctx {config['block_size']}")
    return escape_controls(" · ".join(parts), False)


def read_model_folder(folder: Path) -> LocalModel | None:
    """The folder as a `LocalModel`, or None when it is not a loadable model folder."""
    weights = folder / WEIGHTS_FILE
    try:
        if not weights.is_file() or weights.stat().st_size == 0:
            return None
        modified = (folder / CARD_FILE).stat().st_mtime
    except OSError:
        return None
    card = _read_object(folder / CARD_FILE)
    config = _read_object(folder / CONFIG_FILE)
    if card is None or config is None or not _valid_config(config):
        return None
    if not _has_tokenizer(folder, card):
        return None
    name = card.get("name")
    name = name if isinstance(name, str) and name.strip() else folder.name
    return LocalModel(folder, escape_controls(name[:60], False), describe_card(card, config),
                      modified)


def _children(folder: Path) -> Iterable[Path]:
    try:
        with os.scandir(folder) as entries:
            for i, entry in enumerate(entries):
                if i >= MAX_ENTRIES:
                    return
                try:
                    if entry.is_dir() and not entry.name.startswith("."):
                        yield Path(entry.path)
                except OSError:
                    continue
    except OSError:
        return


def local_models(folders: Iterable[str | os.PathLike[str]], *, bundled: bool = True
                 ) -> list[LocalModel]:
    """The bundled model (when ``bundled`` and present), then every model folder
    directly inside ``folders``, newest first (a folder listed twice counts once;
    the bundled folder is not listed again)."""
    out: list[LocalModel] = []
    seen: set[Path] = set()
    default = default_model_dir()
    try:
        seen.add(default.resolve())
    except OSError:
        pass
    if bundled:
        found = read_model_folder(default)
        if found is not None:
            out.append(LocalModel(None, "bundled", found.description, found.modified))
    saved: list[LocalModel] = []
    looked: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        try:
            key = folder.resolve()
        except OSError:
            continue
        if key in looked:
            continue
        looked.add(key)
        for child in _children(folder):
            try:
                child_key = child.resolve()
            except OSError:
                continue
            if child_key in seen:
                continue
            found = read_model_folder(child)
            if found is not None:
                seen.add(child_key)
                saved.append(found)
    saved.sort(key=lambda m: m.modified, reverse=True)
    return out + saved
