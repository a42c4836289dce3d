"""The Imagine pane's model work, without Textual: what its thread workers call.

Loading the text-to-image model and (optionally) CLIP with its gallery, the
readings of finished images (the digit classifier's verdict and the CLIP
score against the prompt), one guidance scale of the guidance row, and the
search view's matches and similarity matrix, and the map view's joint projection.
Everything here calls the
service layer only; results are plain dataclasses of numpy arrays and
numbers, so the UI thread only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genai_tui.errors import UserError
from genai_tui.paths import asset
from genai_tui.service import imagine as svc

IMAGINE_BUILD = "genai-tui train imagine --bundled"
CLIP_BUILD = "genai-tui train clip --bundled"
PAIRS = 8
"""Held-out (image, caption) pairs in the search view's similarity matrix."""
THICKNESS = ("thin", "reg", "thick")
SLANT = ("\\", "|", "/")
"""Slant bands as glyphs: leaning left, upright, leaning right."""


@dataclass
class Models:
    """What `load_models` found: each model or why it is missing."""

    imagine: Any = None
    imagine_error: str = ""
    clip: Any = None
    clip_error: str = ""
    pairs: Any = None
    """(images (P, 28, 28), captions) of held-out pairs for the similarity matrix."""


def load_models() -> Models:
    """The bundled text-to-image model and CLIP (with its held-out gallery). A missing
    model is not an error here: its slot says why (the pane shows that)."""
    out = Models()
    try:
        out.imagine = svc.load()
    except UserError as e:
        out.imagine_error = str(e)
    try:
        out.clip, out.pairs = _load_clip()
    except UserError as e:
        out.clip, out.clip_error = None, str(e)
    return out


def _load_clip() -> tuple[Any, Any]:
    from genai_tui.service import clip as clip_svc

    clip = clip_svc.load(asset("clip"))
    settings = clip.card.get("settings", {}) if isinstance(clip.card, dict) else {}
    gallery = clip_svc.heldout_gallery(int(settings.get("heldout_images", 500)),
                                       int(settings.get("seed", 0)))
    clip.set_gallery(gallery)
    # one pair per digit where the gallery has it, so the diagonal has something to beat
    picked: list[int] = []
    seen: set[int] = set()
    labels = [int(v) for v in gallery.labels]
    for i, label in enumerate(labels):
        if label not in seen:
            seen.add(label)
            picked.append(i)
        if len(picked) == PAIRS:
            break
    images = gallery.images[picked].numpy()[:, 0]
    return clip, (images, [gallery.captions[i] for i in picked])


@dataclass(frozen=True)
class Reading:
    """What the judges make of one image."""

    digit: int | None
    """The classifier's digit (None: not confident, or no classifier)."""
    confidence: float | None
    score: float | None
    """CLIP cosine similarity with the prompt (None: no CLIP)."""

    def caption(self) -> str:
        """e.g. "7 96% · 0.31", "? 40% · n/a"."""
        if self.confidence is None:
            judged = "n/a"
        else:
            judged = f"{'?' if self.digit is None else self.digit} {self.confidence:.0%}"
        score = "n/a" if self.score is None else f"{self.score:.2f}"
        return f"{judged} · {score}"

    def short(self) -> str:
        """e.g. "7 96% .31" (for narrow tiles)."""
        if self.confidence is None:
            judged = "n/a"
        else:
            judged = f"{'?' if self.digit is None else self.digit} {self.confidence:.0%}"
        if self.score is None:
            return f"{judged} n/a"
        return f"{judged} {self.score:.2f}".replace("0.", ".")


def readings(images: Any, prompt: str, clip: Any) -> list[Reading]:
    """The classifier's verdict and the CLIP score of each image (N, H, W)."""
    from genai_tui.service.diffusion import judge

    try:
        verdict = judge(images)
    except UserError:
        verdict = None  # no bundled classifier: captions say n/a
    out = []
    for i in range(len(images)):
        digit, conf = None, None
        if verdict is not None:
            conf = verdict.confidences[i]
            digit = verdict.labels[i] if conf > verdict.threshold else None
        score = clip.score(images[i], prompt) if clip is not None else None
        out.append(Reading(digit, conf, score))
    return out


@dataclass(frozen=True)
class Scaled:
    """One image of the guidance row."""

    guidance: float
    image: Any
    """(28, 28) in [0, 1]."""
    reading: Reading
    seconds: float


def one_scale(model: Any, settings: svc.SampleSettings, clip: Any) -> Scaled:
    """The first image of ``settings`` (n = 1) and its reading."""
    import time

    start = time.perf_counter()
    images = svc.generate(model, settings)
    return Scaled(settings.guidance, images[0],
                  readings(images, settings.prompt, clip)[0], time.perf_counter() - start)


@dataclass(frozen=True)
class Found:
    """The search view's content: the nearest gallery images and the pair matrix."""

    images: Any
    """(k, 28, 28) the matches, most similar first."""
    captions: list[str]
    """One short caption each: digit, thickness, slant, similarity."""
    matrix: Any
    """(P, P) cosine similarities of held-out images (columns) and captions (rows)."""
    pair_captions: list[str]


def search(clip: Any, pairs: Any, prompt: str, k: int) -> Found:
    """``prompt`` as a CLIP query over the gallery, and the held-out pairs' matrix."""
    result = clip.search(prompt, k)
    images = clip.gallery.images[[m.index for m in result.matches]].numpy()[:, 0]
    captions = [match_caption(m.label, m.attr_classes, m.similarity) for m in result.matches]
    pair_images, pair_captions = pairs
    matrix = clip.similarity_matrix(pair_images, pair_captions).T  # (texts, images)
    return Found(images, captions, matrix, list(pair_captions))


def match_caption(label: int, attr_classes: tuple[int, ...], similarity: float) -> str:
    """e.g. "7 thick / 0.82" (digit, thickness, slant glyph, similarity)."""
    parts = [str(label)]
    if len(attr_classes) >= 2:
        parts += [THICKNESS[attr_classes[0]], SLANT[attr_classes[1]]]
    return " ".join([*parts, f"{similarity:.2f}"])


MAP_PAIRS = 200
"""Held-out (caption, image) pairs on the map view's joint projection."""
MAP_SEED = 2
"""Seed of those pairs (as `genai-tui clip map`'s default)."""


@dataclass(frozen=True)
class JointView:
    """The map view's content: captions and images on one PCA plane (`clip map`)."""

    texts: list[tuple[float, float]]
    text_digits: list[int]
    images: list[tuple[float, float]]
    image_digits: list[int]
    span: float
    """Half the side of the square every point fits in."""
    explained: tuple[float, float]
    """Share of the variance each axis explains."""
    gap: float
    """Distance between the two kinds' means (taken out before the PCA)."""
    same_digit: float
    other_digit: float
    """Mean map distance from a caption to images of its own digit / of other digits."""


def joint_map(clip: Any, n: int = MAP_PAIRS, seed: int = MAP_SEED) -> JointView:
    """``n`` held-out pairs through `service.clip.joint_projection`."""
    from genai_tui.service.clip import digit_distances, heldout_gallery, joint_projection

    projection = joint_projection(clip, heldout_gallery(n, seed))
    distances = digit_distances(projection)
    span = max(max(abs(p.x), abs(p.y)) for p in projection.points) * 1.05 or 1.0
    texts = [p for p in projection.points if p.kind == "text"]
    images = [p for p in projection.points if p.kind == "image"]
    return JointView([(p.x, p.y) for p in texts], [p.digit for p in texts],
                     [(p.x, p.y) for p in images], [p.digit for p in images], span,
                     projection.explained, projection.gap, distances["same_digit"],
                     distances["other_digit"])
