"""The digit classifier: the generated digits are recognisable (issue 4)."""

from __future__ import annotations

import pytest
import torch

from genai_tui.errors import AssetError, UserError
from genai_tui.images.digits import make_digits
from genai_tui.images.unusual import make_unusual
from genai_tui.models.classifier import (
    ClassifierConfig,
    DigitClassifier,
    classify,
    load_classifier,
    save_classifier,
)
from genai_tui.service.classifier import train_classifier


def test_bundled_classifier_reads_held_out_digits() -> None:
    held_out = make_digits(1000, seed=424242)  # training used seed 0
    labels, confidences = classify(held_out.images)
    accuracy = (labels == held_out.labels).float().mean().item()
    assert accuracy >= 0.95
    assert (confidences > 0.5).float().mean() >= 0.95


def test_bundled_classifier_is_unsure_about_noise() -> None:
    _, confidences = classify(make_unusual(50, "noise", seed=5))
    assert (confidences < 0.5).all()


def test_classify_shapes_and_errors() -> None:
    labels, conf = classify(torch.zeros(3, 28, 28))
    assert labels.shape == (3,) and labels.dtype == torch.int64 and conf.shape == (3,)
    with pytest.raises(UserError):
        classify(torch.zeros(2, 1, 14, 14))
    assert load_classifier() is load_classifier()  # cached


def test_tiny_training_lowers_the_loss_and_round_trips(tmp_path) -> None:
    torch.manual_seed(0)
    data, test = make_digits(300, seed=1), make_digits(100, seed=2)
    model = DigitClassifier(ClassifierConfig(channels=8, hidden=32))
    events = list(train_classifier(model, data.images, data.labels, test.images, test.labels,
                                   steps=150, batch_size=32, lr=1e-2, log_every=10,
                                   outlier_fraction=0.0))  # 10 classes, no junk
    assert events[-1].done and events[-1].accuracy is not None
    assert events[-1].loss < 0.8 * events[0].loss
    save_classifier(model, tmp_path / "c", {"steps": 150})
    loaded = load_classifier(tmp_path / "c")
    model.eval()
    assert torch.allclose(loaded(test.images[:4]), model(test.images[:4]), atol=1e-5)


def test_missing_or_corrupt_classifier_is_an_asset_error(tmp_path) -> None:
    with pytest.raises(AssetError):
        load_classifier(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "card.json").write_text('{"config": {}}')
    (tmp_path / "bad" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(AssetError):
        load_classifier(tmp_path / "bad")
