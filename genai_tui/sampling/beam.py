"""Beam search, step by step, with Hugging Face's semantics.

Keeps ``num_beams`` partial sequences ("live beams") ranked by cumulative
log-probability. Each step scores every one-token extension of every live
beam, takes the best ``max(2, 1 + len(eos_ids)) * num_beams`` candidates (so
that ``num_beams`` stay alive even if the best ones all end), and:

- a candidate ending in one of ``eos_ids`` (or reaching ``max_new_tokens``) among the
  top ``num_beams`` becomes a *finished hypothesis*, scored
  ``sum_logprobs / length ** length_penalty`` (length = generated tokens, the
  end token included); the best ``num_beams`` finished hypotheses are kept;
- the best ``num_beams`` candidates that did not end are the next live beams;
  the rest are *pruned*.

Stopping (``early_stopping``), as in ``transformers`` ``generate``:
``True`` stops as soon as ``num_beams`` hypotheses are finished; ``False``
stops when the best live beam, scored at its current length, cannot beat the
worst kept hypothesis (a heuristic); ``"never"`` makes that test exact for a
positive length penalty by scoring the live beam at ``max_new_tokens``.

The search is model-agnostic: it calls ``advance(parents, tokens)``, which
must extend the live sequences (``parents[i]`` = index of the previous live
beam that new beam ``i`` continues; ``tokens[i]`` its new token) and return
next-token log-probabilities, (n_beams, vocab). `beam_search` yields one
`BeamStep` per step; the last one has ``done`` set and ``ranking`` filled.
A test checks the result against ``transformers``' ``generate(num_beams=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genai_tui.sampling.knobs import BEAM_KNOB_BY_FIELD

if TYPE_CHECKING:
    import torch

EARLY_STOPPING = tuple(value for value, _ in BEAM_KNOB_BY_FIELD["early_stopping"].choices)


@dataclass(frozen=True)
class Beam:
    """One partial or finished sequence."""

    tokens: tuple[int, ...]
    """Generated token ids (the prompt excluded; a finished one ends with eos if it ended so)."""
    logprob: float
    """Cumulative log-probability of ``tokens``."""
    score: float | None = None
    """Finished hypotheses: ``logprob / len(tokens) ** length_penalty``."""
    parent: int = -1
    """Index of the live beam this one extended at the last step (-1 for the start)."""


@dataclass(frozen=True)
class BeamStep:
    """What one step of beam search did."""

    index: int
    """Step number (0 = first generated token)."""
    live: list[Beam]
    """The beams kept alive, best first."""
    finished: list[Beam]
    """Hypotheses that ended at this step and entered the kept set."""
    pruned: list[Beam]
    """Candidates among the best scored this step that were dropped (did not fit,
    or ended but could not enter the kept set)."""
    kept: list[Beam]
    """All finished hypotheses kept so far, best score first."""
    done: bool = False
    stop_reason: str = ""
    """On the last step: "early-stopping" (``True``: the kept set is full), "no-improvement"
    (no live beam can beat the kept set) or "length" (``max_new_tokens``)."""
    ranking: list[Beam] = field(default_factory=list)
    """On the last step: the final hypotheses, best first (``ranking[0]`` is the answer)."""


Advance = Callable[[list[int], list[int]], Any]
"""(parents, tokens) -> next-token log-probabilities, a (n_beams, vocab) tensor."""


def validate(num_beams: int, length_penalty: float, early_stopping: bool | str,
             max_new_tokens: int) -> None:
    """Raise ValueError for out-of-range settings (services turn it into a UserError).
    The ranges are the knob registry's (`genai_tui.sampling.knobs.BEAM_KNOBS`)."""
    import math

    width, penalty = BEAM_KNOB_BY_FIELD["num_beams"], BEAM_KNOB_BY_FIELD["length_penalty"]
    if not isinstance(num_beams, int) or isinstance(num_beams, bool) \
            or not width.lo <= num_beams <= width.hi:
        raise ValueError(f"beam width must be a whole number in {width.range_text()}, "
                         f"got {num_beams!r}")
    if not isinstance(length_penalty, (int, float)) or isinstance(length_penalty, bool) \
            or not math.isfinite(length_penalty) or not penalty.lo <= length_penalty <= penalty.hi:
        raise ValueError(f"length penalty must be a number in {penalty.range_text()}, "
                         f"got {length_penalty!r}")
    flag_mismatch = ((early_stopping == 1 and early_stopping is not True)
                     or (early_stopping == 0 and early_stopping is not False))
    if early_stopping not in EARLY_STOPPING or flag_mismatch:
        raise ValueError(f"early stopping must be True, False or 'never', got {early_stopping!r}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max new tokens must be >= 1 for beam search, got {max_new_tokens!r}")


def beam_search(first_logprobs: torch.Tensor, advance: Advance, *, num_beams: int,
                max_new_tokens: int, eos_ids: Sequence[int] = (), length_penalty: float = 1.0,
                early_stopping: bool | str = False) -> Iterator[BeamStep]:
    """Run beam search; see the module docstring.

    Args:
        first_logprobs: next-token log-probabilities after the prompt, (vocab,).
        advance: extends the live beams and returns their next log-probs (n, vocab).
        eos_ids: tokens that end a sequence (none: every hypothesis runs to
            ``max_new_tokens``). With e end tokens, the best ``max(2, 1 + e) * num_beams``
            candidates are scored per step, as Hugging Face does.
    """
    import torch

    validate(num_beams, length_penalty, early_stopping, max_new_tokens)
    K = num_beams
    ends = frozenset(int(i) for i in eos_ids)
    n_candidates = max(2, 1 + len(ends)) * K
    logprobs = first_logprobs.float().view(1, -1)  # (1, V): one start beam
    vocab = logprobs.shape[-1]
    live = [Beam((), 0.0)]
    kept: list[Beam] = []
    can_improve = True
    for t in range(max_new_tokens):
        scores = torch.tensor([b.logprob for b in live], dtype=torch.float32)  # (n,)
        total = (logprobs + scores[:, None]).view(-1)  # (n * V,)
        top_vals, top_idx = torch.topk(total, min(n_candidates, total.numel()))  # best first
        gen_len = t + 1
        last = gen_len == max_new_tokens
        full = len(kept) == K
        candidates: list[tuple[Beam, bool]] = []  # (beam, ended)
        for val, idx in zip(top_vals.tolist(), top_idx.tolist(), strict=False):
            parent, token = divmod(idx, vocab)
            ended = last or token in ends
            candidates.append((Beam(live[parent].tokens + (token,), val, parent=parent), ended))
        # Finished: only ends among the top K candidates count (the rest are spares).
        new_finished: list[Beam] = []
        blocked = (full and early_stopping is True) or not can_improve
        for rank, (beam, ended) in enumerate(candidates):
            if ended and rank < K and not blocked:
                new_finished.append(Beam(beam.tokens, beam.logprob,
                                         beam.logprob / (gen_len ** length_penalty), beam.parent))
        pool = sorted(kept + new_finished, key=lambda b: -b.score)  # stable: older first on ties
        entered = [b for b in pool[:K] if any(b is n for n in new_finished)]
        rejected = [b for b in new_finished if not any(b is e for e in entered)]
        kept = pool[:K]
        running = [beam for beam, ended in candidates if not ended]
        next_live, pruned = running[:K], running[K:]
        pruned = pruned + rejected + [beam for rank, (beam, ended) in enumerate(candidates)
                                      if ended and (rank >= K or blocked)]
        # Can a live beam still beat the worst kept hypothesis?
        if len(kept) == K and next_live:
            length = max_new_tokens if (early_stopping == "never" and length_penalty > 0) \
                else gen_len
            best_possible = next_live[0].logprob / (length ** length_penalty)
            can_improve = can_improve and best_possible > min(b.score for b in kept)
        reason = ""
        if last or not next_live:
            reason = "length"
        elif not can_improve:
            reason = "no-improvement"
        elif len(kept) == K and early_stopping is True:
            reason = "early-stopping"
        if reason:
            yield BeamStep(t, next_live, entered, pruned, list(kept), True, reason, list(kept))
            return
        yield BeamStep(t, next_live, entered, pruned, list(kept))
        live = next_live
        logprobs = advance([b.parent for b in live], [b.tokens[-1] for b in live]).float()


def run(first_logprobs: torch.Tensor, advance: Advance, **kwargs) -> BeamStep:
    """Run to the end; return the last `BeamStep` (its ``ranking`` is the result)."""
    import collections

    last = collections.deque(beam_search(first_logprobs, advance, **kwargs), maxlen=1)
    assert last and last[0].done
    return last[0]
