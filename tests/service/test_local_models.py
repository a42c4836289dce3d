"""Finding the local models a user can pick (`service.local_models`): folders
`Trainee.save` writes are found, newest first, described from their cards;
other folders and broken model folders are left out; names are escaped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from genai_tui.service import generate as gen
from genai_tui.service.lifecycle.trainee import Trainee
from genai_tui.service.local_models import local_models, read_model_folder
from tests.fixtures.lm import make_model_dir, tiny_config

HAVE_BUNDLED = (gen.default_model_dir() / "card.json").is_file()


@pytest.fixture(scope="module")
def trainee() -> Trainee:
    t = Trainee.fresh(n_layer=1, n_head=2, n_embd=16, block_size=16, seed=0)
    t.record("pretrain", steps=5)
    return t


def saved(trainee: Trainee, folder: Path, when: float | None = None) -> Path:
    path = trainee.save(folder)
    if when is not None:
        os.utime(path / "card.json", (when, when))
    return path


def test_a_saved_trainee_is_found_and_described_and_loads(tmp_path, trainee) -> None:
    path = saved(trainee, tmp_path / "pretrain-20261207-120000")
    (found,) = local_models([tmp_path], bundled=False)
    assert found.path == path and not found.bundled
    assert found.name == "pretrain-20261207-120000"
    params = f"{trainee.num_params() / 1e3:.0f}k params"
    assert found.description == f"pretrain 5 steps · {params}, 1 layers, ctx 16"
    assert found.label == f"pretrain-20261207-120000 · {found.description}"
    assert gen.load_model(found.path).num_params() == trainee.num_params()


def test_newest_first_each_folder_once_and_only_direct_children(tmp_path, trainee) -> None:
    old = saved(trainee, tmp_path / "old", when=1_000_000)
    new = saved(trainee, tmp_path / "new", when=2_000_000)
    saved(trainee, tmp_path / "deeper" / "nested")  # not directly inside: not listed
    saved(trainee, tmp_path / ".hidden")
    found = local_models([tmp_path, tmp_path / "." , str(tmp_path)], bundled=False)
    assert [m.path for m in found] == [new, old]


def test_not_models_and_broken_models_are_left_out(tmp_path, trainee) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "card.json").write_text("{}", encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    good = saved(trainee, tmp_path / "good")

    def broken(name: str, file: str, text: str | None) -> None:
        path = saved(trainee, tmp_path / name)
        if text is None:
            (path / file).unlink()
        else:
            (path / file).write_text(text, encoding="utf-8")

    broken("bad-card", "card.json", "{not json")
    broken("card-a-list", "card.json", "[1, 2]")
    broken("no-config", "config.json", None)
    broken("bad-shape", "config.json", json.dumps(
        {"vocab_size": 4096, "block_size": 16, "n_layer": 1, "n_head": 3, "n_embd": 16}))
    broken("bool-layers", "config.json", json.dumps(
        {"vocab_size": 4096, "block_size": 16, "n_layer": True, "n_head": 2, "n_embd": 16}))
    broken("no-weights", "model.safetensors", None)
    broken("empty-weights", "model.safetensors", "")
    broken("no-tokenizer", "tokenizer.bpe", None)
    assert [m.path for m in local_models([tmp_path], bundled=False)] == [good]
    assert local_models([tmp_path / "missing"], bundled=False) == []


def test_untrusted_names_and_stages_are_escaped(tmp_path, trainee) -> None:
    path = saved(trainee, tmp_path / "m")
    card = json.loads((path / "card.json").read_text(encoding="utf-8"))
    card["name"] = "\x1b[31mred\x1b[0m [bold]x[/bold]\x07"
    card["stages"] = [{"stage": "pre\x1b]0;title\x07train", "steps": 3}, "junk", {"stage": 7}]
    (path / "card.json").write_text(json.dumps(card), encoding="utf-8")
    (found,) = local_models([tmp_path], bundled=False)
    for text in (found.name, found.description, found.label):
        assert text.isprintable(), text
    assert "[bold]x[/bold]" in found.name  # shown as typed: the dialog renders it as plain text
    assert "(m)" in found.label  # the card's name differs from the folder's: both shown


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count_from_the_config_when_the_card_has_none(tmp_path, bias) -> None:
    from genai_tui.models.gpt import GPT

    path = make_model_dir(tmp_path / "m", n_embd=24, n_head=3, block_size=40, bias=bias)
    found = read_model_folder(path)
    params = GPT(tiny_config(n_embd=24, n_head=3, block_size=40, bias=bias)).num_params()
    assert found is not None
    assert found.description.endswith(f"{params / 1e3:.0f}k params, 2 layers, ctx 40")


def test_only_gpt_configs_count_as_language_models(tmp_path, trainee) -> None:
    import dataclasses

    from genai_tui.models.gpt import GPTConfig
    from genai_tui.service.local_models import GPT_CONFIG_FIELDS

    assert {f.name for f in dataclasses.fields(GPTConfig)} == GPT_CONFIG_FIELDS
    path = saved(trainee, tmp_path / "seq2seq-like")
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    (path / "config.json").write_text(json.dumps({**config, "d_ff": 64}), encoding="utf-8")
    assert local_models([tmp_path], bundled=False) == []


@pytest.mark.skipif(not HAVE_BUNDLED, reason="no bundled model")
def test_the_bundled_model_comes_first_and_is_not_listed_twice(tmp_path, trainee) -> None:
    path = saved(trainee, tmp_path / "mine")
    found = local_models([tmp_path, gen.default_model_dir().parent])
    assert found[0].bundled and found[0].path is None
    card = json.loads((gen.default_model_dir() / "card.json").read_text(encoding="utf-8"))
    steps = f"trained {card['steps']:,} steps"  # from the card, not a copy of it
    assert "4.3M params" in found[0].description and steps in found[0].description
    assert [m.path for m in found[1:]] == [path]


def test_stages_in_order_then_the_size(tmp_path) -> None:
    t = Trainee.fresh(n_layer=1, n_head=2, n_embd=16, block_size=16, seed=0)
    t.record("pretrain", steps=600)
    t.record("finetune", steps=1200)
    (found,) = local_models([t.save(tmp_path / "finetune-20261207-120100").parent],
                            bundled=False)
    assert found.description.startswith("pretrain 600 steps → finetune 1,200 steps · 69k params")
