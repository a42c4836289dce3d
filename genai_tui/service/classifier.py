"""Digit-classifier service: train the judge, and read images with it.

No torch at import time; the model module loads inside the functions.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

N_TEST = 4000
TEST_SEED = 10_001
"""Held-out digits come from a different seed than the training digits."""


def train(
    steps: int = 2000,
    seed: int = 0,
    n_train: int = 20000,
    out: str | Path | None = None,
    channels: int = 16,
    batch_size: int = 128,
    lr: float = 2e-3,
    command: str | None = None,
) -> Iterator[Any]:
    """Train the digit classifier, yielding `ClassifierEvent`s; save to ``out`` at the end.

    Training digits: ``make_digits(n_train, seed)``; held-out digits:
    ``make_digits(4000, 10001)``. The last event has ``done=True`` and the
    held-out accuracy.
    """
    import torch

    from genai_tui.errors import UserError
    from genai_tui.images.digits import make_digits
    from genai_tui.models.classifier import (
        ClassifierConfig,
        DigitClassifier,
        save_classifier,
        train_classifier,
    )

    if n_train < 10:
        raise UserError("need at least 10 training digits")
    torch.manual_seed(seed)
    train_set = make_digits(n_train, seed=seed)
    test_set = make_digits(N_TEST, seed=TEST_SEED)
    model = DigitClassifier(ClassifierConfig(channels=channels))
    last = None
    for event in train_classifier(model, train_set.images, train_set.labels, test_set.images,
                                  test_set.labels, steps=steps, batch_size=batch_size, lr=lr,
                                  seed=seed):
        last = event
        yield event
    if out is not None and last is not None:
        save_classifier(model, out, {
            "data": f"make_digits({n_train}, seed={seed}) + outlier exposure (noise, blobs, "
                    f"inverted digits); held out: make_digits({N_TEST}, seed={TEST_SEED})",
            "steps": steps,
            "seed": seed,
            "batch_size": batch_size,
            "lr": lr,
            "metrics": {"final_loss": round(last.loss, 5),
                        "heldout_accuracy": round(last.accuracy or 0.0, 5)},
            "command": command or shlex.join(["genai-tui", *sys.argv[1:]]),
        })


def heldout_digits(n: int = N_TEST) -> Any:
    """The held-out digit set used for the card's accuracy (a `DigitSet`)."""
    from genai_tui.images.digits import make_digits

    return make_digits(n, seed=TEST_SEED)
