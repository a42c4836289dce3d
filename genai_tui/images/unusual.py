"""Images that are not digits: for anomaly detection and outlier exposure.

Kinds: ``noise`` (uniform pixel noise), ``blobs`` (smooth random blobs),
``inverted`` (generated digits, ink and paper swapped), ``shapes`` (circles,
rectangles, triangles, outlined or filled). Deterministic by seed.
"""

from __future__ import annotations

import numpy as np
import torch

from genai_tui.errors import UserError
from genai_tui.images.digits import SIZE, make_digits

KINDS: tuple[str, ...] = ("noise", "blobs", "inverted", "shapes")


def make_unusual(n: int, kind: str, seed: int = 0) -> torch.Tensor:
    """``n`` images (N, 1, 28, 28) in [0, 1] of one unusual ``kind``."""
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    if kind == "noise":
        arr = rng.random((n, SIZE, SIZE))
    elif kind == "blobs":
        arr = _blobs(n, rng)
    elif kind == "inverted":
        arr = 1.0 - make_digits(n, seed=seed + 7919).images[:, 0].numpy()
    else:
        arr = _shapes(n, rng)
    return torch.from_numpy(np.asarray(arr, dtype=np.float32)).clamp_(0, 1)[:, None]


def make_unusual_mix(n: int, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """``n`` unusual images cycling through all kinds, and each image's kind."""
    kinds = [KINDS[i % len(KINDS)] for i in range(n)]
    out = torch.empty(n, 1, SIZE, SIZE)
    for j, kind in enumerate(KINDS):
        idx = [i for i, k in enumerate(kinds) if k == kind]
        if idx:
            out[idx] = make_unusual(len(idx), kind, seed=seed + j)
    return out, kinds


def _blobs(n: int, rng: np.random.Generator) -> np.ndarray:
    coarse = torch.from_numpy(rng.random((n, 1, 5, 5)).astype(np.float32))
    smooth = torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bicubic",
                                             align_corners=False)[:, 0].numpy()
    cut = rng.uniform(0.45, 0.7, (n, 1, 1))
    return np.clip((smooth - cut) * 6.0, 0.0, 1.0)


def _shapes(n: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    out = np.zeros((n, SIZE, SIZE), dtype=np.float32)
    for i in range(n):
        cx, cy = rng.uniform(9, 19, 2)
        r = rng.uniform(5, 11)
        shape = rng.integers(0, 3)
        if shape == 0:  # circle: signed distance to the rim
            sd = np.hypot(xx - cx, yy - cy) - r
        elif shape == 1:  # axis-aligned rectangle
            hx, hy = r, rng.uniform(4, 11)
            sd = np.maximum(np.abs(xx - cx) - hx, np.abs(yy - cy) - hy)
        else:  # triangle pointing up: three half-planes
            d1 = (yy - (cy + r * 0.6))
            d2 = (-(xx - cx) * 0.87 - (yy - cy) * 0.5 - r * 0.5)
            d3 = ((xx - cx) * 0.87 - (yy - cy) * 0.5 - r * 0.5)
            sd = np.maximum(np.maximum(d1, d2), d3)
        if rng.random() < 0.5:  # filled
            out[i] = np.clip(0.5 - sd, 0, 1)
        else:  # outline, 1.5-2.5 px wide
            out[i] = np.clip(rng.uniform(0.8, 1.3) + 0.5 - np.abs(sd), 0, 1)
    return out
