"""Speculative decoding with a prompt-lookup draft: several tokens per forward
pass, the same tokens out.

At one token per step a small model on a CPU is bound by reading every weight
matrix once per token (8.5 MB of float16 for the bundled model with the native
kernel, ~0.32 ms on one core here); a pass over a few positions reads them
once too and costs little more than one position. So `SpeculativeDecoder`
guesses the next few tokens cheaply, feeds the chosen token *and* the
guesses through the model in one pass
(`GPT.decode` over T rows, causal inside the new rows), and hands the caller
the logits one position at a time. While the caller's choice equals the
guess, the next logits are already computed; at the first difference the
rejected guesses are dropped from the cache (`IncrementalDecoder.rollback`)
and the next pass starts from the token really chosen.

The caller still chooses every token from exactly the logits plain decoding
would give it (up to the float rounding of a several-row product; tested), so
greedy output is unchanged and sampled output is unchanged for the same seed:
a guess is accepted only when the caller's own draw (one uniform number per
token, as without speculation) lands on it. This is the "verify by sampling"
form of Leviathan et al. 2023 ("Fast Inference from Transformers via
Speculative Decoding") with a deterministic draft, whose acceptance rate
p(guess) equals the optimum for a one-point draft distribution.

The drafter is `PromptLookup` (Saxena 2023, "prompt lookup decoding"; the
n-gram drafter of llama.cpp's ``lookup`` example): find the most recent
earlier occurrence of the last n tokens (n = 3, 2, 1) and guess what followed
it. It costs a dictionary lookup per token and no model.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from genai_tui.models.gpt import GPT, IncrementalDecoder


class PromptLookup:
    """Guesses continuations by looking the text's last n-gram up in the text itself."""

    def __init__(self, max_ngram: int = 3) -> None:
        if max_ngram < 1:
            raise ValueError("max_ngram must be at least 1")
        self.max_ngram = max_ngram
        self.history: list[int] = []
        """Every token so far (prompt and chosen tokens), not limited to the context window."""
        self._after: dict[tuple[int, ...], int] = {}
        """n-gram -> position right after its latest occurrence whose continuation is known."""

    def reset(self, tokens: Iterable[int] = ()) -> None:
        self.history = []
        self._after = {}
        self.extend(tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        history, after = self.history, self._after
        for token in tokens:
            p = len(history)
            history.append(token)
            # the n-grams ending just before p now have a known continuation: p
            for n in range(1, min(self.max_ngram, p) + 1):
                after[tuple(history[p - n:p])] = p

    def draft(self, k: int) -> list[int]:
        """Up to ``k`` guessed next tokens (empty when the last token was never seen before)."""
        history = self.history
        for n in range(min(self.max_ngram, len(history)), 0, -1):
            p = self._after.get(tuple(history[-n:]))
            if p is not None:
                return history[p:p + k]
        return []


@dataclass
class SpeculationStats:
    drafted: int = 0
    """Guessed tokens fed through the model."""
    accepted: int = 0
    """Guesses the caller then chose (their logits were ready, no pass needed)."""

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0


class SpeculativeDecoder:
    """`IncrementalDecoder`'s ``prefill``/``step`` with drafted tokens verified in one pass.

    ``step(token)`` returns the logits after ``token``, as `IncrementalDecoder`
    would; when ``token`` is the guess made at the previous pass they are
    already computed.

    Guesses are not free: on one core here a pass over 2, 3 or 5 positions
    costs 1.00x, 1.08x and 1.24x a pass over one with the float16 kernel
    (1.14x, 1.19x and 1.25x on PyTorch's float32 ``addmm``). So the decoder
    drafts ``max_draft`` tokens while guesses are being accepted, one token when the
    acceptance rate (a moving average over passes) drops below
    ``FULL_DRAFT_AT``, and stops drafting below ``DRAFT_AT``, probing with one
    guess every ``PROBE_EVERY`` tokens so that it notices when the text turns
    repetitive again. Sampling at a high temperature thus costs (almost)
    nothing extra, and greedy text gains ~1.25x in the model loop.
    """

    FULL_DRAFT_AT = 0.3
    DRAFT_AT = 0.15
    PROBE_EVERY = 8

    def __init__(self, model: GPT, drafter: PromptLookup | None = None,
                 max_draft: int = 4) -> None:
        if max_draft < 0:
            raise ValueError("max_draft must be >= 0")
        self.decoder = IncrementalDecoder(model)
        self.drafter = drafter if drafter is not None else PromptLookup()
        self.max_draft = max_draft
        self.stats = SpeculationStats()
        self._pending: deque[tuple[int, torch.Tensor]] = deque()
        """Guessed tokens already in the cache, each with the logits after it."""
        self.last_from_guess = False
        """Whether the last `step` returned logits computed ahead (its token was a right guess)."""
        self._rate = 0.5
        """Moving average of the share of a pass's guesses that were accepted."""
        self._pass_accepted = 0
        self._since_draft = 0

    def prefill(self, ids: list[int]) -> torch.Tensor:
        self._pending.clear()
        self.last_from_guess = False
        self.drafter.reset(ids)
        return self.decoder.prefill(ids)

    def step(self, token: int) -> torch.Tensor:
        """Append the chosen ``token``; return the next-token logits (vocab,)."""
        self.drafter.extend((token,))
        self.last_from_guess = False
        pending = self._pending
        if pending:
            guess, logits = pending.popleft()
            if guess == token:
                self.last_from_guess = True
                self.stats.accepted += 1
                self._pass_accepted += 1
                if not pending:
                    self._score(0)
                return logits
            self._score(1 + len(pending))
            self.decoder.rollback(1 + len(pending))  # the wrong guess and the ones after it
            pending.clear()
        room = self.decoder.room()
        k = min(self._draft_length(), room - 1)
        draft = self.drafter.draft(k) if k > 0 else []
        if not draft:
            return self.decoder.step(token)
        self._since_draft = 0
        rows = self.decoder.step_many([token, *draft])  # (1 + len(draft), vocab)
        self.stats.drafted += len(draft)
        pending.extend(zip(draft, rows[1:], strict=True))
        return rows[0]

    def _score(self, rejected: int) -> None:
        """A pass's guesses are settled: fold its acceptance share into the average."""
        accepted, self._pass_accepted = self._pass_accepted, 0
        self._rate = 0.7 * self._rate + 0.3 * accepted / (accepted + rejected)

    def _draft_length(self) -> int:
        if self._rate >= self.FULL_DRAFT_AT:
            return self.max_draft
        if self._rate >= self.DRAFT_AT:
            return min(1, self.max_draft)
        self._since_draft += 1
        return min(1, self.max_draft) if self._since_draft >= self.PROBE_EVERY else 0
