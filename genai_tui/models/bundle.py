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

    from genai_tui.paths import rebuild_hint

    d = Path(directory)
    hint = rebuild_hint(d)
    weights, card_path = d / WEIGHTS_FILE, d / CARD_FILE
    for f in (weights, card_path):
        if not f.is_file():
            raise AssetError(f"model file {f} is missing; {hint}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AssetError(f"{card_path}: not a readable JSON card ({type(e).__name__}); "
                         f"{hint}") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise AssetError(f"{card_path}: the card has no 'config' object; {hint}")
    try:
        # safetensors never unpickles: a pickle renamed to .safetensors is only
        # an unreadable header here, never executed code.
        state = load_file(str(weights))
    except (OSError, SafetensorError, ValueError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AssetError(f"{weights}: not a readable safetensors file ({why}); {hint}") from None
    return state, card
