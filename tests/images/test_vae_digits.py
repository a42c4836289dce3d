"""The digit generator and the image loaders (genai_tui/images/digits.py, unusual.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from genai_tui.errors import UserError
from genai_tui.images.digits import ATTRS, SIZE, load_images, make_digits
from genai_tui.images.unusual import KINDS, make_unusual, make_unusual_mix


def test_same_seed_same_digits_other_seed_other_digits() -> None:
    a, b, c = make_digits(40, seed=3), make_digits(40, seed=3), make_digits(40, seed=4)
    assert torch.equal(a.images, b.images)
    assert torch.equal(a.labels, b.labels)
    for k in ATTRS:
        assert torch.equal(a.attrs[k], b.attrs[k])
    assert not torch.equal(a.images, c.images)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 30), seed=st.integers(0, 2**31))
def test_shapes_ranges_and_balanced_labels(n: int, seed: int) -> None:
    d = make_digits(n, seed=seed)
    assert d.images.shape == (n, 1, SIZE, SIZE) and d.images.dtype == torch.float32
    assert d.labels.shape == (n,) and d.labels.dtype == torch.int64
    assert set(d.attrs) == set(ATTRS) and all(v.shape == (n,) for v in d.attrs.values())
    if n:
        assert 0.0 <= d.images.min() and d.images.max() <= 1.0
        counts = torch.bincount(d.labels, minlength=10)
        assert counts.max() - counts.min() <= 1
        # Every digit has ink, and the ink stays off the border mostly.
        assert (d.images.flatten(1).sum(1) > 20).all()


def test_attributes_describe_the_strokes() -> None:
    d = make_digits(400, seed=1)
    ink = d.images.flatten(1).sum(1)
    thick = d.attrs["thickness"] > d.attrs["thickness"].median()
    assert ink[thick].mean() > 1.2 * ink[~thick].mean()
    # Positive slant leans right: the top half's ink sits right of the bottom half's.
    cols = torch.arange(SIZE, dtype=torch.float32)
    top, bottom = d.images[:, 0, :14], d.images[:, 0, 14:]
    lean = (top.sum(1) @ cols) / top.sum((1, 2)) - (bottom.sum(1) @ cols) / bottom.sum((1, 2))
    assert lean[d.attrs["slant"] > 0.2].mean() > lean[d.attrs["slant"] < -0.2].mean() + 1.0


def test_split_and_subset() -> None:
    d = make_digits(20, seed=0)
    train, test = d.split(5)
    assert len(train) == 15 and len(test) == 5
    assert torch.equal(test.images, d.images[15:])
    with pytest.raises(UserError):
        d.split(20)


def test_unusual_kinds() -> None:
    for kind in KINDS:
        x = make_unusual(5, kind, seed=2)
        assert x.shape == (5, 1, SIZE, SIZE) and 0 <= x.min() and x.max() <= 1
        assert torch.equal(x, make_unusual(5, kind, seed=2))
    mix, kinds = make_unusual_mix(8)
    assert mix.shape[0] == 8 and set(kinds) == set(KINDS)
    with pytest.raises(UserError):
        make_unusual(1, "nope")


def test_load_folder_of_pngs_with_labels_and_inversion(tmp_path) -> None:
    (tmp_path / "3").mkdir()
    dark_on_light = np.full((40, 40), 255, np.uint8)
    dark_on_light[10:30, 18:22] = 0
    Image.fromarray(dark_on_light).save(tmp_path / "3" / "a.png")
    Image.fromarray(255 - dark_on_light).convert("RGB").save(tmp_path / "7_b.jpg")
    d = load_images(tmp_path)
    assert d.images.shape == (2, 1, SIZE, SIZE)
    assert sorted(d.labels.tolist()) == [3, 7]
    # Both end up ink = 1 on a dark background.
    assert (d.images[:, 0, 0, 0] < 0.2).all() and (d.images[:, 0, 14, 14] > 0.5).all()


def test_load_npz(tmp_path) -> None:
    x = (np.random.default_rng(0).random((6, 14, 14)) * 255).astype(np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(6))
    d = load_images(tmp_path / "d.npz")
    assert d.images.shape == (6, 1, SIZE, SIZE) and d.labels.tolist() == list(range(6))
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((2, 1, 28, 28), np.float32))
    assert load_images(tmp_path / "nolabels.npz").labels.tolist() == [-1, -1]


@pytest.mark.parametrize("make", ["missing", "empty_dir", "garbage_png", "garbage_npz",
                                  "npz_without_images", "npz_bad_shape", "text_file"])
def test_unreadable_inputs_are_user_errors(tmp_path, make: str) -> None:
    path = tmp_path / "x"
    if make == "empty_dir":
        path.mkdir()
    elif make == "garbage_png":
        path.mkdir()
        (path / "a.png").write_bytes(b"not a png")
    elif make == "garbage_npz":
        path = tmp_path / "x.npz"
        path.write_bytes(b"PK garbage")
    elif make == "npz_without_images":
        path = tmp_path / "x.npz"
        np.savez(path, other=np.zeros(3))
    elif make == "npz_bad_shape":
        path = tmp_path / "x.npz"
        np.savez(path, images=np.zeros(3))
    elif make == "text_file":
        path = tmp_path / "x.txt"
        path.write_text("hello")
    with pytest.raises(UserError):
        load_images(path)
