"""Decoding knobs: properties that hold for every logit vector (hypothesis)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_tui.sampling import stages
from genai_tui.sampling.chain import DEFAULT_ORDER, STAGE_NAMES, build_chain, draw, run_chain
from genai_tui.sampling.knobs import Knobs
from genai_tui.service import generate as gen

# Logits drawn from a few values make ties common; wide floats test the general case.
tied_logits = st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=300)
float_logits = st.lists(
    st.floats(-20, 20, allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=300)
any_logits = st.one_of(tied_logits, float_logits)
mass = st.floats(0.01, 1.0, exclude_min=False)
SETTINGS = settings(max_examples=150, deadline=None)


def _t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _alive(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1) > 0


def _rank_order(probs: torch.Tensor) -> list[int]:
    """Ids by probability, highest first, lower id first among ties (the documented order)."""
    return sorted(range(len(probs)), key=lambda i: (-float(probs[i]), i))


def _assert_distribution(logits: torch.Tensor) -> None:
    probs = torch.softmax(logits, dim=-1)
    assert torch.isfinite(probs).all()
    assert math.isclose(float(probs.sum()), 1.0, abs_tol=1e-5)
    assert int((probs > 0).sum()) >= 1


@SETTINGS
@given(any_logits, st.integers(1, 400))
def test_top_k_keeps_exactly_k_with_lower_ids_winning_ties(values, k) -> None:
    logits = _t(values)
    out = stages.top_k(logits, k)
    _assert_distribution(out)
    kept = [i for i in range(len(values)) if out[i] > float("-inf")]
    expected = sorted(sorted(range(len(values)), key=lambda i: (-values[i], i))[:k])
    assert kept == expected
    assert len(kept) == min(k, len(values))
    assert torch.equal(out[kept], logits[kept])  # survivors' logits are untouched


@SETTINGS
@given(any_logits, mass)
def test_top_p_keeps_the_minimal_prefix_reaching_p(values, p) -> None:
    logits = _t(values)
    out = stages.top_p(logits, p)
    _assert_distribution(out)
    probs = torch.softmax(logits, dim=-1).double()
    order = _rank_order(probs)
    kept = {i for i in range(len(values)) if out[i] > float("-inf")}
    m = len(kept)
    assert kept == set(order[:m])  # a prefix of the sorted order
    tol = 1e-5
    assert float(probs[order[:m]].sum()) >= p - tol or m == len(values)  # reaches p
    assert float(probs[order[:m - 1]].sum()) < p + tol  # one fewer does not


@SETTINGS
@given(any_logits, st.floats(0.0, 1.0))
def test_min_p_keeps_tokens_above_the_scaled_maximum(values, p) -> None:
    logits = _t(values)
    out = stages.min_p(logits, p)
    _assert_distribution(out)
    probs = torch.softmax(logits, dim=-1).double()
    top = float(probs.max())
    for i in range(len(values)):
        ratio = float(probs[i]) / top
        if ratio >= p * (1 + 1e-4):
            assert out[i] > float("-inf")
        elif ratio <= p * (1 - 1e-4):
            assert out[i] == float("-inf")
    assert out[int(logits.argmax())] > float("-inf")  # the top token always survives


@SETTINGS
@given(any_logits, mass)
def test_typical_p_keeps_the_most_typical_tokens_reaching_p(values, p) -> None:
    logits = _t(values)
    out = stages.typical_p(logits, p)
    _assert_distribution(out)
    logp = torch.log_softmax(logits.double(), dim=-1)
    probs = logp.exp()
    entropy = float(-(probs * logp).sum())
    distance = (-logp - entropy).abs()
    kept = [i for i in range(len(values)) if out[i] > float("-inf")]
    dropped = [i for i in range(len(values)) if out[i] == float("-inf")]
    tol = 1e-4
    if dropped:  # every kept token is at least as typical as every dropped one
        assert float(distance[kept].max()) <= float(distance[dropped].min()) + tol
        assert float(probs[kept].sum()) >= p - tol
        # minimal: without its least typical member the set falls short of p
        worst = max(kept, key=lambda i: float(distance[i]))
        assert float(probs[kept].sum() - probs[worst]) < p + tol


@SETTINGS
@given(any_logits, st.floats(0.05, 5.0))
def test_temperature_scales_and_keeps_the_order(values, t) -> None:
    logits = _t(values)
    out = stages.temperature(logits, t)
    _assert_distribution(out)
    assert torch.allclose(out * t, logits, atol=1e-4)
    # the top token stays on top (dividing may tie it with a denormal neighbour)
    assert out[int(logits.argmax())] == out.max()


@SETTINGS
@given(float_logits)
def test_temperature_towards_zero_equals_greedy(values) -> None:
    logits = _t(values)
    greedy = stages.greedy(logits)
    best = int(logits.argmax())
    assert int((greedy > float("-inf")).sum()) == 1 and greedy[best] == 0.0
    assert torch.equal(stages.temperature(logits, 0.0), greedy)
    top2 = torch.topk(logits, min(2, len(values))).values
    if len(values) > 1 and float(top2[0] - top2[1]) > 0.05:
        cold = torch.softmax(stages.temperature(logits, 1e-3), dim=-1)
        assert float(cold[best]) > 0.999
        assert torch.equal(torch.softmax(greedy, -1).argmax(), cold.argmax())


def test_greedy_breaks_ties_by_lower_id() -> None:
    out = stages.greedy(_t([1.0, 3.0, 3.0, 0.0]))
    assert out.tolist() == [float("-inf"), 0.0, float("-inf"), float("-inf")]


@SETTINGS
@given(st.data())
def test_penalties_move_exactly_the_seen_tokens(data) -> None:
    values = data.draw(float_logits)
    n = len(values)
    counts = _t(data.draw(st.lists(st.integers(0, 3).map(float), min_size=n, max_size=n)))
    rep = data.draw(st.floats(1.0, 3.0))
    presence = data.draw(st.floats(0.0, 2.0))
    frequency = data.draw(st.floats(0.0, 2.0))
    logits = _t(values)
    out = stages.penalties(logits, counts, rep, presence, frequency)
    _assert_distribution(out)
    for i in range(n):
        x, c = float(logits[i]), float(counts[i])
        if c == 0:
            assert float(out[i]) == x
            continue
        scaled = x / rep if x > 0 else x * rep
        assert math.isclose(float(out[i]), scaled - presence - frequency * c,
                            rel_tol=1e-5, abs_tol=1e-4)
        assert float(out[i]) <= x + 1e-6  # discouraged, never encouraged


def test_negative_presence_penalty_encourages_seen_tokens() -> None:
    out = stages.penalties(_t([1.0, 1.0]), _t([0.0, 2.0]), 1.0, -0.5, 0.0)
    assert out.tolist() == [1.0, 1.5]


@SETTINGS
@given(any_logits, st.data())
def test_every_chain_output_is_a_distribution(values, data) -> None:
    knobs = dict(
        temperature=data.draw(st.sampled_from([0.0, 0.3, 1.0, 2.0])),
        top_k=data.draw(st.integers(0, 50)),
        top_p=data.draw(st.floats(0.05, 1.0)),
        min_p=data.draw(st.floats(0.0, 0.5)),
        typical_p=data.draw(st.floats(0.05, 1.0)),
        repetition_penalty=data.draw(st.floats(1.0, 2.0)),
        presence_penalty=data.draw(st.floats(0.0, 1.0)),
        frequency_penalty=data.draw(st.floats(0.0, 1.0)),
    )
    order = data.draw(st.permutations(STAGE_NAMES))
    chain = build_chain(Knobs(order=tuple(order), **knobs))
    logits = _t(values)
    counts = torch.zeros(len(values))
    counts[0] = 2
    outs = run_chain(chain, logits, counts)
    assert len(outs) == len(chain)
    alive = len(values)
    for stage, out in zip(chain, outs, strict=True):
        _assert_distribution(out)
        now = int(_alive(out).sum())
        # Truncation never revives a token. (Penalties and temperature only
        # move finite logits: they may push a tiny probability over or under
        # float32's underflow, so they are not checked.)
        if stage.name not in ("penalties", "temperature"):
            assert now <= alive
        alive = now
    probs = torch.softmax(outs[-1], -1) if outs else torch.softmax(logits, -1)
    g = torch.Generator().manual_seed(0)
    token = draw(probs, g)
    assert probs[token] > 0


def test_chain_respects_order_and_skips_neutral_knobs() -> None:
    chain = build_chain(Knobs(order=("top-p", "temperature", "top-k"), temperature=0.7,
                              top_k=5, top_p=0.9))
    assert [s.name for s in chain] == ["top-p", "temperature", "top-k"]
    assert [s.label for s in chain] == ["top-p 0.9", "temperature 0.7", "top-k 5"]
    assert build_chain(Knobs()) == []
    assert [s.name for s in build_chain(Knobs(top_k=3, min_p=0.1, order=("top-k",)))] == [
        "top-k"]
    greedy = build_chain(Knobs(temperature=0.5, top_k=3, repetition_penalty=1.2, greedy=True))
    assert [s.name for s in greedy] == ["penalties", "greedy"]
    assert [s.name for s in build_chain(Knobs(temperature=0.0))] == ["greedy"]
    with pytest.raises(ValueError, match="unknown sampler stage"):
        build_chain(Knobs(order=("top-q",)))
    with pytest.raises(ValueError, match="twice"):
        build_chain(Knobs(order=("top-k", "top-k")))


def test_order_changes_the_result() -> None:
    logits = _t([2.0, 1.5, 1.0, 0.0, -1.0])
    hot_first = run_chain(build_chain(Knobs(order=("temperature", "top-p"), temperature=3.0,
                                            top_p=0.6)), logits, torch.zeros(5))[-1]
    p_first = run_chain(build_chain(Knobs(order=("top-p", "temperature"), temperature=3.0,
                                          top_p=0.6)), logits, torch.zeros(5))[-1]
    assert int(_alive(hot_first).sum()) > int(_alive(p_first).sum())


def test_service_default_order_is_the_chain_default() -> None:
    assert gen.DEFAULT_ORDER == DEFAULT_ORDER


@SETTINGS
@given(st.lists(st.floats(0.0, 1.0, width=32), min_size=1, max_size=50), st.integers(0, 2**31))
def test_draw_never_picks_a_removed_token_and_is_reproducible(weights, seed) -> None:
    probs = _t(weights)
    if float(probs.sum()) == 0:
        probs[0] = 1.0
    probs = probs / probs.sum()
    a = [draw(probs, torch.Generator().manual_seed(seed)) for _ in range(3)]
    assert len(set(a)) == 1
    assert probs[a[0]] > 0


def test_draw_follows_the_distribution() -> None:
    probs = _t([0.1, 0.0, 0.6, 0.3])
    g = torch.Generator().manual_seed(1)
    counts = [0, 0, 0, 0]
    for _ in range(4000):
        counts[draw(probs, g)] += 1
    assert counts[1] == 0
    for i, p in enumerate([0.1, 0.0, 0.6, 0.3]):
        assert abs(counts[i] / 4000 - p) < 0.03


@pytest.mark.parametrize("fn,arg", [
    (stages.top_p, 0.0), (stages.top_p, 1.5), (stages.typical_p, 0.0), (stages.min_p, -0.1),
    (stages.temperature, -1.0),
])
def test_out_of_range_arguments_raise(fn, arg) -> None:
    with pytest.raises(ValueError):
        fn(_t([1.0, 2.0]), arg)


@pytest.mark.parametrize("knobs,message", [
    (gen.Knobs(temperature=-0.1), "temperature"),
    (gen.Knobs(top_p=0.0), "top-p"),
    (gen.Knobs(top_p=1.1), "top-p"),
    (gen.Knobs(top_k=-1), "top-k"),
    (gen.Knobs(min_p=1.5), "min-p"),
    (gen.Knobs(typical_p=0.0), "typical-p"),
    (gen.Knobs(repetition_penalty=0.0), "repetition"),
    (gen.Knobs(presence_penalty=11.0), "presence"),
    (gen.Knobs(frequency_penalty=float("nan")), "frequency"),
    (gen.Knobs(max_tokens=-1), "max-tokens"),
    (gen.Knobs(seed=-5), "seed"),
    (gen.Knobs(stop=("",)), "stop"),
    (gen.Knobs(order=("top-k", "beam")), "unknown sampler stage"),
])
def test_validate_rejects_out_of_range_knobs(knobs, message) -> None:
    from genai_tui.errors import UserError

    with pytest.raises(UserError, match=message):
        gen.validate(knobs)


def test_validate_accepts_defaults_and_edges() -> None:
    for knobs in (gen.Knobs(), gen.Knobs(temperature=0.0, top_p=1.0, min_p=1.0, top_k=0),
                  gen.Knobs(seed=None, order=())):
        gen.validate(knobs)
