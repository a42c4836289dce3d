"""The VAE: model, training, the bundled weights and the service (issue 4)."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_tui.errors import AssetError, UserError
from genai_tui.images.digits import make_digits
from genai_tui.images.unusual import make_unusual
from genai_tui.models.vae import VAE, VAEConfig, kl_divergence, load_vae, save_vae, train_vae
from genai_tui.service import vae as svc


@pytest.fixture(scope="module")
def bundled() -> svc.VAEHandle:
    return svc.load("vae")


@pytest.fixture(scope="module")
def held_out() -> svc.Images:
    return svc.test_digits(300, seed=987_654)  # training used seed 0


def test_shapes_and_kl_of_the_prior_is_zero() -> None:
    model = VAE(VAEConfig(latent_dim=3, channels=4, hidden=8))
    x = torch.rand(5, 1, 28, 28)
    logits, mu, logvar = model(x)
    assert logits.shape == x.shape and mu.shape == logvar.shape == (5, 3)
    assert model.decode(mu).min() >= 0 and model.decode(mu).max() <= 1
    assert torch.allclose(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))
    assert (kl_divergence(torch.ones(2, 3), torch.zeros(2, 3)) > 0).all()


def test_tiny_training_lowers_both_terms_and_round_trips(tmp_path) -> None:
    data = make_digits(400, seed=1)
    model = VAE(VAEConfig(latent_dim=4, channels=8, hidden=32))
    events = list(train_vae(model, data.images, data.images[:64], steps=80, batch_size=32,
                            lr=3e-3, log_every=10, eval_every=80))
    first, last = events[0], events[-1]
    assert last.done and last.test_reconstruction is not None and last.test_kl is not None
    assert last.reconstruction < 0.85 * first.reconstruction
    assert last.loss == pytest.approx(last.reconstruction + last.kl, rel=1e-4)
    save_vae(model, tmp_path / "v", {"steps": 80})
    card = json.loads((tmp_path / "v" / "card.json").read_text())
    assert card["config"]["latent_dim"] == 4 and card["steps"] == 80
    loaded = load_vae(tmp_path / "v")
    model.eval()
    z = torch.randn(3, 4)
    assert torch.allclose(loaded.decode(z), model.decode(z), atol=2e-2)  # float16 weights


def test_residual_blocks_deepen_both_sides_and_round_trip(tmp_path) -> None:
    plain = VAE(VAEConfig(latent_dim=4, channels=8, hidden=32))
    deep = VAE(VAEConfig(latent_dim=4, channels=8, hidden=32, blocks=2))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # 2 blocks x 2 convs at each resolution, each side: 8 channels and 16 channels
    per_side = 2 * 2 * (8 * 8 * 9 + 8) + 2 * 2 * (16 * 16 * 9 + 16)
    assert count(deep) - count(plain) == 2 * per_side
    x = torch.rand(3, 1, 28, 28)
    logits, mu, _ = deep(x)
    assert logits.shape == x.shape and mu.shape == (3, 4)
    data = make_digits(200, seed=2)
    events = list(train_vae(deep, data.images, data.images[:32], steps=30, batch_size=32,
                            lr=3e-3, log_every=10, eval_every=30))
    assert events[-1].reconstruction < events[0].reconstruction
    save_vae(deep, tmp_path / "d", {"steps": 30})
    loaded = load_vae(tmp_path / "d")
    assert loaded.config.blocks == 2
    deep.eval()
    z = torch.randn(2, 4)
    assert torch.allclose(loaded.decode(z), deep.decode(z), atol=2e-2)
    with pytest.raises(UserError, match="blocks"):
        VAEConfig(blocks=-1)


def test_bundled_cards_record_the_training(bundled: svc.VAEHandle) -> None:
    two_d = svc.load("vae2d")
    assert two_d.latent_dim == 2 and bundled.latent_dim > 2
    for handle in (bundled, two_d):
        card = handle.card
        for key in ("data", "steps", "seed", "metrics", "command"):
            assert key in card
        assert card["command"].startswith("genai-tui train vae")
        assert {"train_reconstruction_nats", "train_kl_nats"} <= set(card["metrics"])


def test_reconstruction_beats_the_mean_image_by_far(bundled, held_out) -> None:
    result = svc.reconstruct(bundled, held_out)
    vae_error = sum(result.errors) / len(result.errors)
    mean_image = make_digits(2000, seed=0).images.mean(0, keepdim=True)
    baseline = (held_out.images - mean_image).pow(2).mean().item()
    assert vae_error < 0.25 * baseline  # bundled: ~0.06x


def test_anomaly_score_separates_noise_from_digits(bundled, held_out) -> None:
    digits = svc.anomaly_scores(bundled, held_out.images[:200])
    noise = svc.anomaly_scores(bundled, make_unusual(100, "noise", seed=3))
    assert svc.auroc(digits, noise) >= 0.95
    result = svc.anomaly(bundled, n_normal=100, n_unusual=8)
    assert result.auroc >= 0.95 and result.normal_flagged <= 5
    assert result.flagged[result.unusual_kinds.index("noise")]


def test_service_operations(bundled, held_out) -> None:
    s = svc.sample(bundled, n=4, seed=1)
    assert tuple(s.images.shape) == (4, 1, 28, 28) and len(s.z[0]) == bundled.latent_dim
    assert torch.equal(s.images, svc.sample(bundled, n=4, seed=1).images)
    path = svc.interpolate(bundled, held_out.images[0:1], held_out.images[1:2], steps=5)
    assert tuple(path.images.shape) == (5, 1, 28, 28) and path.t[0] == 0 and path.t[-1] == 1
    z = svc.encode(bundled, held_out.images[:2])
    assert path.z[0] == pytest.approx(z[0], abs=1e-4)
    assert path.z[-1] == pytest.approx(z[1], abs=1e-4)
    d = svc.denoise(bundled, svc.Images(held_out.images[:16], held_out.labels[:16], "t"),
                    noise=0.5)
    assert sum(d.recon_errors) < sum(d.noisy_errors)
    two_d = svc.load("vae2d")
    lm = svc.latent_map(two_d, svc.Images(held_out.images[:50], held_out.labels[:50], "t"),
                        grid=4, tile=7)
    assert tuple(lm.mosaic.shape) == (28, 28) and len(lm.points) == 50
    with pytest.raises(UserError):
        svc.latent_map(bundled, held_out)
    with pytest.raises(UserError):
        svc.load("nope")
    assert svc.walk_step([0.0, 3.9], 1, 0.5) == [0.0, 4.0]


def test_missing_model_folder_is_an_asset_error(tmp_path) -> None:
    with pytest.raises(AssetError):
        svc.load("vae", path=tmp_path)


@settings(max_examples=40, deadline=None)
@given(neg=st.lists(st.floats(-5, 5), min_size=1, max_size=20),
       pos=st.lists(st.floats(-5, 5), min_size=1, max_size=20))
def test_auroc_is_symmetric_and_bounded(neg: list[float], pos: list[float]) -> None:
    a = svc.auroc(neg, pos)
    assert 0.0 <= a <= 1.0
    assert a + svc.auroc(pos, neg) == pytest.approx(1.0)
    assert svc.auroc(neg, [max(neg) + 1.0]) == 1.0


def test_histogram_counts_every_value() -> None:
    hist = svc.histogram({"a": [1.0, 10.0, 100.0], "b": [1000.0]}, bins=4)
    assert sum(hist.series["a"]) == 3 and sum(hist.series["b"]) == 1 and len(hist.edges) == 5
