"""Beam search for the language model (the GPT): what the Generate pane's beam
mode and `genai-tui generate --beam N` call.

The search itself is `genai_tui.sampling.beam` (Hugging Face semantics); this
module feeds it the GPT through one key/value cache holding every live beam
(batch = beams), reordered by the parents each step, and turns the ids into
text. torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from genai_tui.errors import UserError

EARLY_STOPPING_CHOICES = ("true", "false", "never")


@dataclass(frozen=True)
class BeamSettings:
    """Beam-search knobs (the meanings of ``transformers``' ``generate`` arguments)."""

    num_beams: int = 4
    """Live beams kept per step (1 = greedy)."""
    length_penalty: float = 1.0
    """A finished hypothesis scores ``log-prob / length ** length_penalty``; > 0 favours
    longer ones, < 0 shorter ones, 0 compares raw log-probs."""
    early_stopping: bool | str = False
    """True, False or "never" (see `genai_tui.sampling.beam`)."""
    max_tokens: int = 32
    """New tokens at most."""
    end_at_paragraph: bool = True
    """A hypothesis ends at a token holding a blank line (the corpus's document
    separator); off: every hypothesis runs ``max_tokens`` tokens."""


def parse_early_stopping(text: str | bool) -> bool | str:
    """``"true"``/``"false"``/``"never"`` -> True/False/"never"; UserError otherwise."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value not in EARLY_STOPPING_CHOICES:
        raise UserError(f"early stopping must be one of {', '.join(EARLY_STOPPING_CHOICES)}, "
                        f"got {text!r}")
    return {"true": True, "false": False, "never": "never"}[value]


def validate(settings: BeamSettings) -> None:
    from genai_tui.sampling.beam import validate as check

    try:
        check(settings.num_beams, settings.length_penalty, settings.early_stopping,
              settings.max_tokens)
    except ValueError as e:
        raise UserError(str(e)) from None


def end_tokens(lm: Any) -> tuple[int, ...]:
    """Token ids holding a blank line ("\\n\\n"): where a paragraph (a document) ends."""
    return tuple(i for i in range(lm.vocab_size) if b"\n\n" in lm.token_bytes(i))


class CachedBeams:
    """The GPT's key/value cache with one row per live beam; `advance` is what
    `sampling.beam.beam_search` calls."""

    def __init__(self, model: Any, prompt_ids: list[int]) -> None:
        import torch

        self.model = model
        self.cache = model.new_cache(batch=1)
        with torch.inference_mode():
            logits = model(torch.tensor([prompt_ids], dtype=torch.long), self.cache,
                           last_only=True)[0, -1]  # (V,)
        self.first = torch.log_softmax(logits.float(), dim=-1)

    def advance(self, parents: list[int], tokens: list[int]) -> Any:
        import torch

        cache = self.cache
        if parents != list(range(cache.k.shape[1])):
            index = torch.tensor(parents, dtype=torch.long)
            if len(parents) == cache.k.shape[1]:
                # Same width: reorder only the filled positions, not all Tmax of them.
                p = cache.pos
                cache.k[:, :, :, :p] = cache.k[:, index, :, :p]  # (L, n, nh, Tmax, hs)
                cache.v[:, :, :, :p] = cache.v[:, index, :, :p]
            else:  # the first step: one row becomes num_beams rows
                cache.k = cache.k.index_select(1, index)
                cache.v = cache.v.index_select(1, index)
        with torch.inference_mode():
            logits = self.model(torch.tensor(tokens, dtype=torch.long)[:, None], cache,
                                last_only=True)[:, -1]  # (n, V)
        return torch.log_softmax(logits.float(), dim=-1)


def beam_generate(prompt: str, settings: BeamSettings, lm: Any = None) -> Iterator[Any]:
    """Beam search continuing ``prompt``; yields `sampling.beam.BeamStep`s (the last
    has ``done`` and the final ``ranking``). Validated before this returns."""
    from genai_tui.service import generate as gen

    validate(settings)
    lm = lm if lm is not None else gen.load_model()
    ids = gen.prompt_ids(prompt, lm)
    if len(ids) + settings.max_tokens > lm.block_size:
        raise UserError(f"beam search needs prompt + max-tokens within the model's context: "
                        f"{len(ids)} + {settings.max_tokens} > {lm.block_size} tokens")
    return _search(lm, ids, settings)


def _search(lm: Any, ids: list[int], settings: BeamSettings) -> Iterator[Any]:
    from genai_tui.sampling.beam import beam_search

    beams = CachedBeams(lm.model, ids)
    yield from beam_search(
        beams.first, beams.advance, num_beams=settings.num_beams,
        max_new_tokens=settings.max_tokens,
        eos_ids=end_tokens(lm) if settings.end_at_paragraph else (),
        length_penalty=settings.length_penalty, early_stopping=settings.early_stopping)


def beam_json(step: Any, text_of: Any) -> dict:
    """A `BeamStep` as JSON: beams with their text (``text_of(tokens) -> str``)."""

    def one(b: Any) -> dict:
        out = {"text": text_of(list(b.tokens)), "ids": list(b.tokens),
               "logprob": round(b.logprob, 5)}
        if b.score is not None:
            out["score"] = round(b.score, 5)
        return out

    data = {"step": step.index, "live": [one(b) for b in step.live],
            "finished": [one(b) for b in step.finished], "pruned": [one(b) for b in step.pruned]}
    if step.done:
        data["done"] = True
        data["stop_reason"] = step.stop_reason
        data["ranking"] = [one(b) for b in step.ranking]
    return data
