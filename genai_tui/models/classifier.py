"""A small CNN that reads 28x28 digits: the judge of generated images.

Ten digit classes plus, when ``n_classes == 11``, an explicit reject class
(index `REJECT`, "not a digit"); a temperature fitted on held-out data
(Guo et al., 2017) calibrates the softmax. The training loop and its junk data
live in `genai_tui.service.classifier` (models never import images).
`classify` says which digit an image reads as and how sure the judge is;
`penultimate` gives the features the "digit FID" is computed on.
"""

from __future__ import annotations

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
REJECT = 10
"""Index of the "not a digit" class in an 11-class judge."""


@dataclass
class ClassifierConfig:
    """Shape of the CNN. Saved in the card beside the weights."""

    channels: int = 16
    """Channels of the first conv block; the second has twice as many."""
    hidden: int = 64
    """Width of the hidden fully connected layer."""
    n_classes: int = 10
    """10 digits, or 11: the digits plus the reject class "not a digit"."""
    temperature: float = 1.0
    """Softmax temperature fitted on held-out data (1 = uncalibrated)."""

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

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, hidden): the activations feeding the last layer."""
        return self.head[:-1](self.features(x))


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
    """Read digits: (labels int64 (N,), confidences float (N,)).

    ``labels`` is the most likely *digit* (0-9) and ``confidences`` its
    calibrated probability, so junk that the judge puts in its reject class
    gets a low confidence; see `judge_probs` for the full distribution.

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
    t = float(model.config.temperature)
    n_cls = model.config.n_classes
    probs = torch.cat([F.softmax(model(x[i:i + 1000].clamp(0, 1)) / t, dim=-1)
                       for i in range(0, x.shape[0], 1000)]) if len(x) else torch.zeros(0, n_cls)
    model.train(was_training)
    conf, labels = probs[:, :10].max(dim=-1)
    return labels, conf


@torch.no_grad()
def features(images: torch.Tensor, model: DigitClassifier | None = None) -> torch.Tensor:
    """Penultimate features (N, hidden) of ``images`` (N, 1, 28, 28) in [0, 1]."""
    model = model or load_classifier()
    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x[:, None]
    was_training = model.training
    model.eval()
    out = torch.cat([model.penultimate(x[i:i + 1000].clamp(0, 1))
                     for i in range(0, x.shape[0], 1000)]) if len(x) else \
        torch.zeros(0, model.config.hidden)
    model.train(was_training)
    return out
