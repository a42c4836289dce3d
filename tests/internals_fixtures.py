"""Tiny language models for the Transformer-pane tests (random weights, bundled BPE)."""

from __future__ import annotations

from pathlib import Path

import torch
from lm_fixtures import make_model_dir

from genai_tui.service.generate import LanguageModel, load_model


def tiny_lm(folder: Path, sharpen: float = 1.0, **overrides) -> LanguageModel:
    """A random tiny GPT (seeded). ``sharpen`` scales the query/key weights so
    attention is peaked rather than nearly uniform (a stronger test)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.json").exists():
        make_model_dir(folder, seed=0, **overrides)
    lm = load_model(folder)
    if sharpen != 1.0:
        C = lm.model.config.n_embd
        with torch.no_grad():
            for block in lm.model.transformer.h:
                block.attn.c_attn.weight[: 2 * C] *= sharpen  # W_q and W_k rows
    return lm
