"""Fine-tuning the bundled language model on your own text, watching for overfitting.

`Finetune(settings).events()` copies the bundled model (`Trainee.bundled`),
holds out the tail of the text, and trains on the rest with a small constant
learning rate (after a short warm-up). Every ``eval_every`` steps it reports
``train_loss`` and ``val_loss`` on fixed windows of each side; when the
held-out loss has risen for ``patience`` evaluations in a row above its best
it says so once (a `Notice` with level "warn": the model has started to
memorise the training part rather than learn what generalises). The same
prompt and seed are sampled before and after (`Sample` "before"/"after").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from genai_tui.errors import UserError, require
from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice, Sample
from genai_tui.service.lifecycle.trainee import (
    Trainee,
    adamw,
    encode_split,
    mean_loss,
    optimizer_step,
    random_batch,
    windows,
)

STAGE = "finetune"
MIN_TEXT_CHARS = 200


@dataclass
class FinetuneSettings:
    text: str = ""
    """The text to fine-tune on (a file's contents or pasted text)."""
    source: str = "pasted text"
    """What the text is, for the card (e.g. the file's name)."""
    steps: int = 120
    lr: float = 3e-4
    warmup: int = 10
    batch_size: int = 8
    block_size: int = 128
    """Window length; shortened to fit a short text."""
    val_fraction: float = 0.15
    eval_every: int = 10
    eval_windows: int = 32
    patience: int = 2
    """Evaluations in a row with held-out loss above its best before saying "overfitting"."""
    prompt: str = ""
    """Prompt for the before/after samples; empty: the start of the held-out part."""
    sample_tokens: int = 48
    seed: int = 0
    model: str | None = None
    """A model folder to start from; None: the bundled model."""
    bf16: bool | None = None
    """bfloat16 autocast; None: where the CPU has it natively (`runtime.use_bf16`)."""

    def validate(self) -> None:
        checks = [
            (len(self.text.strip()) >= MIN_TEXT_CHARS,
             f"the text is too short to fine-tune on: {len(self.text.strip())} characters "
             f"(at least {MIN_TEXT_CHARS})"),
            (self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (8 <= self.block_size <= 4096, f"block size must be 8..4096, got {self.block_size}"),
            (0.05 <= self.val_fraction <= 0.5,
             f"held-out share must be in [0.05, 0.5], got {self.val_fraction}"),
            (self.eval_every >= 1 and self.patience >= 1,
             "eval interval and patience must be >= 1"),
            (self.sample_tokens >= 1, "sample tokens must be >= 1"),
        ]
        require(checks)


def default_prompt(held_text: str, words: int = 6) -> str:
    """The first few words of the held-out part (so "after" shows the text's own style)."""
    first = " ".join(held_text.split()[:words])
    return first or "The"


class Finetune:
    """One fine-tuning run; iterate `events()` once."""

    stage = STAGE

    def __init__(self, settings: FinetuneSettings) -> None:
        self.settings = settings
        settings.validate()
        self.trainee: Trainee | None = None
        self.prompt = settings.prompt

    def events(self) -> Iterator[Event]:
        import torch

        from genai_tui.corpus import split_corpus

        s = self.settings
        t0 = time.perf_counter()
        yield Notice(STAGE, "copying the language model")
        trainee = Trainee.bundled(s.model)
        train_text, held_text = split_corpus(s.text, s.val_fraction)
        n_tokens = min(len(trainee.encode(train_text)), len(trainee.encode(held_text)))
        block = min(s.block_size, trainee.block_size, n_tokens - 2)
        if block < 8:
            raise UserError(f"the text is too short to fine-tune on: its held-out part has "
                            f"{n_tokens} tokens (at least 10 are needed)")
        train_ids, val_ids = encode_split(trainee.tokenizer, train_text, held_text, block)
        self.prompt = s.prompt or default_prompt(held_text)
        self.trainee = trainee
        model = trainee.model
        tr_x, tr_y = windows(train_ids, block, s.eval_windows)
        val_x, val_y = windows(val_ids, block, s.eval_windows)
        yield Notice(STAGE, f"{len(train_ids):,} training and {len(val_ids):,} held-out tokens "
                            f"of {s.source}; windows of {block} tokens")

        def sample() -> str:
            return trainee.sample(self.prompt, max_tokens=s.sample_tokens, seed=s.seed)

        yield Sample(STAGE, 0, self.prompt, sample(), "before")
        first_train = mean_loss(model, tr_x, tr_y, s.batch_size)
        first_val = mean_loss(model, val_x, val_y, s.batch_size)
        yield Metrics(STAGE, 0, s.steps, {"train_loss": first_train, "val_loss": first_val},
                      time.perf_counter() - t0)
        model.train()
        optimizer = adamw(model, s.lr, weight_decay=0.0)
        rng = torch.Generator().manual_seed(s.seed)
        best_val, best_step, rising, warned_at = first_val, 0, 0, None
        history = [{"step": 0, "train_loss": round(first_train, 4),
                    "val_loss": round(first_val, 4)}]
        started, tokens, step = time.perf_counter(), 0, 0
        for step in range(1, s.steps + 1):
            lr = s.lr * min(1.0, step / max(1, s.warmup))
            xb, yb = random_batch(train_ids, block, s.batch_size, rng)
            loss = optimizer_step(model, optimizer, model.loss, xb, yb, lr=lr, bf16=s.bf16)
            tokens += xb.numel()
            now = time.perf_counter()
            values = {"loss": loss, "lr": lr, "tokens_per_s": tokens / max(now - started, 1e-9)}
            overfit = None
            if step % s.eval_every == 0 or step == s.steps:
                values["train_loss"] = mean_loss(model, tr_x, tr_y, s.batch_size)
                values["val_loss"] = val = mean_loss(model, val_x, val_y, s.batch_size)
                history.append({"step": step, "train_loss": round(values["train_loss"], 4),
                                "val_loss": round(val, 4)})
                if val < best_val:
                    best_val, best_step, rising = val, step, 0
                else:
                    rising += 1
                if rising >= s.patience and warned_at is None:
                    warned_at = step
                    overfit = Notice(
                        STAGE, f"overfitting: held-out loss {val:.3f} has risen for {rising} "
                               f"evaluations above its best {best_val:.3f} (step {best_step}) "
                               "while training loss keeps falling", "warn")
            yield Metrics(STAGE, step, s.steps, values, now - t0)
            if overfit is not None:
                yield overfit
        after = sample()
        seconds = time.perf_counter() - started
        summary = {"steps": step, "seconds": round(seconds, 1), "source": s.source,
                   "train_loss_before": round(first_train, 4),
                   "val_loss_before": round(first_val, 4),
                   "train_loss": history[-1]["train_loss"], "val_loss": history[-1]["val_loss"],
                   "best_val_loss": round(best_val, 4), "best_step": best_step,
                   "overfitting_from": warned_at, "prompt": self.prompt, "history": history}
        yield Sample(STAGE, step, self.prompt, after, "after")
        trainee.record(STAGE, **{k: v for k, v in summary.items() if k != "history"},
                       history=history)
        yield Finished(STAGE, step, summary)
