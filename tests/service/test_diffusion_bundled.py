"""The bundled DDPM (assets/diffusion): its card, and samples the digit classifier reads
as digits."""

from __future__ import annotations

import pytest

from genai_tui.paths import REPO_ROOT
from genai_tui.service import diffusion as svc

BUNDLED = REPO_ROOT / "assets" / "diffusion"


@pytest.fixture(scope="module")
def model() -> svc.DiffusionModel:
    return svc.load_model(BUNDLED)


def test_card_records_data_steps_seed_metrics_and_command(model) -> None:
    card = model.card
    assert card["data"].startswith("make_digits(") and card["steps"] > 0 and "seed" in card
    assert card["command"].startswith("genai-tui train diffusion")
    assert card["metrics"]["final_loss"] < 0.1
    assert card["metrics"]["sample_quality"]["judged_digits"] >= 0.8
    assert 500_000 <= model.parameters() <= 2_000_000
    assert (BUNDLED / "model.safetensors").stat().st_size < 5_000_000


def test_ddim_samples_match_the_cards_judge_figures(model) -> None:
    """The judge (v2, with a reject class) reads a fresh seeded batch of DDIM-25 samples
    as the card says (within sampling error of 96 images), and most digits appear."""
    images = svc.generate(model, svc.SampleSettings(n=96, sampler="ddim", steps=25, seed=0))
    assert images.shape == (96, 28, 28) and images.min() >= 0 and images.max() <= 1
    verdict = svc.judge(images)
    recorded = model.card["judge_quality"]["ddim-25"]
    assert recorded["judge_version"] == 3 and recorded["precision"] == "fp32"
    assert recorded["share"] >= 0.90 and recorded["n"] >= 256  # issue 15's DDIM target
    assert min(recorded["histogram"]) >= 0.05 * recorded["n"]  # every digit at least 5 %
    assert abs(verdict.digit_fraction - recorded["share"]) <= 0.12, verdict.digit_fraction
    assert sum(1 for c in verdict.label_counts().values() if c) >= 7
    again = svc.generate(model, svc.SampleSettings(n=96, sampler="ddim", steps=25, seed=0))
    assert (again == images).all()  # eta = 0: the seed fixes the samples
