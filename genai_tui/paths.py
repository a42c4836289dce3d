"""Where bundled assets live. `GENAI_TUI_ASSETS` overrides the folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    """The folder holding bundled tokenizers and model weights."""
    return Path(os.environ.get("GENAI_TUI_ASSETS", REPO_ROOT / "assets"))


def asset(*parts: str) -> Path:
    """Path of one bundled asset, e.g. ``asset("lm", "model.safetensors")``."""
    return assets_dir().joinpath(*parts)
