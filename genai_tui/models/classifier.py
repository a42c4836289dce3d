"""A small CNN that reads 28x28 digits: the judge of generated images.

Trained on our generated digits (`genai_tui.images.digits`) with *outlier
exposure* (Hendrycks et al., 2019): pixel noise, blobs and inverted digits are
trained towards the uniform distribution, so a low confidence means "this is
not a digit" rather than an arbitrary guess. The diffusion and GAN panes use
`classify` to say how many of their samples read as digits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from threading import Lock
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from genai_tui.errors import AssetError, UserError
from genai_tui.models.bundle import load_bundle, save_bundle
from genai_tui.paths import asset

ASSET_NAME = "classifier"


@dataclass
class ClassifierConfig:
    """Shape of the CNN. Saved in the card beside the weights."""

    channels: int = 16
    """Channels of the first conv block; the second has twice as many."""
    hidden: int = 64
    """Width of the hidden fully connected layer."""
    n_classes: int = 10

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class DigitClassifier(nn.Module):
    """conv-conv-pool, conv-conv-pool, linear-linear: (B, 1, 28, 28) -> logits (B, 10)."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 2c, 7, 7)
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * c * 7 * 7, config.hidden), nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(config.hidden, config.n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# -- training -----------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierEvent:
    """One training report (every ``log_every`` steps, and at the end)."""

    step: int
    steps: int
    loss: float
    """Mean training loss since the last report."""
    accuracy: float | None = None
    """Held-out accuracy (at evaluation points and at the end)."""
    elapsed: float = 0.0
    done: bool = False


def train_classifier(
    model: DigitClassifier,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    steps: int = 1500,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    outlier_fraction: float = 0.2,
    log_every: int = 50,
    eval_every: int = 500,
) -> Iterator[ClassifierEvent]:
    """Train ``model`` in place with Adam, yielding metric events."""
    from genai_tui.images.unusual import make_unusual

    if steps < 1:
        raise UserError("steps must be >= 1")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n_out = int(batch_size * outlier_fraction)
    outliers = torch.cat([make_unusual(2000, k, seed=seed + i)
                          for i, k in enumerate(("noise", "blobs", "inverted"))])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    start, running, count = time.perf_counter(), 0.0, 0
    for step in range(1, steps + 1):
        model.train()
        idx = torch.randint(0, train_images.shape[0], (batch_size - n_out,), generator=gen)
        x, y = train_images[idx], train_labels[idx]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if n_out:
            # Outlier exposure: push non-digits towards the uniform distribution.
            o = outliers[torch.randint(0, outliers.shape[0], (n_out,), generator=gen)]
            loss = loss + 0.5 * -F.log_softmax(model(o), dim=-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running, count = running + loss.item(), count + 1
        last = step == steps
        if step % log_every == 0 or last:
            acc = None
            if step % eval_every == 0 or last:
                acc = accuracy(model, test_images, test_labels)
            yield ClassifierEvent(step, steps, running / count, acc,
                                  time.perf_counter() - start, done=last)
            running, count = 0.0, 0


@torch.no_grad()
def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose top class equals the label."""
    model.eval()
    preds = torch.cat([model(images[i:i + 1000]).argmax(-1) for i in range(0, len(images), 1000)])
    return (preds == labels).float().mean().item()


# -- saving, loading, classifying ---------------------------------------------


def save_classifier(model: DigitClassifier, directory: str | Path, card: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` and ``card.json`` (``card`` gets the config added)."""
    card = {"model": "digit-classifier", **card, "config": asdict(model.config)}
    return save_bundle(directory, model.state_dict(), card)


_CACHE: dict[str, DigitClassifier] = {}
_LOCK = Lock()


def load_classifier(path: str | Path | None = None) -> DigitClassifier:
    """The classifier at ``path`` (default: the bundled one), in eval mode, cached.

    Raises:
        AssetError: missing or corrupt files.
    """
    directory = Path(path) if path is not None else asset(ASSET_NAME)
    key = str(directory.resolve())
    with _LOCK:
        if key not in _CACHE:
            state, card = load_bundle(directory)
            model = DigitClassifier(ClassifierConfig.from_dict(card["config"]))
            try:
                model.load_state_dict(state)
            except RuntimeError as e:
                raise AssetError(f"{directory}: weights do not match the card's config "
                                 f"({str(e).splitlines()[0]})") from None
            model.eval()
            model.card = card  # type: ignore[attr-defined]
            _CACHE[key] = model
        return _CACHE[key]


@torch.no_grad()
def classify(
    images: torch.Tensor, model: DigitClassifier | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read digits: (labels int64 (N,), confidences float (N,) = top softmax probability).

    ``images``: (N, 1, 28, 28) or (N, 28, 28), values in [0, 1] with ink = 1
    (values outside are clamped). Uses the bundled classifier unless ``model``.
    """
    model = model or load_classifier()
    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise UserError(f"classify expects (N, 1, 28, 28) images, got {tuple(images.shape)}")
    was_training = model.training
    model.eval()
    probs = torch.cat([F.softmax(model(x[i:i + 1000].clamp(0, 1)), dim=-1)
                       for i in range(0, x.shape[0], 1000)]) if len(x) else torch.zeros(0, 10)
    model.train(was_training)
    conf, labels = probs.max(dim=-1)
    return labels, conf
