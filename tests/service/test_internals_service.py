"""The internals service: attention, logit lens, positions and LM embeddings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genai_tui.errors import UserError
from genai_tui.paths import asset
from genai_tui.service import generate as gen
from genai_tui.service import internals as svc
from tests.fixtures.internals import tiny_lm

PROMPT = "The for statement iterates over the items of a list."


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    """Random tiny GPT with sharpened attention (so weights are far from uniform)."""
    return tiny_lm(tmp_path_factory.mktemp("lm") / "tiny", sharpen=25.0)


def bundled_lm():
    if not (asset("lm") / "model.safetensors").is_file():
        pytest.skip("the bundled model assets/lm/ is not trained yet (genai-tui train lm)")
    return gen.load_model()


# -- attention ----------------------------------------------------------------------


def test_attention_shapes_and_labels(lm) -> None:
    a = svc.attention(PROMPT, lm)
    T = len(lm.encode(PROMPT))
    cfg = lm.model.config
    assert a.weights.shape == a.scores.shape == (cfg.n_layer, cfg.n_head, T, T)
    assert a.ids == lm.encode(PROMPT)
    assert "".join(a.tokens) == PROMPT
    assert a.truncated == 0
    np.testing.assert_allclose(a.head(1), a.weights[1].mean(axis=0))


def _check_rows(a: svc.AttentionMap) -> None:
    T = len(a.ids)
    np.testing.assert_allclose(a.weights.sum(axis=-1), 1.0, atol=1e-5)
    upper = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert (a.weights[..., upper] == 0).all()  # exactly zero: the future is masked
    assert np.isneginf(a.scores[..., upper]).all()
    assert np.isfinite(a.scores[..., ~upper]).all()
    assert (a.weights >= 0).all()


def test_attention_rows_sum_to_one_and_are_causal(lm) -> None:
    a = svc.attention(PROMPT, lm)
    _check_rows(a)
    # sharpened: attention is peaked (uniform rows 5.. would have max <= 1/6)
    assert a.weights.max(axis=-1)[..., 5:].mean() > 0.5


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=60))
def test_attention_rows_property(lm, text: str) -> None:
    if not lm.encode(text):
        return
    _check_rows(svc.attention(text, lm))


def test_attention_equals_recomputation_from_the_models_own_q_and_k(lm) -> None:
    """An independent forward pass from the raw parameters: LN -> W_qkv -> q, k;
    softmax(q·k/√d) masked must equal what the service reports, layer by layer."""
    a = svc.attention(PROMPT, lm)
    gpt = lm.model
    cfg = gpt.config
    C, nh = cfg.n_embd, cfg.n_head
    hs = C // nh
    ids = torch.tensor(lm.encode(PROMPT))
    T = len(ids)
    params = dict(gpt.named_parameters())
    with torch.no_grad():
        x = params["transformer.wte.weight"][ids] + params["transformer.wpe.weight"][:T]  # (T, C)
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        for layer in range(cfg.n_layer):
            def p(name: str, layer: int = layer) -> torch.Tensor:
                return params[f"transformer.h.{layer}.{name}"]

            h = F.layer_norm(x, (C,), p("ln_1.weight"), p("ln_1.bias"), 1e-5)
            qkv = h @ p("attn.c_attn.weight").T + p("attn.c_attn.bias")  # (T, 3C)
            q = qkv[:, :C].reshape(T, nh, hs).transpose(0, 1)  # (nh, T, hs)
            k = qkv[:, C:2 * C].reshape(T, nh, hs).transpose(0, 1)
            v = qkv[:, 2 * C:].reshape(T, nh, hs).transpose(0, 1)
            scores = (q @ k.transpose(1, 2)) / math.sqrt(hs)  # (nh, T, T)
            weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
            np.testing.assert_allclose(a.weights[layer], weights.numpy(), atol=1e-5)
            np.testing.assert_allclose(a.scores[layer][:, ~future.numpy()],
                                       scores[:, ~future].numpy(), rtol=1e-4, atol=1e-4)
            y = (weights @ v).transpose(0, 1).reshape(T, C)
            x = x + y @ p("attn.c_proj.weight").T + p("attn.c_proj.bias")
            h = F.layer_norm(x, (C,), p("ln_2.weight"), p("ln_2.bias"), 1e-5)
            h = F.gelu(h @ p("mlp.c_fc.weight").T + p("mlp.c_fc.bias"), approximate="tanh")
            x = x + h @ p("mlp.c_proj.weight").T + p("mlp.c_proj.bias")


def test_attention_truncates_long_prompts(lm) -> None:
    text = "word " * 100
    n = len(lm.encode(text))
    a = svc.attention(text, lm)
    assert len(a.ids) == lm.block_size
    assert a.truncated == n - lm.block_size
    assert a.ids == lm.encode(text)[-lm.block_size:]
    assert len(svc.attention(text, lm, limit=5).ids) == 5


@pytest.mark.parametrize("prompt", ["", None])
def test_attention_rejects_empty_prompt(lm, prompt) -> None:
    with pytest.raises(UserError, match="empty"):
        svc.attention(prompt, lm)


def test_layer_and_head_checks(lm) -> None:
    svc.check_layer_head(lm, 1, 1)
    with pytest.raises(UserError, match="layer 2 is out of range"):
        svc.check_layer_head(lm, 2, None)
    with pytest.raises(UserError, match="head 5 is out of range"):
        svc.check_layer_head(lm, None, 5)


# -- logit lens ---------------------------------------------------------------------


def test_lens_last_layer_is_the_models_real_distribution(lm) -> None:
    ids, probs = svc.lens_probabilities(PROMPT, lm)
    cfg = lm.model.config
    assert probs.shape == (cfg.n_layer + 1, len(ids), cfg.vocab_size)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    with torch.no_grad():
        real = torch.softmax(lm.model(torch.tensor([ids])), dim=-1)[0].numpy()
    np.testing.assert_allclose(probs[-1], real, atol=1e-6)
    # the embedding row reads wte + wpe through ln_f and the tied unembedding
    with torch.no_grad():
        tr = lm.model.transformer
        x = tr.wte(torch.tensor(ids)) + tr.wpe.weight[:len(ids)]
        first = torch.softmax(lm.model.lm_head(tr.ln_f(x)), dim=-1).numpy()
    np.testing.assert_allclose(probs[0], first, atol=1e-6)


def test_lens_top_tokens_match_generation(lm) -> None:
    lens = svc.logit_lens(PROMPT, lm, top=5)
    assert lens.layers == ["embed"] + [f"layer {i}" for i in range(lm.model.config.n_layer)]
    step = next(iter(gen.generate(PROMPT, gen.Knobs(greedy=True, max_tokens=1), lm, top_n=5)))
    last = lens.cells[-1][-1]
    assert [c.id for c in last.top] == [c.id for c in step.top_before]
    for mine, theirs in zip(last.top, step.top_before, strict=True):
        assert mine.prob == pytest.approx(theirs.prob, abs=1e-5)
    # target columns: the prompt's actual next token, with its rank
    ids, probs = svc.lens_probabilities(PROMPT, lm)
    for layer, row in enumerate(lens.cells):
        for pos, cell in enumerate(row):
            probs_lp = [c.prob for c in cell.top]
            assert probs_lp == sorted(probs_lp, reverse=True)
            if pos + 1 < len(ids):
                p = probs[layer, pos]
                assert cell.target_prob == pytest.approx(float(p[ids[pos + 1]]))
                assert cell.target_rank == int((p > p[ids[pos + 1]]).sum()) + 1
            else:
                assert cell.target_prob is None and cell.target_rank is None


def test_lens_rejects_bad_top(lm) -> None:
    with pytest.raises(UserError):
        svc.logit_lens(PROMPT, lm, top=0)


# -- positions ----------------------------------------------------------------------


def test_position_similarity(lm) -> None:
    ps = svc.position_similarity(lm)
    n = lm.block_size
    assert ps.matrix.shape == (n, n)
    np.testing.assert_allclose(np.diag(ps.matrix), 1.0, atol=1e-5)
    np.testing.assert_allclose(ps.matrix, ps.matrix.T, atol=1e-6)
    assert ps.by_distance[0] == pytest.approx(1.0, abs=1e-5)
    assert len(ps.by_distance) == len(ps.norms) == n
    wpe = lm.model.transformer.wpe.weight.detach()
    assert ps.matrix[2, 5] == pytest.approx(float(F.cosine_similarity(wpe[2], wpe[5], dim=0)),
                                            abs=1e-5)
    assert svc.position_similarity(lm, 8).n == 8
    with pytest.raises(UserError):
        svc.position_similarity(lm, n + 1)


# -- LM embeddings ------------------------------------------------------------------


def test_resolve_word_rules(lm) -> None:
    r = svc.resolve_word("#300", lm)
    assert r.ids == [300]
    one = lm.encode(" list")
    assert len(one) == 1
    word = svc.resolve_word("·list", lm)  # · stands for a space
    assert word.ids == one
    multi = svc.resolve_word("antidisestablishmentarianism", lm)
    assert len(multi.ids) > 1 and "mean" in multi.note
    with pytest.raises(UserError):
        svc.resolve_word("#999999", lm)


def test_neighbors_are_sorted_cosines_over_the_table(lm) -> None:
    res = svc.neighbors("list", "lm", 8, model=lm)
    assert res.searched == lm.vocab_size and len(res.neighbors) == 8
    sims = [n.similarity for n in res.neighbors]
    assert sims == sorted(sims, reverse=True)
    qid = res.query[0].ids[0]
    assert qid not in [n.id for n in res.neighbors]  # the word itself is left out
    wte = lm.model.transformer.wte.weight.detach()
    expected = F.cosine_similarity(wte, wte[qid].unsqueeze(0), dim=1)
    expected[qid] = -2
    top = torch.topk(expected, 8)
    assert [n.id for n in res.neighbors] == top.indices.tolist()
    np.testing.assert_allclose(sims, top.values.numpy(), atol=1e-5)


def test_analogy_excludes_inputs_and_does_the_arithmetic(lm) -> None:
    res = svc.analogy("list", "lists", "·string", "lm", 5, model=lm)
    inputs = {i for r in res.query for i in r.ids}
    assert not inputs & {n.id for n in res.neighbors}
    wte = lm.model.transformer.wte.weight.detach()
    v = sum(s * wte[r.ids].mean(0) for s, r in zip((1, -1, 1), res.query, strict=True))
    sims = F.cosine_similarity(wte, v.unsqueeze(0), dim=1)
    assert res.neighbors[0].similarity == pytest.approx(float(sims[res.neighbors[0].id]), abs=1e-5)


def test_projection_and_similarity_lm(lm) -> None:
    words = ["list", "dict", "set", "tuple", "string"]
    proj = svc.projection(words, "lm", model=lm)
    assert proj.labels == words and len(proj.points) == 5
    xy = np.array(proj.points)
    np.testing.assert_allclose(xy.mean(axis=0), 0.0, atol=1e-5)  # PCA of centred vectors
    assert 0 < proj.explained[1] <= proj.explained[0] and sum(proj.explained) <= 1 + 1e-9
    assert xy[:, 0].var() >= xy[:, 1].var()
    sim = svc.similarity(words, "lm", model=lm)
    assert sim.matrix.shape == (5, 5)
    np.testing.assert_allclose(np.diag(sim.matrix), 1.0, atol=1e-5)
    # QA: float32 rounding printed 1.000001 in `embed similarity --json`
    assert np.abs(sim.matrix).max() <= 1.0
    with pytest.raises(UserError, match="at least 2"):
        svc.projection(["list"], "lm", model=lm)


def test_bad_inputs(lm) -> None:
    with pytest.raises(UserError, match="unknown embedding model"):
        svc.neighbors("x", "word2vec", model=lm)
    with pytest.raises(UserError):
        svc.neighbors("x", "lm", 0, model=lm)
    with pytest.raises(UserError, match="too many"):
        svc.similarity(["w"] * (svc.MAX_TEXTS + 1), "lm", model=lm)


def test_parsers() -> None:
    assert svc.parse_analogy("king - man + woman") == ("king", "man", "woman")
    assert svc.parse_analogy("Paris France Japan") == ("Paris", "France", "Japan")
    assert svc.parse_analogy("New York - USA + Japan") == ("New York", "USA", "Japan")
    with pytest.raises(UserError, match="three words"):
        svc.parse_analogy("king man")
    # QA: a sign is not a word ("king - man" used to give a="king", b="-", c="man")
    for text in ("king - man", "king + man", "- man + woman", "king - man +"):
        with pytest.raises(UserError, match="three words"):
            svc.parse_analogy(text)
    assert svc.parse_analogy("king-man+woman") == ("king", "man", "woman")
    assert svc.parse_words("a b c") == ["a", "b", "c"]
    assert svc.parse_words("a man; a dog, ok") == ["a man", "a dog, ok"]
    assert svc.parse_words("a man, a dog") == ["a man", "a dog"]


# -- the bundled model --------------------------------------------------------------


def test_bundled_model_attention_and_lens() -> None:
    lm = bundled_lm()
    a = svc.attention(PROMPT, lm)
    _check_rows(a)
    ids, probs = svc.lens_probabilities(PROMPT, lm)
    with torch.no_grad():
        real = torch.softmax(lm.model(torch.tensor([ids])), dim=-1)[0].numpy()
    np.testing.assert_allclose(probs[-1], real, atol=1e-5)
    # a trained model: the last layer predicts the prompt's next tokens better
    # than the raw embeddings do (mean log-probability of the actual next token)
    nxt = np.array(ids[1:])
    pos = np.arange(len(ids) - 1)
    assert np.log(probs[-1, pos, nxt]).mean() > np.log(probs[0, pos, nxt]).mean()
    ps = svc.position_similarity(lm)
    assert ps.n == lm.block_size and ps.by_distance[0] == pytest.approx(1.0, abs=1e-4)
    res = svc.neighbors("True", "lm", 5, model=lm)
    assert res.query[0].pieces == [" True"] and len(res.neighbors) == 5
