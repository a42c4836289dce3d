"""Captions for generated digits, written from each image's label and attributes
(issue 17: the text side of a CLIP-style joint embedding).

`make_digits` records a stroke ``thickness`` (radius in pixels, uniform 0.75-1.9),
a ``slant`` (shear, uniform -0.35..0.35, > 0 leans right) and a ``size``
(scale, uniform 0.8-1.15). Each range is cut into three equal bands, and each
band has its words:

- thickness: thin (< 1.133), regular, thick (>= 1.517);
- slant: leaning left (< -0.117), upright, leaning right (>= 0.117);
- size: small (< 0.917), medium, large (>= 1.033).

A caption is a template filled with those words and the digit, as a word
("seven") or a numeral ("7"): "a small thick seven leaning right",
"large 3, thin stroke, upright".

**The held-out split** (evaluation only, never in training):

- templates `HELDOUT_TEMPLATES`: new word orders ("small and thin: a two
  leaning left") and the words "drawn" and "pen", which no training template
  uses (so a test can find the words a model never saw);
- attribute combinations: the (digit, thickness band, slant band) triples with
  ``(digit + thickness + 2 * slant) % 5 == 0`` (band numbers 0, 1, 2 as in
  `THICKNESS`, `SLANT`): 18 of the 90 triples (`heldout_combination`). Every
  digit still meets every thickness and every slant in training, only not in
  those triples.

`caption_set(n, "train" | "heldout", seed)` draws images of its split's
triples and captions them with its split's templates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genai_tui.errors import UserError
from genai_tui.images.digits import make_digits

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

THICKNESS = ("thin", "regular", "thick")
"""Band names, band 0..2, for ``thickness``."""
SLANT = ("left", "upright", "right")
"""Band names, band 0..2, for ``slant``."""
SIZE_WORDS = ("small", "medium", "large")
"""Band names, band 0..2, for ``size``."""

RANGES = {"thickness": (0.75, 1.9), "slant": (-0.35, 0.35), "size": (0.8, 1.15)}
"""The uniform ranges `make_digits` draws each attribute from."""

ATTRIBUTES = ("thickness", "slant", "size")
"""Column order of `CaptionSet.attr_classes`."""

_SLANT_PHRASE = ("leaning left", "standing upright", "leaning right")
_SLANT_ADJ = ("left-leaning", "upright", "right-leaning")


def band(name: str, value: float) -> int:
    """0, 1 or 2: which third of the attribute's range ``value`` falls in (clipped)."""
    lo, hi = RANGES[name]
    return int(min(2, max(0, (value - lo) * 3 // (hi - lo))))


@dataclass(frozen=True)
class AttributeWords:
    """The words for one image's attributes, and the band numbers they come from."""

    thickness: str
    """"thin", "regular" or "thick"."""
    slant: str
    """"left", "upright" or "right"."""
    size: str
    """"small", "medium" or "large"."""
    classes: tuple[int, int, int]
    """(thickness, slant, size) bands, each 0..2."""


def attribute_words(attrs: dict[str, float]) -> AttributeWords:
    """The words for ``attrs`` (``thickness``, ``slant``, ``size`` as numbers)."""
    t, s, z = (band(name, float(attrs[name])) for name in ATTRIBUTES)
    return AttributeWords(THICKNESS[t], SLANT[s], SIZE_WORDS[z], (t, s, z))


# Slots: {a} a/an for the next word, {digit} word or numeral (rng), {word},
# {num}, {thick}, {size}, {slant} (phrase "leaning right"), {slant_adj}.
TRAIN_TEMPLATES = (
    "{a} {size} {thick} {digit} {slant}",
    "{size} {num}, {thick} stroke, {slant}",
    "{a} {slant_adj} {word}, {size}, with a {thick} stroke",
    "the digit {num}: {thick}, {slant_adj}, {size}",
    "{thick} {digit} {slant}, {size} size",
    "{a} {size} {slant_adj} {digit} with a {thick} stroke",
)
"""Phrasings captions of the training split use."""

HELDOUT_TEMPLATES = (
    "{a} {slant_adj} {size} {num} drawn with a {thick} pen",
    "{size} and {thick}: {a} {word} {slant}",
)
"""Phrasings only the held-out split uses."""

TEMPLATES = TRAIN_TEMPLATES + HELDOUT_TEMPLATES


def _article(word: str) -> str:
    # "an eight", "an 8", "an upright"; but "a one" (said "wun").
    return "an" if word[:1] in "aeiu8" else "a"


def caption(label: int, attrs: dict[str, float], template: str,
            rng: np.random.Generator) -> str:
    """Fill ``template`` for a digit ``label`` with attributes ``attrs``.

    ``{digit}`` becomes the word or the numeral, chosen with ``rng``; ``{a}``
    becomes "a" or "an" for the word after it.
    """
    if not 0 <= label <= 9:
        raise UserError(f"a caption needs a digit 0-9, got {label}")
    words = attribute_words(attrs)
    t, s, _ = words.classes
    digit = DIGIT_WORDS[label] if rng.random() < 0.5 else str(label)
    fill = {"digit": digit, "word": DIGIT_WORDS[label], "num": str(label),
            "thick": words.thickness, "size": words.size, "slant": _SLANT_PHRASE[s],
            "slant_adj": _SLANT_ADJ[s]}
    parts = template.split(" ")
    out = []
    for i, part in enumerate(parts):
        if part == "{a}":
            following = parts[i + 1].format(**fill) if i + 1 < len(parts) else ""
            out.append(_article(following))
        else:
            out.append(part.format(**fill))
    return " ".join(out)


def heldout_combination(label: int, thickness: int, slant: int) -> bool:
    """Whether the (digit, thickness band, slant band) triple is held out."""
    return (label + thickness + 2 * slant) % 5 == 0


@dataclass
class CaptionSet:
    """Images with one caption each, for one split."""

    images: torch.Tensor
    """(N, 1, 28, 28) float32 in [0, 1], ink = 1."""
    captions: list[str]
    labels: torch.Tensor
    """(N,) int64 digits."""
    attr_classes: torch.Tensor
    """(N, 3) int64 bands of (thickness, slant, size), each 0..2 (`ATTRIBUTES`)."""
    attrs: dict[str, torch.Tensor]
    """The raw attribute values, (N,) float32 each."""
    templates: list[int]
    """Index into `TEMPLATES` each caption was written from."""
    split: str

    def __len__(self) -> int:
        return len(self.captions)


SPLITS = ("train", "heldout")


def caption_set(n: int, split: str = "train", seed: int = 0) -> CaptionSet:
    """``n`` digits of ``split``'s attribute triples, captioned with its templates.

    The same ``(n, split, seed)`` gives the same set. The two splits draw
    their images from different seeds, so no image is in both.
    """
    if split not in SPLITS:
        raise UserError(f"split must be 'train' or 'heldout', got {split!r}")
    if n < 1:
        raise UserError(f"a caption set needs at least one image, got {n}")
    heldout = split == "heldout"
    templates = HELDOUT_TEMPLATES if heldout else TRAIN_TEMPLATES
    offset = len(TRAIN_TEMPLATES) if heldout else 0
    images, labels, classes = [], [], []
    attrs: dict[str, list[torch.Tensor]] = {k: [] for k in ATTRIBUTES}
    have, chunk = 0, 0
    while have < n:
        # Held-out triples are a fifth of all: draw five times as many for that split.
        digits = make_digits(max(64, (6 if heldout else 2) * (n - have)),
                             seed=seed * 7919 + chunk * 2 + (1 if heldout else 0))
        band_of = torch.stack([
            torch.tensor([band(name, v) for v in digits.attrs[name].tolist()])
            for name in ATTRIBUTES], 1)  # (M, 3)
        keep = torch.tensor([
            heldout_combination(int(y), int(c[0]), int(c[1])) == heldout
            for y, c in zip(digits.labels.tolist(), band_of.tolist(), strict=True)])
        index = torch.nonzero(keep).flatten()[: n - have]
        images.append(digits.images[index])
        labels.append(digits.labels[index])
        classes.append(band_of[index])
        for name in ATTRIBUTES:
            attrs[name].append(digits.attrs[name][index])
        have += int(index.numel())
        chunk += 1
    rng = np.random.default_rng([seed, 1 if heldout else 0])
    label_t = torch.cat(labels)
    attr_t = {k: torch.cat(v) for k, v in attrs.items()}
    which = rng.integers(0, len(templates), n)
    captions = [
        caption(int(label_t[i]), {k: float(attr_t[k][i]) for k in ATTRIBUTES},
                templates[int(which[i])], rng)
        for i in range(n)]
    return CaptionSet(images=torch.cat(images), captions=captions, labels=label_t,
                      attr_classes=torch.cat(classes), attrs=attr_t,
                      templates=[int(w) + offset for w in which], split=split)
