"""The bundled language model is as good as its card says (issue 16)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from genai_tui import corpus
from genai_tui.paths import asset
from genai_tui.service.generate import load_model
from genai_tui.service.train_lm import mean_loss, windows

CARD = json.loads((asset("lm") / "card.json").read_text(encoding="utf-8"))


def test_card_records_the_held_out_figures_and_their_definition() -> None:
    held = CARD["heldout"]["sources"]
    assert held["bits_per_byte"] == pytest.approx(
        held["loss"] * held["tokens"] / held["bytes"] / math.log(2), rel=1e-3)
    assert held["perplexity"] == pytest.approx(math.exp(held["loss"]), rel=1e-3)
    assert CARD["generalization_gap"] == pytest.approx(
        CARD["val_loss"] - CARD["train_loss"], abs=1e-3)
    assert "held out" in CARD["corpus"] and CARD["history"]


def test_the_weights_give_the_cards_held_out_loss_on_a_slice() -> None:
    lm = load_model(asset("lm"))
    held = CARD["heldout"]["sources"]
    _, held_docs = corpus.split_documents(corpus.source_documents())
    ids = torch.tensor(lm.tokenizer.encode(corpus.join_documents(held_docs)), dtype=torch.long)
    assert len(ids) == held["tokens"]  # the same held-out files, the same tokenizer
    x, y = windows(ids, lm.model.config.block_size, held["slice_windows"])
    assert mean_loss(lm.model, x, y, 16) == pytest.approx(held["slice_loss"], abs=2e-3)
