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


# -- junk for the judge's "not a digit" class (issue 15) ----------------------

JUNK_TRAIN_KINDS: tuple[str, ...] = ("noise", "blobs", "scribbles", "blends", "cutoff")
"""What the judge's reject class is trained on."""
JUNK_UNSEEN_KINDS: tuple[str, ...] = ("shapes", "inverted", "speckle")
"""Junk of kinds the judge never sees in training: its held-out rejection test."""


def make_junk(n: int, kind: str, seed: int = 0) -> torch.Tensor:
    """``n`` non-digit images (N, 1, 28, 28) of one ``kind``, deterministic by seed.

    ``scribbles``: 3-8 random pen strokes; ``blends``: two different digits
    mixed or overlaid; ``cutoff``: a digit with 40-60 % of it erased by a band;
    ``speckle``: sparse thick dots; plus every kind of `make_unusual`.
    """
    if kind in KINDS:
        return make_unusual(n, kind, seed=seed)
    rng = np.random.default_rng(seed)
    if kind == "scribbles":
        return _scribbles(n, rng)
    if kind == "blends":
        a = make_digits(n, seed=seed + 101)
        b = make_digits(n, seed=seed + 202)
        same = a.labels == b.labels
        b_img = b.images.clone()
        b_img[same] = torch.flip(b.images[same], dims=(-1, -2))  # never a digit with itself
        w = torch.from_numpy(rng.uniform(0.4, 0.6, (n, 1, 1, 1)).astype(np.float32))
        mix = w * a.images + (1 - w) * b_img
        over = torch.maximum(a.images, b_img)
        pick = torch.from_numpy(rng.random(n) < 0.5)[:, None, None, None]
        out = torch.where(pick, over, (mix / mix.amax(dim=(1, 2, 3), keepdim=True)
                                       .clamp_min(1e-6)).clamp(0, 1))
        return out
    if kind == "cutoff":
        img = make_digits(n, seed=seed + 303).images.clone()
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) - SIZE / 2 + 0.5
        for i in range(n):
            ang = rng.uniform(0, 2 * np.pi)
            off = rng.uniform(-3.0, 2.0)  # erase everything past a random line near the centre
            keep = (np.cos(ang) * xx + np.sin(ang) * yy) < off
            img[i, 0] *= torch.from_numpy(keep.astype(np.float32))
        return img
    if kind == "speckle":
        arr = np.zeros((n, SIZE, SIZE), dtype=np.float32)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
        for i in range(n):
            for _ in range(rng.integers(6, 16)):
                cx, cy = rng.uniform(3, 25, 2)
                r = rng.uniform(1.0, 2.2)
                arr[i] = np.maximum(arr[i], np.clip(r + 0.5 - np.hypot(xx - cx, yy - cy), 0, 1))
        return torch.from_numpy(arr)[:, None]
    raise UserError(f"unknown junk kind {kind!r}; use one of: "
                    f"{', '.join(JUNK_TRAIN_KINDS + JUNK_UNSEEN_KINDS)}")


def _scribbles(n: int, rng: np.random.Generator) -> torch.Tensor:
    from genai_tui.images.digits import _splat

    points = 96
    xy = np.empty((n, points, 2), dtype=np.float32)
    for i in range(n):
        k = int(rng.integers(3, 9))
        ctrl = rng.uniform(4, 24, (k, 2))
        t = np.linspace(0, k - 1, points)
        xy[i, :, 0] = np.interp(t, np.arange(k), ctrl[:, 0])
        xy[i, :, 1] = np.interp(t, np.arange(k), ctrl[:, 1])
    radius = torch.from_numpy(rng.uniform(0.75, 1.9, n).astype(np.float32))
    return _splat(torch.from_numpy(xy), radius).view(n, 1, SIZE, SIZE).clamp_(0, 1)
