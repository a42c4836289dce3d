"""Digit-classifier service: train the judge, calibrate it, and read images with it.

The judge has 11 classes: the digits and "not a digit" (trained on noise,
blobs, scribbles, blends of two digits and digits with strokes cut off).
Its temperature is fitted on held-out digits and junk (Guo et al., 2017) and
the card reports the expected calibration error, held-out accuracy and the
acceptance rate on junk of kinds never seen in training. `digit_fid` is a
Fréchet distance on the judge's penultimate features.

No torch at import time; the model module loads inside the functions.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

N_TEST = 4000
TEST_SEED = 10_001
"""Held-out digits come from a different seed than the training digits."""
CALIB_SEED = 20_002
"""Calibration digits and junk (temperature fit) use yet another seed."""
JUDGE_VERSION = 3
"""Bumped whenever the judge's classes, data or calibration change (3: trained on
softened images, see `soften`)."""
ACCEPT_THRESHOLD = 0.5
"""An image is "a judged digit" when its calibrated top-digit probability exceeds this."""


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


SOFT_SIGMAS = (0.5, 0.8, 1.1, 1.4)
"""Gaussian blurs (pixels) `soften` chooses from."""
SOFT_DIM = (0.45, 1.0)
"""Brightness range `soften` scales by."""


def gaussian_blur(images: Any, sigma: float) -> Any:
    """``images`` (N, 1, H, W) blurred by a separable Gaussian of ``sigma`` pixels."""
    import torch
    from torch.nn import functional as F

    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-t**2 / (2 * sigma**2))
    k = k / k.sum()
    x = F.conv2d(images, k.view(1, 1, 1, -1), padding=(0, radius))
    return F.conv2d(x, k.view(1, 1, -1, 1), padding=(radius, 0))


def soften(images: Any, generator: Any, p: float = 0.5) -> Any:
    """A share ``p`` of ``images`` blurred (one of `SOFT_SIGMAS`) and dimmed (`SOFT_DIM`).

    A blurred or faint seven is still a seven: a judge trained only on crisp
    digits called 95 % of real digits blurred by 0.8 px, and 70 % at 60 %
    brightness, "not a digit", so it measured sharpness, not digits (judge v2).
    Digits and junk are softened alike, so softness is no cue for either class.
    """
    import torch

    n = images.shape[0]
    pick = torch.rand(n, generator=generator) < p
    which = torch.randint(0, len(SOFT_SIGMAS), (n,), generator=generator)
    lo, hi = SOFT_DIM
    dim = lo + (hi - lo) * torch.rand(n, generator=generator)
    out = images.clone()
    for i, sigma in enumerate(SOFT_SIGMAS):
        m = pick & (which == i)
        if m.any():
            out[m] = gaussian_blur(images[m], sigma)
    scale = torch.where(pick, dim, torch.ones(n)).view(n, 1, 1, 1)
    return (out * scale).clamp(0, 1)


def _junk_pool(n_per_kind: int, seed: int) -> Any:
    import torch

    from genai_tui.images.unusual import JUNK_TRAIN_KINDS, make_junk

    return torch.cat([make_junk(n_per_kind, k, seed=seed + 17 * i)
                      for i, k in enumerate(JUNK_TRAIN_KINDS)])


def train_classifier(
    model: Any,
    train_images: Any,
    train_labels: Any,
    test_images: Any,
    test_labels: Any,
    steps: int = 1500,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    outlier_fraction: float = 0.25,
    log_every: int = 50,
    eval_every: int = 500,
    junk: Any = None,
    soft: float = 0.0,
) -> Iterator[ClassifierEvent]:
    """Train ``model`` in place with AdamW, yielding metric events.

    An 11-class model learns junk as class `REJECT`; a 10-class one gets
    outlier exposure (junk pushed towards the uniform distribution). ``soft``:
    the share of every batch (digits and junk alike) that `soften` blurs and dims.
    """
    import torch
    from torch.nn import functional as F

    from genai_tui.errors import UserError
    from genai_tui.models.classifier import REJECT, accuracy

    if steps < 1:
        raise UserError("steps must be >= 1")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n_out = int(batch_size * outlier_fraction)
    outliers = junk if junk is not None or not n_out else _junk_pool(1000, seed)
    reject = model.config.n_classes > 10
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    start, running, count = time.perf_counter(), 0.0, 0
    for step in range(1, steps + 1):
        model.train()
        idx = torch.randint(0, train_images.shape[0], (batch_size - n_out,), generator=gen)
        x, y = train_images[idx], train_labels[idx]
        if n_out:
            o = outliers[torch.randint(0, outliers.shape[0], (n_out,), generator=gen)]
        if soft:
            x = soften(x, gen, soft)
            if n_out:
                o = soften(o, gen, soft)
        if reject and n_out:
            logits = model(torch.cat([x, o]))
            loss = F.cross_entropy(logits, torch.cat([y, torch.full((n_out,), REJECT)]))
        else:
            loss = F.cross_entropy(model(x), y)
            if n_out:  # outlier exposure
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


def _logits(model: Any, images: Any) -> Any:
    import torch

    model.eval()
    with torch.no_grad():
        return torch.cat([model(images[i:i + 1000].clamp(0, 1))
                          for i in range(0, len(images), 1000)])


def fit_temperature(model: Any, images: Any, labels: Any) -> float:
    """The temperature minimising held-out NLL (a 1-D search over log T)."""
    import torch
    from torch.nn import functional as F

    logits = _logits(model, images)
    grid = torch.exp(torch.linspace(-1.5, 2.0, 141))
    nll = torch.stack([F.cross_entropy(logits / t, labels) for t in grid])
    return float(grid[int(nll.argmin())])


def expected_calibration_error(probs: Any, labels: Any, bins: int = 15) -> float:
    """ECE of the top-class probability over ``bins`` equal-width bins."""
    import torch

    conf, pred = probs.max(-1)
    correct = (pred == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.float().mean().item() * abs(conf[m].mean().item() - correct[m].mean().item())
    return ece


def judge_report(model: Any, n_digits: int = 2000, n_junk: int = 300) -> dict[str, Any]:
    """Held-out figures of a judge: accuracy, acceptance of real digits and of unseen junk."""
    import torch
    from torch.nn import functional as F

    from genai_tui.images.digits import make_digits
    from genai_tui.images.unusual import JUNK_UNSEEN_KINDS, make_junk
    from genai_tui.models.classifier import REJECT, classify

    real = make_digits(n_digits, seed=TEST_SEED)
    labels, conf = classify(real.images, model)
    out: dict[str, Any] = {
        "heldout_accuracy": round((labels == real.labels).float().mean().item(), 5),
        "heldout_digits_accepted": round((conf > ACCEPT_THRESHOLD).float().mean().item(), 5),
    }

    def accepted(images: Any) -> float:
        _, c = classify(images, model)
        return round((c > ACCEPT_THRESHOLD).float().mean().item(), 4)

    unseen = {kind: accepted(make_junk(n_junk, kind, seed=TEST_SEED + 31 * i))
              for i, kind in enumerate(JUNK_UNSEEN_KINDS)}
    out["unseen_junk_accepted"] = unseen
    out["unseen_junk_accepted_mean"] = round(sum(unseen.values()) / len(unseen), 4)
    seen_junk = _junk_pool(n_junk // 5 + 1, TEST_SEED + 999)
    out["seen_kind_junk_accepted"] = accepted(seen_junk)
    # Softness is no cue: blurred or faint real digits are still digits, blurred junk junk.
    out["blurred_digits_accepted"] = accepted(gaussian_blur(real.images, 1.0))
    out["dimmed_digits_accepted"] = accepted(real.images * 0.6)
    out["blurred_junk_accepted"] = accepted(gaussian_blur(seen_junk, 1.0))
    t = float(model.config.temperature)
    calib_x = torch.cat([real.images, seen_junk])
    calib_y = torch.cat([real.labels, torch.full((len(seen_junk),), REJECT)])
    if model.config.n_classes > 10:
        out["ece"] = round(expected_calibration_error(
            F.softmax(_logits(model, calib_x) / t, -1), calib_y), 5)
        out["ece_uncalibrated"] = round(expected_calibration_error(
            F.softmax(_logits(model, calib_x), -1), calib_y), 5)
    return out


def train(
    steps: int = 2000,
    seed: int = 0,
    n_train: int = 20000,
    out: str | Path | None = None,
    channels: int = 16,
    batch_size: int = 128,
    lr: float = 2e-3,
    command: str | None = None,
    n_junk_per_kind: int = 2000,
    soft: float = 0.5,
) -> Iterator[ClassifierEvent]:
    """Train the 11-class judge, yielding `ClassifierEvent`s; calibrate and save to ``out``.

    Training digits: ``make_digits(n_train, seed)`` and junk of `JUNK_TRAIN_KINDS`;
    temperature: fitted on ``make_digits(2000, CALIB_SEED)`` + junk from another
    seed; held-out figures: ``make_digits(4000, TEST_SEED)`` and junk of
    `JUNK_UNSEEN_KINDS`. The last event has ``done=True``.
    """
    import torch

    from genai_tui.errors import UserError
    from genai_tui.images.digits import make_digits
    from genai_tui.images.unusual import make_junk
    from genai_tui.models.classifier import (
        REJECT,
        ClassifierConfig,
        DigitClassifier,
        save_classifier,
    )

    if n_train < 10:
        raise UserError("need at least 10 training digits")
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    train_set = make_digits(n_train, seed=seed)
    test_set = make_digits(N_TEST, seed=TEST_SEED)
    # Blends twice over: softened, a blend of two digits is the junk nearest a real digit.
    junk = torch.cat([_junk_pool(n_junk_per_kind, seed),
                      make_junk(n_junk_per_kind, "blends", seed=seed + 4242)])
    model = DigitClassifier(ClassifierConfig(channels=channels, n_classes=11))
    last = None
    for event in train_classifier(model, train_set.images, train_set.labels, test_set.images,
                                  test_set.labels, steps=steps, batch_size=batch_size, lr=lr,
                                  seed=seed, junk=junk, soft=soft):
        last = event
        yield event
    calib = make_digits(2000, seed=CALIB_SEED)
    calib_junk = _junk_pool(200, CALIB_SEED)
    model.config.temperature = round(fit_temperature(
        model, torch.cat([calib.images, calib_junk]),
        torch.cat([calib.labels, torch.full((len(calib_junk),), REJECT)])), 4)
    if out is not None and last is not None:
        from genai_tui.images.unusual import JUNK_TRAIN_KINDS, JUNK_UNSEEN_KINDS

        metrics = judge_report(model)
        metrics["final_loss"] = round(last.loss, 5)
        save_classifier(model, out, {
            "judge_version": JUDGE_VERSION,
            "threshold": ACCEPT_THRESHOLD,
            "data": f"make_digits({n_train}, seed={seed}) + reject class 'not a digit' "
                    f"({', '.join(JUNK_TRAIN_KINDS)}; {n_junk_per_kind} each, blends twice), "
                    f"a share {soft} of each batch softened (blur {SOFT_SIGMAS[0]}-"
                    f"{SOFT_SIGMAS[-1]} px, brightness {SOFT_DIM[0]:.0%}-{SOFT_DIM[1]:.0%}); "
                    f"temperature on make_digits(2000, seed={CALIB_SEED}) + junk; held out: "
                    f"make_digits({N_TEST}, seed={TEST_SEED}) and unseen junk "
                    f"({', '.join(JUNK_UNSEEN_KINDS)})",
            "soft": soft,
            "steps": steps,
            "seed": seed,
            "batch_size": batch_size,
            "lr": lr,
            "train_seconds": round(time.perf_counter() - t0, 1),
            "metrics": metrics,
            "command": command or shlex.join(["genai-tui", *sys.argv[1:]]),
        })


@dataclass(frozen=True)
class ImageFigures:
    """What the judge makes of a batch of generated images."""

    n: int
    judged: int
    """Images whose calibrated top-digit probability exceeds `ACCEPT_THRESHOLD`."""
    histogram: tuple[int, ...]
    """Judged images per digit 0-9 (mode coverage)."""
    fid: float | None
    """Digit FID against held-out real digits (None for fewer than 2 images)."""
    judge_version: int
    labels: tuple[int | None, ...] = ()
    """Per image: the judged digit, or None where the judge says "not a digit"
    (or is not confident enough)."""
    confidences: tuple[float, ...] = ()
    """Per image: the judge's calibrated probability of its top class."""

    @property
    def share(self) -> float:
        return self.judged / self.n if self.n else 0.0

    def line(self) -> str:
        """E.g. ``12/16 judged digits, FID 14.2, 8/10 digits seen``."""
        seen = sum(1 for c in self.histogram if c)
        fid = f", FID {self.fid:.1f}" if self.fid is not None else ""
        return f"{self.judged}/{self.n} judged digits{fid}, {seen}/10 digits seen"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "judged_digits": self.judged, "share": round(self.share, 4),
                "histogram": list(self.histogram), "digit_fid":
                None if self.fid is None else round(self.fid, 3),
                "judge_version": self.judge_version, "threshold": ACCEPT_THRESHOLD,
                "labels": list(self.labels),
                "confidences": [round(c, 4) for c in self.confidences]}


_REF: dict[str, Any] = {}


def _reference_stats(model: Any, n: int = 2000) -> tuple[Any, Any]:
    """Mean and covariance of the judge's features on held-out real digits (cached)."""
    from genai_tui.images.digits import make_digits
    from genai_tui.models.classifier import features

    key = f"{id(model)}:{n}"
    if key not in _REF:
        f = features(make_digits(n, seed=TEST_SEED + 1).images, model).double()
        _REF[key] = (f.mean(0), _cov(f))
    return _REF[key]


def _cov(f: Any) -> Any:
    c = f - f.mean(0)
    return c.T @ c / max(1, len(f) - 1)


def frechet(mu1: Any, s1: Any, mu2: Any, s2: Any) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) (Heusel et al., 2017)."""
    import torch

    # Tr((S1 S2)^1/2) = sum of sqrt of the eigenvalues of S1^1/2 S2 S1^1/2 (symmetric, PSD).
    w, v = torch.linalg.eigh(s1)
    r1 = v @ torch.diag(w.clamp_min(0).sqrt()) @ v.T
    m = r1 @ s2 @ r1
    tr = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr)


def digit_fid(images: Any, reference: Any = None, model: Any = None) -> float:
    """Digit FID of ``images`` (N, 1, 28, 28) against ``reference`` (default: held-out digits)."""
    from genai_tui.models.classifier import features, load_classifier

    model = model or load_classifier()
    f = features(images, model).double()
    if reference is None:
        mu2, s2 = _reference_stats(model)
    else:
        r = features(reference, model).double()
        mu2, s2 = r.mean(0), _cov(r)
    return frechet(f.mean(0), _cov(f), mu2, s2)


def judge_images(images: Any, model: Any = None, fid: bool = True) -> ImageFigures:
    """Judge a batch (N, 1, 28, 28) or (N, 28, 28) in [0, 1]: share, histogram, digit FID."""
    import torch

    from genai_tui.models.classifier import classify, load_classifier

    model = model or load_classifier()
    x = torch.as_tensor(images).float()
    if x.dim() == 3:
        x = x[:, None]
    labels, conf = classify(x, model)
    ok = conf > ACCEPT_THRESHOLD
    hist = torch.bincount(labels[ok], minlength=10)[:10].tolist()
    value = digit_fid(x, model=model) if fid and len(x) >= 2 else None
    per_image = tuple(int(lab) if good and int(lab) < 10 else None
                      for lab, good in zip(labels.tolist(), ok.tolist(), strict=True))
    return ImageFigures(len(x), int(ok.sum()), tuple(int(h) for h in hist), value,
                        int(getattr(model, "card", {}).get("judge_version", 1)),
                        per_image, tuple(float(c) for c in conf.tolist()))


def heldout_digits(n: int = N_TEST) -> Any:
    """The held-out digit set used for the card's accuracy (a `DigitSet`)."""
    from genai_tui.images.digits import make_digits

    return make_digits(n, seed=TEST_SEED)
