"""VAE service: what the VAE pane and `genai-tui vae ...` call.

Plain dataclasses and functions; torch is imported inside the functions only.
Images travel as tensors (N, 1, 28, 28) in [0, 1] inside the result objects;
callers hand them to `genai_tui.images.render` without touching torch.
"""

from __future__ import annotations

import math
import shlex
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genai_tui.errors import UserError

MODEL_NAMES: tuple[str, ...] = ("vae", "vae2d")
"""Bundled models: ``vae`` (16-D latent) and ``vae2d`` (2-D latent, for the map)."""
TRAIN_SEED = 0
TEST_SEED = 20_002
"""Held-out digits: a seed no training run uses."""
SCORES: tuple[str, ...] = ("elbo", "mse")


@dataclass
class VAEHandle:
    """A loaded VAE (opaque to callers) and the facts from its card."""

    name: str
    latent_dim: int
    beta: float
    card: dict[str, Any]
    model: Any = field(repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load(name: str = "vae", path: str | Path | None = None) -> VAEHandle:
    """Load a bundled model by name, or the model folder at ``path``.

    Raises:
        UserError: unknown name; AssetError: missing or corrupt files.
    """
    from genai_tui.models.vae import load_vae
    from genai_tui.paths import asset

    if path is None and name not in MODEL_NAMES:
        raise UserError(f"unknown VAE {name!r}; use one of: {', '.join(MODEL_NAMES)}")
    directory = Path(path) if path is not None else asset(name)
    model = load_vae(directory)
    return VAEHandle(name=name if path is None else str(path),
                     latent_dim=model.config.latent_dim, beta=model.config.beta,
                     card=model.card, model=model)


# -- data -----------------------------------------------------------------------


@dataclass
class Images:
    """A batch of images with labels (-1 unknown) and where they came from."""

    images: Any
    """(N, 1, 28, 28) float tensor in [0, 1]."""
    labels: list[int]
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def test_digits(n: int = 64, seed: int = TEST_SEED) -> Images:
    """Held-out generated digits (never seen in training)."""
    from genai_tui.images.digits import make_digits

    d = make_digits(n, seed=seed)
    return Images(d.images, d.labels.tolist(), f"generated digits (seed {seed})")


def load_data(path: str | Path | None, n: int = 64, seed: int = TEST_SEED) -> Images:
    """User images from ``path`` (folder of PNG/JPEG or .npz), else held-out digits."""
    if path is None:
        return test_digits(n, seed)
    from genai_tui.images.digits import load_images

    d = load_images(path)
    return Images(d.images[:n], d.labels[:n].tolist(), str(path))


# -- results --------------------------------------------------------------------


@dataclass
class SampleResult:
    images: Any
    """(N, 1, 28, 28) decoded from z ~ N(0, I)."""
    z: list[list[float]]
    seed: int


@dataclass
class ReconResult:
    inputs: Any
    outputs: Any
    errors: list[float]
    """Mean squared error per image (pixels in [0, 1])."""
    labels: list[int]


@dataclass
class InterpResult:
    images: Any
    """(steps, 1, 28, 28), the first decoded from z_a and the last from z_b."""
    t: list[float]
    z: list[list[float]]
    endpoints: Any
    """The two input images (2, 1, 28, 28)."""


@dataclass
class LatentMap:
    mosaic: Any
    """(grid*tile, grid*tile) image: decoded z over [-span, span]^2 (z2 grows upwards)."""
    grid: int
    span: float
    points: list[tuple[float, float]]
    """Encoded means of the test digits."""
    labels: list[int]


@dataclass
class AnomalyResult:
    score: str
    """"elbo" (negative ELBO, nats) or "mse" (reconstruction error)."""
    normal_scores: list[float]
    unusual_scores: list[float]
    unusual_kinds: list[str]
    unusual_images: Any
    unusual_recons: Any
    threshold: float
    """Scores above this are flagged (the 99th percentile of held-out normal digits)."""
    auroc: float
    """Area under the ROC curve for "unusual vs normal" by score (1 = perfect)."""

    @property
    def flagged(self) -> list[bool]:
        return [s > self.threshold for s in self.unusual_scores]

    @property
    def normal_flagged(self) -> int:
        return sum(s > self.threshold for s in self.normal_scores)


@dataclass
class DenoiseResult:
    noisy: Any
    recon: Any
    clean: Any
    noise: float
    noisy_errors: list[float]
    recon_errors: list[float]
    """Squared error of the MAP reconstruction against the clean original."""
    encoder_errors: list[float] = field(default_factory=list)
    """Squared error of one plain encode-decode pass (for comparison)."""


@dataclass
class Histogram:
    edges: list[float]
    """bins + 1 edges (log10 of the score when ``log``)."""
    series: dict[str, list[int]]
    log: bool


# -- operations -----------------------------------------------------------------


def _no_grad() -> Any:
    import torch

    return torch.no_grad()


def _images(x: Any) -> Any:
    """Accept (N, 1, 28, 28) / (N, 28, 28) tensors; reject anything else."""
    import torch

    x = torch.as_tensor(x).float()
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise UserError(f"expected 28x28 grayscale images, got shape {tuple(x.shape)}")
    return x.clamp(0, 1)


def sample(handle: VAEHandle, n: int = 16, seed: int = 0, temperature: float = 1.0) -> SampleResult:
    """Decode ``n`` latent vectors drawn from the prior N(0, I) (times ``temperature``)."""
    import torch

    if not 1 <= n <= 4096:
        raise UserError("n must be between 1 and 4096")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, handle.latent_dim, generator=gen) * temperature
    with handle.lock, _no_grad():
        images = handle.model.decode(z)
    return SampleResult(images, z.tolist(), seed)


def encode(handle: VAEHandle, images: Any) -> list[list[float]]:
    """Means of q(z|x) for each image."""
    with handle.lock, _no_grad():
        mu, _ = handle.model.encode(_images(images))
    return mu.tolist()


def decode(handle: VAEHandle, z: Sequence[Sequence[float]]) -> Any:
    """Images (N, 1, 28, 28) for latent vectors ``z``."""
    import torch

    zt = torch.tensor(z, dtype=torch.float32)
    if zt.dim() != 2 or zt.shape[1] != handle.latent_dim:
        raise UserError(f"z must be N x {handle.latent_dim}")
    with handle.lock, _no_grad():
        return handle.model.decode(zt)


def reconstruct(handle: VAEHandle, data: Images) -> ReconResult:
    """Encode to the mean of q(z|x) and decode; per-image squared error."""
    x = _images(data.images)
    with handle.lock, _no_grad():
        mu, _ = handle.model.encode(x)
        out = handle.model.decode(mu)
    errors = (out - x).pow(2).flatten(1).mean(1).tolist()
    return ReconResult(x, out, errors, list(data.labels))


def interpolate(handle: VAEHandle, a: Any, b: Any, steps: int = 8,
                spherical: bool = False) -> InterpResult:
    """Decode ``steps`` points on the path from z(a) to z(b) (linear or slerp)."""
    import torch

    from genai_tui.models.vae import slerp

    if not 2 <= steps <= 64:
        raise UserError("steps must be between 2 and 64")
    ends = _images(torch.stack([_images(a)[0], _images(b)[0]]))
    with handle.lock, _no_grad():
        mu, _ = handle.model.encode(ends)
        ts = [i / (steps - 1) for i in range(steps)]
        zs = torch.stack([slerp(mu[0], mu[1], t) if spherical else (1 - t) * mu[0] + t * mu[1]
                          for t in ts])
        images = handle.model.decode(zs)
    return InterpResult(images, ts, zs.tolist(), ends)


def latent_map(handle: VAEHandle, data: Images, grid: int = 8, tile: int = 14,
               span: float = 2.5) -> LatentMap:
    """For a 2-D model: decoded images over a grid of z, and the test digits encoded."""
    import torch
    from torch.nn import functional as F

    if handle.latent_dim != 2:
        raise UserError(f"the latent map needs a 2-D model; {handle.name} has "
                        f"{handle.latent_dim} dimensions")
    if not 2 <= grid <= 32 or not 4 <= tile <= 28:
        raise UserError("grid must be 2-32 and tile 4-28 pixels")
    values = torch.linspace(-span, span, grid)
    # Rows go from z2 = +span (top) down to -span, as on a chart.
    z = torch.stack([torch.stack([x, y]) for y in values.flip(0) for x in values])
    with handle.lock, _no_grad():
        images = handle.model.decode(z)
        mu, _ = handle.model.encode(_images(data.images))
    if tile != 28:
        images = F.interpolate(images, size=(tile, tile), mode="area")
    mosaic = images.view(grid, grid, tile, tile).permute(0, 2, 1, 3).reshape(grid * tile,
                                                                          grid * tile)
    return LatentMap(mosaic, grid, span, [tuple(p) for p in mu.tolist()], list(data.labels))


def anomaly_scores(handle: VAEHandle, images: Any, score: str = "elbo") -> list[float]:
    """Per-image anomaly score: negative ELBO (nats) or reconstruction MSE."""
    from genai_tui.models.vae import log_likelihood_bound

    if score not in SCORES:
        raise UserError(f"unknown score {score!r}; use one of: {', '.join(SCORES)}")
    x = _images(images)
    with handle.lock, _no_grad():
        if score == "elbo":
            return log_likelihood_bound(handle.model, x).tolist()
        mu, _ = handle.model.encode(x)
        return (handle.model.decode(mu) - x).pow(2).flatten(1).mean(1).tolist()


def anomaly(handle: VAEHandle, n_normal: int = 200, n_unusual: int = 16, score: str = "elbo",
            seed: int = 0, data: Images | None = None) -> AnomalyResult:
    """Score held-out digits against unusual inputs (noise, blobs, inverted, shapes).

    ``data``: score these (user) images as the "unusual" side instead.
    The flag threshold is the 99th percentile of a separate set of normal digits.
    """
    from genai_tui.images.unusual import make_unusual_mix

    normal = test_digits(n_normal, seed=TEST_SEED + 1 + seed)
    calibration = test_digits(400, seed=TEST_SEED + 2)
    if data is None:
        unusual, kinds = make_unusual_mix(n_unusual, seed=seed)
    else:
        unusual, kinds = _images(data.images), ["user"] * len(data)
    normal_scores = anomaly_scores(handle, normal.images, score)
    unusual_scores = anomaly_scores(handle, unusual, score)
    calib = sorted(anomaly_scores(handle, calibration.images, score))
    threshold = calib[min(len(calib) - 1, int(0.99 * len(calib)))]
    with handle.lock, _no_grad():
        mu, _ = handle.model.encode(unusual)
        recons = handle.model.decode(mu)
    return AnomalyResult(score, normal_scores, unusual_scores, kinds, unusual, recons,
                         threshold, auroc(normal_scores, unusual_scores))


def denoise(handle: VAEHandle, data: Images, noise: float = 0.4, seed: int = 0,
            steps: int = 60) -> DenoiseResult:
    """Add Gaussian pixel noise (std ``noise``), then find the clean digit the VAE would draw.

    One pass through the encoder is easily fooled by noise it never saw in
    training, so the reconstruction is a MAP estimate instead: starting from
    the encoder's mean, ``steps`` Adam steps on z minimise
    ``|x_noisy - decoder(z)|^2 / (2 noise^2) + |z|^2 / 2`` (Gaussian noise,
    standard normal prior): the most probable point of the learned digit
    manifold given the noisy image. ``encoder_errors`` keep the one-pass result.
    """
    import torch

    from genai_tui.models.optim import Adam

    if not 0 <= noise <= 2:
        raise UserError("noise must be between 0 and 2")
    if not 0 <= steps <= 1000:
        raise UserError("steps must be between 0 and 1000")
    clean = _images(data.images)
    gen = torch.Generator().manual_seed(seed)
    noisy = (clean + noise * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    sigma2 = max(noise, 0.05) ** 2
    with handle.lock:
        model = handle.model
        with torch.no_grad():
            mu, _ = model.encode(noisy)
            one_pass = model.decode(mu)
        z = mu.clone().requires_grad_(True)
        opt = Adam([z], lr=0.1)  # not torch.optim: see models/optim.py
        with torch.enable_grad():
            for _ in range(steps):
                residual = (model.decode(z) - noisy).pow(2).flatten(1).sum(1)
                loss = (residual / (2 * sigma2) + 0.5 * z.pow(2).sum(1)).sum()
                (grad,) = torch.autograd.grad(loss, z)  # model weights get no .grad
                z.grad = grad
                opt.step()
        with torch.no_grad():
            recon = model.decode(z)

    def err(a: Any) -> list[float]:
        return (a - clean).pow(2).flatten(1).mean(1).tolist()

    return DenoiseResult(noisy, recon.detach(), clean, noise, err(noisy), err(recon),
                         err(one_pass))


def walk_step(z: Sequence[float], dim: int, delta: float, limit: float = 4.0) -> list[float]:
    """z with ``z[dim] += delta``, kept within [-limit, limit]."""
    out = list(z)
    out[dim] = max(-limit, min(limit, out[dim] + delta))
    return out


# -- statistics -----------------------------------------------------------------


def auroc(negatives: Sequence[float], positives: Sequence[float]) -> float:
    """P(score of a random positive > score of a random negative), ties count half."""
    if not negatives or not positives:
        return float("nan")
    ordered = sorted([(s, 0) for s in negatives] + [(s, 1) for s in positives])
    rank_sum, i = 0.0, 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += mean_rank * sum(1 for k in range(i, j) if ordered[k][1] == 1)
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def histogram(series: dict[str, Sequence[float]], bins: int = 12, log: bool = True) -> Histogram:
    """Counts of each series over shared bins (log10 of the scores when ``log``)."""
    def tr(v: float) -> float:
        return math.log10(max(v, 1e-12)) if log else v

    values = {k: [tr(v) for v in vs] for k, vs in series.items()}
    every = [v for vs in values.values() for v in vs]
    if not every:
        return Histogram([0.0, 1.0], {k: [0] for k in series}, log)
    lo, hi = min(every), max(every)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    width = (hi - lo) / bins
    edges = [lo + i * width for i in range(bins + 1)]
    counts = {}
    for k, vs in values.items():
        c = [0] * bins
        for v in vs:
            c[min(bins - 1, int((v - lo) / width))] += 1
        counts[k] = c
    return Histogram(edges, counts, log)


# -- training -------------------------------------------------------------------


def train(
    latent_dim: int = 16,
    beta: float = 1.0,
    steps: int = 6000,
    seed: int = TRAIN_SEED,
    data: str | Path | None = None,
    n_train: int = 20000,
    out: str | Path | None = None,
    channels: int = 32,
    hidden: int = 128,
    batch_size: int = 128,
    lr: float = 2e-3,
    log_every: int = 25,
    command: str | None = None,
    blocks: int = 0,
) -> Iterator[Any]:
    """Train a VAE, yielding `VAEEvent`s (reconstruction and KL separately); save to ``out``.

    Data: ``make_digits(n_train, seed)`` with held-out ``make_digits(1000, TEST_SEED)``,
    or the user's images at ``data`` (the last 10% held out). The data is loaded
    (and a bad path raises `UserError`) when this is called, before the first event.
    """
    import torch

    from genai_tui.images.digits import load_images, make_digits
    from genai_tui.models.vae import VAE, VAEConfig

    config = VAEConfig(latent_dim=latent_dim, beta=beta, channels=channels, hidden=hidden,
                       blocks=blocks)
    if data is not None:
        user = load_images(data)
        if len(user) < 10:
            raise UserError(f"{data}: need at least 10 images to train, found {len(user)}")
        n_test = max(1, len(user) // 10)
        train_set, test_set = user.split(n_test)
        described = f"user images {data} ({len(train_set)} train, {n_test} held out)"
    else:
        train_set = make_digits(n_train, seed=seed)
        test_set = make_digits(1000, seed=TEST_SEED)
        described = (f"make_digits({n_train}, seed={seed}); held out: "
                     f"make_digits(1000, seed={TEST_SEED})")
    torch.manual_seed(seed)
    model = VAE(config)
    card = {
        "data": described, "steps": steps, "seed": seed, "batch_size": batch_size, "lr": lr,
        "command": command or shlex.join(["genai-tui", *sys.argv[1:]]),
    }
    return _run_training(model, train_set.images, test_set.images, out, card, steps=steps,
                         batch_size=batch_size, lr=lr, seed=seed, log_every=log_every)


def _run_training(model: Any, images: Any, test_images: Any, out: str | Path | None,
                  card: dict[str, Any], **options: Any) -> Iterator[Any]:
    from genai_tui.models.vae import save_vae, train_vae

    last = None
    for event in train_vae(model, images, test_images, **options):
        last = event
        yield event
    if out is not None and last is not None:
        save_vae(model, out, {
            **card,
            "metrics": {
                "train_reconstruction_nats": round(last.reconstruction, 3),
                "train_kl_nats": round(last.kl, 3),
                "heldout_reconstruction_nats": round(last.test_reconstruction or 0.0, 3),
                "heldout_kl_nats": round(last.test_kl or 0.0, 3),
            },
        })
