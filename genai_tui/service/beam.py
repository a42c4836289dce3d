"""Beam search for the language model (the GPT): what the Generate pane's beam
mode and `genai-tui generate --beam N` call.

The search itself is `genai_tui.sampling.beam` (Hugging Face semantics); this
module feeds it the GPT through one key/value cache holding every live beam
(batch = beams), reordered by the parents each step, and turns the ids into
text. torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import BEAM_KNOB_BY_FIELD, KNOB_BY_FIELD, parse_choice

_EARLY = BEAM_KNOB_BY_FIELD["early_stopping"]
EARLY_STOPPING_CHOICES = tuple(name for _, name in _EARLY.choices)


@dataclass(frozen=True)
class BeamSettings:
    """Beam-search knobs (the meanings of ``transformers``' ``generate`` arguments).
    Defaults come from the knob registry (`genai_tui.sampling.knobs.BEAM_KNOBS`)."""

    num_beams: int = BEAM_KNOB_BY_FIELD["num_beams"].default  # type: ignore[assignment]
    """Live beams kept per step (1 = greedy)."""
    length_penalty: float = BEAM_KNOB_BY_FIELD["length_penalty"].default  # type: ignore[assignment]
    """A finished hypothesis scores ``log-prob / length ** length_penalty``; > 0 favours
    longer ones, < 0 shorter ones, 0 compares raw log-probs."""
    early_stopping: bool | str = _EARLY.default  # type: ignore[assignment]
    """True, False or "never" (see `genai_tui.sampling.beam`)."""
    max_tokens: int = KNOB_BY_FIELD["max_tokens"].default  # type: ignore[assignment]
    """New tokens at most (the sampling knobs' max-tokens: one length for both modes)."""
    end_at_paragraph: bool = BEAM_KNOB_BY_FIELD["end_at_paragraph"].default  # type: ignore[assignment]
    """A hypothesis ends at a token holding a blank line (the corpus's document
    separator); off: every hypothesis runs ``max_tokens`` tokens."""


def parse_early_stopping(text: str | bool) -> bool | str:
    """``"true"``/``"false"``/``"never"`` -> True/False/"never"; UserError otherwise."""
    return parse_choice(_EARLY, text)


def validate(settings: BeamSettings) -> None:
    """`UserError` naming the first out-of-range beam knob (or max-tokens); torch-free,
    so the pane checks a typed value on its UI thread."""
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


@dataclass(frozen=True)
class BeamText:
    """One beam (live, pruned or finished) with its text: what the pane and CLI show."""

    text: str
    """The generated continuation, decoded (the prompt excluded)."""
    token: str
    """The last token's text (a token that is part of a character shows its bytes as
    ``⟨xx⟩``); what this step added."""
    ids: tuple[int, ...]
    logprob: float
    """Cumulative log-probability of ``ids`` given the prompt."""
    score: float | None = None
    """Finished hypotheses: ``logprob / len(ids) ** length_penalty``."""
    parent: int = -1
    """Rank (0 = best) of the live beam of the previous step this one extends."""


@dataclass(frozen=True)
class BeamUpdate:
    """One step of beam search in text: `sampling.beam.BeamStep` with every beam decoded."""

    index: int
    """Step number (0 = first generated token)."""
    live: list[BeamText]
    """The beams kept alive, best first."""
    finished: list[BeamText]
    """Hypotheses that ended at this step and entered the kept set."""
    pruned: list[BeamText]
    """Candidates scored this step and dropped (below the ``num_beams`` best, or ended
    but not good enough for the kept set)."""
    kept: list[BeamText]
    """Every finished hypothesis kept so far, best score first."""
    done: bool = False
    stop_reason: str = ""
    """On the last step: "early-stopping", "no-improvement" or "length"."""
    ranking: list[BeamText] = field(default_factory=list)
    """On the last step: the final hypotheses, best score first (``ranking[0]`` wins)."""


def beam_updates(prompt: str, settings: BeamSettings, lm: Any = None) -> Iterator[BeamUpdate]:
    """`beam_generate` with every beam decoded: what `genai-tui generate --beam` prints
    and the Generate pane's beam mode shows. Validated before this returns."""
    from genai_tui.service import generate as gen

    lm = lm if lm is not None else gen.load_model()
    steps = beam_generate(prompt, settings, lm)
    return _decoded(steps, lm)


def _decoded(steps: Iterator[Any], lm: Any) -> Iterator[BeamUpdate]:
    from genai_tui.textsafe import bytes_text

    def one(b: Any) -> BeamText:
        token = bytes_text(lm.token_bytes(b.tokens[-1])) if b.tokens else ""
        return BeamText(lm.decode(list(b.tokens)), token, tuple(b.tokens), b.logprob, b.score,
                        b.parent)

    for step in steps:
        yield BeamUpdate(step.index, [one(b) for b in step.live],
                         [one(b) for b in step.finished], [one(b) for b in step.pruned],
                         [one(b) for b in step.kept], step.done, step.stop_reason,
                         [one(b) for b in step.ranking])


def update_json(update: BeamUpdate) -> dict:
    """A `BeamUpdate` as JSON (what ``generate --beam --json`` prints per step)."""

    def one(b: BeamText) -> dict:
        out: dict[str, Any] = {"text": b.text, "token": b.token, "ids": list(b.ids),
                               "logprob": round(b.logprob, 5), "parent": b.parent}
        if b.score is not None:
            out["score"] = round(b.score, 5)
        return out

    data: dict[str, Any] = {"step": update.index, "live": [one(b) for b in update.live],
                            "finished": [one(b) for b in update.finished],
                            "pruned": [one(b) for b in update.pruned],
                            "kept": [one(b) for b in update.kept]}
    if update.done:
        data["done"] = True
        data["stop_reason"] = update.stop_reason
        data["ranking"] = [one(b) for b in update.ranking]
    return data


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
