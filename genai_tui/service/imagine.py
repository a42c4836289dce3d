"""Text to image (issue 17): a small diffusion model that draws the digit a caption asks for.

What `genai-tui imagine` and the Imagine pane call. The model is
`genai_tui.models.cond_unet.CondUNet`: the digit U-Net with cross-attention
from the image to the caption's tokens, trained jointly with its own small text
encoder on captioned generated digits, with condition dropout so
classifier-free guidance works.

- `load` / `ImagineModel.save`: ``model.safetensors`` + ``card.json``.
- `ImagineTraining(settings).events()`: a training run as `Notice`, `Metrics`
  and `Finished` events (`service.lifecycle.events`, like `ClipTraining`);
  the trained model is ``ImagineTraining.trainee``.
- `imagine(model, settings)`: sampling as an iterator of `ImagineStep`, one per
  denoising step (x_t, the predicted x_0 and the cross-attention map of each
  prompt token), images as numpy arrays in [0, 1].
- `prompt_info`: the tokens of a prompt and what of it training never saw
  (`Unknown`; reported, not an error).
- `evaluate`: does guidance make "a seven" a 7 (the bundled digit classifier's
  verdict at guidance 3 vs 0), and do "thick" prompts get more ink than "thin".

Captions: the training split of `genai_tui.images.captions` (full descriptions:
"a small thick seven leaning right") and, for half of the images, short ones
made from a random subset of the same attributes ("a seven", "a thick 7",
"a thin seven leaning left"), so short prompts are in distribution.

torch is imported inside the functions only (the service layer's rule).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genai_tui.errors import AssetError, require
from genai_tui.paths import asset
from genai_tui.service.clip import Unknown, words_of
from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice

if TYPE_CHECKING:
    import numpy as np

STAGE = "imagine"
ASSET_NAME = "imagine"
SAMPLERS = ("ddim", "ddpm")
START_TOKEN = "\u2205"
"""How the start slot (the null caption; where attention goes when no word matters) is shown."""
MAX_GUIDANCE = 20.0
DIGIT_PROMPTS = tuple(f"{'an' if w[0] in 'aeiu' else 'a'} {w}" for w in (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))
"""The prompt `evaluate` uses for each digit: "a zero", ..., "an eight", "a nine"."""
INK_PROMPTS = (("a thick seven", "a thin seven"), ("a thick zero", "a thin zero"),
               ("a thick four", "a thin four"))
"""(thick, thin) prompt pairs `evaluate` compares the ink of."""


def _prepare(text: str) -> str:
    # as service.clip: lower case and a leading space, so a word is the same tokens anywhere
    return " " + " ".join(text.lower().split())


# --- training settings --------------------------------------------------------------------------


@dataclass
class TrainSettings:
    """A text-to-image training run. Saved in the card."""

    steps: int = 4000
    """Optimizer steps."""
    batch_size: int = 64
    train_images: int = 30000
    """Captioned training digits (one caption each, drawn once)."""
    short_captions: float = 0.5
    """Share of images captioned with a short caption ("a thick seven") instead of
    the full description."""
    p_uncond: float = 0.15
    """Condition dropout: share of captions replaced by the null caption (Ho & Salimans)."""
    base_channels: int = 16
    channel_mults: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 1
    cross_levels: tuple[int, ...] = (1, 2)
    """U-Net levels with cross-attention (0 = 28x28, 1 = 14x14, 2 = 7x7)."""
    attention_heads: int = 2
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    max_tokens: int = 24
    prediction: str = "v"
    """What the U-Net predicts: "v" (Salimans & Ho 2022) or "eps" (the noise)."""
    schedule: str = "linear"
    timesteps: int = 1000
    lr: float = 1e-3
    """Peak learning rate (linear warm-up, then cosine decay to a tenth)."""
    warmup: int = 100
    ema_decay: float = 0.998
    """The saved weights are this exponential moving average."""
    bf16: bool | None = None
    """bfloat16 autocast; None: where the CPU has it natively (`runtime.use_bf16`)."""
    seed: int = 0
    tokenizer: str | None = None
    """A ``.bpe`` file; None: the bundled ``genai-bpe-4k``."""
    eval_every: int = 0
    """Steps between held-out loss checks (0: only at the end)."""
    eval_samples: int = 0
    """Samples per prompt for `evaluate` at the end (0: skip; the bundled run uses 100)."""
    time_limit: float = 0.0
    """Stop after this many seconds of training (0: run all steps); the card says so."""

    def validate(self) -> None:
        require([
            (self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (2 <= self.batch_size <= 1024, f"batch size must be 2..1024, got {self.batch_size}"),
            (self.train_images >= self.batch_size,
             f"training images ({self.train_images}) must be at least the batch size "
             f"({self.batch_size})"),
            (0.0 <= self.short_captions <= 1.0, "short caption share must be 0..1"),
            (0.0 < self.p_uncond < 1.0,
             f"condition dropout must be between 0 and 1 (exclusive), got {self.p_uncond}"),
            (self.base_channels >= 8 and self.base_channels % 8 == 0,
             f"channels must be a multiple of 8, got {self.base_channels}"),
            (self.schedule in ("linear", "cosine"), f"unknown schedule {self.schedule!r}"),
            (self.prediction in ("v", "eps"), f"unknown prediction {self.prediction!r}"),
            (2 <= self.timesteps <= 10000, f"timesteps must be 2..10000, got {self.timesteps}"),
            (self.lr > 0 and self.warmup >= 0, "learning rate must be > 0 and warm-up >= 0"),
            (0.0 <= self.ema_decay < 1.0, "EMA decay must be in [0, 1)"),
            (4 <= self.max_tokens <= 128, f"max tokens must be 4..128, got {self.max_tokens}"),
            (self.eval_every >= 0 and self.eval_samples >= 0,
             "eval interval and samples must be >= 0"),
            (self.time_limit >= 0, "time limit must be >= 0"),
        ])


# --- the model handle ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """A prompt as the model reads it."""

    text: str
    ids: list[int]
    """BPE ids of the caption (without the start token), cut to what the model reads."""
    tokens: list[str]
    """The start slot (`START_TOKEN`) then each id's text, made visible
    (`textsafe.visible_bytes`): the labels of the attention maps."""
    unknown: Unknown
    """Words and tokens no training caption had (the model still reads them)."""
    truncated: bool = False
    """The prompt had more tokens than the model reads; the rest was cut."""


@dataclass
class ImagineModel:
    """A loaded text-to-image model: denoiser, schedule, tokenizer, what training saw."""

    net: Any
    """The `CondUNet` (torch module, eval mode, EMA weights)."""
    schedule: Any
    """The `NoiseSchedule` it was trained with."""
    tokenizer: Any
    seen_tokens: set[int] = field(default_factory=set)
    seen_words: set[str] = field(default_factory=set)
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def num_timesteps(self) -> int:
        return self.schedule.num_steps

    def parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def describe(self) -> str:
        """e.g. "text-to-image U-Net 0.9M params, linear schedule, T=1000"."""
        return (f"text-to-image U-Net {self.parameters() / 1e6:.1f}M params, "
                f"{self.schedule.name} schedule, T={self.num_timesteps}")

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(_prepare(text))

    def unknown(self, text: str) -> Unknown:
        """The words and tokens of ``text`` no training caption had."""
        from genai_tui.textsafe import visible_bytes

        words = [w for w in dict.fromkeys(words_of(text)) if w not in self.seen_words]
        tokens = [visible_bytes(self.tokenizer.token_bytes(i))
                  for i in dict.fromkeys(self.token_ids(text)) if i not in self.seen_tokens]
        return Unknown(words, tokens)

    def save(self, directory: str | Path) -> Path:
        """``model.safetensors`` (EMA weights, float32) and ``card.json`` (config,
        schedule, the words and tokens training saw, and ``card``) into ``directory``."""
        from genai_tui.models.bundle import save_bundle

        card = {"model": "imagine-cond-unet", **self.card,
                "config": self.net.config.to_dict(), "schedule": self.schedule.name,
                "timesteps": self.num_timesteps, "parameters": self.parameters(),
                "seen_tokens": sorted(self.seen_tokens), "seen_words": sorted(self.seen_words)}
        self.card = card
        self.path = Path(directory)
        return save_bundle(directory, {k: v.float() for k, v in self.net.state_dict().items()},
                           card)


def load(path: str | Path | None = None) -> ImagineModel:
    """The model at ``path`` (a folder with model.safetensors + card.json; default the
    bundled assets/imagine).

    Raises:
        AssetError: missing or corrupt files, weights that do not fit the card, or a
            tokenizer of another size.
    """
    from genai_tui.models.bundle import load_bundle
    from genai_tui.models.cond_unet import CondUNet, CondUNetConfig
    from genai_tui.models.ddpm import make_schedule

    directory = Path(path) if path is not None else asset(ASSET_NAME)
    state, card = load_bundle(directory)
    try:
        net = CondUNet(CondUNetConfig.from_dict(card["config"]))
        net.load_state_dict({k: v.float() for k, v in state.items()})
        schedule = make_schedule(card.get("schedule", "linear"), int(card.get("timesteps", 1000)))
        seen_tokens = {int(i) for i in card.get("seen_tokens", [])}
        seen_words = {str(w) for w in card.get("seen_words", [])}
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise AssetError(f"{directory}: weights do not match the card "
                         f"({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})"
                         ) from None
    tokenizer = _tokenizer(card.get("train", {}).get("tokenizer"))
    if tokenizer.vocab_size != net.config.vocab_size:
        raise AssetError(f"{directory}: the tokenizer has {tokenizer.vocab_size} ids, "
                         f"the model {net.config.vocab_size}")
    net.eval()
    net.requires_grad_(False)
    return ImagineModel(net, schedule, tokenizer, seen_tokens, seen_words, card, directory)


def _tokenizer(path: str | None) -> Any:
    from genai_tui.tokenizers import bpe

    return bpe.load_default() if path is None else bpe.BPETokenizer.load(path)


def prompt_info(model: ImagineModel, text: str) -> Prompt:
    """How the model reads ``text``: its tokens (as the attention maps label them)
    and the words and tokens training never saw."""
    from genai_tui.textsafe import visible_bytes

    all_ids = model.token_ids(text)
    room = model.net.config.max_tokens - 1
    ids = all_ids[:room]
    tokens = [START_TOKEN] + [visible_bytes(model.tokenizer.token_bytes(i)) for i in ids]
    return Prompt(text, ids, tokens, model.unknown(text), truncated=len(all_ids) > room)


# --- sampling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSettings:
    """What to draw. `validate` checks it."""

    prompt: str = "a seven"
    guidance: float = 1.0
    """Classifier-free guidance scale w in eps_u + w (eps_c - eps_u): 0 ignores the
    prompt (the unconditional model), 1 is the plain conditional model, more pushes
    harder towards the prompt (applied in `guidance_interval` only: guided at every step,
    the bundled model draws ink blobs above about 1.5; see its card)."""
    steps: int = 25
    """DDIM steps (DDPM always takes all T)."""
    sampler: str = "ddim"
    seed: int = 0
    n: int = 1
    """Images drawn for the prompt (one batch)."""
    eta: float = 0.0
    """DDIM stochasticity: 0 deterministic, 1 like DDPM."""
    guidance_interval: float = 0.3
    """Guidance above 1 only at the low-noise end, t < this share of T (Kynkäänniemi et
    al. 2024, "Applying guidance in a limited interval"); the other steps take the plain
    conditional model. Strong guidance at high noise is what turned the bundled model's
    digits into ink blobs (1: guide every step)."""
    guidance_rescale: float = 0.7
    """Guidance rescale phi (Lin et al. 2024 section 3.4): pull the guided prediction's
    spread back to the conditional one's; without it guidance 3 drew ink blobs (0: off)."""
    batch_guidance: bool = True
    """Conditional and unconditional passes in one U-Net call (False: two calls; the
    same numbers, slower; for the benchmark)."""
    attention: bool = True
    """Record the cross-attention maps (each step's ``attention``)."""
    threads: int | None = 1
    """Torch threads for the thread that pulls the steps (None: leave as is)."""


def validate(settings: SampleSettings, timesteps: int = 1000) -> SampleSettings:
    """``settings`` with the sampler name normalised, or a `UserError`."""
    sampler = settings.sampler.strip().lower()
    require([
        (sampler in SAMPLERS,
         f"unknown sampler {settings.sampler!r}; choose one of: {', '.join(SAMPLERS)}"),
        (isinstance(settings.prompt, str) and len(settings.prompt) <= 1000,
         "the prompt must be text of at most 1000 characters"),
        (not math.isnan(settings.guidance) and 0.0 <= settings.guidance <= MAX_GUIDANCE,
         f"guidance must be between 0 and {MAX_GUIDANCE:g}, got {settings.guidance}"),
        (1 <= settings.steps <= timesteps, f"steps must be between 1 and {timesteps}"),
        (1 <= settings.n <= 1024, f"n must be between 1 and 1024, got {settings.n}"),
        (0 <= settings.seed < 2**63, "seed must be between 0 and 2**63 - 1"),
        (not math.isnan(settings.guidance_rescale) and 0.0 <= settings.guidance_rescale <= 1.0,
         "guidance rescale must be between 0 and 1"),
        (not math.isnan(settings.guidance_interval) and 0.0 < settings.guidance_interval <= 1.0,
         f"the guidance interval must be a share of the steps above 0 and at most 1, got "
         f"{settings.guidance_interval}"),
        (not math.isnan(settings.eta) and 0.0 <= settings.eta <= 1.0,
         "eta must be between 0 and 1"),
        (settings.threads is None or 1 <= settings.threads <= 256,
         "threads must be between 1 and 256"),
    ])
    return replace(settings, sampler=sampler)


@dataclass(frozen=True)
class ImagineStep:
    """One denoising step of a batch of images for one prompt."""

    index: int
    """0 for the first (pure-noise) step."""
    total: int
    """Steps the sampler takes."""
    t: int
    """Timestep of x_t (0-based; T-1 is pure noise)."""
    x_t: np.ndarray
    """(N, H, W) what the model saw, in [0, 1]."""
    x0: np.ndarray
    """(N, H, W) the predicted clean images, in [0, 1]."""
    x_next: np.ndarray
    """(N, H, W) the images after this step (the samples, after the last one)."""
    attention: np.ndarray | None
    """(N, L, H, W) float32: at each pixel, the share of the conditional pass's
    cross-attention that went to each of the L tokens of ``tokens`` (averaged over
    layers and heads, upsampled to the image size; sums to 1 over L). None at
    guidance 0 (no conditional pass) or with ``attention=False``."""
    tokens: tuple[str, ...]
    """The L labels: `START_TOKEN` then the prompt's tokens (`Prompt.tokens`)."""
    guidance: float
    elapsed: float
    """Seconds since sampling started."""

    @property
    def done(self) -> bool:
        return self.index == self.total - 1


def imagine(model: ImagineModel, settings: SampleSettings) -> Iterator[ImagineStep]:
    """Draw ``settings.n`` images for the prompt, yielding every denoising step (one
    U-Net call per step; pulling the next item does the work).

    Validates eagerly: a bad setting raises `UserError` before the first ``next()``.
    The same settings (seed included) give the same images.
    """
    settings = validate(settings, model.num_timesteps)
    return _imagine(model, settings, prompt_info(model, settings.prompt))


def _imagine(model: ImagineModel, s: SampleSettings, prompt: Prompt) -> Iterator[ImagineStep]:
    import torch

    from genai_tui.models.cond_unet import caption_ids, guided_eps
    from genai_tui.models.ddpm import sample
    from genai_tui.service.diffusion import to_display
    from genai_tui.service.runtime import torch_threads

    net = model.net
    cfg = net.config
    record = s.attention and s.guidance > 0
    last_maps: list[Any] = [None]
    with torch_threads(s.threads), torch.inference_mode():
        cond = net.encode_text(caption_ids([prompt.ids], cfg)).repeat(s.n)
        uncond = net.encode_text(net.null_ids(1)).repeat(s.n)

    cutoff = s.guidance_interval * model.num_timesteps

    def eps_model(x: Any, t: Any) -> Any:
        scale = s.guidance if int(t.flatten()[0]) < cutoff else min(s.guidance, 1.0)
        # inference mode around each call only: a generator must not leave it set in the
        # consumer's thread between steps
        with torch.inference_mode():
            eps, maps = guided_eps(net, x, t, cond, uncond, scale,
                                   schedule=model.schedule, batched=s.batch_guidance,
                                   record=record, rescale=s.guidance_rescale)
        last_maps[0] = maps
        return eps

    gen = torch.Generator().manual_seed(s.seed)
    shape = (s.n, cfg.in_channels, cfg.image_size, cfg.image_size)
    tokens = tuple(prompt.tokens)
    start = time.perf_counter()
    with torch_threads(s.threads):
        for step in sample(eps_model, model.schedule, shape, sampler=s.sampler,
                           num_steps=s.steps, eta=s.eta, generator=gen):
            maps = last_maps[0]
            yield ImagineStep(step.index, step.total, step.t, to_display(step.x_t),
                              to_display(step.x0), to_display(step.x_next),
                              None if maps is None else maps.numpy().astype("float32"),
                              tokens, s.guidance, time.perf_counter() - start)


def generate(model: ImagineModel, settings: SampleSettings) -> np.ndarray:
    """Only the final images, (N, H, W) in [0, 1]."""
    from collections import deque

    (last,) = deque(imagine(model, replace(settings, attention=False)), maxlen=1)
    return last.x_next


# --- evaluation ---------------------------------------------------------------------------------


def ink(images: np.ndarray) -> np.ndarray:
    """(N,) ink mass of each image (N, H, W) in [0, 1]: the sum of its pixel values."""
    import numpy as np

    return np.asarray(images, dtype=np.float64).reshape(len(images), -1).sum(1)


def evaluate(model: ImagineModel, *, n: int = 100, guidances: tuple[float, ...] = (0.0, 3.0),
             steps: int = 25, seed: int = 1234, digit_prompts: tuple[str, ...] = DIGIT_PROMPTS,
             ink_prompts: tuple[tuple[str, str], ...] = INK_PROMPTS,
             ink_guidance: float | None = None,
             threads: int | None = None) -> dict[str, Any]:
    """Does the prompt steer the picture? ``n`` DDIM-``steps`` samples per prompt and
    guidance scale, judged by the bundled digit classifier (`diffusion.judge`).

    Returns ``{"digits": {prompt: {"target": d, "<guidance>": share read as d}},
    "mean_share": {"<guidance>": mean over the digit prompts}, "ink": {prompt: mean ink
    at ``ink_guidance`` (default: the highest guidance)}, "ink_thick", "ink_thin",
    "ink_ratio", "n", "steps", "seed", "seconds"}``. A share counts confident verdicts
    only (top probability above the classifier's threshold).

    Raises:
        AssetError: the classifier is not bundled.
    """
    import numpy as np

    from genai_tui.images.captions import DIGIT_WORDS
    from genai_tui.service.diffusion import judge

    start = time.perf_counter()
    out: dict[str, Any] = {"n": n, "steps": steps, "sampler": "ddim", "seed": seed,
                           "guidances": list(guidances), "digits": {}}
    for prompt in digit_prompts:
        target = next((d for d, w in enumerate(DIGIT_WORDS) if w in words_of(prompt)), None)
        row: dict[str, Any] = {"target": target}
        for g in guidances:
            images = generate(model, SampleSettings(prompt=prompt, guidance=g, steps=steps,
                                                    seed=seed, n=n, threads=threads))
            verdict = judge(images)
            hits = sum(lab == target and c > verdict.threshold
                       for lab, c in zip(verdict.labels, verdict.confidences, strict=True))
            row[f"{g:g}"] = round(hits / n, 4)
        out["digits"][prompt] = row
    out["mean_share"] = {f"{g:g}": round(float(np.mean(
        [r[f"{g:g}"] for r in out["digits"].values()])), 4) for g in guidances}
    top = max(guidances) if ink_guidance is None else ink_guidance
    out["ink_guidance"] = top
    out["ink"] = {}
    thick, thin = [], []
    for thick_prompt, thin_prompt in ink_prompts:
        for prompt, bucket in ((thick_prompt, thick), (thin_prompt, thin)):
            images = generate(model, SampleSettings(prompt=prompt, guidance=top, steps=steps,
                                                    seed=seed, n=n, threads=threads))
            mass = float(ink(images).mean())
            out["ink"][prompt] = round(mass, 2)
            bucket.append(mass)
    if thick and thin:
        out["ink_thick"] = round(float(np.mean(thick)), 2)
        out["ink_thin"] = round(float(np.mean(thin)), 2)
        out["ink_ratio"] = round(out["ink_thick"] / max(out["ink_thin"], 1e-9), 3)
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out


# --- training -----------------------------------------------------------------------------------


def short_caption(label: int, attrs: dict[str, float], rng: Any) -> str:
    """A short caption naming the digit and a random subset of its attributes:
    "a seven", "a thick 7", "a small thin seven leaning left"."""
    from genai_tui.images.captions import DIGIT_WORDS, attribute_words

    words = attribute_words(attrs)
    digit = DIGIT_WORDS[label] if rng.random() < 0.7 else str(label)
    adjectives = []
    if rng.random() < 0.3:
        adjectives.append(words.size)
    if rng.random() < 0.5:
        adjectives.append(words.thickness)
    text = " ".join([*adjectives, digit])
    if rng.random() < 0.3:
        text += {"left": " leaning left", "upright": " standing upright",
                 "right": " leaning right"}[words.slant]
    article = "an" if text[:1] in "aeiu8" else "a"
    return f"{article} {text}"


def training_captions(n: int, seed: int, short_share: float) -> tuple[Any, list[str]]:
    """``n`` digits of the training split and a caption each: the split's own (full)
    caption, or with probability ``short_share`` a `short_caption`."""
    import numpy as np

    from genai_tui.images.captions import ATTRIBUTES, caption_set

    data = caption_set(n, "train", seed)
    rng = np.random.default_rng([seed, 17])
    captions = []
    for i, full in enumerate(data.captions):
        if rng.random() < short_share:
            attrs = {k: float(data.attrs[k][i]) for k in ATTRIBUTES}
            captions.append(short_caption(int(data.labels[i]), attrs, rng))
        else:
            captions.append(full)
    return data, captions


class ImagineTraining:
    """One text-to-image training run; iterate `events()` once.

    Metrics per step: ``loss`` (the batch's MSE to the target: v or the noise), ``lr``;
    at evaluation steps ``val_loss`` (held-out captions and digits, fixed noise).
    `Finished` carries the summary (and `evaluate`'s headline figures when
    ``eval_samples`` > 0). ``trainee`` is the model (EMA weights) once set-up is done;
    ``trainee.save(folder)`` writes it.
    """

    stage = STAGE
    shown = ("loss", "val_loss")

    def __init__(self, settings: TrainSettings | None = None) -> None:
        self.settings = settings or TrainSettings()
        self.settings.validate()
        self.trainee: ImagineModel | None = None
        self.losses: list[float] = []

    def events(self) -> Iterator[Event]:
        import torch

        from genai_tui.images.captions import caption_set
        from genai_tui.models.cond_unet import (
            CondUNet,
            CondUNetConfig,
            caption_ids,
            training_loss,
        )
        from genai_tui.models.ddpm import ema_update, make_schedule
        from genai_tui.service.lifecycle.trainee import adamw
        from genai_tui.service.runtime import use_bf16
        from genai_tui.service.train_lm import warmup_cosine

        s = self.settings = replace(self.settings, bf16=use_bf16(self.settings.bf16))
        t0 = time.perf_counter()
        yield Notice(STAGE, f"drawing and captioning {s.train_images} digits")
        data, captions = training_captions(s.train_images, s.seed, s.short_captions)
        heldout = caption_set(256, "heldout", s.seed)
        tokenizer = _tokenizer(s.tokenizer)
        torch.manual_seed(s.seed)
        config = CondUNetConfig(
            base_channels=s.base_channels, channel_mults=s.channel_mults,
            num_res_blocks=s.num_res_blocks, cross_levels=s.cross_levels,
            attention_heads=s.attention_heads, vocab_size=tokenizer.vocab_size,
            max_tokens=s.max_tokens, text_width=s.text_width, text_layers=s.text_layers,
            text_heads=s.text_heads, prediction=s.prediction)
        schedule = make_schedule(s.schedule, s.timesteps)
        net = CondUNet(config)
        ema = CondUNet(config)
        ema.load_state_dict(net.state_dict())
        ema.requires_grad_(False)
        ema.eval()
        rows = [tokenizer.encode(_prepare(c)) for c in captions]
        ids = caption_ids(rows, config)  # (N, L)
        seen_tokens = {i for r in rows for i in r[: config.max_tokens - 1]}
        seen_words = {w for c in captions for w in words_of(c)}
        x_all = data.images * 2 - 1  # (N, 1, 28, 28) in [-1, 1]
        val_ids = caption_ids([tokenizer.encode(_prepare(c)) for c in heldout.captions], config)
        val_x = heldout.images * 2 - 1
        self.trainee = ImagineModel(ema, schedule, tokenizer, seen_tokens, seen_words)
        params = sum(p.numel() for p in net.parameters())
        yield Notice(STAGE, f"{params / 1e6:.2f}M parameters; {len(captions)} captions "
                            f"({len(seen_words)} words, {len(seen_tokens)} tokens), "
                            f"condition dropout {s.p_uncond:g}")
        optimizer = adamw(net, s.lr, 0.0)
        gen = torch.Generator().manual_seed(s.seed)
        history: list[dict] = []
        started = time.perf_counter()
        step, stopped = 0, False
        for step in range(1, s.steps + 1):
            net.train()
            lr = warmup_cosine(step - 1, s.steps, s.lr, max(1, s.warmup), s.lr / 10)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = torch.randint(0, len(captions), (s.batch_size,), generator=gen)
            x0, cap = x_all[batch], ids[batch]
            cap = cap[:, : int((cap != config.pad_id).sum(1).max())]  # drop all-padding columns
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.bf16):
                loss = training_loss(net, schedule, x0, cap, s.p_uncond, gen)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            ema_update(ema, net, step, s.ema_decay)
            value = loss.item()
            self.losses.append(value)
            values = {"loss": value, "lr": lr}
            elapsed = time.perf_counter() - started
            stopped = 0 < s.time_limit <= elapsed and step < s.steps
            last = step == s.steps or stopped
            if last or (s.eval_every and step % s.eval_every == 0):
                values["val_loss"] = heldout_loss(ema, schedule, val_x, val_ids, s.seed)
                history.append({"step": step, "loss": round(_mean_tail(self.losses), 5),
                                "val_loss": round(values["val_loss"], 5)})
            yield Metrics(STAGE, step, s.steps, values, time.perf_counter() - t0)
            if stopped:
                yield Notice(STAGE, f"time limit reached after {step} of {s.steps} steps",
                             "warn")
                break
        seconds = time.perf_counter() - started
        summary: dict[str, Any] = {
            "steps": step, "seconds": round(seconds, 1),
            "steps_per_s": round(step / max(seconds, 1e-9), 3), "parameters": params,
            "final_loss": round(_mean_tail(self.losses), 5),
            "val_loss": history[-1]["val_loss"] if history else None}
        evaluation = None
        if s.eval_samples:
            yield Notice(STAGE, f"evaluating: {s.eval_samples} samples per prompt")
            try:
                evaluation = evaluate(self.trainee, n=s.eval_samples)
            except AssetError as e:
                yield Notice(STAGE, f"no evaluation: {e}", "warn")
        if evaluation is not None:
            # the headline figures (the card keeps them all)
            for g, share in evaluation["mean_share"].items():
                summary[f"digit_share_guidance_{g}"] = share
            seven = evaluation["digits"].get("a seven", {})
            for g in evaluation["guidances"]:
                if f"{g:g}" in seven:
                    summary[f"seven_share_guidance_{g:g}"] = seven[f"{g:g}"]
            for key in ("ink_thick", "ink_thin", "ink_ratio"):
                if key in evaluation:
                    summary[key] = evaluation[key]
        self.trainee.card = {
            "data": (f"caption_set({s.train_images}, 'train', seed={s.seed}); a share "
                     f"{s.short_captions:g} of short captions (short_caption)"),
            "train": {k: (list(v) if isinstance(v, tuple) else v)
                      for k, v in asdict(s).items()},
            "metrics": summary,
            **({"evaluation": evaluation} if evaluation is not None else {}),
            "curve": {"what": "[step, held-out loss]",
                      "points": [[h["step"], h["val_loss"]] for h in history]},
            "stopped_early": stopped}
        yield Finished(STAGE, step, summary, stopped=stopped)


def _mean_tail(values: list[float], window: int = 100) -> float:
    tail = values[-window:]
    return float(sum(tail) / len(tail)) if tail else float("nan")


def heldout_loss(net: Any, schedule: Any, x0: Any, ids: Any, seed: int = 0) -> float:
    """The training loss of ``net`` on held-out images and captions, with fixed t and noise
    (the same draw every call, so values are comparable across steps)."""
    import torch

    from genai_tui.models.cond_unet import training_target
    from genai_tui.models.ddpm import q_sample

    gen = torch.Generator().manual_seed(seed + 99)
    t = torch.randint(0, schedule.num_steps, (x0.shape[0],), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    target = training_target(schedule, x0, t, noise, net.config.prediction)
    was_training = net.training
    net.eval()
    with torch.no_grad():
        pred = net(q_sample(schedule, x0, t, noise), t, ids)
    net.train(was_training)
    return float(torch.mean((target - pred.float()) ** 2))
