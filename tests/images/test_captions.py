"""Procedural captions for the digits (issue 17)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_tui.errors import UserError
from genai_tui.images import captions as cap


@pytest.fixture(scope="module")
def train() -> cap.CaptionSet:
    return cap.caption_set(400, "train", seed=3)


@pytest.fixture(scope="module")
def heldout() -> cap.CaptionSet:
    return cap.caption_set(300, "heldout", seed=3)


def test_same_seed_same_set_other_seed_other_set(train) -> None:
    again = cap.caption_set(400, "train", seed=3)
    assert again.captions == train.captions and torch.equal(again.images, train.images)
    assert torch.equal(again.attr_classes, train.attr_classes)
    other = cap.caption_set(400, "train", seed=4)
    assert other.captions != train.captions


def test_splits_keep_to_their_templates_and_triples(train, heldout) -> None:
    n_train = len(cap.TRAIN_TEMPLATES)
    assert set(train.templates) == set(range(n_train))  # every training phrasing is used
    assert set(heldout.templates) == set(range(n_train, len(cap.TEMPLATES)))
    for split, want in ((train, False), (heldout, True)):
        for y, (t, s, _) in zip(split.labels.tolist(), split.attr_classes.tolist(), strict=True):
            assert cap.heldout_combination(y, t, s) == want
    # No held-out phrasing's own words leak into training captions.
    train_words = {w for c in train.captions for w in re.findall(r"[a-z0-9-]+", c)}
    assert not {"drawn", "pen"} & train_words
    assert {"drawn", "pen"} <= {w for c in heldout.captions for w in re.findall(r"[a-z-]+", c)}
    assert len(train) == 400 and len(heldout) == 300 and heldout.images.shape == (300, 1, 28, 28)


def test_heldout_triples_are_a_fifth_and_every_pair_is_still_trained() -> None:
    triples = [(d, t, s) for d in range(10) for t in range(3) for s in range(3)]
    held = [x for x in triples if cap.heldout_combination(*x)]
    assert len(held) == 18
    for d in range(10):
        for t in range(3):
            assert any(not cap.heldout_combination(d, t, s) for s in range(3))
        for s in range(3):
            assert any(not cap.heldout_combination(d, t, s) for t in range(3))


def test_words_match_the_numbers(train, heldout) -> None:
    lo_t, hi_t = 0.75 + 1.15 / 3, 0.75 + 2 * 1.15 / 3
    for split in (train, heldout):
        for i, text in enumerate(split.captions):
            words = set(re.findall(r"[a-z0-9-]+", text))
            thickness = float(split.attrs["thickness"][i])
            slant = float(split.attrs["slant"][i])
            size = float(split.attrs["size"][i])
            assert ("thick" in words) == (thickness >= hi_t), (text, thickness)
            assert ("thin" in words) == (thickness < lo_t), (text, thickness)
            assert ("regular" in words) == (lo_t <= thickness < hi_t), (text, thickness)
            leans_right = "right" in words or "right-leaning" in words
            leans_left = "left" in words or "left-leaning" in words
            assert leans_right == (slant >= 0.35 / 3 - 1e-6), (text, slant)
            assert leans_left == (slant < -0.35 / 3 + 1e-6), (text, slant)
            assert ("small" in words) == (size < 0.8 + 0.35 / 3), (text, size)
            assert ("large" in words) == (size >= 0.8 + 0.7 / 3), (text, size)
            label = int(split.labels[i])
            assert cap.DIGIT_WORDS[label] in words or str(label) in words, text
            others = [w for d, w in enumerate(cap.DIGIT_WORDS) if d != label]
            assert not words & {*others, *(str(d) for d in range(10) if d != label)}, text


def test_caption_phrasings_and_articles() -> None:
    rng = np.random.default_rng(0)
    attrs = {"thickness": 1.8, "slant": 0.3, "size": 0.85}
    assert cap.attribute_words(attrs) == cap.AttributeWords("thick", "right", "small", (2, 2, 0))
    text = cap.caption(7, attrs, "{a} {thick} {word} {slant}", rng)
    assert text == "a thick seven leaning right"
    upright = {"thickness": 1.0, "slant": 0.0, "size": 1.1}
    assert cap.caption(2, upright, "{a} {slant_adj} {word}", rng) == "an upright two"
    assert cap.caption(3, upright, "{size} {num}, {thick} stroke", rng) == "large 3, thin stroke"
    assert cap.caption(8, upright, "{a} {num}", rng) == "an 8"
    assert cap.caption(1, upright, "{a} {word}", rng) == "a one"
    forms = {cap.caption(5, upright, "{digit}", np.random.default_rng(s)) for s in range(20)}
    assert forms == {"five", "5"}
    with pytest.raises(UserError):
        cap.caption(10, upright, "{digit}", rng)
    with pytest.raises(UserError):
        cap.caption_set(10, "test")


@settings(max_examples=60, deadline=None)
@given(label=st.integers(0, 9), thickness=st.floats(0.75, 1.9), slant=st.floats(-0.35, 0.35),
       size=st.floats(0.8, 1.15), template=st.sampled_from(cap.TEMPLATES),
       seed=st.integers(0, 2**16))
def test_every_template_names_the_bands_of_any_attributes(label, thickness, slant, size,
                                                          template, seed) -> None:
    attrs = {"thickness": thickness, "slant": slant, "size": size}
    text = cap.caption(label, attrs, template, np.random.default_rng(seed))
    words = set(re.findall(r"[a-z0-9]+", text))
    t, s, z = cap.attribute_words(attrs).classes
    assert cap.THICKNESS[t] in words and not set(cap.THICKNESS) - {cap.THICKNESS[t]} & words
    assert cap.SLANT[s] in words and not set(cap.SLANT) - {cap.SLANT[s]} & words
    assert cap.SIZE_WORDS[z] in words and not set(cap.SIZE_WORDS) - {cap.SIZE_WORDS[z]} & words
    assert "{" not in text and "  " not in text
    assert re.search(r"\ban? (\S+)", text) is None or all(
        (a == "an") == (nxt[0] in "aeiu8")
        for a, nxt in re.findall(r"\b(an?) (\S+)", text))
