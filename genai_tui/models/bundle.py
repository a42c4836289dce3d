"""Bundled image models on disk: ``model.safetensors`` + ``card.json`` (never pickle).

The card holds the model's config (a dataclass as a dict) and the training
record: data, steps, seed, final metrics and the exact command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from genai_tui.errors import AssetError

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "card.json"


def save_bundle(
    directory: str | Path, state: dict[str, torch.Tensor], card: dict[str, Any]
) -> Path:
    """Write weights and card into ``directory`` (created if needed)."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()},
              str(out / WEIGHTS_FILE))
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n",
                                 encoding="utf-8")
    return out


def load_bundle(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read weights and card from ``directory``.

    Raises:
        AssetError: a file is missing or corrupt.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(directory)
    weights, card_path = d / WEIGHTS_FILE, d / CARD_FILE
    for f in (weights, card_path):
        if not f.is_file():
            raise AssetError(f"missing model file {f} (train it with 'genai-tui train ...')")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AssetError(f"{card_path}: not a readable JSON card ({type(e).__name__})") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise AssetError(f"{card_path}: the card has no 'config' object")
    try:
        state = load_file(str(weights))
    except (OSError, SafetensorError) as e:
        raise AssetError(f"{weights}: not a readable safetensors file ({e})") from None
    return state, card
