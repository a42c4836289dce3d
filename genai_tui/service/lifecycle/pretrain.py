"""Pretraining live: a small GPT from random weights learns next-token
prediction on the standard-library sources, quickly enough to watch.

`Pretrain(settings).events()` yields a `Metrics` event per optimizer step
(``loss``, ``lr``, ``tokens_per_s``; evaluation steps add ``train_loss``,
``val_loss`` and ``bits_per_byte`` on fixed windows of training and
held-out files), a `Sample` of text from the current weights every
``sample_every`` steps (the same prompt and seed each time, so the change is
the weights'), and `Finished`. By default the model reads bytes (256 ids):
within a few hundred steps its samples go from noise to indented,
``self.``-shaped Python; the bundled BPE is the other choice.
The held-out side is whole files (`corpus.split_documents`), as for the
bundled model. The model stays in ``Pretrain.trainee`` until saved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from genai_tui.errors import require
from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice, Sample
from genai_tui.service.lifecycle.trainee import (
    Trainee,
    adamw,
    encode_split,
    mean_loss,
    optimizer_step,
    random_batch,
    tokenizer_named,
    windows,
)
from genai_tui.service.train_lm import warmup_cosine

STAGE = "pretrain"


@dataclass
class PretrainSettings:
    """A config that learns visibly within a minute or two on two cores."""

    steps: int = 600
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 128
    batch_size: int = 16
    tokenizer: str = "byte"
    """"byte" (256 ids: spelling, indentation and words appear within a few hundred
    steps) or "bpe" (the bundled model's 4096 tokens: better bits per byte for the
    compute, but samples stay noise for longer)."""
    lr: float = 3e-3
    """Peak learning rate (after warm-up; cosine decay to a tenth of it)."""
    warmup: int = 30
    eval_every: int = 25
    eval_windows: int = 32
    sample_every: int = 50
    sample_tokens: int = 40
    prompt: str = "def "
    seed: int = 0
    corpus: str | None = None
    """A UTF-8 text file (held out: its tail); None: the standard-library sources."""
    corpus_bytes: int = 4_000_000
    """At most this much training text (whole files, in corpus order)."""
    bf16: bool | None = None
    """bfloat16 autocast; None: where the CPU has it natively (`runtime.use_bf16`)."""

    def validate(self) -> None:
        checks = [
            (self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (1 <= self.n_layer <= 12, f"layers must be 1..12, got {self.n_layer}"),
            (self.n_head >= 1 and self.n_embd >= 8, "heads must be >= 1 and width >= 8"),
            (self.n_embd % max(1, self.n_head) == 0,
             f"width {self.n_embd} must be divisible by heads {self.n_head}"),
            (8 <= self.block_size <= 1024, f"block size must be 8..1024, got {self.block_size}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.eval_every >= 1 and self.sample_every >= 1,
             "eval and sample intervals must be >= 1"),
            (self.sample_tokens >= 1, "sample tokens must be >= 1"),
            (self.corpus_bytes >= 10_000, "corpus bytes must be >= 10000"),
            (self.tokenizer in ("byte", "bpe"),
             f"tokenizer must be 'byte' or 'bpe', got {self.tokenizer!r}"),
        ]
        require(checks)


def corpus_texts(corpus: str | None, max_bytes: int) -> tuple[str, str, str]:
    """(training text, held-out text, description): whole files either side."""
    from genai_tui import corpus as corpus_mod

    if corpus:
        text = corpus_mod.load_text_corpus(corpus)[: max_bytes + max_bytes // 10]
        train, held = corpus_mod.split_corpus(text, 0.1)
        return train, held, f"{len(text.encode())} bytes of a user file (held out: its tail)"
    docs = corpus_mod.source_documents()
    train_docs, held_docs = corpus_mod.split_documents(docs)

    def take(items: list, budget: int) -> list:
        chosen, size = [], 0
        for doc in items:
            if size >= budget:
                break
            chosen.append(doc)
            size += len(doc.text)
        return chosen

    train_docs, held_docs = take(train_docs, max_bytes), take(held_docs, max_bytes // 10)
    return (corpus_mod.join_documents(train_docs), corpus_mod.join_documents(held_docs),
            f"standard-library sources: {len(train_docs)} training files, {len(held_docs)} "
            "held-out files (whole files)")


class Pretrain:
    """One pretraining run; iterate `events()` once."""

    stage = STAGE

    def __init__(self, settings: PretrainSettings | None = None) -> None:
        self.settings = settings or PretrainSettings()
        self.settings.validate()
        self.trainee: Trainee | None = None
        """The model being trained (set once set-up is done)."""

    def events(self) -> Iterator[Event]:
        import torch

        s = self.settings
        t0 = time.perf_counter()
        yield Notice(STAGE, "reading the corpus")
        train_text, val_text, description = corpus_texts(s.corpus, s.corpus_bytes)
        trainee = Trainee.fresh(n_layer=s.n_layer, n_head=s.n_head, n_embd=s.n_embd,
                                block_size=s.block_size, seed=s.seed,
                                tokenizer=tokenizer_named(s.tokenizer))
        yield Notice(STAGE, f"tokenizing {len(train_text.encode()) / 1e6:.1f} MB")
        train_ids, val_ids = encode_split(trainee.tokenizer, train_text, val_text, s.block_size)
        self.trainee = trainee
        model = trainee.model
        model.train()
        optimizer = adamw(model, s.lr)
        rng = torch.Generator().manual_seed(s.seed)
        val_x, val_y = windows(val_ids, s.block_size, s.eval_windows)
        bytes_per_token = len(val_text.encode("utf-8")) / len(val_ids)
        tr_x, tr_y = windows(train_ids, s.block_size, s.eval_windows)
        yield Notice(STAGE, f"{trainee.num_params() / 1e6:.2f}M parameters from random "
                            f"weights; {len(train_ids):,} training tokens ({description})")
        yield Sample(STAGE, 0, s.prompt, trainee.sample(s.prompt, max_tokens=s.sample_tokens,
                                                        seed=s.seed), "before")
        started = time.perf_counter()
        tokens = 0
        history: list[dict] = []
        step = 0
        for step in range(1, s.steps + 1):
            lr = warmup_cosine(step - 1, s.steps, s.lr, s.warmup, s.lr / 10)
            xb, yb = random_batch(train_ids, s.block_size, s.batch_size, rng)
            loss = optimizer_step(model, optimizer, model.loss, xb, yb, lr=lr,
                                  bf16=s.bf16)
            tokens += xb.numel()
            now = time.perf_counter()
            values = {"loss": loss, "lr": lr, "tokens_per_s": tokens / max(now - started, 1e-9)}
            if step % s.eval_every == 0 or step == s.steps:
                values["train_loss"] = mean_loss(model, tr_x, tr_y, s.batch_size)
                values["val_loss"] = mean_loss(model, val_x, val_y, s.batch_size)
                values["bits_per_byte"] = values["val_loss"] / bytes_per_token / math.log(2)
                history.append({"step": step, "train_loss": round(values["train_loss"], 4),
                                "val_loss": round(values["val_loss"], 4),
                                "bits_per_byte": round(values["bits_per_byte"], 4)})
            yield Metrics(STAGE, step, s.steps, values, now - t0)
            if step % s.sample_every == 0 or step == s.steps:
                yield Sample(STAGE, step, s.prompt,
                             trainee.sample(s.prompt, max_tokens=s.sample_tokens, seed=s.seed),
                             "after" if step == s.steps else "step")
        seconds = time.perf_counter() - started
        summary = {"steps": step, "tokenizer": s.tokenizer, "seconds": round(seconds, 1),
                   "tokens_per_s": round(tokens / max(seconds, 1e-9)),
                   "train_loss": history[-1]["train_loss"] if history else None,
                   "val_loss": history[-1]["val_loss"] if history else None,
                   "bits_per_byte": history[-1]["bits_per_byte"] if history else None,
                   "corpus": description, "history": history}
        trainee.record(STAGE, **{k: v for k, v in summary.items() if k != "history"},
                       settings=dict(vars(s)), history=history)
        yield Finished(STAGE, step, summary)
