"""The sampler chain: decoding knobs applied one after another, like llama.cpp's.

A chain is an ordered list of stages. Each stage takes the logits the previous
stage left and returns new logits (removed tokens at ``-inf``), so order
matters: temperature before top-p changes which tokens the nucleus holds,
top-k before top-p makes top-p choose among at most k tokens. The default
order (``DEFAULT_ORDER``) is llama.cpp's: penalties first (they look at the
raw logits of tokens already in the context), then temperature, then the
truncation stages top-k, top-p, min-p, typical-p. Finally one token is drawn
from the distribution the last stage leaves (a seeded ``torch.Generator``
makes the draw reproducible).

Only *active* stages enter a chain: a knob at its neutral value (temperature
1, top-k 0, top-p 1, min-p 0, typical-p 1, penalties 1/0/0) is no stage at
all, and a stage missing from ``order`` is not applied. Greedy decoding (or
temperature 0) keeps the penalties and replaces everything after them with
one "greedy" stage that keeps the single most likely token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from genai_tui.sampling import stages as st
from genai_tui.sampling.knobs import DEFAULT_ORDER, STAGE_NAMES, Knobs

__all__ = ["DEFAULT_ORDER", "STAGE_NAMES", "Stage", "build_chain", "draw", "run_chain"]


@dataclass(frozen=True)
class Stage:
    """One active step of the chain."""

    name: str
    """One of ``STAGE_NAMES`` or "greedy"."""
    label: str
    """The stage with its setting, e.g. "top-p 0.9"."""
    apply: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    """(logits, counts) -> logits."""


def _fmt(x: float) -> str:
    return f"{x:g}"


def build_chain(knobs: Knobs) -> list[Stage]:
    """The active stages of ``knobs``, in ``knobs.order`` (a stage missing from
    the order is not applied). Raises ValueError for an unknown or repeated name."""
    seen: set[str] = set()
    for name in knobs.order:
        if name not in STAGE_NAMES:
            raise ValueError(
                f"unknown sampler stage {name!r} (choose from {', '.join(STAGE_NAMES)})")
        if name in seen:
            raise ValueError(f"sampler stage {name!r} appears twice")
        seen.add(name)
    temperature, top_k, top_p = knobs.temperature, knobs.top_k, knobs.top_p
    min_p, typical_p = knobs.min_p, knobs.typical_p
    repetition, presence, frequency = (knobs.repetition_penalty, knobs.presence_penalty,
                                       knobs.frequency_penalty)
    greedy = knobs.greedy or temperature == 0

    available: dict[str, Stage] = {}
    if repetition != 1.0 or presence != 0.0 or frequency != 0.0:
        parts = []
        if repetition != 1.0:
            parts.append(f"repetition {_fmt(repetition)}")
        if presence != 0.0:
            parts.append(f"presence {_fmt(presence)}")
        if frequency != 0.0:
            parts.append(f"frequency {_fmt(frequency)}")
        if knobs.penalty_last_n:
            parts.append(f"last {knobs.penalty_last_n}")
        available["penalties"] = Stage(
            "penalties", "penalties " + ", ".join(parts),
            lambda lg, c: st.penalties(lg, c, repetition, presence, frequency))
    if not greedy:
        if temperature != 1.0:
            available["temperature"] = Stage(
                "temperature", f"temperature {_fmt(temperature)}",
                lambda lg, c: st.temperature(lg, temperature))
        if top_k > 0:
            available["top-k"] = Stage("top-k", f"top-k {top_k}",
                                       lambda lg, c: st.top_k(lg, top_k))
        if top_p < 1.0:
            available["top-p"] = Stage("top-p", f"top-p {_fmt(top_p)}",
                                       lambda lg, c: st.top_p(lg, top_p))
        if min_p > 0.0:
            available["min-p"] = Stage("min-p", f"min-p {_fmt(min_p)}",
                                       lambda lg, c: st.min_p(lg, min_p))
        if typical_p < 1.0:
            available["typical-p"] = Stage("typical-p", f"typical-p {_fmt(typical_p)}",
                                           lambda lg, c: st.typical_p(lg, typical_p))
    chain = [available[name] for name in knobs.order if name in available]
    if greedy:
        chain.append(Stage("greedy", "greedy", lambda lg, c: st.greedy(lg)))
    return chain


def run_chain(chain: Sequence[Stage], logits: torch.Tensor,
              counts: torch.Tensor) -> list[torch.Tensor]:
    """The logits after each stage (empty list for an empty chain)."""
    out = []
    for stage in chain:
        logits = stage.apply(logits, counts)
        out.append(logits)
    return out


def draw(probs: torch.Tensor, generator: torch.Generator | None = None) -> int:
    """Sample one token id from a 1-D distribution by inverting its CDF with one
    uniform number (reproducible with a seeded generator; a token of
    probability 0 is never drawn)."""
    cdf = probs.cumsum(dim=-1)  # (vocab,)
    u = torch.rand(1, generator=generator, dtype=cdf.dtype) * cdf[-1]
    i = int(torch.searchsorted(cdf, u, right=True))
    if i >= len(cdf):  # u * total rounded up to the total: take the last live token
        i = int(torch.nonzero(probs > 0)[-1])
    return i
