"""Diffusion service: what the diffusion pane and `genai-tui diffusion ...` call.

Load the bundled DDPM, look at the forward process q(x_t | x_0), run a sampler
step by step (an iterator of `SampleStep`), train (an iterator of
`TrainEvent`) and judge samples with the digit classifier. Images handed out
are numpy arrays (N, H, W) in [0, 1] ready for `genai_tui.images.render`.

No torch at import time: it is imported inside the functions.
"""

from __future__ import annotations

import math
import shlex
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genai_tui.errors import AssetError, UserError
from genai_tui.paths import asset
from genai_tui.service.runtime import native_bf16, use_bf16

if TYPE_CHECKING:
    import numpy as np

ASSET_NAME = "diffusion"
SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")
PRECISIONS = ("auto", "fp32", "bf16")
DIGIT_THRESHOLD = 0.5
"""A sample counts as a digit when the classifier's top probability exceeds this."""


def to_display(x: Any) -> np.ndarray:
    """Model-space images in [-1, 1] (tensor (N, 1, H, W)) -> numpy (N, H, W) in [0, 1]."""
    import numpy as np

    arr = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if arr.ndim == 4:
        arr = arr[:, 0]
    return np.clip((arr + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)


def noise_to_display(eps: Any) -> np.ndarray:
    """Noise (about N(0, 1)) -> [0, 1] with +-2 standard deviations spanning black to white."""
    import numpy as np

    arr = eps.detach().float().cpu().numpy() if hasattr(eps, "detach") else np.asarray(eps)
    if arr.ndim == 4:
        arr = arr[:, 0]
    return np.clip(0.5 + arr / 4.0, 0.0, 1.0).astype(np.float32)


def check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    """``value`` lower-cased if it is one of ``choices``, else a `UserError`."""
    v = value.strip().lower()
    if v not in choices:
        raise UserError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return v


# --- the model handle -------------------------------------------------------------------------


@dataclass
class DiffusionModel:
    """A loaded denoiser with its noise schedule (EMA weights, eval mode)."""

    net: Any
    """The `UNet` (torch module)."""
    schedule: Any
    """The `NoiseSchedule` it was trained with."""
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def num_timesteps(self) -> int:
        return self.schedule.num_steps

    @property
    def schedule_name(self) -> str:
        return self.schedule.name

    def alpha_bars(self) -> np.ndarray:
        """alpha-bar_t for t = 0..T-1 (float64)."""
        return self.schedule.alpha_bars.numpy()

    def parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def describe(self) -> str:
        """e.g. "U-Net 1.1M params, linear schedule, T=1000"."""
        return (f"U-Net {self.parameters() / 1e6:.1f}M params, {self.schedule_name} schedule, "
                f"T={self.num_timesteps}")


def load_model(path: str | Path | None = None) -> DiffusionModel:
    """The DDPM at ``path`` (a folder with model.safetensors + card.json; default the
    bundled one).

    Raises:
        AssetError: missing or corrupt files.
    """
    from genai_tui.models.bundle import load_bundle
    from genai_tui.models.ddpm import make_schedule
    from genai_tui.models.unet import UNet, UNetConfig

    directory = Path(path) if path is not None else asset(ASSET_NAME)
    state, card = load_bundle(directory)
    try:
        net = UNet(UNetConfig.from_dict(card["config"]))
        net.load_state_dict(state)
        schedule = make_schedule(card.get("schedule", "linear"), int(card.get("timesteps", 1000)))
    except (RuntimeError, ValueError, TypeError) as e:
        raise AssetError(f"{directory}: weights do not match the card "
                         f"({str(e).splitlines()[0]})") from None
    net.eval()
    net.requires_grad_(False)
    return DiffusionModel(net, schedule, card, directory)


# --- the forward process ----------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardView:
    """One point of the forward process: a clean image noised to step t."""

    t: int
    alpha_bar: float
    """alpha-bar_t: x_t keeps sqrt(alpha-bar_t) of the signal."""
    x0: np.ndarray
    """(H, W) the clean image in [0, 1]."""
    x_t: np.ndarray
    """(H, W) x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps, shown in [0, 1]."""
    signal_to_noise: float
    """alpha-bar / (1 - alpha-bar)."""


class ForwardProcess:
    """q(x_t | x_0) for one image with one fixed noise draw, so moving t is smooth.

    Pure numpy once built: `at(t)` is cheap enough for the UI thread.
    """

    def __init__(self, alpha_bars: np.ndarray, x0: np.ndarray, seed: int = 0) -> None:
        import numpy as np

        self.alpha_bars = np.asarray(alpha_bars, dtype=np.float64)
        self.x0 = np.asarray(x0, dtype=np.float32)
        """(H, W) in [0, 1]."""
        self.noise = np.random.default_rng(seed).standard_normal(self.x0.shape).astype(np.float32)

    @property
    def num_timesteps(self) -> int:
        return int(self.alpha_bars.shape[0])

    def at(self, t: int) -> ForwardView:
        """x_t in closed form (Ho et al. 2020 eq. 4) at timestep ``t`` (0-based)."""
        if not 0 <= t < self.num_timesteps:
            raise UserError(f"t must be between 0 and {self.num_timesteps - 1}")
        ab = float(self.alpha_bars[t])
        x0 = self.x0 * 2.0 - 1.0  # [0, 1] -> [-1, 1], the model's scale
        x_t = math.sqrt(ab) * x0 + math.sqrt(1.0 - ab) * self.noise
        return ForwardView(t, ab, self.x0, to_display(x_t), ab / max(1.0 - ab, 1e-12))


def example_digits(n: int = 8, seed: int = 7) -> tuple[np.ndarray, list[int]]:
    """``n`` generated digits (N, 28, 28) in [0, 1] and their labels."""
    from genai_tui.images.digits import make_digits

    digits = make_digits(n, seed=seed)
    return digits.images[:, 0].numpy(), [int(v) for v in digits.labels]


def forward_process(model: DiffusionModel | None = None, *, schedule: str = "linear",
                    timesteps: int = 1000, digit: int = 0, seed: int = 0) -> ForwardProcess:
    """The forward process on example digit number ``digit`` under the model's schedule
    (or the named one when ``model`` is None)."""
    if model is not None:
        alpha_bars = model.alpha_bars()
    else:
        alpha_bars = schedule_alpha_bars(schedule, timesteps)
    images, _ = example_digits(digit + 1, seed=seed)
    return ForwardProcess(alpha_bars, images[digit], seed=seed)


def schedule_alpha_bars(name: str, timesteps: int = 1000) -> np.ndarray:
    """alpha-bar_t of the named schedule, t = 0..T-1."""
    from genai_tui.models.ddpm import make_schedule

    check_choice(name, SCHEDULES, "schedule")
    return make_schedule(name, timesteps).alpha_bars.numpy()


# --- sampling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleStep:
    """One denoising step of a batch, as images ready to show."""

    index: int
    """0 for the first (pure-noise) step."""
    total: int
    t: int
    """Timestep of x_t (0-based; T-1 is pure noise)."""
    x_t: np.ndarray
    """(N, H, W) what the model saw, in [0, 1]."""
    eps: np.ndarray
    """(N, H, W) the predicted noise, +-2 sigma mapped to [0, 1]."""
    x0: np.ndarray
    """(N, H, W) the predicted clean images, in [0, 1]."""
    x_next: np.ndarray
    """(N, H, W) the images after this step (the samples, after the last one)."""
    elapsed: float
    """Seconds since sampling started."""

    @property
    def done(self) -> bool:
        return self.index == self.total - 1


@dataclass(frozen=True)
class SampleSettings:
    """What to sample. `validate` checks it."""

    n: int = 16
    sampler: str = "ddim"
    steps: int = 50
    """DDIM steps (DDPM always takes all T)."""
    eta: float = 0.0
    """DDIM stochasticity: 0 deterministic, 1 like DDPM."""
    seed: int = 0
    precision: str = "fp32"
    """"fp32" (the default: by the judge, 90.2% of DDIM-25 samples are digits), "bf16"
    (autocast, the precision the net was trained under: about 1.7x faster on a CPU
    with native bf16, 87.9% digits) or "auto": bf16 where the CPU has it natively."""
    threads: int | None = 1
    """Torch threads for the thread that pulls the steps (None: leave as is). One is
    fastest for this small net on a busy machine: with two, OpenMP's waiting made
    sampling 25x slower in our measurements."""


def validate(settings: SampleSettings, timesteps: int = 1000) -> SampleSettings:
    """``settings`` with the sampler name normalised, or a `UserError`."""
    sampler = check_choice(settings.sampler, SAMPLERS, "sampler")
    if not 1 <= settings.n <= 1024:
        raise UserError("n must be between 1 and 1024")
    if not 1 <= settings.steps <= timesteps:
        raise UserError(f"steps must be between 1 and {timesteps}")
    if not 0.0 <= settings.eta <= 1.0 or math.isnan(settings.eta):
        raise UserError("eta must be between 0 and 1")
    if not 0 <= settings.seed < 2**63:
        raise UserError("seed must be between 0 and 2**63 - 1")
    if settings.threads is not None and not 1 <= settings.threads <= 256:
        raise UserError("threads must be between 1 and 256")
    precision = check_choice(settings.precision, PRECISIONS, "precision")
    return replace(settings, sampler=sampler, precision=precision)


def sample_steps(model: DiffusionModel, settings: SampleSettings,
                 *, raw: bool = False) -> Iterator[SampleStep]:
    """Run the sampler, yielding every step (pulling one item = one model call).

    Validates eagerly: a bad setting raises before the first ``next()``.
    ``raw=True`` skips the conversion to display images (fields hold tensors).
    """
    settings = validate(settings, model.num_timesteps)
    return _sample_steps(model, settings, raw)


def _sample_steps(model: DiffusionModel, s: SampleSettings, raw: bool) -> Iterator[SampleStep]:
    import torch

    from genai_tui.models.ddpm import sample
    from genai_tui.service.runtime import torch_threads

    net = model.net
    bf16 = s.precision == "bf16" or (s.precision == "auto" and native_bf16())

    def eps_model(x: Any, t: Any) -> Any:
        # contexts around each call only: a generator must not leave them set in the
        # consumer's thread between steps (autocast and inference mode are thread-local)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            return net(x, t).float()

    gen = torch.Generator().manual_seed(s.seed)
    size = net.config.image_size
    shape = (s.n, net.config.in_channels, size, size)
    start = time.perf_counter()
    # torch's thread count is per OS thread: this sets it for the consumer's thread only
    with torch_threads(s.threads):
        for step in sample(eps_model, model.schedule, shape, sampler=s.sampler,
                           num_steps=s.steps, eta=s.eta, generator=gen):
            if raw:
                yield SampleStep(step.index, step.total, step.t, step.x_t, step.eps, step.x0,
                                 step.x_next, time.perf_counter() - start)
            else:
                yield SampleStep(step.index, step.total, step.t, to_display(step.x_t),
                                 noise_to_display(step.eps), to_display(step.x0),
                                 to_display(step.x_next), time.perf_counter() - start)


def generate(model: DiffusionModel, settings: SampleSettings) -> np.ndarray:
    """Only the final samples, (N, H, W) in [0, 1]."""
    # keep only the last step: a DDPM run of a big batch would not fit in memory
    (last,) = deque(sample_steps(model, settings, raw=True), maxlen=1)
    return to_display(last.x_next)


# --- judging samples --------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """What the digit classifier makes of a batch of images."""

    labels: list[int]
    confidences: list[float]
    threshold: float = DIGIT_THRESHOLD

    @property
    def digit_fraction(self) -> float:
        """Share of images read as a digit with confidence above the threshold."""
        if not self.confidences:
            return 0.0
        return sum(c > self.threshold for c in self.confidences) / len(self.confidences)

    @property
    def mean_confidence(self) -> float:
        return sum(self.confidences) / len(self.confidences) if self.confidences else 0.0

    def label_counts(self) -> dict[int, int]:
        """How many confident samples read as each digit 0-9."""
        counts = dict.fromkeys(range(10), 0)
        for lab, conf in zip(self.labels, self.confidences, strict=True):
            if conf > self.threshold:
                counts[lab] += 1
        return counts


def judge(images: np.ndarray) -> Judgement:
    """Classify images (N, H, W) in [0, 1] with the bundled digit classifier.

    Raises:
        AssetError: the classifier is not bundled.
    """
    import numpy as np
    import torch

    from genai_tui.models.classifier import classify

    labels, conf = classify(torch.as_tensor(np.asarray(images, dtype=np.float32)))
    return Judgement([int(v) for v in labels], [float(v) for v in conf])


# --- training ---------------------------------------------------------------------------------


@dataclass
class TrainSettings:
    """How `train` runs. Saved in the card."""

    steps: int = 2400
    """Optimizer steps."""
    schedule: str = "linear"
    timesteps: int = 1000
    """T, the number of diffusion steps."""
    batch_size: int = 128
    lr: float = 1e-3
    """Peak learning rate (linear warm-up, then cosine decay to 10%)."""
    warmup: int = 100
    ema_decay: float = 0.998
    """Weights are averaged with this decay; the average is what gets saved."""
    n_data: int = 20000
    """Generated digits to train on: make_digits(n_data, seed)."""
    seed: int = 0
    base_channels: int = 16
    channel_mults: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 1
    attention: bool = True
    bf16: bool | None = None
    """bfloat16 autocast; None: where the CPU has it natively (`runtime.use_bf16`)."""
    """bfloat16 autocast for the forward pass (much faster on CPUs with AMX)."""
    log_every: int = 10
    time_limit: float = 0.0
    """Stop early after this many seconds (0: run all steps); the card records the steps run."""


@dataclass(frozen=True)
class TrainEvent:
    """A training report (every ``log_every`` steps and at the end)."""

    step: int
    total: int
    loss: float
    """Mean loss since the last report."""
    lr: float
    elapsed: float
    done: bool = False


class Trainer:
    """Trains a DDPM; `run()` yields `TrainEvent`s, `model()` is the result (EMA weights)."""

    def __init__(self, settings: TrainSettings, images: Any = None) -> None:
        """``images``: (N, 1, H, W) in [0, 1] (default: ``make_digits(n_data, seed)``)."""
        self.settings = s = settings
        check_choice(s.schedule, SCHEDULES, "schedule")
        if s.steps < 1 or s.batch_size < 1 or s.timesteps < 2 or s.n_data < 1:
            raise UserError("steps, batch size, timesteps and data size must be positive")
        self._images = images
        self._net: Any = None
        self._ema: Any = None
        self._schedule: Any = None
        self.losses: list[float] = []
        """Loss of every step."""
        self.elapsed = 0.0
        """Seconds spent in `run`."""

    def run(self) -> Iterator[TrainEvent]:
        import torch

        from genai_tui.images.digits import make_digits
        from genai_tui.models.ddpm import ema_update, make_schedule, training_loss
        from genai_tui.models.unet import UNet, UNetConfig

        s = self.settings = replace(self.settings, bf16=use_bf16(self.settings.bf16))
        torch.manual_seed(s.seed)
        gen = torch.Generator().manual_seed(s.seed)
        images = self._images if self._images is not None else make_digits(s.n_data, s.seed).images
        data = torch.as_tensor(images, dtype=torch.float32) * 2 - 1  # [0, 1] -> [-1, 1]
        config = UNetConfig(image_size=data.shape[-1], in_channels=data.shape[1],
                            base_channels=s.base_channels, channel_mults=s.channel_mults,
                            num_res_blocks=s.num_res_blocks, attention=s.attention)
        self._schedule = make_schedule(s.schedule, s.timesteps)
        net = self._net = UNet(config)
        ema = self._ema = UNet(config)
        ema.load_state_dict(net.state_dict())
        ema.requires_grad_(False)
        opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=0.0)
        from genai_tui.service.train_lm import warmup_cosine

        start = time.perf_counter()
        running, count = 0.0, 0
        net.train()
        for step in range(s.steps):
            lr = warmup_cosine(step, s.steps, s.lr, s.warmup, s.lr / 10)
            for group in opt.param_groups:
                group["lr"] = lr
            idx = torch.randint(0, data.shape[0], (s.batch_size,), generator=gen)
            x0 = data[idx]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.bf16):
                loss = training_loss(net, self._schedule, x0, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            ema_update(ema, net, step, s.ema_decay)
            value = loss.item()
            self.elapsed = time.perf_counter() - start
            self.losses.append(value)
            running, count = running + value, count + 1
            out_of_time = 0 < s.time_limit <= self.elapsed
            last = step == s.steps - 1 or out_of_time
            if (step + 1) % s.log_every == 0 or last:
                yield TrainEvent(step + 1, s.steps, running / count, lr, self.elapsed,
                                 done=last)
                running, count = 0.0, 0
            if last:
                break

    def final_loss(self, window: int = 100) -> float:
        """Mean loss over the last ``window`` steps."""
        tail = self.losses[-window:]
        return float(sum(tail) / len(tail)) if tail else float("nan")

    def curve(self, every: int = 100) -> list[list[float]]:
        """The training curve: ``[step, mean loss of the ``every`` steps up to it]``."""
        return [[min(i + every, len(self.losses)),
                 round(sum(self.losses[i:i + every]) / len(self.losses[i:i + every]), 5)]
                for i in range(0, len(self.losses), every)]

    def model(self) -> DiffusionModel:
        """The trained model (EMA weights), after `run` has finished."""
        if self._ema is None:
            raise RuntimeError("run() the trainer first")
        self._ema.eval()
        return DiffusionModel(self._ema, self._schedule, {"config": self._ema.config.to_dict()})


def save_model(model: DiffusionModel, directory: str | Path, card: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` + ``card.json``; the card gets the config and schedule."""
    from genai_tui.models.bundle import save_bundle

    full = {"model": "ddpm-unet", **card, "config": model.net.config.to_dict(),
            "schedule": model.schedule_name, "timesteps": model.num_timesteps}
    model.card = full
    model.path = Path(directory)
    return save_bundle(directory, model.net.state_dict(), full)


def quality(model: DiffusionModel, n: int = 256, steps: int = 50, seed: int = 1234) -> dict:
    """Sample ``n`` images with DDIM-``steps`` (at most T) and let the classifier judge them."""
    steps = min(steps, model.num_timesteps)
    settings = SampleSettings(n=n, sampler="ddim", steps=steps, seed=seed)
    images = generate(model, settings)
    verdict = judge(images)
    from genai_tui.service.classifier import judge_images

    figures = judge_images(images).to_dict()
    return {"sampler": f"ddim-{steps}", "n": n, "seed": seed,
            "digit_fid": figures["digit_fid"], "judge_version": figures["judge_version"],
            "judged_digits": round(verdict.digit_fraction, 4),
            "mean_confidence": round(verdict.mean_confidence, 4),
            "threshold": verdict.threshold,
            "label_counts": verdict.label_counts()}


def train(settings: TrainSettings, out: str | Path | None = None, *,
          command: str | None = None, images: Any = None,
          judge_samples: int = 256) -> Iterator[TrainEvent]:
    """Train, yielding events; at the end save to ``out`` (when given) with a card that
    records the data, settings, final loss, classifier-judged quality and the command.

    ``judge_samples = 0`` skips the quality check (e.g. without a bundled classifier).
    """
    trainer = Trainer(settings, images)
    yield from trainer.run()
    if out is None:
        return
    model = trainer.model()
    card: dict[str, Any] = {
        "data": (f"make_digits({settings.n_data}, seed={settings.seed}) scaled to [-1, 1]"
                 if images is None else f"{len(images)} user images scaled to [-1, 1]"),
        "steps": len(trainer.losses),
        "seed": settings.seed,
        "train": {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in asdict(settings).items()},
        "metrics": {"final_loss": round(trainer.final_loss(), 5),
                    "train_seconds": round(trainer.elapsed, 1)},
        "curve": {"every": 100, "what": "[step, mean training loss (noise MSE) of the "
                                        "100 steps up to it]", "points": trainer.curve()},
        "command": command or shlex.join(["genai-tui", *sys.argv[1:]]),
    }
    if judge_samples:
        card["metrics"]["sample_quality"] = quality(model, n=judge_samples)
    save_model(model, out, card)
