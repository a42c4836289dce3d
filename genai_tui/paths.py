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


REBUILD_COMMANDS: dict[str, str] = {
    "lm": "genai-tui train lm --bundled",
    "vae": "genai-tui train vae --bundled",
    "vae2d": "genai-tui train vae --latent-dim 2 --bundled",
    "classifier": "genai-tui train classifier --bundled",
    "clip": "genai-tui train clip --bundled",
    "diffusion": "genai-tui train diffusion --bundled",
    "imagine": "genai-tui train imagine --bundled",
    "seq2seq": "genai-tui train seq2seq --bundled",
    "tokenizers": "genai-tui train tokenizer --bundled",
}
"""The command that rebuilds each bundled asset folder (the cards record the exact flags)."""


def rebuild_hint(path: str | os.PathLike[str]) -> str:
    """How to get a missing or corrupt file back, for an error message.

    For a bundled asset: restore it from git, or the exact train command. For
    a user's own folder: say it is theirs to re-train.
    """
    p = Path(path).resolve()
    try:
        parts = p.relative_to(assets_dir().resolve()).parts
    except ValueError:
        return "re-train it, or give another model folder"
    command = REBUILD_COMMANDS.get(parts[0]) if parts else None
    where = f"assets/{parts[0]}" if parts else "assets"
    restore = f"restore it with 'git checkout -- {where}'"
    return f"{restore} or rebuild it with '{command}'" if command else restore


def probe_writable(folder: Path, target: Path | str) -> None:
    """Create and delete a scratch file in ``folder``: the only honest
    writability test (``os.access`` says yes for root under /proc, where
    writing fails). Raises `UserError` naming ``target``."""
    import tempfile

    from genai_tui.errors import UserError

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".genai-tui-probe-"):
            pass
    except OSError as e:
        raise UserError(f"cannot write {target}: {e.strerror or e}") from None
