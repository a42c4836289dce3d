"""The small CLIP model and its contrastive loss (issue 17)."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from genai_tui.errors import AssetError
from genai_tui.models.clip import (
    CLIP,
    MAX_LOGIT_SCALE,
    ClipConfig,
    contrastive_loss,
    load_clip,
    pad_ids,
    save_clip,
)

TINY = ClipConfig(vocab_size=50, max_tokens=8, text_layers=1, text_heads=2, text_width=16,
                  image_channels=4, embed_dim=8)


def test_loss_is_ln_batch_for_identical_embeddings() -> None:
    e = F.normalize(torch.randn(1, 8), dim=-1).expand(6, 8)
    assert contrastive_loss(e, e, 10.0).item() == pytest.approx(math.log(6), abs=1e-5)


def test_aligned_distinct_pairs_cost_almost_nothing_and_a_permutation_costs_more() -> None:
    e = torch.eye(8)[:5]  # five orthogonal unit vectors
    assert contrastive_loss(e, e, 100.0).item() < 1e-6
    shuffled = e[torch.tensor([1, 0, 2, 3, 4])]
    assert contrastive_loss(e, shuffled, 100.0).item() > 10
    torch.manual_seed(0)
    a, b = F.normalize(torch.randn(7, 8), dim=-1), F.normalize(torch.randn(7, 8), dim=-1)
    assert contrastive_loss(a, a, 20.0) < contrastive_loss(a, a[torch.randperm(7)], 20.0)
    assert contrastive_loss(a, b, 5.0).item() != pytest.approx(
        F.cross_entropy(5.0 * a @ b.T, torch.arange(7)).item())  # really both directions


def test_loss_is_symmetric_in_the_two_modalities() -> None:
    torch.manual_seed(1)
    a, b = F.normalize(torch.randn(9, 8), dim=-1), F.normalize(torch.randn(9, 8), dim=-1)
    assert contrastive_loss(a, b, 7.0).item() == pytest.approx(contrastive_loss(b, a, 7.0).item())


def test_shapes_normalised_embeddings_padding_and_the_clamped_scale() -> None:
    torch.manual_seed(0)
    model = CLIP(TINY).eval()
    ids = pad_ids([[1, 2, 3], [4], list(range(20))], TINY)
    assert ids.shape == (3, 8) and ids[1, 1:].eq(TINY.pad_id).all()
    text = model.encode_text(ids)
    image = model.encode_image(torch.rand(2, 1, 28, 28))
    assert text.shape == (3, 8) and image.shape == (2, 8)
    assert torch.allclose(text.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert model(torch.rand(2, 1, 28, 28), ids).shape == (2, 3)
    # Padding changes nothing: the mean runs over real tokens only.
    longer = torch.cat([ids[:1], torch.full((1, 3), TINY.pad_id)], 1)
    assert torch.allclose(model.encode_text(longer), text[:1], atol=1e-5)
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-4)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    assert model.scale().item() == pytest.approx(math.exp(MAX_LOGIT_SCALE))


def test_a_few_steps_lower_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = CLIP(TINY)
    images, ids = torch.rand(8, 1, 28, 28), torch.randint(0, 50, (8, 6))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = model.loss(images, ids).item()
    for _ in range(30):
        opt.zero_grad()
        model.loss(images, ids).backward()
        opt.step()
    assert model.loss(images, ids).item() < 0.5 * first


def test_save_load_round_trip_gives_identical_outputs(tmp_path) -> None:
    torch.manual_seed(2)
    model = CLIP(TINY).eval()
    with torch.no_grad():
        model.logit_scale.fill_(3.0)
    save_clip(model, tmp_path / "clip", {"steps": 3})
    assert sorted(p.name for p in (tmp_path / "clip").iterdir()) == [
        "card.json", "model.safetensors"]
    loaded = load_clip(tmp_path / "clip")
    assert loaded.config == TINY and loaded.card["steps"] == 3
    images, ids = torch.rand(3, 1, 28, 28), torch.randint(0, 50, (4, 5))
    assert torch.equal(loaded(images, ids), model(images, ids))
    other = CLIP(ClipConfig(**{**TINY.__dict__, "embed_dim": 4}))
    save_clip(other, tmp_path / "other")
    card = json.loads((tmp_path / "other" / "card.json").read_text())
    card["config"] = json.loads(TINY.to_json())
    (tmp_path / "other" / "card.json").write_text(json.dumps(card))
    with pytest.raises(AssetError):
        load_clip(tmp_path / "other")
    (tmp_path / "clip" / "model.safetensors").write_bytes(b"\x80\x04 a pickle, not weights")
    with pytest.raises(AssetError):
        load_clip(tmp_path / "clip")


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError):
        ClipConfig(text_width=30, text_heads=4)
    with pytest.raises(ValueError):
        ClipConfig(embed_dim=0)
