"""A small CLIP: a text encoder and an image encoder trained into one embedding space.

Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision" (CLIP), section 2.3 and Figure 3's pseudocode: each encoder's
features go through a linear projection to a shared width and are
L2-normalised; the logits are the cosine similarities times a learned
temperature ``exp(logit_scale)``, initialised to 1/0.07 and clipped at 100;
the loss is the cross-entropy over the (B, B) similarity matrix along the rows
(image -> text) and along the columns (text -> image), averaged.

- Text: token ids (our BPE, plus one padding id = ``vocab_size``) through a
  small bidirectional pre-norm transformer with learned positions, then the
  mean over the real (non-padding) tokens. CLIP takes the end-of-text token
  instead; the mean makes a phrasing the model never saw ("drawn with a thin
  pen") land near the words it did see.
- Image: a small CNN on 28x28 (28 -> 14 -> 7 with two stride-2 convolutions),
  flattened, so where the ink is (size, slant) is kept, not pooled away.

Weights are safetensors plus ``card.json`` holding the `ClipConfig` and the
training record (`genai_tui.models.bundle`, as the other image models); nothing
is pickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from genai_tui.errors import AssetError
from genai_tui.models.bundle import load_bundle, save_bundle

MAX_LOGIT_SCALE = math.log(100.0)
"""CLIP clips the learned temperature so the logits are scaled by at most 100."""


@dataclass
class ClipConfig:
    """Shape of both encoders. Saved in ``card.json`` beside the weights."""

    vocab_size: int = 4096
    """Token ids of the tokenizer; id ``vocab_size`` is padding."""
    max_tokens: int = 32
    """Longest caption, in tokens (learned positions); longer ones are cut."""
    text_layers: int = 2
    """Transformer blocks of the text encoder."""
    text_heads: int = 4
    text_width: int = 64
    """Width of the text transformer; divisible by ``text_heads``."""
    image_channels: int = 16
    """Channels of the first convolution (the next two have twice as many)."""
    embed_dim: int = 64
    """Width of the shared, normalised embedding space."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise ValueError(f"{f.name} must be at least 1")
        if self.text_width % self.text_heads:
            raise ValueError(f"text_width {self.text_width} is not divisible by "
                             f"text_heads {self.text_heads}")

    @property
    def pad_id(self) -> int:
        return self.vocab_size

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> ClipConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class _Block(nn.Module):
    """Pre-norm transformer block, attention over every real token (no causal mask)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2)
                   for t in (q, k, v))  # (B, nh, T, hs)
        mask = keep[:, None, None, :]  # (B, 1, 1, T): queries see real keys only
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, nh, T, hs)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln_2(x))


class TextEncoder(nn.Module):
    """Token ids (B, T), padded with ``pad_id`` -> features (B, text_width)."""

    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size + 1, config.text_width)
        self.pos = nn.Embedding(config.max_tokens, config.text_width)
        self.blocks = nn.ModuleList(_Block(config.text_width, config.text_heads)
                                    for _ in range(config.text_layers))
        self.ln_f = nn.LayerNorm(config.text_width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids[:, : self.config.max_tokens]
        keep = ids != self.config.pad_id  # (B, T)
        keep[:, 0] = True  # an empty caption still has one position to attend to
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))  # (B, T, C)
        for block in self.blocks:
            x = block(x, keep)
        x = self.ln_f(x)
        w = keep.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        return (x * w).sum(1) / w.sum(1)  # (B, C): mean over real tokens


class ImageEncoder(nn.Module):
    """Images (B, 1, 28, 28) -> features (B, 4 * image_channels)."""

    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        c = config.image_channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.GELU(),  # (B, c, 28, 28)
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.GELU(),  # (B, 2c, 14, 14)
            nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.GELU(),  # (B, 2c, 7, 7)
            nn.Flatten(),  # (B, 2c * 49)
            nn.Linear(2 * c * 49, 4 * c), nn.GELU(),  # (B, 4c)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class CLIP(nn.Module):
    """Both encoders, their projections to ``embed_dim`` and the learned temperature."""

    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        self.config = config
        self.text = TextEncoder(config)
        self.image = ImageEncoder(config)
        self.text_proj = nn.Linear(config.text_width, config.embed_dim, bias=False)
        self.image_proj = nn.Linear(4 * config.image_channels, config.embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, embed_dim) unit vectors."""
        return F.normalize(self.text_proj(self.text(ids)), dim=-1)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, embed_dim) unit vectors."""
        return F.normalize(self.image_proj(self.image(images)), dim=-1)

    def scale(self) -> torch.Tensor:
        """exp(logit_scale), the logits' multiplier (1 / temperature), at most 100."""
        return self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    def forward(self, images: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Logits (B_images, B_texts): scaled cosine similarity of every pair."""
        return self.scale() * self.encode_image(images) @ self.encode_text(ids).T

    def loss(self, images: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The symmetric contrastive loss of a batch of matching (image, caption) pairs."""
        return contrastive_loss(self.encode_image(images), self.encode_text(ids), self.scale())

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor,
                     scale: torch.Tensor | float) -> torch.Tensor:
    """CLIP's loss: row i of each (B, D) batch is a matching pair (Figure 3).

    Mean of the cross-entropy of each image over the texts and of each text
    over the images; ln(B) when every similarity is the same.
    """
    logits = scale * image_emb @ text_emb.T  # (B, B)
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def pad_ids(rows: list[list[int]], config: ClipConfig) -> torch.Tensor:
    """Token id lists -> (B, T) int64, cut at ``max_tokens`` and padded with ``pad_id``."""
    longest = max(1, min(config.max_tokens, max((len(r) for r in rows), default=1)))
    out = torch.full((len(rows), longest), config.pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        r = r[:longest]
        if r:
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


# -- saving and loading (models/bundle.py: safetensors + card.json; never pickle) --


def save_clip(model: CLIP, directory: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write float32 ``model.safetensors`` and ``card.json`` (config added to ``card``)."""
    card = {"model": "clip", **(card or {}), "config": asdict(model.config),
            "parameters": model.num_params()}
    return save_bundle(directory, model.state_dict(), card)


def load_clip(directory: str | Path) -> CLIP:
    """The CLIP stored in ``directory``, in eval mode; ``model.card`` holds the card.

    Raises:
        AssetError: missing or corrupt files, or weights that do not fit the config.
    """
    state, card = load_bundle(directory)
    try:
        model = CLIP(ClipConfig.from_dict(card["config"]))
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, TypeError, ValueError) as e:
        raise AssetError(f"{directory}: weights do not match the card's config "
                         f"({str(e).splitlines()[0][:200]})") from None
    model.eval()
    model.card = card  # type: ignore[attr-defined]
    return model
