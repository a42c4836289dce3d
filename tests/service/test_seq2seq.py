"""The encoder-decoder: its masks, cross-attention, the bundled model's held-out
accuracy (recomputed on a slice) and `genai-tui seq2seq --json` (issue 18)."""

from __future__ import annotations

import json

import pytest
import torch

from genai_tui.models.seq2seq import (
    BOS,
    PAD,
    CharVocab,
    Seq2Seq,
    Seq2SeqConfig,
    greedy_decode,
    pad_batch,
)
from genai_tui.service import dates
from genai_tui.service import seq2seq as svc
from genai_tui.service.train_seq2seq import accuracy


@pytest.fixture(scope="module")
def tiny() -> Seq2Seq:
    torch.manual_seed(0)
    return Seq2Seq(Seq2SeqConfig(d_model=32, n_head=4, n_enc_layer=2, n_dec_layer=2, d_ff=64,
                                 max_src_len=24, max_tgt_len=8)).eval()


def _src(text: str, length: int | None = None) -> torch.Tensor:
    return pad_batch([CharVocab.encode(text)], length)


def _tgt(text: str) -> torch.Tensor:
    return torch.tensor([[BOS, *CharVocab.encode(text)]])


def test_the_encoders_attention_is_not_causal_and_the_decoders_is(tiny) -> None:
    src, tgt = _src("the 3rd of March"), _tgt("2021-03")
    with torch.no_grad():
        _, trace = tiny(src, tgt, trace=True)
        for att in trace.encoder:  # (B, nh, S, S): queries see later keys too
            assert float(att[..., 0, 1:].sum(-1).min()) > 0.1  # the first looks ahead
        for att in trace.decoder:  # (B, nh, T, T): nothing above the diagonal
            assert float(att.triu(1).abs().max()) == 0.0
        # Behaviour, not only the maps: a later input character changes earlier encoder
        # outputs; a later target character changes no earlier decoder logit.
        a = tiny.encode(src)
        b = tiny.encode(_src("the 3rd of Marcx"))
        assert not torch.allclose(a[:, 0], b[:, 0])
        la = tiny(src, _tgt("2021-03"))
        lb = tiny(src, _tgt("2021-09"))
        torch.testing.assert_close(la[:, :-1], lb[:, :-1])
        assert not torch.allclose(la[:, -1], lb[:, -1])


def test_masking_a_padded_input_position_changes_nothing(tiny) -> None:
    text = "3 March 2021"
    with torch.no_grad():
        plain = tiny(_src(text), _tgt("2021"))
        padded_src = _src(text, len(text) + 5)
        padded, trace = tiny(padded_src, _tgt("2021"), trace=True)
        torch.testing.assert_close(plain, padded)
        # whatever sits in a padded position's embedding, no query looks at it
        for att in trace.encoder + trace.cross:
            assert float(att[..., len(text):].abs().max()) == 0.0
        assert greedy_decode(tiny, _src(text)) == greedy_decode(tiny, padded_src)
        # a batch: the short row padded to the long one decodes as on its own
        batch = pad_batch([CharVocab.encode(text), CharVocab.encode("the 3rd of March, 2021")])
        assert greedy_decode(tiny, batch)[0] == greedy_decode(tiny, _src(text))[0]
        assert int((batch == PAD).sum()) > 0


def test_cross_attention_rows_sum_to_one_over_the_input(tiny) -> None:
    with torch.no_grad():
        _, trace = tiny(_src("Mar 3 2021", 16), _tgt("2021-03"), trace=True)
    for att in trace.cross:  # (B, nh, T, S)
        assert att.shape[-2:] == (8, 16)
        torch.testing.assert_close(att.sum(-1), torch.ones(att.shape[:-1]))
        assert float(att.min()) >= 0.0


BUNDLED = svc.default_dir()
HAVE_BUNDLED = (BUNDLED / "model.safetensors").is_file()


@pytest.fixture(scope="module")
def bundled():
    if not HAVE_BUNDLED:
        pytest.skip("bundled model assets/seq2seq not present")
    return svc.load()


def test_bundled_held_out_accuracy_recomputed_on_a_slice(bundled) -> None:
    """The card reports exact match on 1000 held-out dates in training templates and 1000
    dates in templates never seen in training; the first 200 of each, recomputed."""
    card = json.loads((BUNDLED / "card.json").read_text(encoding="utf-8"))["metrics"]
    seen = accuracy(bundled.model, dates.seen_test_set(1000)[:200])
    unseen = accuracy(bundled.model, dates.unseen_test_set(1000)[:200])
    assert seen >= 0.95 and unseen >= 0.95, (seen, unseen)
    assert card["exact_match_unseen_templates"] >= 0.95
    assert abs(unseen - card["exact_match_unseen_templates"]) < 0.04  # the same model
    # the held-out templates really were held out
    train = set(json.loads((BUNDLED / "card.json").read_text())["data"]["train_templates"])
    assert not train & set(dates.HELD_OUT_TEMPLATES)


def run(args: list[str], capsys):
    from genai_tui.cli import app

    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_cli_json_has_the_output_and_every_attention_map(bundled, capsys) -> None:
    code, out, _ = run(["seq2seq", "the 3rd of March, 2021", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["output"] == "2021-03-03"
    cfg = bundled.model.config
    S, T = len(data["input_tokens"]), len(data["tokens"])
    att = data["attention"]
    assert len(att["encoder"]) == cfg.n_enc_layer and len(att["cross"]) == cfg.n_dec_layer
    assert len(att["encoder"][0]) == cfg.n_head
    assert len(att["encoder"][0][0]) == S and len(att["encoder"][0][0][0]) == S
    assert len(att["cross"][0][0]) == T and len(att["cross"][0][0][0]) == S
    for row in att["cross"][-1][0]:
        assert sum(row) == pytest.approx(1.0, abs=1e-3)
    for t, row in enumerate(att["decoder"][0][0]):
        assert all(w == 0 for w in row[t + 1:])  # causal
    assert "beam" not in data


def test_cli_json_with_beam_lists_the_steps_and_the_ranking(bundled, capsys) -> None:
    code, out, _ = run(["seq2seq", "the 3rd of March, 2021", "--beam", "4", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    expected = svc.translate("the 3rd of March, 2021", bundled, beam=4)
    assert data["output"] == expected.output == "2021-03-03"
    assert [r["text"] for r in data["ranking"]] == [
        svc.tokens_text(list(b.tokens)) for b in expected.beams.ranking]
    assert len(data["ranking"]) == 4 and data["ranking"][0]["text"] == "2021-03-03"
    steps = data["beam"]["steps"]
    assert steps[-1]["done"] and all(len(s["live"]) <= 4 for s in steps)
    assert any(s["pruned"] for s in steps)
