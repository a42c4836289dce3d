"""The transformer, its KV cache, saving/loading and training (tiny configs)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from genai_tui.errors import AssetError, UserError
from genai_tui.models.gpt import (
    GPT,
    GPTConfig,
    IncrementalDecoder,
    load_model,
    save_model,
    to_hf_gpt2_state_dict,
)
from genai_tui.service import generate as gen
from genai_tui.service import train_lm as tl
from tests.fixtures.lm import make_model_dir, tiny_config


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(tiny_config(vocab_size=97, block_size=24)).eval()


def test_config_round_trips_through_json() -> None:
    config = tiny_config()
    assert GPTConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(ValueError):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="unknown"):
        GPTConfig.from_dict({"vocab_size": 10, "n_experts": 2})


def test_kv_cache_equals_full_recomputation_over_a_long_generation(model: GPT) -> None:
    """120 tokens through a 24-position model: the window slides four times."""
    g = torch.Generator().manual_seed(3)
    decoder = IncrementalDecoder(model)
    with torch.inference_mode():
        logits = decoder.prefill([1, 2, 3, 4, 5])
        slides = 0
        for _ in range(120):
            full = model(torch.tensor([decoder.context]))[0, -1]  # no cache at all
            assert torch.allclose(logits, full, atol=1e-4, rtol=1e-4)
            token = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=g))
            before = len(decoder.context)
            logits = decoder.step(token)
            slides += len(decoder.context) < before
        assert slides >= 3


def test_kv_cache_within_the_window_equals_one_forward_pass(model: GPT) -> None:
    ids = torch.randint(0, 97, (1, 24), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        full = model(ids)  # (1, 24, vocab)
        cache = model.new_cache()
        chunks = [model(ids[:, :7], cache), model(ids[:, 7:15], cache)]  # a cached prefix + chunk
        for t in range(15, 24):
            chunks.append(model.decode(ids[0, t:t + 1], cache).view(1, 1, -1))
    assert torch.allclose(torch.cat(chunks, dim=1), full, atol=1e-5)


def test_trace_returns_attention_and_residuals(model: GPT) -> None:
    ids = torch.randint(0, 97, (2, 10))
    with torch.inference_mode():
        logits, trace = model(ids, trace=True)
        assert torch.allclose(logits, model(ids), atol=1e-5)  # the fast path agrees
        lens = model.logit_lens(trace.residuals[-1])
    cfg = model.config
    assert len(trace.attention) == cfg.n_layer and len(trace.residuals) == cfg.n_layer + 1
    for att in trace.attention:
        assert att.shape == (2, cfg.n_head, 10, 10)
        assert torch.allclose(att.sum(-1), torch.ones(2, cfg.n_head, 10), atol=1e-5)
        assert float(att.triu(diagonal=1).abs().max()) == 0.0  # causal
    assert torch.allclose(lens, logits, atol=1e-5)


def test_sequence_longer_than_the_context_is_refused(model: GPT) -> None:
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros((1, 25), dtype=torch.long))


def test_save_and_load_round_trip_in_float16(model: GPT, tmp_path) -> None:
    save_model(model, tmp_path, dtype=torch.float16)
    loaded = load_model(tmp_path)
    ids = torch.randint(0, 97, (1, 12))
    with torch.inference_mode():
        assert torch.allclose(loaded(ids), model(ids), atol=5e-3)
    assert loaded.lm_head.weight is loaded.transformer.wte.weight  # still tied
    assert loaded.transformer.wte.weight.dtype == torch.float32
    assert not list(tmp_path.glob("*.pt")) and not list(tmp_path.glob("*.bin"))


def test_hf_names_cover_every_weight(model: GPT) -> None:
    converted = to_hf_gpt2_state_dict(model)
    assert "transformer.h.0.attn.c_attn.weight" in converted
    assert converted["transformer.h.0.attn.c_attn.weight"].shape == (32, 96)  # Conv1D: (in, out)


def test_logits_match_hugging_face_gpt2(model: GPT) -> None:
    transformers = pytest.importorskip("transformers")
    from genai_tui.models.gpt import hf_gpt2_config_kwargs

    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        **hf_gpt2_config_kwargs(model.config))).eval()
    hf.load_state_dict(to_hf_gpt2_state_dict(model), strict=False)
    ids = torch.randint(0, 97, (1, 16))
    with torch.inference_mode():
        assert torch.allclose(hf(ids).logits, model(ids), atol=1e-4)


# -- the service: loading ---------------------------------------------------------


def test_load_model_reads_a_folder(tmp_path) -> None:
    lm = gen.load_model(make_model_dir(tmp_path / "m"))
    assert lm.vocab_size == 4096 and "GPT" in lm.describe()
    assert lm.decode(lm.encode("assert x")) == "assert x"


def test_missing_or_corrupt_model_files_raise_asset_error(tmp_path) -> None:
    with pytest.raises(AssetError, match="does not exist"):
        gen.load_model(tmp_path / "nowhere")
    folder = make_model_dir(tmp_path / "m")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    with pytest.raises(AssetError, match="corrupt"):
        gen.load_model(folder)
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(AssetError):
        gen.load_model(folder)
    weights.unlink()
    with pytest.raises(AssetError, match="missing"):
        gen.load_model(folder)
    folder2 = make_model_dir(tmp_path / "m2")
    (folder2 / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AssetError):
        gen.load_model(folder2)
    folder3 = make_model_dir(tmp_path / "m3")
    (folder3 / "tokenizer.bpe").write_text("garbage\n", encoding="utf-8")
    with pytest.raises(AssetError):
        gen.load_model(folder3)
    folder4 = make_model_dir(tmp_path / "m4")
    (folder4 / "card.json").unlink()
    with pytest.raises(AssetError, match="card"):
        gen.load_model(folder4)
    assert issubclass(AssetError, UserError)


# -- training ---------------------------------------------------------------------

CORPUS = ("The assert statement checks a condition. If the condition is false, "
          "AssertionError is raised. " * 60)


def _settings(tmp_path, **kw) -> tl.TrainSettings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    base = dict(corpus=str(corpus), out=str(tmp_path / "out"), steps=30, batch_size=4,
                block_size=16, n_layer=1, n_head=2, n_embd=32, lr=1e-2, min_lr=1e-3, warmup=5,
                eval_every=10, checkpoint_every=10, eval_windows=4, save_dtype="float32",
                val_fraction=0.1, seed=7)
    base.update(kw)
    return tl.TrainSettings(**base)


def _run(settings: tl.TrainSettings) -> list:
    return list(tl.train(settings))


def test_training_lowers_the_loss_and_writes_a_loadable_model(tmp_path) -> None:
    events = _run(_settings(tmp_path))
    losses = [e.loss for e in events if isinstance(e, tl.StepEvent)]
    evals = [e.val_loss for e in events if isinstance(e, tl.EvalEvent)]
    assert len(losses) == 30 and len(evals) == 3
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 1.0
    assert evals[-1] < evals[0]
    done = events[-1]
    assert isinstance(done, tl.DoneEvent)
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["steps"] == 30 and card["seed"] == 7
    assert math.isclose(card["perplexity"], math.exp(card["val_loss"]), rel_tol=1e-3)
    lm = gen.load_model(tmp_path / "out")
    steps = list(gen.generate("The assert", gen.Knobs(max_tokens=5, greedy=True), lm))
    assert len(steps) == 5


def test_resume_continues_exactly_where_it_stopped(tmp_path) -> None:
    straight = _run(_settings(tmp_path / "a", steps=20))
    for event in tl.train(_settings(tmp_path / "b", steps=20)):  # interrupted after step 10
        if isinstance(event, tl.CheckpointEvent) and event.step == 10:
            break
    resumed = _run(_settings(tmp_path / "b", steps=20, resume=True))
    a = [e.loss for e in straight if isinstance(e, tl.StepEvent)]
    b = [e.loss for e in resumed if isinstance(e, tl.StepEvent)]
    assert [e.step for e in resumed if isinstance(e, tl.StepEvent)][0] == 11
    assert b == pytest.approx(a[10:], rel=1e-4, abs=1e-4)


def test_training_refuses_bad_settings(tmp_path) -> None:
    with pytest.raises(UserError, match="nothing to resume"):
        tl.train(_settings(tmp_path, resume=True))
    with pytest.raises(UserError, match="steps"):
        tl.train(_settings(tmp_path, steps=0))
    with pytest.raises(UserError, match="divisible"):
        tl.train(_settings(tmp_path, n_embd=30, n_head=4))


def test_card_reports_bits_per_byte_and_the_gap(tmp_path) -> None:
    _run(_settings(tmp_path, steps=10, final_eval_windows=8))
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    tokens_per_byte = card["val_tokens"] / card["val_bytes"]
    assert card["bits_per_byte"] == pytest.approx(
        card["val_loss"] * tokens_per_byte / math.log(2), rel=1e-3)
    assert card["generalization_gap"] == pytest.approx(
        card["val_loss"] - card["train_loss"], abs=1e-3)
    assert card["final_eval"]["windows"] >= 1
    # the curve's train side is measured on fixed windows, next to the batch's loss
    assert {"train_loss", "batch_loss", "val_loss"} <= set(card["history"][-1])


def test_a_time_limit_brings_the_schedule_to_its_end() -> None:
    s = tl.TrainSettings(steps=1000, warmup=10, lr=1e-2, min_lr=1e-3)
    assert tl.lr_at(100, s) > 9e-3  # by steps: early in the decay
    assert tl.lr_at(100, s, time_progress=1.0) == pytest.approx(1e-3)
    assert tl.lr_at(100, s, time_progress=0.5) < tl.lr_at(100, s)
