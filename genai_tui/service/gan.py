"""GAN training service: what the GAN pane and `genai-tui gan train` drive.

A `GanTrainer` holds a generator, a discriminator, their optimisers and the
data. Every call to `step`, `step_d` or `step_g` performs real updates and
returns one `GanEvent` (the metric record); `train(n)` is the same as an
iterator. The trainer is plain stateful Python, so the caller decides the
pace: the pane's worker pulls steps while playing and stops pulling to pause.
A trainer is not thread-safe: drive it from one thread at a time.

Determinism: weights, batches and noise come from `torch.Generator`s seeded
from `GanSettings.seed` (never the global RNG), so the same settings give the
same events, step for step.

No Textual here, and torch is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from genai_tui.errors import UserError

MODES: tuple[str, ...] = ("points", "images")
""""points": 2-D toy distributions; "images": 28x28 digits."""
LOSSES: tuple[str, ...] = ("non-saturating", "least-squares")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")

EVAL_SAMPLES = 4096
"""Generated points (from a fixed z) behind the divergence and coverage estimates."""
HIST_BINS = 32
"""The divergence estimate compares HIST_BINS x HIST_BINS histograms."""
POOL_POINTS = 20_000
"""Real points drawn once per seed; training batches are drawn from this pool."""
COLLAPSE_WARMUP = 300
"""No mode-collapse flag before this many G updates (an untrained G is a blob)."""


@dataclass
class GanSettings:
    """Everything that defines a training run (the same settings give the same run)."""

    mode: str = "points"
    """"points" (2-D) or "images" (28x28 digits)."""
    data: str = "ring"
    """Points: ring, grid, spiral, moons, line, or the path of a CSV file of x,y
    points. Images: "digits"."""
    loss: str = "non-saturating"
    """"non-saturating" (G maximises log D(G(z))) or "least-squares" (LSGAN)."""
    optimizer: str = "adam"
    """"adam" (beta1 = 0.5, as DCGAN) or "sgd"."""
    lr_d: float = 1e-3
    """Discriminator learning rate."""
    lr_g: float = 1e-3
    """Generator learning rate."""
    d_steps: int = 1
    """Discriminator updates per generator update."""
    noise_dim: int = 8
    """Size of z."""
    batch_size: int = 128
    hidden: int = 128
    """MLP units per layer (points) or DCGAN channels (images)."""
    seed: int = 0
    eval_every: int = 10
    """Estimate the divergence and mode coverage (points), or read the samples with
    the digit classifier (images), every this many events."""
    n_images: int = 4000
    """Images: digits in the training pool."""

    @classmethod
    def for_mode(cls, mode: str, **overrides: Any) -> GanSettings:
        """Default settings for ``mode``, with ``overrides`` (None values are ignored)."""
        if mode not in MODES:
            raise UserError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
        base: dict[str, Any] = {"mode": mode}
        if mode == "images":
            # By the judge over 256 samples after 2,000 steps: 49 % recognisable
            # digits with these (batch-norm G, 64 channels, least squares)
            # against 23 % for the earlier 32 channels, no batch norm, log loss.
            base.update(data="digits", loss="least-squares", lr_d=5e-4, lr_g=5e-4,
                        noise_dim=32, batch_size=64, hidden=64, eval_every=25)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def validate(self) -> None:
        """Raise `UserError` for any out-of-range setting."""
        if self.mode not in MODES:
            raise UserError(f"unknown mode {self.mode!r}; use one of: {', '.join(MODES)}")
        if self.mode == "images" and self.data != "digits":
            raise UserError("image mode trains on the digit data: use --data digits")
        if self.loss not in LOSSES:
            raise UserError(f"unknown loss {self.loss!r}; use one of: {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimiser {self.optimizer!r}; "
                            f"use one of: {', '.join(OPTIMIZERS)}")
        for name in ("lr_d", "lr_g"):
            lr = getattr(self, name)
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 1):
                raise UserError(f"{name.replace('_', '-')} must be in (0, 1], got {lr}")
        checks = [("d_steps", 1, 100), ("noise_dim", 1, 512), ("batch_size", 2, 4096),
                  ("hidden", 4, 1024), ("eval_every", 1, 100_000), ("n_images", 64, 100_000),
                  ("seed", 0, 2**32 - 1)]
        for name, lo, hi in checks:
            v = getattr(self, name)
            if not isinstance(v, int) or not lo <= v <= hi:
                raise UserError(f"{name.replace('_', '-')} must be an integer in "
                                f"[{lo}, {hi}], got {v}")
        if self.mode == "images" and self.hidden % 4:
            raise UserError("hidden (DCGAN channels) must be a multiple of 4")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GanEvent:
    """Metrics after one training event (a full step, or a single D or G update)."""

    step: int
    """Events so far (1-based)."""
    kind: str
    """"step" (d_steps D updates then one G update), "d" or "g"."""
    d_updates: int
    g_updates: int
    d_loss: float
    """Discriminator loss (real + fake terms) of its latest update."""
    g_loss: float
    """Generator loss on the latest fake batch."""
    d_real: float
    """Mean D(x) on real data: the probability "real" (least squares: the raw score)."""
    d_fake: float
    """Mean D(G(z)) on generated data."""
    grad_norm_d: float
    """L2 norm of D's gradient at its latest update (0 before any)."""
    grad_norm_g: float
    """L2 norm of G's gradient at its latest update (0 before any)."""
    js: float | None = None
    """Points: Jensen-Shannon divergence (bits) between histograms of real and
    generated points, when estimated at this event (every ``eval_every``)."""
    modes_covered: int | None = None
    """Points: modes holding at least a quarter of their fair share of samples.
    Images: digits among the fixed-z samples read as digits (the same share rule)."""
    modes_total: int = 0
    """Modes of the data set; 10 in image mode (0 without the digit classifier)."""
    on_modes: float | None = None
    """Points: fraction of generated samples that land on some mode. Images:
    fraction of samples the classifier reads as a digit (confidence > 0.5)."""
    modes_reached: int | None = None
    """Points: modes that are the nearest mode of at least a quarter of their fair
    share of samples (sharp or not)."""
    mode_collapse: bool = False
    """The latest estimate says G's samples gather around at most half of the
    modes (checked after `COLLAPSE_WARMUP` G updates)."""
    elapsed: float = 0.0
    """Seconds since the trainer was (re)set."""

    def to_dict(self, with_time: bool = True) -> dict:
        d = asdict(self)
        if not with_time:
            d.pop("elapsed")
        return d


@dataclass(frozen=True)
class PointsView:
    """What the pane draws in 2-D mode: real and generated points over D's decision map."""

    step: int
    box: tuple[float, float, float, float]
    """(x_min, x_max, y_min, y_max) of the drawing area."""
    real: np.ndarray
    """(n, 2) real points."""
    fake: np.ndarray
    """(m, 2) generated points from a fixed z (they move as G learns)."""
    decision: np.ndarray
    """(rows, cols) D's probability "real" at each cell centre; row 0 is the top (y max)."""


@dataclass(frozen=True)
class ImagesView:
    """What the pane draws in image mode: samples from a fixed z."""

    step: int
    images: np.ndarray
    """(n, 28, 28) in [0, 1]."""


@dataclass
class _Last:
    d_loss: float = float("nan")
    g_loss: float = float("nan")
    d_real: float = float("nan")
    d_fake: float = float("nan")
    grad_norm_d: float = 0.0
    grad_norm_g: float = 0.0
    js: float | None = None
    modes_covered: int | None = None
    on_modes: float | None = None
    modes_reached: int | None = None
    mode_collapse: bool = False




def load_data(settings: GanSettings) -> Any:
    """The data a run trains on: a `PointSet` (points) or a (N, 1, 28, 28) tensor (images)."""
    if settings.mode == "points":
        from genai_tui.images.points import load_points

        return load_points(settings.data, n=POOL_POINTS, seed=settings.seed)
    from genai_tui.images.digits import make_digits

    return make_digits(settings.n_images, seed=settings.seed).images


class GanTrainer:
    """A GAN being trained, one event at a time.

    Args:
        settings: the run's settings (validated here).
        data: already loaded data for these settings (see `load_data`); loaded if None.
    """

    def __init__(self, settings: GanSettings | None = None, data: Any = None) -> None:
        settings = settings or GanSettings()
        settings.validate()
        self.settings = settings
        self.data = data if data is not None else load_data(settings)
        self._setup()

    # -- set-up ---------------------------------------------------------------

    def reset(self, settings: GanSettings | None = None) -> None:
        """Start again from fresh weights: same settings (same run) or new ones."""
        if settings is not None:
            settings.validate()
            old = self.settings
            if (settings.mode, settings.data, settings.seed, settings.n_images) != (
                    old.mode, old.data, old.seed, old.n_images):
                self.data = load_data(settings)  # may raise: then nothing has changed
            self.settings = settings
        self._setup()

    def _setup(self) -> None:
        import torch

        from genai_tui.models.gan import GanConfig, build

        s = self.settings
        self.config = GanConfig(kind="mlp" if s.mode == "points" else "dcgan",
                                noise_dim=s.noise_dim, hidden=s.hidden, layers=2)
        self.G, self.D = build(self.config, torch.Generator().manual_seed(s.seed))
        self._rng = torch.Generator().manual_seed(s.seed + 1)  # batches and noise
        fixed = torch.Generator().manual_seed(s.seed + 2)
        n_fixed = EVAL_SAMPLES if s.mode == "points" else 64
        self.fixed_z = torch.randn(n_fixed, s.noise_dim, generator=fixed)
        self.opt_d = self._optimizer(self.D, s.lr_d)
        self.opt_g = self._optimizer(self.G, s.lr_g)
        if s.mode == "points":
            self._pool = torch.from_numpy(self.data.points)
            from genai_tui.images.points import histogram

            self._real_hist = histogram(self.data.points, self.data.box, HIST_BINS)
            self._judge = None
        else:
            self._pool = self.data
            self._judge = _digit_judge()
        self.step_count = 0
        self.d_updates = 0
        self.g_updates = 0
        self._last = _Last()
        self._t0 = time.perf_counter()
        self._evaluate()

    def _optimizer(self, net: Any, lr: float) -> Any:
        from genai_tui.models.optim import SGD, Adam  # not torch.optim: see there

        params = list(net.parameters())
        if self.settings.optimizer == "sgd":
            return SGD(params, lr=lr)
        return Adam(params, lr=lr, betas=(0.5, 0.999))

    # -- training -------------------------------------------------------------

    def step(self) -> GanEvent:
        """One training step: ``d_steps`` discriminator updates, then one generator update."""
        for _ in range(self.settings.d_steps):
            self._update_d()
        self._update_g()
        return self._event("step")

    def step_d(self) -> GanEvent:
        """A single discriminator update (G frozen)."""
        self._update_d()
        return self._event("d")

    def step_g(self) -> GanEvent:
        """A single generator update (D frozen)."""
        self._update_g()
        return self._event("g")

    def train(self, steps: int) -> Iterator[GanEvent]:
        """``steps`` training steps, one event each."""
        for _ in range(steps):
            yield self.step()

    def _noise(self, n: int) -> Any:
        import torch

        return torch.randn(n, self.settings.noise_dim, generator=self._rng)

    def _real_batch(self) -> Any:
        import torch

        idx = torch.randint(0, self._pool.shape[0], (self.settings.batch_size,),
                            generator=self._rng)
        return self._pool[idx]

    def _d_loss(self, s_real: Any, s_fake: Any) -> Any:
        """Discriminator loss from its scores on a real and a fake batch."""
        import torch.nn.functional as F

        if self.settings.loss == "least-squares":
            # LSGAN (Mao et al. 2017, eq. 2) with targets a = 0 (fake), b = 1 (real).
            return 0.5 * ((s_real - 1) ** 2).mean() + 0.5 * (s_fake ** 2).mean()
        # -log D(x) - log(1 - D(G(z))) (Goodfellow et al. 2014, Algorithm 1).
        return F.softplus(-s_real).mean() + F.softplus(s_fake).mean()

    def _g_loss(self, s_fake: Any) -> Any:
        """Generator loss from D's scores on a fake batch."""
        import torch.nn.functional as F

        if self.settings.loss == "least-squares":
            return 0.5 * ((s_fake - 1) ** 2).mean()  # LSGAN eq. 2 with c = 1
        # Non-saturating: maximise log D(G(z)) instead of minimising log(1 - D(G(z)))
        # (Goodfellow et al. 2014, section 3): strong gradients while D wins.
        return F.softplus(-s_fake).mean()

    def _prob(self, scores: Any) -> Any:
        """Scores as the probability "real" (least squares: the score, clamped to [0, 1])."""
        if self.settings.loss == "least-squares":
            return scores.clamp(0, 1)
        return scores.sigmoid()

    def _update_d(self) -> None:
        import torch
        from torch.nn.utils import clip_grad_norm_

        real = self._real_batch()
        with torch.no_grad():
            fake = self.G(self._noise(self.settings.batch_size))
        scores = self.D(torch.cat([real, fake]))  # one pass for both halves: (2B,)
        s_real, s_fake = scores.chunk(2)
        d_loss, g_loss = self._d_loss(s_real, s_fake), self._g_loss(s_fake)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        norm = clip_grad_norm_(self.D.parameters(), float("inf"))
        self.opt_d.step()
        self.d_updates += 1
        with torch.no_grad():
            vals = torch.stack([d_loss, g_loss, self._prob(s_real).mean(),
                                self._prob(s_fake).mean(), norm]).tolist()
        last = self._last
        last.d_loss, last.g_loss, last.d_real, last.d_fake, last.grad_norm_d = vals

    def _update_g(self) -> None:
        import torch
        from torch.nn.utils import clip_grad_norm_

        self.D.requires_grad_(False)  # G's update must not accumulate grads in D
        try:
            s_fake = self.D(self.G(self._noise(self.settings.batch_size)))
            g_loss = self._g_loss(s_fake)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            norm = clip_grad_norm_(self.G.parameters(), float("inf"))
            self.opt_g.step()
        finally:
            self.D.requires_grad_(True)
        self.g_updates += 1
        with torch.no_grad():
            vals = torch.stack([g_loss, self._prob(s_fake).mean(), norm]).tolist()
        self._last.g_loss, self._last.d_fake, self._last.grad_norm_g = vals

    def _event(self, kind: str) -> GanEvent:
        self.step_count += 1
        evaluated = False
        if self.modes_total and self.step_count % self.settings.eval_every == 0:
            self._evaluate()
            evaluated = True
        last = self._last
        return GanEvent(
            step=self.step_count, kind=kind, d_updates=self.d_updates,
            g_updates=self.g_updates, d_loss=last.d_loss, g_loss=last.g_loss,
            d_real=last.d_real, d_fake=last.d_fake, grad_norm_d=last.grad_norm_d,
            grad_norm_g=last.grad_norm_g,
            js=last.js if evaluated else None,
            modes_covered=last.modes_covered if evaluated else None,
            modes_total=self.modes_total,
            on_modes=last.on_modes if evaluated else None,
            modes_reached=last.modes_reached if evaluated else None,
            mode_collapse=last.mode_collapse,
            elapsed=time.perf_counter() - self._t0,
        )

    # -- estimates ------------------------------------------------------------

    @property
    def modes_total(self) -> int:
        """Modes of the data set (points), 10 digits (images, when the classifier is
        there to read them), else 0."""
        if self.settings.mode == "points":
            return self.data.n_modes
        return 10 if self._judge is not None else 0

    @property
    def last_on_modes(self) -> float | None:
        """Points: fraction of samples on a mode. Images: fraction read as digits."""
        return self._last.on_modes

    @property
    def last_js(self) -> float | None:
        """The latest divergence estimate (points mode)."""
        return self._last.js

    @property
    def last_modes_covered(self) -> int | None:
        return self._last.modes_covered

    @property
    def mode_collapse(self) -> bool:
        return self._last.mode_collapse

    def _evaluate(self) -> None:
        if self.settings.mode == "images":
            self._evaluate_images()
            return
        from genai_tui.images.points import coverage, histogram, js_divergence

        fake = self.generate_points()
        js = js_divergence(self._real_hist, histogram(fake, self.data.box, HIST_BINS))
        covered, on_modes, reached = coverage(fake, self.data)
        last = self._last
        last.js, last.modes_covered, last.on_modes = js, covered, on_modes
        last.modes_reached = reached
        last.mode_collapse = (self.g_updates >= COLLAPSE_WARMUP
                              and collapse_flag(reached, self.modes_total))

    def _evaluate_images(self) -> None:
        """Read the fixed-z samples with the digit classifier: which digits appear."""
        from genai_tui.models.classifier import classify

        if self._judge is None:
            return
        with self._sampling():
            images = self.G(self.fixed_z)  # (64, 1, 28, 28)
        labels, conf = classify(images, self._judge)
        digit = conf > 0.5  # the classifier was trained to say ~0.1 for non-digits
        counts = np.bincount(labels[digit].numpy(), minlength=10)
        fair = 0.25 * len(images) / 10
        covered = int((counts >= fair).sum())
        on_digits = float(digit.float().mean())
        last = self._last
        last.modes_covered, last.on_modes, last.modes_reached = covered, on_digits, covered
        # Collapse: the samples read as digits, yet only a few digits appear.
        last.mode_collapse = (self.g_updates >= COLLAPSE_WARMUP and on_digits >= 0.5
                              and collapse_flag(covered, 10))

    def generate_points(self, n: int | None = None) -> np.ndarray:
        """G's points (n, 2) for the first ``n`` fixed noise vectors (all when None)."""
        z = self.fixed_z if n is None else self.fixed_z[:n]
        with self._sampling():
            return self.G(z).numpy().astype(np.float32, copy=False)

    # -- views for drawing ----------------------------------------------------

    def points_view(self, cols: int, rows: int, cell_aspect: float = 2.0,
                    n_real: int = 600, n_fake: int = 600) -> PointsView:
        """Real and fixed-z generated points and D's decision map on a cols x rows grid.

        The data box is widened so that one cell is ``cell_aspect`` times as
        tall as wide in data units (terminal cells are about twice as tall as wide).
        """
        import torch

        if self.settings.mode != "points":
            raise UserError("points_view needs points mode")
        cols, rows = max(1, cols), max(1, rows)
        box = fit_box(self.data.box, cols, rows, cell_aspect)
        x0, x1, y0, y1 = box
        xs = x0 + (np.arange(cols) + 0.5) / cols * (x1 - x0)
        ys = y1 - (np.arange(rows) + 0.5) / rows * (y1 - y0)
        grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
        with torch.no_grad():
            decision = self._prob(self.D(torch.from_numpy(grid))).numpy().reshape(rows, cols)
        step = max(1, len(self.data.points) // n_real)
        return PointsView(step=self.step_count, box=box,
                          real=self.data.points[::step][:n_real].copy(),
                          fake=self.generate_points(n_fake), decision=decision)

    def images_view(self, n: int = 16) -> ImagesView:
        """Samples from the first ``n`` fixed noise vectors (image mode)."""
        if self.settings.mode != "images":
            raise UserError("images_view needs image mode")
        with self._sampling():
            imgs = self.G(self.fixed_z[:n])[:, 0].numpy()
        return ImagesView(step=self.step_count, images=imgs)

    @contextlib.contextmanager
    def _sampling(self) -> Iterator[None]:
        """G in eval mode without gradients: batch norm uses its running
        statistics, so a noise vector's sample does not depend on the others."""
        import torch

        self.G.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.G.train()


def _digit_judge() -> Any:
    """The bundled digit classifier, or None when it is not installed."""
    try:
        from genai_tui.models.classifier import load_classifier

        return load_classifier()
    except Exception:  # noqa: BLE001 - image mode trains without it, unjudged
        return None


def collapse_flag(reached: int, total: int) -> bool:
    """Mode collapse: G's samples gather around at most half of the data's modes."""
    return total >= 2 and reached <= total // 2


def fit_box(box: tuple[float, float, float, float], cols: int, rows: int,
            cell_aspect: float = 2.0) -> tuple[float, float, float, float]:
    """Widen ``box`` (never shrink) so cells of cols x rows keep ``cell_aspect`` (h/w)."""
    x0, x1, y0, y1 = box
    w, h = x1 - x0, y1 - y0
    # cell width = w/cols, cell height = h/rows; want (h/rows) = aspect * (w/cols).
    want_h = cell_aspect * w / cols * rows
    if want_h >= h:
        cy = (y0 + y1) / 2
        return (x0, x1, cy - want_h / 2, cy + want_h / 2)
    want_w = h / rows * cols / cell_aspect
    cx = (x0 + x1) / 2
    return (cx - want_w / 2, cx + want_w / 2, y0, y1)


def run_settings(settings: GanSettings, **changes: Any) -> GanSettings:
    """A copy of ``settings`` with ``changes`` (validated)."""
    new = replace(settings, **changes)
    new.validate()
    return new
