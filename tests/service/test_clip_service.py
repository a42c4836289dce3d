"""CLIP training and retrieval on captioned digits, with a tiny config (issue 17)."""

from __future__ import annotations

import json

import pytest
import torch

from genai_tui.errors import AssetError, UserError
from genai_tui.images.captions import DIGIT_WORDS
from genai_tui.service import clip as svc
from genai_tui.service.lifecycle.events import Finished, Metrics, Notice, to_json

TINY = dict(steps=200, batch_size=64, train_images=3000, heldout_images=300, text_layers=1,
            text_width=32, text_heads=2, image_channels=8, embed_dim=32, eval_every=50,
            lr=3e-3, warmup=20)


@pytest.fixture(scope="module")
def run() -> tuple[svc.ClipTraining, list]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        training = svc.ClipTraining(svc.ClipSettings(**TINY))
        events = list(training.events())
    finally:
        torch.set_num_threads(threads)
    return training, events


def test_events_carry_loss_temperature_and_heldout_retrieval(run) -> None:
    training, events = run
    assert isinstance(events[0], Notice) and isinstance(events[-1], Finished)
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert [m.step for m in metrics] == list(range(1, 201))
    assert all({"loss", "temperature", "logit_scale", "lr"} <= set(m.values) for m in metrics)
    assert all(m.values["temperature"] == pytest.approx(1 / m.values["logit_scale"])
               for m in metrics)
    evals = [m for m in metrics if "t2i_digit" in m.values]
    assert [m.step for m in evals] == [50, 100, 150, 200]
    first = sum(m.values["loss"] for m in metrics[:10]) / 10
    last = sum(m.values["loss"] for m in metrics[-10:]) / 10
    assert last < 0.6 * first
    json.dumps([to_json(e) for e in events])  # the --json lines a CLI would print
    summary = events[-1].summary
    assert len(summary["history"]) == 4 and summary["steps"] == 200
    assert training.clip is not None and training.clip.card["settings"]["steps"] == 200


def test_heldout_retrieval_beats_chance_clearly(run) -> None:
    summary = run[1][-1].summary
    assert summary["t2i_digit_chance"] == pytest.approx(0.1, abs=0.03)
    assert summary["t2i_digit"] > 3 * summary["t2i_digit_chance"]
    assert summary["i2t_digit"] > 3 * summary["i2t_digit_chance"]
    assert summary["t2i_thickness"] > summary["t2i_thickness_chance"] + 0.2
    assert summary["t2i_slant"] > summary["t2i_slant_chance"] + 0.2


def test_search_finds_the_queried_digit(run) -> None:
    clip = run[0].clip
    hits = []
    for d, word in enumerate(DIGIT_WORDS):
        for query in (f"a {word}", f"the digit {d}"):
            result = clip.search(query, k=10)
            assert len(result.matches) == 10 and not result.unknown
            sims = [m.similarity for m in result.matches]
            assert sims == sorted(sims, reverse=True) and -1 <= sims[-1] <= sims[0] <= 1
            hits += [m.label == d for m in result.matches]
    assert sum(hits) / len(hits) > 0.4  # chance: about 0.1
    with pytest.raises(UserError):
        clip.search("a two", k=0)


def test_score_captions_and_the_similarity_matrix(run) -> None:
    clip = run[0].clip
    gallery = clip.gallery
    images, texts = gallery.images[:40], gallery.captions[:40]
    sims = clip.similarity_matrix(images, texts)
    assert sims.shape == (40, 40)
    batch = gallery.__class__(**{**gallery.__dict__, "images": images, "captions": texts})
    assert (clip.similarity_matrix(batch) == sims).all()
    diagonal = sims.diagonal().mean()
    assert diagonal > sims.mean() + 0.1
    label = int(gallery.labels[0])
    right = clip.score(gallery.images[0], f"a {DIGIT_WORDS[label]}")
    wrong = [clip.score(gallery.images[0][0].numpy(), f"a {w}")
             for d, w in enumerate(DIGIT_WORDS) if d != label]
    assert right == pytest.approx(float(sims[0, 0]), abs=1) and right > sorted(wrong)[4]
    best = clip.captions(gallery.images[0], [f"a {w}" for w in DIGIT_WORDS], k=3)
    assert len(best) == 3 and best[0].similarity >= best[1].similarity
    with pytest.raises(UserError):
        clip.score(torch.zeros(3, 5, 5), "a two")


def test_unknown_words_and_tokens_are_reported(run) -> None:
    clip = run[0].clip
    unknown = clip.unknown("A thick SEVEN drawn with a pen, zebra-striped")
    assert unknown.words == ["drawn", "pen", "zebra-striped"]
    assert unknown.tokens and all(isinstance(t, str) for t in unknown.tokens)
    assert not clip.unknown("small 3, thin stroke, leaning left")
    assert clip.search("a zebra", k=2).unknown.words == ["zebra"]  # searched anyway
    assert len(clip.search("", k=2).matches) == 2
    assert len(clip.search("a thick seven " * 50, k=2).matches) == 2  # cut at max_tokens


def test_save_load_round_trip(run, tmp_path) -> None:
    clip = run[0].clip
    clip.save(tmp_path / "clip")
    loaded = svc.load(tmp_path / "clip")
    assert loaded.seen_words == clip.seen_words and loaded.seen_tokens == clip.seen_tokens
    assert loaded.card["t2i_digit"] == run[1][-1].summary["t2i_digit"]
    loaded.set_gallery(clip.gallery)
    assert loaded.search("a thick four", 5) == clip.search("a thick four", 5)
    (tmp_path / "clip" / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(AssetError):
        svc.load(tmp_path / "clip")


def test_same_seed_same_run_and_bad_settings_refused() -> None:
    small = {**TINY, "steps": 5, "train_images": 200, "heldout_images": 20, "eval_every": 5}

    def losses() -> list[float]:
        return [e.values["loss"] for e in svc.ClipTraining(svc.ClipSettings(**small)).events()
                if isinstance(e, Metrics)]

    assert losses() == losses()
    for bad in ({"steps": 0}, {"batch_size": 1}, {"text_width": 31}, {"lr": 0},
                {"train_images": 10}, {"max_tokens": 2}):
        with pytest.raises(UserError):
            svc.ClipSettings(**{**TINY, **bad}).validate()


def test_the_judge_can_say_no_an_untrained_model_scores_near_chance(run) -> None:
    from genai_tui.models.clip import CLIP

    torch.manual_seed(5)
    trained = run[0].clip
    untrained = svc.ClipModel(CLIP(trained.model.config), trained.tokenizer,
                              trained.seen_tokens, trained.seen_words)
    figures = svc.evaluate(untrained, trained.gallery)
    chance = svc.chance_levels(trained.gallery)
    assert figures["t2i_digit"] < chance["t2i_digit_chance"] + 0.12
    assert figures["t2i_digit"] < run[1][-1].summary["t2i_digit"] - 0.2


def test_joint_projection_puts_a_digits_captions_by_its_images(run) -> None:
    clip = run[0].clip
    data = svc.heldout_gallery(120, seed=4)
    projection = svc.joint_projection(clip, data)
    points = projection.points
    assert len(points) == 240
    assert [p.kind for p in points] == ["text"] * 120 + ["image"] * 120
    assert [p.digit for p in points[:120]] == [int(v) for v in data.labels]
    assert points[5].text == points[125].text == data.captions[5]
    assert 0 < projection.explained[1] <= projection.explained[0] < 1
    near = svc.digit_distances(projection)
    assert near["same_digit"] < 0.9 * near["other_digit"]
    # Recomputed by hand from the points: the average over caption/image pairs.
    texts = [p for p in points if p.kind == "text"]
    images = [p for p in points if p.kind == "image"]
    same = [((t.x - i.x) ** 2 + (t.y - i.y) ** 2) ** 0.5 for t in texts for i in images
            if t.digit == i.digit]
    assert near["same_digit"] == pytest.approx(sum(same) / len(same), rel=1e-4)
    kept = svc.joint_projection(clip, data, close_gap=False)
    assert not kept.gap_closed and kept.gap == pytest.approx(projection.gap) and kept.gap > 0


def test_describing_captions_cover_every_band_in_training_words(run) -> None:
    captions = svc.describing_captions()
    assert len(captions) == len(set(captions)) == 270
    assert "a small thin seven leaning right" in captions
    assert not any(run[0].clip.unknown(c) for c in captions)


def test_time_limit_stops_early_with_a_final_evaluation() -> None:
    small = {**TINY, "steps": 10_000, "train_images": 200, "heldout_images": 20,
             "eval_every": 10_000, "time_limit": 0.2}
    events = list(svc.ClipTraining(svc.ClipSettings(**small)).events())
    assert any(isinstance(e, Notice) and e.level == "warn" and "time limit" in e.message
               for e in events)
    summary = events[-1].summary
    assert summary["steps"] < 10_000 and "t2i_digit" in summary
    assert len(summary["history"]) == 1 and "mean_loss" in summary["history"][0]
    with pytest.raises(UserError):
        svc.ClipSettings(time_limit=0).validate()
