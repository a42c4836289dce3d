"""Tiny language-model folders for the generate/train tests (random weights, bundled BPE)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from genai_tui.models.gpt import GPT, GPTConfig, save_model
from genai_tui.tokenizers.bpe import default_path


def tiny_config(**overrides) -> GPTConfig:
    base = dict(vocab_size=4096, block_size=32, n_layer=2, n_head=2, n_embd=32)
    base.update(overrides)
    return GPTConfig(**base)


def make_model_dir(path: Path, seed: int = 0, favour: int | None = None, **overrides) -> Path:
    """Write a model folder with random weights. ``favour``: make greedy decoding
    always pick this token id (its embedding is made much longer than the rest,
    and the final norm outputs that direction)."""
    torch.manual_seed(seed)
    model = GPT(tiny_config(**overrides))
    if favour is not None:
        with torch.no_grad():
            wte = model.transformer.wte.weight
            wte[favour] = wte[favour] / wte[favour].norm() * 10.0
            model.transformer.ln_f.weight.zero_()
            model.transformer.ln_f.bias.copy_(wte[favour])
    save_model(model, path)
    shutil.copyfile(default_path(), path / "tokenizer.bpe")
    card = {"name": path.name, "tokenizer": {"kind": "bpe", "file": "tokenizer.bpe"}}
    (path / "card.json").write_text(json.dumps(card), encoding="utf-8")
    return path
