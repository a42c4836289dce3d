"""Toy 2-D point distributions for the GAN (GAN Lab's playground), and user CSV files.

Each data set is a pool of points drawn once for a seed, plus "modes": a few
centres with a radius and a weight. A generated sample inside a centre's radius
lands on that mode; the GAN service counts covered modes to flag mode collapse.
For clustered sets (ring, grid) the modes are the Gaussians; for curves
(spiral, moons, line) they are evenly spaced stretches of the curve; for a
user's CSV file, k-means clusters.

Pure numpy: no torch, no Textual.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genai_tui.errors import UserError

DATASETS: tuple[str, ...] = ("ring", "grid", "spiral", "moons", "line")
"""Built-in distributions, in menu order."""

DESCRIPTIONS: dict[str, str] = {
    "ring": "8 Gaussians on a circle",
    "grid": "5x5 grid of Gaussians",
    "spiral": "a noisy spiral arm",
    "moons": "two interleaved half circles",
    "line": "a noisy line segment",
}

MAX_CSV_POINTS = 1_000_000
MAX_CSV_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class PointSet:
    """A 2-D distribution: a pool of samples and the modes used to score coverage."""

    name: str
    points: np.ndarray
    """(N, 2) float32 samples of the real distribution."""
    centres: np.ndarray
    """(K, 2) float32 mode centres."""
    radii: np.ndarray
    """(K,) float32: a sample within ``radii[k]`` of ``centres[k]`` lands on mode k."""
    weights: np.ndarray
    """(K,) float32, sums to 1: the share of real samples on each mode."""
    box: tuple[float, float, float, float]
    """(x_min, x_max, y_min, y_max): a square view that holds the data with a margin."""

    @property
    def n_modes(self) -> int:
        return int(self.centres.shape[0])


def _square_box(points: np.ndarray, margin: float = 1.2) -> tuple[float, float, float, float]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2
    half = float(max(hi - lo)) / 2 * margin
    half = max(half, 1e-3)
    return (float(centre[0] - half), float(centre[0] + half),
            float(centre[1] - half), float(centre[1] + half))


def _curve_modes(curve, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """k centres evenly spaced in the curve parameter t in [0, 1], radius half the spacing."""
    t = (np.arange(k) + 0.5) / k
    centres = curve(t)
    fine = curve(np.linspace(0, 1, 400))
    length = float(np.linalg.norm(np.diff(fine, axis=0), axis=1).sum())
    radii = np.full(k, 0.5 * length / k)
    return centres, radii


def make_points(name: str, n: int = 20_000, seed: int = 0) -> PointSet:
    """Draw ``n`` points of a built-in distribution (deterministic for ``seed``).

    Raises:
        UserError: unknown name.
    """
    if name not in DATASETS:
        raise UserError(f"unknown data set {name!r}; use one of: {', '.join(DATASETS)} "
                        "(or the path of a CSV file of x,y points)")
    rng = np.random.default_rng(seed)
    if name == "ring":
        std = 0.05
        angles = 2 * math.pi * np.arange(8) / 8
        centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
        which = rng.integers(0, 8, n)
        pts = centres[which] + rng.normal(0, std, (n, 2))
        radii = np.full(8, 3 * std)
    elif name == "grid":
        std = 0.05
        axis = np.linspace(-2, 2, 5)
        centres = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
        which = rng.integers(0, 25, n)
        pts = centres[which] + rng.normal(0, std, (n, 2))
        radii = np.full(25, 3 * std)
    elif name == "spiral":
        def curve(t):
            angle = 0.5 * math.pi + 3 * math.pi * t
            r = 0.3 + 1.9 * t
            return np.stack([r * np.cos(angle), r * np.sin(angle)], 1)
        # Uniform in arc length, roughly: sample t with density proportional to r.
        u = rng.random(n)
        t = (np.sqrt(0.3**2 + (2.2**2 - 0.3**2) * u) - 0.3) / 1.9
        pts = curve(t) + rng.normal(0, 0.05, (n, 2))
        centres, radii = _curve_modes(curve)
    elif name == "moons":
        def curve(t):
            # t in [0, 0.5): upper moon; [0.5, 1]: lower moon (sklearn's make_moons, scaled).
            upper = t < 0.5
            theta = np.where(upper, t * 2, (t - 0.5) * 2) * math.pi
            x = np.where(upper, np.cos(theta), 1 - np.cos(theta))
            y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
            return 1.6 * np.stack([x - 0.5, y - 0.25], 1)
        pts = curve(rng.random(n)) + rng.normal(0, 0.06, (n, 2))
        centres = curve((np.arange(8) + 0.5) / 8)
        radii = np.full(8, 1.6 * math.pi / 4 / 2)  # half the spacing: 4 modes per half circle
    else:  # line
        def curve(t):
            x = -2 + 4 * t
            return np.stack([x, 0.5 * x], 1)
        pts = curve(rng.random(n)) + rng.normal(0, 0.04, (n, 2))
        centres, radii = _curve_modes(curve)
    k = centres.shape[0]
    return PointSet(
        name=name,
        points=pts.astype(np.float32),
        centres=centres.astype(np.float32),
        radii=radii.astype(np.float32),
        weights=np.full(k, 1 / k, dtype=np.float32),
        box=_square_box(pts),
    )


def read_points_csv(path: str | Path) -> np.ndarray:
    """Read x,y points from a CSV file: one point per line, an optional header line,
    blank lines and lines starting with ``#`` ignored.

    Raises:
        UserError: unreadable file, or a malformed line (the message names its number).
    """
    p = Path(path).expanduser()
    try:
        if p.stat().st_size > MAX_CSV_BYTES:
            raise UserError(f"{p}: larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
        handle = p.open(newline="", encoding="utf-8-sig")  # -sig: drop a BOM
    except UserError:
        raise
    except OSError as e:
        raise UserError(f"cannot read {p}: {e.strerror or e}") from None
    rows: list[tuple[float, float]] = []
    seen_data_or_header = False
    try:
        with handle:
            reader = csv.reader(handle)
            for fields in reader:
                lineno = reader.line_num
                cells = [c.strip() for c in fields]
                if not any(cells) or cells[0].startswith("#"):
                    continue
                numbers = _parse_row(cells)
                if numbers is None:
                    if (not seen_data_or_header and len(cells) == 2
                            and not any(_is_number(c) for c in cells)):
                        seen_data_or_header = True  # a header such as "x,y"
                        continue
                    shown = ",".join(cells)
                    if len(shown) > 40:
                        shown = shown[:40] + "…"
                    raise UserError(f"{p}: line {lineno}: expected two numbers x,y, "
                                    f"got {shown!r}")
                seen_data_or_header = True
                rows.append(numbers)
                if len(rows) > MAX_CSV_POINTS:
                    raise UserError(f"{p}: more than {MAX_CSV_POINTS} points")
    except UnicodeDecodeError:
        raise UserError(f"{p}: not a UTF-8 text file") from None
    except csv.Error as e:
        raise UserError(f"{p}: malformed CSV: {e}") from None
    if len(rows) < 2:
        raise UserError(f"{p}: needs at least 2 points, found {len(rows)}")
    pts = np.asarray(rows, dtype=np.float64)
    if float(np.ptp(pts, axis=0).max()) == 0.0:
        raise UserError(f"{p}: all points are the same")
    return pts


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_row(cells: list[str]) -> tuple[float, float] | None:
    if len(cells) != 2:
        return None
    try:
        x, y = float(cells[0]), float(cells[1])
    except ValueError:
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return (x, y)


def points_from_array(raw: np.ndarray, name: str = "csv", seed: int = 0,
                      k: int = 8) -> PointSet:
    """A `PointSet` from user points: standardised (zero mean, largest axis std 1, so
    the GAN's learning rates suit it) with k-means clusters as the modes."""
    raw = np.asarray(raw, dtype=np.float64)
    mean = raw.mean(axis=0)
    scale = float(raw.std(axis=0).max()) or 1.0
    pts = (raw - mean) / scale
    centres, labels = _kmeans(pts, min(k, len(np.unique(pts, axis=0))), seed)
    kk = centres.shape[0]
    counts = np.bincount(labels, minlength=kk).astype(np.float64)
    radii = np.empty(kk)
    for j in range(kk):
        members = pts[labels == j]
        rms = float(np.sqrt(((members - centres[j]) ** 2).sum(1).mean())) if len(members) else 0
        radii[j] = max(2 * rms, 0.05)
    return PointSet(
        name=name,
        points=pts.astype(np.float32),
        centres=centres.astype(np.float32),
        radii=radii.astype(np.float32),
        weights=(counts / counts.sum()).astype(np.float32),
        box=_square_box(pts),
    )


def load_points(data: str, n: int = 20_000, seed: int = 0) -> PointSet:
    """A built-in distribution by name, or the points of a CSV file by path."""
    if data in DATASETS:
        return make_points(data, n=n, seed=seed)
    if data.lower().endswith(".csv") or Path(data).expanduser().is_file():
        return points_from_array(read_points_csv(data), name=Path(data).name, seed=seed)
    if Path(data).expanduser().is_dir():
        raise UserError(f"{data} is a folder: give a CSV file of x,y points, or one of: "
                        f"{', '.join(DATASETS)}")
    return make_points(data, n=n, seed=seed)  # raises the "unknown data set" error


def _kmeans(pts: np.ndarray, k: int, seed: int, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Plain Lloyd's k-means with k-means++ seeding (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    sample = pts if len(pts) <= 20_000 else pts[rng.choice(len(pts), 20_000, replace=False)]
    centres = [sample[rng.integers(len(sample))]]
    for _ in range(1, k):
        d2 = np.min(((sample[:, None] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        if total <= 0:
            break
        centres.append(sample[rng.choice(len(sample), p=d2 / total)])
    c = np.asarray(centres)
    for _ in range(iters):
        labels = ((sample[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        new = np.stack([sample[labels == j].mean(0) if np.any(labels == j) else c[j]
                        for j in range(len(c))])
        if np.allclose(new, c):
            break
        c = new
    labels = np.concatenate([((chunk[:, None] - c[None]) ** 2).sum(-1).argmin(1)
                             for chunk in np.array_split(pts, max(1, len(pts) // 50_000))])
    return c, labels


def coverage(samples: np.ndarray, data: PointSet,
             min_share: float = 0.25) -> tuple[int, float, int]:
    """How well ``samples`` (M, 2) cover the modes of ``data``.

    A mode is covered when at least ``min_share`` of its fair share of the
    samples (its weight times M) lands within its radius. A mode is reached
    when that share of samples has it as the nearest mode, however far away:
    a generator that spreads its mass over few modes' regions reaches few,
    which is mode collapse whether or not its samples are sharp yet.

    Returns:
        (modes covered, fraction of samples on some mode, modes reached).
    """
    d2 = ((samples[:, None, :] - data.centres[None]) ** 2).sum(-1)  # (M, K)
    nearest = d2.argmin(1)
    close = d2[np.arange(len(samples)), nearest] <= data.radii[nearest] ** 2
    fair = min_share * data.weights * len(samples)
    covered = int((np.bincount(nearest[close], minlength=data.n_modes) >= fair).sum())
    reached = int((np.bincount(nearest, minlength=data.n_modes) >= fair).sum())
    quality = float(close.mean()) if len(samples) else 0.0
    return covered, quality, reached


def histogram(points: np.ndarray, box: tuple[float, float, float, float],
              bins: int = 32) -> np.ndarray:
    """Normalised 2-D histogram over ``box``; points outside land in the edge bins."""
    x0, x1, y0, y1 = box
    ix = np.clip(((points[:, 0] - x0) / (x1 - x0) * bins).astype(np.int64), 0, bins - 1)
    iy = np.clip(((points[:, 1] - y0) / (y1 - y0) * bins).astype(np.int64), 0, bins - 1)
    h = np.bincount(iy * bins + ix, minlength=bins * bins).astype(np.float64)
    return h / max(h.sum(), 1.0)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = same, 1 = disjoint) of two histograms."""
    p = p.ravel() / p.sum()
    q = q.ravel() / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        # m can underflow to 0 beside a subnormal a; such terms are ~0 anyway.
        nz = (a > 0) & (m > 0)
        return float((a[nz] * np.log2(a[nz] / m[nz])).sum())

    return min(1.0, max(0.0, 0.5 * kl(p) + 0.5 * kl(q)))
