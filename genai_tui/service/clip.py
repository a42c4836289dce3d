"""Words and images in one space (issue 17): train the small CLIP of
`genai_tui.models.clip` on captioned digits, and retrieve with it.

`ClipTraining(settings).events()` draws and captions the digits
(`genai_tui.images.captions`: a training split, and a held-out split of new
phrasings on held-out (digit, thickness, slant) triples), then yields a
`Metrics` event per optimizer step (``loss``, ``temperature`` = 1 /
exp(logit_scale), ``logit_scale`` = exp(logit_scale), ``lr``). Evaluation
steps add held-out retrieval (`evaluate`): text -> image top-1 digit accuracy
(``t2i_digit``), thickness and slant band accuracy of that image
(``t2i_thickness``, ``t2i_slant``, their mean ``t2i_attribute``) and image ->
text top-1 digit accuracy (``i2t_digit``), each beside its chance level (the
``*_chance`` figures of the first `Notice` and of the summary). Then
`Finished`; the trained model is ``ClipTraining.clip``, a `ClipModel`.

`ClipModel` retrieves: `search` (text -> nearest gallery images), `captions`
(image -> best captions), `score` (one image, one text), `similarity_matrix`
and `unknown` (the words and tokens of a prompt the training captions never
had; not an error: the encoder still embeds them). Texts are lower-cased and
given a leading space before tokenizing, so a word is the same tokens at the
start of a prompt as in the middle ("thick" -> " th" "ick" either way).

torch is imported inside the functions only (the service layer's rule).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genai_tui.errors import AssetError, UserError, require
from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice

STAGE = "clip"


@dataclass
class ClipSettings:
    """A run that learns digit retrieval within a few minutes on two cores."""

    steps: int = 1500
    batch_size: int = 64
    train_images: int = 8000
    """Captioned training digits (one caption each, drawn once)."""
    heldout_images: int = 500
    """Held-out digits: the retrieval gallery and its captions."""
    text_layers: int = 2
    text_heads: int = 4
    text_width: int = 64
    image_channels: int = 16
    embed_dim: int = 64
    max_tokens: int = 32
    lr: float = 2e-3
    """Peak learning rate (after warm-up; cosine decay to a tenth of it)."""
    warmup: int = 50
    weight_decay: float = 0.05
    eval_every: int = 100
    seed: int = 0
    tokenizer: str | None = None
    """A ``.bpe`` file; None: the bundled ``genai-bpe-4k``."""
    time_limit: float | None = None
    """Seconds of training after which the run evaluates, stops and reports (None: no
    limit)."""

    def validate(self) -> None:
        require([
            (self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (2 <= self.batch_size <= 1024, f"batch size must be 2..1024, got {self.batch_size}"),
            (self.train_images >= self.batch_size,
             f"training images ({self.train_images}) must be at least the batch size "
             f"({self.batch_size})"),
            (10 <= self.heldout_images <= 20_000,
             f"held-out images must be 10..20000, got {self.heldout_images}"),
            (1 <= self.text_layers <= 8, f"text layers must be 1..8, got {self.text_layers}"),
            (self.text_heads >= 1 and self.text_width >= 8,
             "text heads must be >= 1 and text width >= 8"),
            (self.text_width % max(1, self.text_heads) == 0,
             f"text width {self.text_width} must be divisible by heads {self.text_heads}"),
            (self.image_channels >= 1 and self.embed_dim >= 2,
             "image channels must be >= 1 and the embedding width >= 2"),
            (4 <= self.max_tokens <= 256, f"max tokens must be 4..256, got {self.max_tokens}"),
            (self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.warmup >= 0 and self.weight_decay >= 0,
             "warm-up and weight decay must be >= 0"),
            (self.eval_every >= 1, f"eval interval must be >= 1, got {self.eval_every}"),
            (self.time_limit is None or self.time_limit > 0,
             f"the time limit must be > 0 seconds, got {self.time_limit}"),
        ])


def _prepare(text: str) -> str:
    return " " + " ".join(text.lower().split())


def words_of(text: str) -> list[str]:
    """The words of ``text`` as `unknown` counts them (lower case; "3," -> "3")."""
    return re.findall(r"[^\W_]+(?:-[^\W_]+)*", text.lower())


@dataclass(frozen=True)
class Unknown:
    """What of a prompt the training captions never had."""

    words: list[str]
    """Words (`words_of`) no training caption contains."""
    tokens: list[str]
    """Tokens (shown with `textsafe.visible_bytes`) no training caption was made of."""

    def __bool__(self) -> bool:
        return bool(self.words or self.tokens)


@dataclass(frozen=True)
class Match:
    """One gallery image found for a text."""

    index: int
    """Position in the gallery."""
    similarity: float
    """Cosine similarity of image and text embeddings, -1..1."""
    label: int
    """The image's digit (-1 if unknown)."""
    attr_classes: tuple[int, ...]
    """(thickness, slant, size) bands, 0..2 each (`images.captions.ATTRIBUTES`); empty
    for images without attributes."""


@dataclass(frozen=True)
class SearchResult:
    query: str
    matches: list[Match]
    unknown: Unknown


@dataclass(frozen=True)
class CaptionMatch:
    text: str
    similarity: float


class ClipModel:
    """A trained CLIP with its tokenizer, what its training captions held, and a gallery."""

    def __init__(self, model: Any, tokenizer: Any, seen_tokens: set[int], seen_words: set[str],
                 gallery: Any = None, card: dict | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.seen_tokens = set(seen_tokens)
        self.seen_words = set(seen_words)
        self.card = card or {}
        self.gallery = None
        """The `images.captions.CaptionSet` `search` looks in."""
        self._gallery_emb = None
        if gallery is not None:
            self.set_gallery(gallery)

    # -- encoding -----------------------------------------------------------

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(_prepare(text))

    def encode_texts(self, texts: list[str]) -> Any:
        """(N, D) unit vectors."""
        import torch

        from genai_tui.models.clip import pad_ids

        rows = [self.token_ids(t) for t in texts]
        with torch.no_grad():
            out = [self.model.encode_text(pad_ids(rows[i:i + 256], self.model.config))
                   for i in range(0, len(rows), 256)]
        return torch.cat(out)

    def encode_images(self, images: Any) -> Any:
        """(N, 1, 28, 28), (N, 28, 28) or (28, 28), array or tensor -> (N, D) unit vectors."""
        import torch

        x = torch.as_tensor(images, dtype=torch.float32)
        if x.dim() == 2:
            x = x[None]
        if x.dim() == 3:
            x = x[:, None]
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise UserError(f"images must be 28x28, got shape {tuple(x.shape)}")
        with torch.no_grad():
            return torch.cat([self.model.encode_image(x[i:i + 512])
                              for i in range(0, x.shape[0], 512)])

    # -- what the model knows ---------------------------------------------

    def unknown(self, text: str) -> Unknown:
        """The words and tokens of ``text`` no training caption had."""
        from genai_tui.textsafe import visible_bytes

        words = [w for w in dict.fromkeys(words_of(text)) if w not in self.seen_words]
        tokens = [visible_bytes(self.tokenizer.token_bytes(i))
                  for i in dict.fromkeys(self.token_ids(text)) if i not in self.seen_tokens]
        return Unknown(words, tokens)

    # -- retrieval ----------------------------------------------------------

    def set_gallery(self, gallery: Any) -> None:
        """Index ``gallery`` (a `CaptionSet`, or anything with ``images``, ``labels``)."""
        self.gallery = gallery
        self._gallery_emb = self.encode_images(gallery.images)

    def search(self, text: str, k: int = 8) -> SearchResult:
        """The ``k`` gallery images nearest to ``text``, most similar first."""
        if self.gallery is None or self._gallery_emb is None:
            raise UserError("no images to search: set a gallery first")
        if k < 1:
            raise UserError(f"k must be >= 1, got {k}")
        sims = self._gallery_emb @ self.encode_texts([text])[0]  # (N,)
        top = sims.topk(min(k, sims.numel()))
        classes = getattr(self.gallery, "attr_classes", None)
        matches = [Match(int(i), float(s), int(self.gallery.labels[i]),
                         tuple(int(c) for c in classes[i]) if classes is not None else ())
                   for s, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
        return SearchResult(text, matches, self.unknown(text))

    def captions(self, image: Any, candidates: list[str] | None = None,
                 k: int = 5) -> list[CaptionMatch]:
        """Image -> text: the ``k`` best of ``candidates`` (default: the gallery's
        distinct captions) for one image."""
        if candidates is None:
            if self.gallery is None:
                raise UserError("no captions to choose from: give candidates or a gallery")
            candidates = list(dict.fromkeys(self.gallery.captions))
        if not candidates:
            raise UserError("no candidate captions")
        sims = self.encode_texts(candidates) @ self.encode_images(image)[0]  # (C,)
        top = sims.topk(min(k, len(candidates)))
        return [CaptionMatch(candidates[i], float(s))
                for s, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]

    def score(self, image: Any, text: str) -> float:
        """Cosine similarity of one image (28x28) and one text, -1..1."""
        return float(self.encode_images(image)[0] @ self.encode_texts([text])[0])

    def similarity_matrix(self, images: Any, texts: list[str] | None = None) -> Any:
        """(N_images, N_texts) numpy float32 cosine similarities of ``images`` and
        ``texts``, or of a batch's own images and captions (a `CaptionSet` as
        ``images``, no ``texts``): for matching pairs the diagonal should be the
        brightest of each row."""
        if texts is None:
            images, texts = images.images, list(images.captions)
        return (self.encode_images(images) @ self.encode_texts(texts).T).numpy()

    # -- files -------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """``model.safetensors`` and ``card.json`` (config, settings, figures and the
        words and tokens training saw) into ``directory``."""
        from genai_tui.models.clip import save_clip

        card = {**self.card, "seen_tokens": sorted(self.seen_tokens),
                "seen_words": sorted(self.seen_words)}
        return save_clip(self.model, directory, card)


def load(directory: str | Path) -> ClipModel:
    """A `ClipModel` saved by `ClipModel.save` (no gallery: `set_gallery`, or
    `heldout_gallery`). `AssetError` if the files are missing or broken."""
    from genai_tui.models.clip import load_clip

    model = load_clip(directory)
    card = model.card
    tokenizer = _tokenizer(card.get("settings", {}).get("tokenizer"))
    if tokenizer.vocab_size != model.config.vocab_size:
        raise AssetError(f"{directory}: the tokenizer has {tokenizer.vocab_size} ids, "
                         f"the model {model.config.vocab_size}")
    return ClipModel(model, tokenizer, set(card.get("seen_tokens", [])),
                     set(card.get("seen_words", [])), card=card)


def heldout_gallery(n: int = 500, seed: int = 0) -> Any:
    """The held-out `CaptionSet` a run with this seed evaluates on."""
    from genai_tui.images.captions import caption_set

    return caption_set(n, "heldout", seed)


SEARCH_SEED_OFFSET = 1_000_003
"""`search_gallery` draws its training-combination images from seed + this: no run's
training images (drawn from its own seed) are among them."""


def search_gallery(n: int = 500, seed: int = 0) -> Any:
    """A gallery over all 90 combinations, none of it trained on: the held-out set of
    `heldout_gallery` plus ``n`` new images of the training split's combinations."""
    import torch

    from genai_tui.images.captions import CaptionSet, caption_set

    heldout = caption_set(n, "heldout", seed)
    fresh = caption_set(n, "train", seed + SEARCH_SEED_OFFSET)
    return CaptionSet(
        images=torch.cat([heldout.images, fresh.images]),
        captions=heldout.captions + fresh.captions,
        labels=torch.cat([heldout.labels, fresh.labels]),
        attr_classes=torch.cat([heldout.attr_classes, fresh.attr_classes]),
        attrs={k: torch.cat([heldout.attrs[k], fresh.attrs[k]]) for k in heldout.attrs},
        templates=heldout.templates + fresh.templates, split="heldout+unseen")


def _tokenizer(path: str | None) -> Any:
    from genai_tui.tokenizers import bpe

    return bpe.load_default() if path is None else bpe.BPETokenizer.load(path)


def data_record(settings: ClipSettings) -> dict[str, Any]:
    """What a run trained and was judged on, for the card."""
    from genai_tui.images.captions import HELDOUT_TEMPLATES, TRAIN_TEMPLATES

    return {"source": "generated digits (images.digits.make_digits) captioned from their "
                      "label and thickness/slant/size bands (images.captions)",
            "train": {"images": settings.train_images, "templates": list(TRAIN_TEMPLATES),
                      "triples": "the 72 (digit, thickness, slant) triples with "
                                 "(digit + thickness + 2 * slant) % 5 != 0"},
            "heldout": {"images": settings.heldout_images,
                        "templates": list(HELDOUT_TEMPLATES),
                        "triples": "the other 18 triples; new phrasings and the words "
                                   "'drawn' and 'pen'"},
            "seed": settings.seed}


# -- the joint space in two dimensions ------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    """One embedding projected onto the plane of the two main directions."""

    kind: str
    """"text" or "image"."""
    index: int
    """Row in the caption set the point comes from."""
    digit: int
    x: float
    y: float
    text: str
    """The caption (for an image point: the caption that came with it)."""


@dataclass(frozen=True)
class JointMap:
    """Text and image embeddings of one caption set on one PCA plane."""

    points: list[MapPoint]
    explained: tuple[float, float]
    """Share of the joint embeddings' variance along each of the two axes."""
    gap: float
    """Distance between the mean text and the mean image embedding (unit vectors)."""
    gap_closed: bool
    """Whether each kind's mean was subtracted before the PCA."""


def joint_projection(clip: ClipModel, data: Any, close_gap: bool = True) -> JointMap:
    """Project the captions and images of ``data`` (a `CaptionSet`) together onto
    their first two principal components: one PCA of the stacked (2N, D)
    embeddings, so text and image points share the axes.

    Contrastive training leaves the two kinds in separate cones of the sphere
    (the "modality gap", Liang et al. 2022): only the angles within a pair
    are trained, not where each cone sits. Left in, the gap is the first axis
    and the map shows two clouds. ``close_gap`` (the default) subtracts each
    kind's own mean before the PCA, so the axes show what the kinds share
    (digit, slant, thickness); ``JointMap.gap`` says how wide the gap was.
    """
    import torch

    texts = clip.encode_texts(list(data.captions)).double()  # (N, D)
    images = clip.encode_images(data.images).double()  # (N, D)
    gap = float((texts.mean(0) - images.mean(0)).norm())
    if close_gap:
        texts, images = texts - texts.mean(0), images - images.mean(0)
    both = torch.cat([texts, images])  # (2N, D)
    centred = both - both.mean(0, keepdim=True)
    _, singular, vh = torch.linalg.svd(centred, full_matrices=False)
    xy = (centred @ vh[:2].T).float()  # (2N, 2)
    variance = singular.square()
    explained = [float(v) for v in (variance[:2] / variance.sum().clamp_min(1e-12))]
    n = len(data.captions)
    points = [MapPoint("text" if row < n else "image", row % n,
                       int(data.labels[row % n]), float(xy[row, 0]), float(xy[row, 1]),
                       data.captions[row % n])
              for row in range(2 * n)]
    return JointMap(points, (explained[0], explained[1]), gap, close_gap)


def digit_distances(projection: JointMap) -> dict[str, float]:
    """Mean distance on the map from each caption to the images of its own digit
    (``same_digit``) and to images of other digits (``other_digit``)."""
    import torch

    texts = [p for p in projection.points if p.kind == "text"]
    images = [p for p in projection.points if p.kind == "image"]
    if not texts or not images:
        raise UserError("the map needs both captions and images")
    t = torch.tensor([(p.x, p.y) for p in texts])
    i = torch.tensor([(p.x, p.y) for p in images])
    same = (torch.tensor([p.digit for p in texts])[:, None]
            == torch.tensor([p.digit for p in images])[None, :])  # (T, I)
    d = torch.cdist(t, i)  # (T, I)
    return {"same_digit": float(d[same].mean()) if same.any() else float("nan"),
            "other_digit": float(d[~same].mean()) if (~same).any() else float("nan")}


def describing_captions() -> list[str]:
    """One plain caption per (digit, thickness, slant, size) band: the 270 candidates
    image -> text chooses from ("a small thin seven leaning right"), in training
    words only."""
    import numpy as np

    from genai_tui.images.captions import ATTRIBUTES, RANGES, caption

    def centre(name: str, b: int) -> float:
        lo, hi = RANGES[name]
        return lo + (b + 0.5) * (hi - lo) / 3

    rng = np.random.default_rng(0)  # unused by this template (it names the digit's word)
    out = []
    for digit in range(10):
        for t in range(3):
            for sl in range(3):
                for z in range(3):
                    attrs = dict(zip(ATTRIBUTES, (centre("thickness", t), centre("slant", sl),
                                                  centre("size", z)), strict=True))
                    out.append(caption(digit, attrs, "{a} {size} {thick} {word} {slant}", rng))
    return out


# -- evaluation --------------------------------------------------------------


def chance_levels(data: Any) -> dict[str, float]:
    """Top-1 accuracies of a random pick from ``data`` (a `CaptionSet`) as its own
    gallery: the mean over queries of the share of images that match."""
    import torch

    def agree(column: torch.Tensor) -> float:
        counts = torch.bincount(column, minlength=int(column.max()) + 1).float()
        return float((counts / column.numel()).square().sum())

    thickness, slant = agree(data.attr_classes[:, 0]), agree(data.attr_classes[:, 1])
    return {"t2i_digit_chance": agree(data.labels), "t2i_thickness_chance": thickness,
            "t2i_slant_chance": slant, "t2i_attribute_chance": (thickness + slant) / 2,
            "i2t_digit_chance": agree(data.labels)}


def evaluate(clip: ClipModel, data: Any) -> dict[str, float]:
    """Top-1 retrieval within ``data`` (a `CaptionSet`, one caption per image).

    Text -> image: each caption's nearest image, judged on the digit and on the
    thickness and slant bands the caption names. Image -> text: each image's
    nearest caption, judged on the digit.
    """
    texts = clip.encode_texts(data.captions)  # (N, D)
    images = clip.encode_images(data.images)  # (N, D)
    sims = texts @ images.T  # (N_text, N_image)
    best_image = sims.argmax(1)
    best_text = sims.argmax(0)
    labels, classes = data.labels, data.attr_classes
    thickness = float((classes[best_image, 0] == classes[:, 0]).float().mean())
    slant = float((classes[best_image, 1] == classes[:, 1]).float().mean())
    return {"t2i_digit": float((labels[best_image] == labels).float().mean()),
            "t2i_thickness": thickness, "t2i_slant": slant,
            "t2i_attribute": (thickness + slant) / 2,
            "i2t_digit": float((labels[best_text] == labels).float().mean())}


# -- training ----------------------------------------------------------------


class ClipTraining:
    """One CLIP training run; iterate `events()` once."""

    stage = STAGE
    shown = ("loss", "t2i_digit", "t2i_attribute")
    """The figures a progress bar shows (`cli.lifecycle_cmds.run_stage`)."""

    def __init__(self, settings: ClipSettings | None = None) -> None:
        self.settings = settings or ClipSettings()
        self.settings.validate()
        self.clip: ClipModel | None = None
        """The model being trained, with the held-out gallery (set once set-up is done)."""

    @property
    def trainee(self) -> ClipModel | None:
        """What `cli.lifecycle_cmds.run_stage` saves: the trained `ClipModel`."""
        return self.clip

    def events(self) -> Iterator[Event]:
        import torch

        from genai_tui.images.captions import caption_set
        from genai_tui.models.clip import CLIP, ClipConfig, pad_ids
        from genai_tui.service.lifecycle.trainee import adamw
        from genai_tui.service.train_lm import warmup_cosine

        s = self.settings
        t0 = time.perf_counter()
        yield Notice(STAGE, f"drawing and captioning {s.train_images + s.heldout_images} digits")
        train = caption_set(s.train_images, "train", s.seed)
        heldout = caption_set(s.heldout_images, "heldout", s.seed)
        tokenizer = _tokenizer(s.tokenizer)
        torch.manual_seed(s.seed)
        config = ClipConfig(vocab_size=tokenizer.vocab_size, max_tokens=s.max_tokens,
                            text_layers=s.text_layers, text_heads=s.text_heads,
                            text_width=s.text_width, image_channels=s.image_channels,
                            embed_dim=s.embed_dim)
        model = CLIP(config)
        rows = [tokenizer.encode(_prepare(c)) for c in train.captions]
        ids = pad_ids(rows, config)  # (N, T)
        seen_tokens = {i for r in rows for i in r[: s.max_tokens]}
        seen_words = {w for c in train.captions for w in words_of(c)}
        clip = ClipModel(model, tokenizer, seen_tokens, seen_words)
        self.clip = clip
        chance = chance_levels(heldout)
        yield Notice(STAGE, f"{model.num_params() / 1e6:.2f}M parameters; {len(train)} "
                            f"training captions ({len(seen_words)} words, {len(seen_tokens)} "
                            f"tokens), {len(heldout)} held-out; chance: digit "
                            f"{chance['t2i_digit_chance']:.0%}, thickness "
                            f"{chance['t2i_thickness_chance']:.0%}, slant "
                            f"{chance['t2i_slant_chance']:.0%}")
        optimizer = adamw(model, s.lr, s.weight_decay)
        generator = torch.Generator().manual_seed(s.seed)
        # The card's training curve: per evaluation, that step's loss, the mean loss
        # since the previous evaluation and the held-out retrieval figures.
        history: list[dict] = []
        losses: list[float] = []
        started = time.perf_counter()
        step = 0
        for step in range(1, s.steps + 1):
            model.train()
            lr = warmup_cosine(step - 1, s.steps, s.lr, max(1, s.warmup), s.lr / 10)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = torch.randperm(len(train), generator=generator)[: s.batch_size]
            loss = model.loss(train.images[batch], ids[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scale = float(model.scale().detach())
            values = {"loss": loss.item(), "temperature": 1.0 / scale, "logit_scale": scale,
                      "lr": lr}
            losses.append(values["loss"])
            out_of_time = (s.time_limit is not None
                           and time.perf_counter() - started > s.time_limit)
            if step % s.eval_every == 0 or step == s.steps or out_of_time:
                model.eval()
                values.update(evaluate(clip, heldout))
                recent = losses[-s.eval_every:]
                history.append({"step": step, "loss": round(values["loss"], 4),
                                "mean_loss": round(sum(recent) / len(recent), 4),
                                **{k: round(v, 4) for k, v in values.items()
                                   if k.startswith(("t2i", "i2t"))}})
            yield Metrics(STAGE, step, s.steps, values, time.perf_counter() - t0)
            if out_of_time:
                yield Notice(STAGE, f"time limit of {s.time_limit:g} s reached at step {step} "
                                    f"of {s.steps}", "warn")
                break
        model.eval()
        clip.set_gallery(heldout)
        seconds = time.perf_counter() - started
        # The held-out gallery has about two (thickness, slant) combinations per digit, so
        # naming the digit nearly names the bands there; a gallery of every combination
        # (`search_gallery`, none of it trained on) is the harder test of the attributes.
        mixed = search_gallery(s.heldout_images, s.seed)
        every = {**{k: round(v, 4) for k, v in evaluate(clip, mixed).items()},
                 **{k: round(v, 4) for k, v in chance_levels(mixed).items()},
                 "images": len(mixed)}
        last = history[-1] if history else {}
        summary = {"steps": step, "seconds": round(seconds, 1),
                   "steps_per_s": round(step / max(seconds, 1e-9), 2),
                   "parameters": model.num_params(),
                   **{k: v for k, v in last.items() if k != "step"},
                   **{k: round(v, 4) for k, v in chance.items()},
                   "all_combinations": every,
                   "history": history}
        clip.card = {"settings": asdict(s), "data": data_record(s), **summary}
        yield Finished(STAGE, step, summary)
