"""Supervised fine-tuning (issue 16): the instruction pairs, the answer-only loss, the stage."""

from __future__ import annotations

import math
import re

import pytest
import torch

from genai_tui.errors import UserError
from genai_tui.models.gpt import GPT
from genai_tui.service.lifecycle import sft
from genai_tui.service.lifecycle.events import Finished, Metrics, Sample
from genai_tui.tokenizers.bpe import BPETokenizer, default_path
from tests.fixtures.lm import make_model_dir, tiny_config

PAIR_TEXT = re.compile(r"Q: What does [A-Za-z_][\w.]*\.[A-Za-z]\w* do\?\nA: .{15,160}\n")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", block_size=64)


@pytest.fixture(scope="module")
def tokenizer():
    return BPETokenizer.load(default_path())


# -- the pairs ----------------------------------------------------------------------------


def test_qa_pairs_are_deterministic_well_formed_and_split_without_overlap() -> None:
    first = sft.qa_pairs()
    sft.qa_pairs.cache_clear()
    again = sft.qa_pairs()
    assert first == again and first is not again  # parsed afresh, the same pairs
    assert 300 <= len(first) <= 5000
    assert len({p.question for p in first}) == len(first)
    assert all(PAIR_TEXT.fullmatch(p.text) for p in first)
    assert all(not p.name.startswith("_") and not any(
        part.startswith("_") for part in p.module.split(".")) for p in first)
    train, held = sft.split_pairs()
    assert not {p.question for p in train} & {p.question for p in held}
    assert len(train) + len(held) == len(first)
    assert 0.05 <= len(held) / len(first) <= 0.15
    assert [p.held_out for p in first] == [sft.is_held_out(p.question) for p in first]


def test_pairs_of_takes_public_top_level_definitions_with_a_first_sentence() -> None:
    source = '''
def spam():
    """Return the spam of the day, freshly made.

    More text here."""

def _private():
    """A private helper that is never asked about."""

class Eggs:
    """Boiled eggs with a long enough first sentence. And a second one."""
    def method(self):
        """A method inside a class is not top level."""

def short():
    """Too short."""

def nodot():
    """No full stop at all in this docstring"""
'''
    pairs = sft.pairs_of(source, "kitchen")
    assert [(p.name, p.answer) for p in pairs] == [
        ("spam", "Return the spam of the day, freshly made."),
        ("Eggs", "Boiled eggs with a long enough first sentence.")]
    assert pairs[0].text == "Q: What does kitchen.spam do?\nA: Return the spam of the day, " \
                            "freshly made.\n"


# -- the answer-only loss -------------------------------------------------------------------


def test_the_loss_ignores_prompt_targets_and_counts_answer_targets(tokenizer) -> None:
    torch.manual_seed(0)
    model = GPT(tiny_config(block_size=64)).eval()
    pair = sft.QAPair("json", "dumps", "Serialize obj to a JSON formatted str.")
    ids, n_prompt = sft.encode_pair(tokenizer, pair)
    assert tokenizer.decode(ids[:n_prompt]) == pair.prompt
    x = torch.tensor([ids[:-1]])

    def loss_with(targets_from: list[int]) -> float:
        y = sft.answer_targets(targets_from, n_prompt)[None]
        with torch.no_grad():
            return float(sft.masked_loss(model, x, y))

    base = loss_with(ids)
    other = 123
    for position in (1, n_prompt - 1):  # first and last prompt targets
        changed = list(ids)
        changed[position] = other if changed[position] != other else other + 1
        assert loss_with(changed) == base
    for position in (n_prompt, len(ids) - 1):  # first and last answer tokens
        changed = list(ids)
        changed[position] = other if changed[position] != other else other + 1
        assert loss_with(changed) != pytest.approx(base, abs=1e-6)


def test_collate_pads_with_ignored_targets_and_cuts_to_the_block(tokenizer) -> None:
    pairs = sft.qa_pairs()[:3]
    encoded = [sft.encode_pair(tokenizer, p) for p in pairs]
    x, y = sft.collate(encoded, 64)
    longest = max(len(ids) for ids, _ in encoded) - 1
    assert x.shape == y.shape == (3, min(64, longest))
    for row, (ids, n_prompt) in enumerate(encoded):
        answer = (y[row] != sft.IGNORE).nonzero()[:, 0].tolist()
        assert answer == list(range(n_prompt - 1, len(ids) - 1))
        assert y[row, n_prompt - 1:len(ids) - 1].tolist() == ids[n_prompt:]
    x, y = sft.collate(encoded, 16)
    assert x.shape == (3, 16)


# -- the stage ------------------------------------------------------------------------------


def test_sft_loss_falls_on_a_small_repeated_set(model_dir) -> None:
    run = sft.Sft(sft.SftSettings(model=str(model_dir), train_pairs=8, steps=40, lr=3e-3,
                                  warmup=2, batch_size=8, eval_every=20, eval_pairs=16,
                                  sample_questions=2, sample_tokens=8))
    events = list(run.events())
    losses = [e.values["loss"] for e in events if isinstance(e, Metrics) and "loss" in e.values]
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5
    samples = [e for e in events if isinstance(e, Sample)]
    assert [s.label for s in samples] == ["before", "before", "after", "after"]
    assert {s.prompt for s in samples} == {q.prompt for q in run.questions}
    assert all(q.held_out for q in run.questions)
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.step == 40
    assert finished.summary["train_pairs"] == 8
    assert math.isfinite(finished.summary["answer_loss_after"])
    assert run.trainee.card["stages"][-1]["stage"] == "sft"


@pytest.mark.parametrize("change, words", [
    ({"steps": 0}, "steps"), ({"lr": 0.0}, "learning rate"), ({"batch_size": 0}, "batch"),
    ({"block_size": 8}, "block"), ({"train_pairs": 0}, "training pairs"),
    ({"sample_questions": 11}, "sample questions"),
])
def test_bad_settings_are_user_errors(change, words) -> None:
    with pytest.raises(UserError, match=words):
        sft.Sft(sft.SftSettings(**change))


@pytest.mark.parametrize("relative, name", [
    ("json/decoder.py", "json.decoder"), ("json/__init__.py", "json"), ("os.py", "os"),
    ("_pydecimal.py", None), ("email/_parseaddr.py", None), ("concurrent/futures/_base.py", None),
])
def test_module_names_skip_private_modules(tmp_path, relative, name) -> None:
    assert sft.module_name(tmp_path / relative, tmp_path) == name


def test_first_sentence_is_one_line_of_the_first_paragraph() -> None:
    assert sft.first_sentence("Open a file\nand return a stream.  More.") == \
        "Open a file and return a stream."
    assert sft.first_sentence("Short.") is None
    assert sft.first_sentence("x" * 200 + ".") is None
    assert sft.first_sentence("A first paragraph without a stop\n\nSecond one.") is None
