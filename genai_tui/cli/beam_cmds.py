"""`genai-tui generate --beam N`: beam search with the language model.

Prints every step's live beams (cumulative log-probabilities), what was
pruned, and the final ranking; ``--json`` gives one object per step and a
summary. Called from `generate_cmds.generate_cmd`; torch loads inside.
"""

from __future__ import annotations

import time
from pathlib import Path

from genai_tui.cli.output import emit_json, say
from genai_tui.service.runtime import set_torch_threads


def run_beam(prompt: str, width: int, length_penalty: float, early_stopping: str,
             max_tokens: int, model_path: Path | None, as_json: bool, threads: int) -> None:
    from genai_tui.service import beam as bs
    from genai_tui.service import generate as gen

    settings = bs.BeamSettings(num_beams=width, length_penalty=length_penalty,
                               early_stopping=bs.parse_early_stopping(early_stopping),
                               max_tokens=max_tokens)
    bs.validate(settings)

    set_torch_threads(threads)
    lm = gen.load_model(model_path)
    t0 = time.perf_counter()
    last = None
    for step in bs.beam_generate(prompt, settings, lm):
        last = step
        if as_json:
            emit_json(bs.beam_json(step, lm.decode))
        else:
            say(f"step {step.index}: " + "  ".join(
                f"[{b.logprob:.2f}] {lm.decode(list(b.tokens[-3:]))!r}" for b in step.live)
                + (f"  (pruned {len(step.pruned)}, finished {len(step.finished)})"), err=True)
    elapsed = time.perf_counter() - t0
    assert last is not None
    best = last.ranking[0]
    if as_json:
        emit_json({"done": True, "text": lm.decode(list(best.tokens)), "tokens": len(best.tokens),
                   "stop_reason": last.stop_reason, "steps": last.index + 1,
                   "num_beams": width, "length_penalty": length_penalty,
                   "early_stopping": settings.early_stopping, "elapsed": elapsed,
                   "tokens_per_s": len(best.tokens) / elapsed if elapsed > 0 else 0.0,
                   "model": lm.name,
                   "ranking": [{"text": lm.decode(list(b.tokens)), "logprob": b.logprob,
                                "score": b.score} for b in last.ranking]})
        return
    say("final ranking (score = log-prob / length ** length-penalty):", err=True)
    for i, b in enumerate(last.ranking):
        say(f"  {i + 1}. score {b.score:8.3f}  log-prob {b.logprob:8.3f}  "
            f"{len(b.tokens)} tokens", err=True)
    say(prompt + lm.decode(list(best.tokens)))
