"""Handwritten-style digits drawn from pen strokes: our own MNIST-like data (no downloads).

Each digit 0-9 has a few stroke templates (control points in a unit box). For
every sample the control points get jitter, the whole digit a random slant,
size, aspect, rotation and shift, and the densified stroke an elastic wobble;
then the stroke is rasterised, anti-aliased, at 28x28 (ink = 1, paper = 0).
Everything is drawn in batches with torch, so 20,000 digits take about a second.

Also here: loading user images (a folder of PNG/JPEG files or an ``.npz``) into
the same `DigitSet` shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genai_tui.errors import UserError

SIZE = 28
"""Images are SIZE x SIZE pixels."""

ATTRS = ("thickness", "slant", "size")
"""Attributes kept beside each generated image (later issues condition on them)."""


@dataclass
class DigitSet:
    """Images with labels and per-image attributes."""

    images: torch.Tensor
    """(N, 1, 28, 28) float32 in [0, 1], ink = 1."""
    labels: torch.Tensor
    """(N,) int64, the digit 0-9; -1 where unknown (user images without labels)."""
    attrs: dict[str, torch.Tensor] = field(default_factory=dict)
    """Per-image float32 (N,) tensors: ``thickness`` (stroke radius in pixels),
    ``slant`` (shear; > 0 leans right), ``size`` (scale; 1 = 20 px tall).
    Empty for loaded user images."""
    source: str = "generated"
    """Where the images came from: "generated", or the path they were loaded from."""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, index: slice | torch.Tensor | list[int]) -> DigitSet:
        """The images (and labels and attributes) at ``index``."""
        if isinstance(index, list):
            index = torch.tensor(index, dtype=torch.long)
        return DigitSet(
            images=self.images[index],
            labels=self.labels[index],
            attrs={k: v[index] for k, v in self.attrs.items()},
            source=self.source,
        )

    def split(self, n_test: int) -> tuple[DigitSet, DigitSet]:
        """(train, test): the last ``n_test`` images are the test part."""
        n = len(self)
        if not 0 < n_test < n:
            raise UserError(f"cannot hold out {n_test} of {n} images")
        return self.subset(slice(0, n - n_test)), self.subset(slice(n - n_test, n))


# ---------------------------------------------------------------------------
# Stroke templates. Coordinates: x to the right, y DOWN, the digit's box is
# about x in [-0.3, 0.3], y in [-0.5, 0.5] (height 1 = 20 px at size 1).
# A stroke is (kind, points): "s" = smooth Catmull-Rom curve through the
# points, "l" = straight polyline, "c" = closed smooth loop.


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list:
    """Points on an ellipse arc, angles in degrees (0 = right, 90 = down)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(a0, a1, n)
    ]


_TEMPLATES: dict[int, list[list[tuple[str, list]]]] = {
    0: [
        [("c", _arc(0, 0, 0.27, 0.48, -90, 240, 8))],
        [("c", _arc(0, 0, 0.22, 0.47, -100, 215, 7))],
        [("s", _arc(0.02, 0, 0.26, 0.47, -60, 310, 10))],
    ],
    1: [
        [("l", [(0.04, -0.5), (-0.02, 0.5)])],
        [("l", [(-0.14, -0.3), (0.05, -0.5), (-0.01, 0.5)])],
        [("l", [(-0.12, -0.32), (0.04, -0.5), (0.0, 0.5)]), ("l", [(-0.14, 0.5), (0.14, 0.5)])],
    ],
    2: [
        [
            ("s", [(-0.24, -0.28), (-0.12, -0.46), (0.06, -0.5), (0.22, -0.36),
                   (0.2, -0.12), (0.02, 0.12), (-0.26, 0.48)]),
            ("l", [(-0.26, 0.48), (0.28, 0.47)]),
        ],
        [
            ("s", [(-0.22, -0.32), (-0.02, -0.5), (0.2, -0.4), (0.18, -0.14),
                   (-0.08, 0.2), (-0.24, 0.46), (-0.02, 0.4), (0.28, 0.46)]),
        ],
    ],
    3: [
        [
            ("s", [(-0.22, -0.4), (0.0, -0.5), (0.2, -0.38), (0.16, -0.14), (-0.06, -0.02)]),
            ("s", [(-0.06, -0.02), (0.18, 0.1), (0.22, 0.34), (0.02, 0.5), (-0.24, 0.4)]),
        ],
        [
            ("l", [(-0.22, -0.5), (0.22, -0.5), (-0.04, -0.06)]),
            ("s", [(-0.04, -0.06), (0.18, 0.06), (0.23, 0.3), (0.04, 0.5), (-0.24, 0.42)]),
        ],
    ],
    4: [
        [("l", [(0.1, -0.5), (-0.28, 0.16), (0.3, 0.16)]), ("l", [(0.12, -0.32), (0.12, 0.5)])],
        [("l", [(-0.2, -0.5), (-0.24, 0.08), (0.28, 0.08)]), ("l", [(0.14, -0.4), (0.14, 0.5)])],
        [("l", [(0.12, -0.5), (-0.28, 0.16), (0.3, 0.16)]), ("l", [(0.12, -0.5), (0.12, 0.5)])],
    ],
    5: [
        [
            ("l", [(0.24, -0.5), (-0.16, -0.5), (-0.2, -0.06)]),
            ("s", [(-0.2, -0.06), (0.04, -0.12), (0.24, 0.04), (0.24, 0.3), (0.04, 0.5),
                   (-0.24, 0.4)]),
        ],
        [
            ("l", [(-0.16, -0.5), (-0.2, -0.04)]),
            ("s", [(-0.2, -0.04), (0.06, -0.1), (0.25, 0.1), (0.2, 0.36), (-0.02, 0.5),
                   (-0.24, 0.38)]),
            ("l", [(-0.16, -0.5), (0.24, -0.48)]),
        ],
    ],
    6: [
        [("s", [(0.18, -0.5), (-0.06, -0.34), (-0.22, -0.02), (-0.22, 0.3), (-0.02, 0.5),
                (0.2, 0.36), (0.2, 0.1), (0.0, -0.02), (-0.22, 0.14)])],
        [("s", [(0.1, -0.5), (-0.12, -0.2), (-0.2, 0.16), (-0.1, 0.46), (0.14, 0.44),
                (0.2, 0.18), (0.0, 0.04), (-0.18, 0.2)])],
    ],
    7: [
        [("l", [(-0.25, -0.5), (0.27, -0.5), (-0.06, 0.5)])],
        [("l", [(-0.25, -0.48), (0.27, -0.5)]),
         ("s", [(0.27, -0.5), (0.12, -0.12), (0.0, 0.2), (-0.04, 0.5)])],
        [("l", [(-0.25, -0.5), (0.27, -0.5), (-0.04, 0.5)]), ("l", [(-0.08, 0.0), (0.2, 0.0)])],
    ],
    8: [
        [("c", [(0.0, -0.03), (-0.18, -0.16), (-0.18, -0.38), (0.0, -0.5), (0.18, -0.38),
                (0.16, -0.16), (0.0, -0.03), (-0.22, 0.14), (-0.22, 0.38), (0.0, 0.5),
                (0.22, 0.38), (0.22, 0.14)])],
        [("c", _arc(0, -0.26, 0.17, 0.23, -90, 240, 7)),
         ("c", _arc(0, 0.24, 0.22, 0.26, -90, 240, 7))],
    ],
    9: [
        [("c", _arc(0, -0.24, 0.22, 0.25, 0, 315, 7)), ("l", [(0.22, -0.24), (0.18, 0.5)])],
        [("c", _arc(-0.02, -0.26, 0.2, 0.23, 0, 315, 7)),
         ("s", [(0.18, -0.26), (0.16, 0.1), (0.08, 0.38), (-0.12, 0.48)])],
    ],
}

_PX_PER_UNIT = 20.0
_SPACING_PX = 0.75  # dense point spacing at the largest size: stroke edge error < 0.1 px
_SPLAT = 3  # pixel neighbourhood radius around each dense point (covers radius <= 2.5)
_RAMP = 1.1  # anti-aliasing ramp width in pixels
_MAX_CTRL = 16  # control points per template, at most


@dataclass
class _Plan:
    """One template compiled to matrices: dense points = M @ unique control points."""

    ctrl: np.ndarray  # (K, 2) unique control points
    matrix: np.ndarray  # (D, K) Catmull-Rom / linear interpolation weights


def _catmull_rom_rows(n_ctrl: int, closed: bool, steps: list[int]) -> np.ndarray:
    """Weights (D, n_ctrl) that sample a uniform Catmull-Rom spline through the points."""
    rows = []
    n_iv = n_ctrl if closed else n_ctrl - 1
    for i in range(n_iv):
        for s in range(steps[i]):
            t = s / steps[i]
            w = np.zeros(n_ctrl)
            basis = (
                0.5 * (-t**3 + 2 * t**2 - t),
                0.5 * (3 * t**3 - 5 * t**2 + 2),
                0.5 * (-3 * t**3 + 4 * t**2 + t),
                0.5 * (t**3 - t**2),
            )
            for b, j in zip(basis, (i - 1, i, i + 1, i + 2), strict=True):
                if closed:
                    w[j % n_ctrl] += b
                elif j < 0:  # reflected phantom point P_-1 = 2 P_0 - P_1
                    w[0] += 2 * b
                    w[1] -= b
                elif j >= n_ctrl:  # P_n = 2 P_{n-1} - P_{n-2}
                    w[n_ctrl - 1] += 2 * b
                    w[n_ctrl - 2] -= b
                else:
                    w[j] += b
            rows.append(w)
    end = np.zeros(n_ctrl)
    end[0 if closed else n_ctrl - 1] = 1.0
    rows.append(end)
    return np.stack(rows)


def _linear_rows(n_ctrl: int, steps: list[int]) -> np.ndarray:
    rows = []
    for i in range(n_ctrl - 1):
        for s in range(steps[i]):
            t = s / steps[i]
            w = np.zeros(n_ctrl)
            w[i], w[i + 1] = 1 - t, t
            rows.append(w)
    end = np.zeros(n_ctrl)
    end[-1] = 1.0
    rows.append(end)
    return np.stack(rows)


def _compile(strokes: list[tuple[str, list]]) -> _Plan:
    # Strokes that share a point (a corner, a junction) share one control point,
    # so jitter moves both ends together and the pen never leaves a gap.
    keys: dict[tuple[float, float], int] = {}
    ctrl: list[tuple[float, float]] = []
    blocks: list[tuple[np.ndarray, list[int]]] = []
    px_max = _PX_PER_UNIT * 1.3
    for kind, pts in strokes:
        idx = []
        for p in pts:
            key = (round(p[0], 4), round(p[1], 4))
            if key not in keys:
                keys[key] = len(ctrl)
                ctrl.append(key)
            idx.append(keys[key])
        arr = np.array([ctrl[i] for i in idx])
        closed = kind == "c"
        seg = np.roll(arr, -1, axis=0) - arr if closed else arr[1:] - arr[:-1]
        # Catmull-Rom curves run longer than their chords; 1.2 keeps the spacing under _SPACING_PX.
        factor = 1.0 if kind == "l" else 1.2
        steps = [max(1, math.ceil(factor * np.hypot(*d) * px_max / _SPACING_PX)) for d in seg]
        local = _linear_rows(len(idx), steps) if kind == "l" else _catmull_rom_rows(
            len(idx), closed, steps)
        blocks.append((local, idx))
    matrix = np.zeros((sum(b.shape[0] for b, _ in blocks), len(ctrl)))
    row = 0
    for local, idx in blocks:
        for c, k in enumerate(idx):
            matrix[row:row + local.shape[0], k] += local[:, c]
        row += local.shape[0]
    return _Plan(ctrl=np.array(ctrl, dtype=np.float64), matrix=matrix)


_PLANS: dict[int, list[_Plan]] = {}


def _plans() -> dict[int, list[_Plan]]:
    if not _PLANS:
        for digit, variants in _TEMPLATES.items():
            _PLANS[digit] = [_compile(v) for v in variants]
    return _PLANS


def make_digits(n: int, seed: int = 0) -> DigitSet:
    """Draw ``n`` handwritten-style digits (labels balanced 0-9, shuffled).

    The same ``(n, seed)`` always gives the same images, labels and attributes.
    """
    if n < 0:
        raise UserError("the number of digits must be >= 0")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    thickness = rng.uniform(0.75, 1.9, n)
    slant = rng.uniform(-0.35, 0.35, n)
    size = rng.uniform(0.8, 1.15, n)
    aspect = rng.uniform(0.8, 1.25, n)
    rotation = rng.normal(0.0, 0.08, n)
    shift = rng.uniform(-1.2, 1.2, (n, 2))
    variant_u = rng.random(n)
    # Elastic field: three smooth sine waves per axis, about 0.6 px in all.
    wave_freq = rng.normal(0.0, 2 * math.pi / 22, (n, 2, 3, 2))
    wave_phase = rng.uniform(0, 2 * math.pi, (n, 2, 3))
    wave_amp = rng.uniform(0.0, 0.45, (n, 2, 3))
    jitter = rng.normal(0.0, 0.028, (n, _MAX_CTRL, 2))

    images = torch.zeros(n, SIZE * SIZE)
    plans = _plans()
    for digit in range(10):
        variants = plans[digit]
        which = np.minimum((variant_u * len(variants)).astype(int), len(variants) - 1)
        for v, plan in enumerate(variants):
            sel = np.nonzero((labels == digit) & (which == v))[0]
            if sel.size == 0:
                continue
            k = plan.ctrl.shape[0]
            ctrl = plan.ctrl[None] + jitter[sel, :k]  # (B, K, 2)
            pts = np.einsum("dk,bkc->bdc", plan.matrix, ctrl)  # (B, D, 2) units
            x = pts[..., 0] * aspect[sel, None]
            y = pts[..., 1]
            x = x - slant[sel, None] * y  # shear: the top leans right when slant > 0
            cos, sin = np.cos(rotation[sel])[:, None], np.sin(rotation[sel])[:, None]
            x, y = cos * x - sin * y, sin * x + cos * y
            scale = (_PX_PER_UNIT * size[sel])[:, None]
            x = x * scale + SIZE / 2 + shift[sel, 0, None]
            y = y * scale + SIZE / 2 + shift[sel, 1, None]
            xy = np.stack([x, y], -1)  # (B, D, 2) pixels
            phase = np.einsum("bawc,bdc->badw", wave_freq[sel], xy) + wave_phase[sel][:, :, None]
            disp = (wave_amp[sel][:, :, None] * np.sin(phase)).sum(-1)  # (B, 2, D)
            xy = xy + disp.transpose(0, 2, 1)
            images[torch.from_numpy(sel)] = _splat(
                torch.from_numpy(xy).float(), torch.from_numpy(thickness[sel]).float())
    return DigitSet(
        images=images.view(n, 1, SIZE, SIZE).clamp_(0.0, 1.0),
        labels=torch.from_numpy(labels.astype(np.int64)),
        attrs={
            "thickness": torch.from_numpy(thickness).float(),
            "slant": torch.from_numpy(slant).float(),
            "size": torch.from_numpy(size).float(),
        },
    )


_CANVAS = SIZE + 2 * _SPLAT + 2  # padded canvas: clamped stray points land outside the crop
_OFFSET_X = torch.arange(-_SPLAT, _SPLAT + 1, dtype=torch.float32)  # (w,)
_OFFSET_INDEX = (_OFFSET_X[:, None] * _CANVAS + _OFFSET_X[None, :]).long().reshape(-1)  # (w*w,)


def _splat(xy: torch.Tensor, radius: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Rasterise dense stroke points (B, D, 2) as anti-aliased discs -> (B, 784).

    A pixel's ink is a ramp in its distance to the nearest stroke point: 1
    inside ``radius``, falling to 0 over ``_RAMP`` pixels. The nearest distance
    is gathered with one ``scatter_reduce(amin)`` of squared distances over each
    point's pixel neighbourhood, so the ramp is computed once per pixel.
    """
    out = torch.empty(xy.shape[0], SIZE * SIZE)
    pad = _SPLAT + 1
    w = _OFFSET_X.numel()
    for lo in range(0, xy.shape[0], chunk):
        p = xy[lo:lo + chunk] + pad  # (b, D, 2) in canvas pixels
        b, d = p.shape[:2]
        cell = p.floor().clamp_(_SPLAT, _CANVAS - 1 - _SPLAT)
        frac = p - cell - 0.5  # (b, D, 2) point position relative to its pixel centre
        dx2 = (_OFFSET_X - frac[..., 0:1]).square_()  # (b, D, w)
        dy2 = (_OFFSET_X - frac[..., 1:2]).square_()  # (b, D, w)
        d2 = (dy2[..., :, None] + dx2[..., None, :]).reshape(b, d, w * w)  # rows = dy
        base = (cell[..., 1] * _CANVAS + cell[..., 0]).long()  # (b, D)
        base += torch.arange(b)[:, None] * (_CANVAS * _CANVAS)
        index = (base[..., None] + _OFFSET_INDEX).reshape(-1)
        nearest = torch.full((b * _CANVAS * _CANVAS,), 1e4)
        nearest.scatter_reduce_(0, index, d2.reshape(-1), reduce="amin")
        nearest = nearest.view(b, _CANVAS, _CANVAS)[:, pad:pad + SIZE, pad:pad + SIZE]
        ink = (radius[lo:lo + chunk, None, None] - nearest.sqrt()) / _RAMP + 0.5
        out[lo:lo + b] = ink.clamp_(0.0, 1.0).reshape(b, -1)
    return out


# ---------------------------------------------------------------------------
# User images.

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def load_images(path: str | Path, size: int = SIZE) -> DigitSet:
    """Load a folder of PNG/JPEG images or an ``.npz`` file as a `DigitSet`.

    Images are converted to grayscale, resized to ``size`` x ``size`` and made
    ink = 1 (dark-on-light pictures are inverted). Labels come from the npz
    (``labels``/``y``/``y_train``), or from a sub-folder or file name starting
    with a digit (``3/a.png``, ``3_a.png``); otherwise -1.

    Raises:
        UserError: the path is missing, unreadable, or holds no usable image.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"no such file or folder: {p}")
    if p.is_dir():
        return _load_folder(p, size)
    if p.suffix.lower() == ".npz":
        return _load_npz(p, size)
    if p.suffix.lower() in _IMAGE_SUFFIXES:
        return _from_pil_list([p], size, str(p))
    raise UserError(f"{p}: expected a folder of PNG/JPEG images or an .npz file")


def _label_from(path: Path, root: Path) -> int:
    for name in (path.parent.name if path.parent != root else "", path.stem):
        if name[:1].isdigit() and (len(name) == 1 or not name[1:2].isdigit()):
            return int(name[0])
    return -1


def _load_folder(root: Path, size: int) -> DigitSet:
    files = sorted(
        f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{root}: no PNG or JPEG images in this folder")
    return _from_pil_list(files, size, str(root), root)


def _from_pil_list(files: list[Path], size: int, source: str, root: Path | None = None) -> DigitSet:
    from PIL import Image, UnidentifiedImageError

    arrays, labels = [], []
    for f in files:
        try:
            with Image.open(f) as im:
                im = im.convert("L").resize((size, size), Image.Resampling.BILINEAR)
                arrays.append(np.asarray(im, dtype=np.float32) / 255.0)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise UserError(f"{f}: not a readable image ({type(e).__name__})") from None
        labels.append(_label_from(f, root if root is not None else f.parent))
    images = _ink_is_one(np.stack(arrays))
    return DigitSet(
        images=torch.from_numpy(images).float()[:, None],
        labels=torch.tensor(labels, dtype=torch.int64),
        source=source,
    )


def _load_npz(path: Path, size: int) -> DigitSet:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"{path}: not a readable .npz file ({type(e).__name__})") from None
    image_key = next((k for k in ("images", "x", "x_train", "X", "arr_0") if k in arrays), None)
    if image_key is None:
        raise UserError(f"{path}: no 'images' (or 'x', 'x_train') array in the .npz")
    x = arrays[image_key]
    if x.dtype.kind not in "uif" or x.ndim not in (3, 4) or x.shape[0] == 0:
        raise UserError(f"{path}: '{image_key}' must be numeric, shaped (N, H, W) or (N, 1, H, W)")
    if x.ndim == 4:
        if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
            x = np.moveaxis(x, -1, 1)
        x = x.mean(axis=1) if x.shape[1] == 3 else x[:, 0]
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise UserError(f"{path}: '{image_key}' holds NaN or infinite values")
    if x.max() > 1.0:
        x = x / 255.0
    x = np.clip(x, 0.0, 1.0)
    t = torch.from_numpy(np.ascontiguousarray(x))[:, None]
    if t.shape[-2:] != (size, size):
        t = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear",
                                            antialias=True, align_corners=False)
    images = _ink_is_one(t[:, 0].numpy())
    label_key = next((k for k in ("labels", "y", "y_train") if k in arrays), None)
    if label_key is not None:
        y = arrays[label_key]
        if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
            raise UserError(f"{path}: '{label_key}' must be integers, one per image")
        labels = torch.from_numpy(y.astype(np.int64))
    else:
        labels = torch.full((x.shape[0],), -1, dtype=torch.int64)
    return DigitSet(images=torch.from_numpy(images).float()[:, None].clamp_(0, 1),
                    labels=labels, source=str(path))


def _ink_is_one(images: np.ndarray) -> np.ndarray:
    """Invert images drawn dark on light (judged by the mean of their border)."""
    border = np.concatenate(
        [images[:, 0, :], images[:, -1, :], images[:, :, 0], images[:, :, -1]], axis=1)
    light = border.mean(axis=1) > 0.5
    images = images.copy()
    images[light] = 1.0 - images[light]
    return images
