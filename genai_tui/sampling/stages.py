"""Decoding knobs as pure functions: logits in, logits out.

Every function takes a 1-D (or (..., vocab)) float tensor of logits and returns
a new tensor; tokens a stage removes get ``-inf``, so ``softmax`` of the result
is the distribution the stage leaves (it always sums to 1, and at least one
token survives every stage). Inputs are never modified in place.

Ties: wherever a stage has to choose between tokens with *equal* logits
(top-k at its k-th place, greedy, the sort inside top-p and typical-p), the
lower token id wins. So top-k keeps exactly ``min(k, surviving tokens)``
tokens, even when several tokens tie for the k-th place.
"""

from __future__ import annotations

import math

import torch

NEG_INF = float("-inf")


def temperature(logits: torch.Tensor, t: float) -> torch.Tensor:
    """Divide logits by ``t`` (>0): below 1 sharpens, above 1 flattens.

    ``t == 0`` is the limit of sharpening: greedy (one-hot on the argmax).
    """
    if t < 0:
        raise ValueError(f"temperature must be >= 0, got {t}")
    if t == 0:
        return greedy(logits)
    return logits / t


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """Keep only the most likely token (the lowest id among equal maxima)."""
    out = torch.full_like(logits, NEG_INF)
    best = logits.max(dim=-1, keepdim=True).indices  # the first maximum (documented)
    return out.scatter(-1, best, 0.0)


def _top_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the ``k`` highest finite scores, lower ids first among ties."""
    kth = torch.topk(scores, k, dim=-1).values[..., -1:]  # (..., 1)
    at_least = scores >= kth
    if scores.dim() == 1 and kth[0] > NEG_INF and int(at_least.sum()) == k:
        return at_least  # no tie straddles the k-th place: nothing to break
    above = scores > kth
    tied = scores == kth
    room = k - above.sum(dim=-1, keepdim=True)  # how many tied tokens fit
    keep = above | (tied & (tied.cumsum(dim=-1) <= room))
    return keep & (scores > NEG_INF)


def top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` highest logits (``k <= 0`` or ``k >= vocab``: keep all).

    Exactly ``k`` tokens survive (fewer only if fewer than ``k`` were still
    alive): among tokens tying for the k-th place, lower ids are kept first.
    """
    vocab = logits.shape[-1]
    if k <= 0 or k >= vocab:
        return logits.clone()
    return logits.masked_fill(~_top_k_mask(logits, k), NEG_INF)


def _prefix_length(ordered_probs: torch.Tensor, mass: float) -> int:
    """Length of the shortest prefix of ``ordered_probs`` (1-D) whose mass reaches ``mass``;
    ``len + 1`` if the whole tensor does not reach it."""
    before = ordered_probs.cumsum(dim=-1) - ordered_probs  # mass strictly before each position
    m = int((before < mass).sum())  # ``before`` never decreases: a count is a prefix length
    if m == len(ordered_probs) and float(ordered_probs.sum()) < mass:
        return m + 1
    return max(m, 1)


_FAST_PREFIX = 128
"""top-p and typical-p first look at this many best tokens (a partial sort),
and sort everything only when those do not reach the mass."""


def top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus sampling (Holtzman et al. 2020): keep the smallest set of most
    likely tokens whose probability mass reaches ``p`` (0 < p <= 1).

    1-D logits only. Equivalent to a stable descending sort (ties: lower id
    first), but uses ``topk`` on the best tokens first.
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top-p must be in (0, 1], got {p}")
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    vocab = probs.shape[-1]
    m = vocab + 1
    if vocab > _FAST_PREFIX:
        best, order = torch.topk(probs, _FAST_PREFIX)
        m = _prefix_length(best, p)
        if m < _FAST_PREFIX and best[m - 1] > best[m]:  # the m best, no tie at the edge
            keep = torch.zeros(vocab, dtype=torch.bool).index_fill_(0, order[:m], True)
            return logits.masked_fill(~keep, NEG_INF)
    if m > _FAST_PREFIX or vocab <= _FAST_PREFIX:
        m = min(_prefix_length(torch.sort(probs, descending=True).values, p), vocab)
    # The nucleus is the m most likely tokens; ties at the edge go to lower ids.
    return logits.masked_fill(~_top_k_mask(probs, m), NEG_INF)


def min_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep tokens whose probability is at least ``p`` times the top token's
    (Nguyen et al. 2024, "min-p sampling"); ``p == 0`` keeps all."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"min-p must be in [0, 1], got {p}")
    if p <= 0.0:
        return logits.clone()
    # prob_i >= p * prob_max  <=>  logit_i >= logit_max + log(p)
    threshold = logits.max(dim=-1, keepdim=True).values + math.log(p)
    return logits.masked_fill(logits < threshold, NEG_INF)


def typical_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Locally typical sampling (Meister et al. 2023): rank tokens by how close
    their information ``-log p_i`` is to the distribution's entropy, and keep
    the shortest such prefix whose mass reaches ``p`` (0 < p <= 1).

    1-D logits only. Ties in closeness go to lower ids (as in top-k).
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"typical-p must be in (0, 1], got {p}")
    if p >= 1.0:
        return logits.clone()
    logp = torch.log_softmax(logits, dim=-1)
    probs = logp.exp()
    entropy = -(probs * logp.nan_to_num(neginf=0.0)).sum(dim=-1, keepdim=True)
    closeness = -(-logp - entropy).abs()  # higher = more typical; removed tokens: -inf
    vocab = probs.shape[-1]
    m = vocab + 1
    if vocab > _FAST_PREFIX:
        order = torch.topk(closeness, _FAST_PREFIX).indices
        m = _prefix_length(probs[order], p)
    if m > _FAST_PREFIX or vocab <= _FAST_PREFIX:
        order = torch.sort(closeness, descending=True, stable=True).indices
        m = min(_prefix_length(probs[order], p), vocab)
    return logits.masked_fill(~_top_k_mask(closeness, m), NEG_INF)


def penalties(logits: torch.Tensor, counts: torch.Tensor, repetition: float = 1.0,
              presence: float = 0.0, frequency: float = 0.0) -> torch.Tensor:
    """Discourage tokens already in the context; ``counts`` (vocab,) holds how
    often each token occurred.

    - repetition (CTRL, Keskar et al. 2019; > 1 discourages): a seen token's
      positive logit is divided by it, a negative one multiplied.
    - presence (OpenAI): subtracted once from every seen token's logit.
    - frequency (OpenAI): subtracted ``count`` times.
    Tokens never seen are unchanged.
    """
    if repetition <= 0:
        raise ValueError(f"repetition penalty must be > 0, got {repetition}")
    seen = counts > 0
    out = logits
    if repetition != 1.0:
        scaled = torch.where(logits > 0, logits / repetition, logits * repetition)
        out = torch.where(seen, scaled, logits)
    if presence != 0.0 or frequency != 0.0:
        out = out - (presence * seen.to(logits.dtype) + frequency * counts.to(logits.dtype))
    return out.clone() if out is logits else out
