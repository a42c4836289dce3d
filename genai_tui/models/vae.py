"""A convolutional variational autoencoder for 28x28 grayscale images.

Kingma & Welling, "Auto-Encoding Variational Bayes" (2014): the encoder maps
an image x to the mean and log-variance of q(z|x) = N(mu, diag(sigma^2)); a
sample z = mu + sigma * eps (the reparameterisation trick, eq. 10) goes
through the decoder to Bernoulli pixel probabilities p(x|z). The loss is the
negative ELBO with a weight beta on the KL term (Higgins et al., 2017):

    loss = E_q[-log p(x|z)]  +  beta * KL(q(z|x) || N(0, I))
           (reconstruction)           (KL, closed form: appendix B)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from genai_tui.errors import AssetError, UserError
from genai_tui.models.bundle import load_bundle, save_bundle


@dataclass
class VAEConfig:
    """Shape of the VAE. Saved in the card beside the weights."""

    latent_dim: int = 16
    """Size of z. 2 gives a latent space you can draw as a map."""
    channels: int = 32
    """Channels of the first conv layer; the second has twice as many."""
    hidden: int = 128
    """Width of the fully connected layer on each side of z."""
    beta: float = 1.0
    """Weight of the KL term (beta-VAE); 1 is the true ELBO."""
    image_size: int = 28
    blocks: int = 0
    """Residual 3x3 conv blocks at each of the two resolutions, on each side (0: none)."""

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise UserError("latent_dim must be >= 1")
        if self.image_size % 4:
            raise UserError("image_size must be a multiple of 4")
        if self.beta < 0:
            raise UserError("beta must be >= 0")
        if self.blocks < 0:
            raise UserError("blocks must be >= 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VAEConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class ResBlock(nn.Module):
    """x + conv3x3(SiLU(conv3x3(SiLU(x)))): depth without losing the skip path."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VAE(nn.Module):
    """Encoder: conv(s2) -> conv(s2) -> linear -> (mu, logvar). Decoder: the mirror.

    With ``config.blocks`` = b > 0, b residual blocks follow each strided conv
    of the encoder and precede each transposed conv of the decoder.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        c, s, b = config.channels, config.image_size // 4, config.blocks
        self._feature_shape = (2 * c, s, s)
        flat = 2 * c * s * s
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.SiLU(),  # (B, c, 14, 14)
            *[ResBlock(c) for _ in range(b)],
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.SiLU(),  # (B, 2c, 7, 7)
            *[ResBlock(2 * c) for _ in range(b)],
            nn.Flatten(),
            nn.Linear(flat, config.hidden), nn.SiLU(),
        )
        self.to_mu = nn.Linear(config.hidden, config.latent_dim)
        self.to_logvar = nn.Linear(config.hidden, config.latent_dim)
        self.decoder_fc = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden), nn.SiLU(),
            nn.Linear(config.hidden, flat), nn.SiLU(),
        )
        self.decoder_conv = nn.Sequential(
            *[ResBlock(2 * c) for _ in range(b)],
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.SiLU(),  # (B, c, 14, 14)
            *[ResBlock(c) for _ in range(b)],
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28) logits
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, H, W) in [0, 1] -> mu, logvar, each (B, latent_dim)."""
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h).clamp(-12.0, 8.0)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a sample that gradients flow through."""
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> pixel logits (B, 1, H, W)."""
        return self.decoder_conv(self.decoder_fc(z).view(-1, *self._feature_shape))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> pixel probabilities (B, 1, H, W) in [0, 1]: the image."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (logits of the reconstruction, mu, logvar)."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        return self.decode_logits(z), mu, logvar

    def loss_terms(self, x: torch.Tensor, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-image (reconstruction, KL) in nats, each (B,), from one sample of z."""
        logits, mu, logvar = self(x, generator)
        return reconstruction_nll(logits, x), kl_divergence(mu, logvar)


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) under independent Bernoulli pixels, summed per image: (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per image (B,): -1/2 sum(1 + log s^2 - mu^2 - s^2)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


# -- training -----------------------------------------------------------------


@dataclass(frozen=True)
class VAEEvent:
    """One training report: the two loss terms separately (nats per image)."""

    step: int
    steps: int
    reconstruction: float
    kl: float
    loss: float
    """reconstruction + beta * kl, averaged since the last report."""
    test_reconstruction: float | None = None
    test_kl: float | None = None
    elapsed: float = 0.0
    done: bool = False


def train_vae(
    model: VAE,
    images: torch.Tensor,
    test_images: torch.Tensor | None = None,
    steps: int = 6000,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    log_every: int = 25,
    eval_every: int = 500,
) -> Iterator[VAEEvent]:
    """Train ``model`` in place (AdamW, one-cycle schedule), yielding metric events."""
    if steps < 1:
        raise UserError("steps must be >= 1")
    if images.shape[0] < 2:
        raise UserError("need at least 2 training images")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.1)
    beta = model.config.beta
    start = time.perf_counter()
    sums = [0.0, 0.0, 0.0]
    count = 0
    batch_size = min(batch_size, images.shape[0])
    for step in range(1, steps + 1):
        model.train()
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=gen)
        recon, kl = model.loss_terms(images[idx], gen)
        loss = (recon + beta * kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 100.0)
        opt.step()
        sched.step()
        sums[0] += recon.mean().item()
        sums[1] += kl.mean().item()
        sums[2] += loss.item()
        count += 1
        last = step == steps
        if step % log_every == 0 or last:
            test_r = test_k = None
            if test_images is not None and (step % eval_every == 0 or last):
                test_r, test_k = evaluate(model, test_images)
            yield VAEEvent(step, steps, sums[0] / count, sums[1] / count, sums[2] / count,
                           test_r, test_k, time.perf_counter() - start, done=last)
            sums, count = [0.0, 0.0, 0.0], 0


@torch.no_grad()
def evaluate(model: VAE, images: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """Mean (reconstruction, KL) in nats per image over ``images`` (one z sample each)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    r = k = 0.0
    for i in range(0, images.shape[0], 1000):
        recon, kl = model.loss_terms(images[i:i + 1000], gen)
        r, k = r + recon.sum().item(), k + kl.sum().item()
    n = max(images.shape[0], 1)
    return r / n, k / n


# -- saving and loading ---------------------------------------------------------


def save_vae(model: VAE, directory: str | Path, card: dict[str, Any]) -> Path:
    """Write float16 ``model.safetensors`` and ``card.json`` (config added to ``card``)."""
    card = {"model": "conv-vae", **card, "config": asdict(model.config),
            "parameters": sum(p.numel() for p in model.parameters())}
    state = {k: v.half() for k, v in model.state_dict().items()}
    return save_bundle(directory, state, card)


def load_vae(directory: str | Path) -> VAE:
    """The VAE stored in ``directory``, in eval mode, float32; ``model.card`` holds the card.

    Raises:
        AssetError: missing or corrupt files.
    """
    state, card = load_bundle(directory)
    try:
        model = VAE(VAEConfig.from_dict(card["config"]))
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, TypeError, UserError) as e:
        raise AssetError(f"{directory}: weights do not match the card's config "
                         f"({str(e).splitlines()[0]})") from None
    model.eval()
    model.card = card  # type: ignore[attr-defined]
    return model


def log_likelihood_bound(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per image (B,) with z = mu: reconstruction NLL + KL (beta = 1).

    Deterministic (no sampling), so a score for anomaly detection.
    """
    mu, logvar = model.encode(x)
    return reconstruction_nll(model.decode_logits(mu), x) + kl_divergence(mu, logvar)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latent vectors (stays near the prior's shell)."""
    na, nb = a.norm(), b.norm()
    cos = torch.dot(a, b) / (na * nb + 1e-8)
    omega = math.acos(float(cos.clamp(-1, 1)))
    if omega < 1e-4:
        return (1 - t) * a + t * b
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)
