"""`genai-tui generate --beam N`: beam search with the language model.

Prints every step's live beams (cumulative log-probabilities), what was
pruned and what finished, then the final ranking; ``--json`` gives one object
per step (`service.beam.update_json`) and a summary. The steps are the
`BeamUpdate`s the Generate pane's beam mode shows, from the same
`LocalGenerator.beam_search`. Called from `generate_cmds.generate_cmd`;
torch loads inside.
"""

from __future__ import annotations

import time
from pathlib import Path

from genai_tui.cli.output import emit_json, say
from genai_tui.service.runtime import set_torch_threads
from genai_tui.textsafe import visible

PRUNED_SHOWN = 6
"""Pruned candidates printed per step (with the end tokens of a paragraph there are
``(1 + ends) * width`` candidates a step, as in Hugging Face's search)."""


def _beam(b, tail: int = 24) -> str:  # noqa: ANN001 - a service.beam.BeamText
    shown = visible(b.text)
    if len(shown) > tail:
        shown = "…" + shown[-(tail - 1):]
    return f"[{b.logprob:.2f}] {shown}"


def run_beam(prompt: str, values: dict[str, object], max_tokens: int,
             model_path: Path | None, as_json: bool, threads: int) -> None:
    from genai_tui.service import beam as bs

    settings = bs.BeamSettings(
        num_beams=values["num_beams"],  # type: ignore[arg-type]
        length_penalty=values["length_penalty"],  # type: ignore[arg-type]
        early_stopping=bs.parse_early_stopping(values["early_stopping"]),  # type: ignore[arg-type]
        end_at_paragraph=bool(values["end_at_paragraph"]), max_tokens=max_tokens)
    bs.validate(settings)  # before torch loads

    from genai_tui.service.backend import load_local

    set_torch_threads(threads)
    generator = load_local(str(model_path) if model_path else None)
    t0 = time.perf_counter()
    last = None
    for step in generator.beam_search(prompt, settings):
        last = step
        if as_json:
            emit_json(bs.update_json(step))
            continue
        say(f"step {step.index}: " + "  ".join(_beam(b) for b in step.live), err=True)
        if step.pruned:  # the best few (--json lists them all)
            more = len(step.pruned) - PRUNED_SHOWN
            say(f"  pruned {len(step.pruned)}: " + "  ".join(
                f"[{b.logprob:.2f}] {visible(b.token)}←{b.parent + 1}"
                for b in step.pruned[:PRUNED_SHOWN]) + (f"  (+{more} more)" if more > 0 else ""),
                err=True)
        for b in step.finished:
            say(f"  finished: score {b.score:.3f} {_beam(b)}", err=True)
    elapsed = time.perf_counter() - t0
    assert last is not None
    best = last.ranking[0]
    if as_json:
        emit_json({"done": True, "text": best.text, "tokens": len(best.ids),
                   "stop_reason": last.stop_reason, "steps": last.index + 1,
                   "num_beams": settings.num_beams, "length_penalty": settings.length_penalty,
                   "early_stopping": settings.early_stopping,
                   "end_at_paragraph": settings.end_at_paragraph, "elapsed": elapsed,
                   "tokens_per_s": len(best.ids) / elapsed if elapsed > 0 else 0.0,
                   "model": generator.name,
                   "ranking": [{"text": b.text, "ids": list(b.ids), "logprob": b.logprob,
                                "score": b.score} for b in last.ranking]})
        return
    say(f"stopped: {last.stop_reason} after {last.index + 1} steps", err=True)
    say("final ranking (score = log-prob / length ** length-penalty):", err=True)
    for i, b in enumerate(last.ranking):
        say(f"  {i + 1}. score {b.score:8.3f}  log-prob {b.logprob:8.3f}  "
            f"{len(b.ids)} tokens  {_beam(b, 40)}", err=True)
    say(prompt + best.text)
