"""Training the encoder-decoder on dates -> ISO: a generator of metric events.

`train(settings)` draws fresh training pairs from `genai_tui.service.dates`
(training templates, training dates), trains `Seq2Seq` with AdamW (linear
warm-up, cosine decay) by teacher forcing, and yields `StepEvent`s, periodic
`EvalEvent`s (greedy exact-match accuracy on held-out dates in the training
templates, and on the held-out templates) and a final `DoneEvent`. The model
folder holds ``model.safetensors``, ``config.json`` and ``card.json`` (task,
data, steps, curve, the accuracies on the full held-out sets, the command).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from genai_tui.errors import UserError
from genai_tui.service.runtime import set_torch_threads

CARD_FILE = "card.json"


@dataclass
class TrainSettings:
    """What `train` does. Model shape fields mirror `Seq2SeqConfig`."""

    out: str = "seq2seq-model"
    """Model folder to write (the CLI decides whether it may be the bundled one)."""
    steps: int = 3000
    seed: int = 1337
    batch_size: int = 128
    d_model: int = 128
    n_head: int = 4
    n_enc_layer: int = 2
    n_dec_layer: int = 2
    d_ff: int = 512
    lr: float = 2e-3
    """Peak learning rate (after warm-up)."""
    warmup: int = 100
    eval_every: int = 250
    eval_size: int = 200
    """Pairs per held-out set in the periodic evaluations (the final one uses `final_eval_size`)."""
    final_eval_size: int = 1000
    threads: int | None = None
    time_limit: float | None = None
    """Seconds after which to stop early and save."""
    command: str = ""


@dataclass(frozen=True)
class StepEvent:
    step: int
    steps: int
    loss: float
    lr: float
    elapsed: float


@dataclass(frozen=True)
class EvalEvent:
    step: int
    seen_accuracy: float
    """Exact match on held-out dates written in training templates."""
    unseen_accuracy: float
    """Exact match on dates written in templates never seen in training."""


@dataclass(frozen=True)
class DoneEvent:
    step: int
    seen_accuracy: float
    unseen_accuracy: float
    elapsed: float
    out: str


TrainEvent = StepEvent | EvalEvent | DoneEvent


def validate(s: TrainSettings) -> None:
    for name in ("steps", "batch_size", "d_model", "n_head", "n_enc_layer", "n_dec_layer", "d_ff",
                 "eval_every", "eval_size", "final_eval_size"):
        value = getattr(s, name)
        if not isinstance(value, int) or value < 1:
            raise UserError(f"{name.replace('_', '-')} must be a whole number >= 1, got {value!r}")
    if s.d_model % s.n_head:
        raise UserError(f"width {s.d_model} is not divisible by heads {s.n_head}")
    if not (0 < s.lr < 1):
        raise UserError(f"lr must be in (0, 1), got {s.lr:g}")
    if s.warmup < 0:
        raise UserError(f"warmup must be >= 0, got {s.warmup}")


def lr_at(step: int, s: TrainSettings) -> float:
    """`train_lm.warmup_cosine` from ``lr`` to a tenth of it over ``s.steps``."""
    from genai_tui.service.train_lm import warmup_cosine

    return warmup_cosine(step, s.steps, s.lr, s.warmup, s.lr / 10)


def accuracy(model, examples) -> float:  # noqa: ANN001 - a Seq2Seq and a list of dates.Example
    """Greedy exact-match accuracy on ``examples`` (batched)."""
    import torch

    from genai_tui.models.seq2seq import CharVocab, greedy_decode, pad_batch
    from genai_tui.service.dates import exact_match

    model.eval()
    right = 0
    with torch.inference_mode():
        for i in range(0, len(examples), 256):
            chunk = examples[i:i + 256]
            src = pad_batch([CharVocab.encode(e.source) for e in chunk])
            for ex, ids in zip(chunk, greedy_decode(model, src), strict=False):
                right += exact_match(CharVocab.decode(ids), ex.target)
    return right / max(1, len(examples))


def train(settings: TrainSettings) -> Iterator[TrainEvent]:
    """Validate, then train; see the module docstring."""
    validate(settings)
    return _train(settings)


def _train(s: TrainSettings) -> Iterator[TrainEvent]:
    import torch

    from genai_tui.models.seq2seq import (
        BOS,
        EOS,
        CharVocab,
        Seq2Seq,
        Seq2SeqConfig,
        pad_batch,
        save_model,
    )
    from genai_tui.service import dates

    set_torch_threads(s.threads or None)
    torch.manual_seed(s.seed)
    config = Seq2SeqConfig(d_model=s.d_model, n_head=s.n_head, n_enc_layer=s.n_enc_layer,
                           n_dec_layer=s.n_dec_layer, d_ff=s.d_ff)
    model = Seq2Seq(config)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=s.lr,
                            betas=(0.9, 0.98))
    stream = dates.training_examples(s.seed)
    seen_eval = dates.seen_test_set(s.eval_size)
    unseen_eval = dates.unseen_test_set(s.eval_size)
    curve: list[dict] = []
    started = time.perf_counter()
    step = 0
    loss_ema = None
    for step in range(1, s.steps + 1):
        batch = [next(stream) for _ in range(s.batch_size)]
        src = pad_batch([CharVocab.encode(e.source) for e in batch])
        tgt = [CharVocab.encode(e.target) for e in batch]
        tgt_in = pad_batch([[BOS] + t for t in tgt])
        tgt_out = pad_batch([t + [EOS] for t in tgt])
        lr = lr_at(step - 1, s)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        loss = model.loss(src, tgt_in, tgt_out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        value = float(loss.detach())
        loss_ema = value if loss_ema is None else 0.9 * loss_ema + 0.1 * value
        elapsed = time.perf_counter() - started
        yield StepEvent(step, s.steps, value, lr, elapsed)
        out_of_time = s.time_limit is not None and elapsed > s.time_limit
        if step % s.eval_every == 0 or step == s.steps or out_of_time:
            seen, unseen = accuracy(model, seen_eval), accuracy(model, unseen_eval)
            curve.append({"step": step, "loss": round(loss_ema, 5),
                          "exact_match_seen_templates": seen,
                          "exact_match_unseen_templates": unseen})
            yield EvalEvent(step, seen, unseen)
        if out_of_time:
            break
    train_seconds = time.perf_counter() - started
    seen_set = dates.seen_test_set(s.final_eval_size)
    unseen_set = dates.unseen_test_set(s.final_eval_size)
    seen, unseen = accuracy(model, seen_set), accuracy(model, unseen_set)
    out = Path(s.out)
    save_model(model, out)
    card = {
        "name": "dates-to-iso",
        "task": "Rewrite a date written in English in one of many forms as ISO 8601 "
                "(\"the 3rd of March, 2021\" -> \"2021-03-03\"), character by character.",
        "architecture": "encoder-decoder transformer: pre-LN, sinusoidal positions, one "
                        "character vocabulary and embedding shared by encoder, decoder and "
                        "output projection",
        "params": model.num_params(),
        "config": asdict(config),
        "data": {
            "generator": "genai_tui.service.dates (generated on the fly; nothing downloaded)",
            "dates": f"{dates.FIRST.isoformat()} .. {dates.LAST.isoformat()}; one date in ten "
                     "(is_held_out_date) never used in training",
            "train_templates": list(dates.TRAIN_TEMPLATES),
            "held_out_templates": list(dates.HELD_OUT_TEMPLATES),
            "train_pairs_seen": step * s.batch_size,
        },
        "steps": step,
        "batch_size": s.batch_size,
        "lr": s.lr,
        "seed": s.seed,
        "train_seconds": round(train_seconds, 1),
        "curve": curve,
        "metrics": {
            "judge": "exact match of the greedy output with the ISO date",
            "exact_match_seen_templates": seen,
            "exact_match_unseen_templates": unseen,
            "n_seen": len(seen_set),
            "n_unseen": len(unseen_set),
            "seen_set": "dates.seen_test_set(n): held-out dates in the training templates",
            "unseen_set": "dates.unseen_test_set(n): any dates in the held-out templates",
        },
        "command": s.command,
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    yield DoneEvent(step, seen, unseen, train_seconds, str(out))
