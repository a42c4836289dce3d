"""Supervised fine-tuning (SFT): the bundled model learns to answer questions.

The instruction pairs come from what every machine has, the standard
library: `qa_pairs` parses (with `ast`, never importing) its public modules
and turns each public top-level function or class with a docstring into
``Q: What does {module}.{name} do?`` / ``A: {the docstring's first sentence}``.
A hash of the question holds out about a tenth of them.

The loss counts only the answer: the targets at prompt positions (the
question and ``A:``) and at padding are `IGNORE` (-100), so the model is not
taught to write questions, only to answer them (`masked_loss`).

`Sft(settings).events()` samples greedy answers to a few held-out questions
("before"), trains with a `Metrics` event per step (``loss``; ``val_loss``,
the masked loss on held-out pairs, every ``eval_every`` steps), samples the
same questions again ("after") and finishes with the held-out answer loss
before and after.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from genai_tui.corpus import hash_share
from genai_tui.errors import UserError, require
from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice, Sample
from genai_tui.service.lifecycle.trainee import Trainee, adamw, optimizer_step

STAGE = "sft"

QUESTION = "Q: What does {module}.{name} do?\n"
ANSWER_CUE = "A:"
"""Ends the prompt; the answer (what the loss counts) follows it."""
ANSWER = " {answer}\n"
PAIR = QUESTION + ANSWER_CUE + ANSWER
"""One training example as text: ``Q: What does m.f do?\\nA: It does this.\\n``."""
IGNORE = -100
"""Target id the loss skips (`torch.nn.functional.cross_entropy`'s ``ignore_index``)."""
HELD_OUT_FRACTION = 0.1
MIN_ANSWER, MAX_ANSWER = 15, 160
"""Length range (characters) of a first sentence that makes an answer."""

_SENTENCE = re.compile(r"(.+?[.!?])(?=\s|$)")


@dataclass(frozen=True)
class QAPair:
    """One instruction pair: ``prompt`` (question and ``A:``) and ``answer``."""

    module: str
    name: str
    answer: str
    """The docstring's first sentence."""

    @property
    def question(self) -> str:
        return QUESTION.format(module=self.module, name=self.name)

    @property
    def prompt(self) -> str:
        """What the model is given: the question and the answer cue."""
        return self.question + ANSWER_CUE

    @property
    def target(self) -> str:
        """What the model should write after the prompt (the loss counts these tokens)."""
        return ANSWER.format(answer=self.answer)

    @property
    def text(self) -> str:
        return self.prompt + self.target

    @property
    def held_out(self) -> bool:
        return is_held_out(self.question)


def is_held_out(question: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """A hash of the question, not its position: stable across machines and runs."""
    return hash_share(question) < fraction


def first_sentence(doc: str) -> str | None:
    """The first sentence of a docstring's first paragraph, on one line; None when
    it has none (no full stop) or is outside `MIN_ANSWER`..`MAX_ANSWER` characters."""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    match = _SENTENCE.match(paragraph)
    if match is None:
        return None
    sentence = match.group(1)
    if not MIN_ANSWER <= len(sentence) <= MAX_ANSWER or not sentence.isprintable():
        return None
    return sentence


def module_name(path: Path, root: Path) -> str | None:
    """``json/decoder.py`` -> ``json.decoder``; None for a private module or package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or any(p.startswith("_") or not p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def pairs_of(source: str, module: str) -> list[QAPair]:
    """The pairs of one module's source: public top-level functions and classes
    whose docstring has a usable first sentence (`first_sentence`)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if node.name.startswith("_"):
            continue
        doc = ast.get_docstring(node, clean=True)
        sentence = first_sentence(doc) if doc else None
        if sentence:
            found.append(QAPair(module, node.name, sentence))
    return found


@lru_cache(maxsize=1)
def qa_pairs() -> tuple[QAPair, ...]:
    """Every instruction pair of this Python's standard library, in path order, one
    per question (deterministic per Python build; kept in memory, never on disk)."""
    from genai_tui.corpus import _iter_stdlib_files, stdlib_dir

    root = stdlib_dir()
    seen: set[str] = set()
    pairs: list[QAPair] = []
    for path in _iter_stdlib_files(root):
        module = module_name(path, root)
        if module is None:
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for pair in pairs_of(source, module):
            if pair.question not in seen:
                seen.add(pair.question)
                pairs.append(pair)
    return tuple(pairs)


def split_pairs(pairs: Sequence[QAPair] | None = None) -> tuple[list[QAPair], list[QAPair]]:
    """(training pairs, held-out pairs), by `is_held_out` of the question."""
    pairs = qa_pairs() if pairs is None else pairs
    train = [p for p in pairs if not p.held_out]
    held = [p for p in pairs if p.held_out]
    return train, held


# -- batches and the masked loss ------------------------------------------------------


def encode_pair(tokenizer: Any, pair: QAPair) -> tuple[list[int], int]:
    """(token ids of prompt + answer, number of prompt tokens). Prompt and answer are
    encoded apart, so the answer's tokens are exactly what follows the prompt when
    the model is asked the question."""
    prompt = tokenizer.encode(pair.prompt)
    return prompt + tokenizer.encode(pair.target), len(prompt)


def answer_targets(ids: Sequence[int], n_prompt: int) -> Any:
    """(len(ids) - 1,) next-token targets with the prompt's masked: position t
    predicts ids[t + 1], so the first answer token is predicted at position
    ``n_prompt - 1`` (the last prompt token) and every earlier target is `IGNORE`."""
    import torch

    targets = torch.tensor(list(ids[1:]), dtype=torch.long)
    targets[:max(0, n_prompt - 1)] = IGNORE
    return targets


def collate(encoded: Sequence[tuple[list[int], int]], block: int) -> tuple[Any, Any]:
    """Inputs and targets (B, T), T = the longest example (at most ``block``): targets
    are the next token at answer positions and `IGNORE` at prompt positions and
    padding (inputs are padded with id 0, which no target reads)."""
    import torch

    length = min(block, max(len(ids) - 1 for ids, _ in encoded))
    x = torch.zeros((len(encoded), length), dtype=torch.long)
    y = torch.full((len(encoded), length), IGNORE, dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(encoded):
        ids = ids[:length + 1]
        n = len(ids) - 1
        x[row, :n] = torch.tensor(ids[:-1])
        y[row, :n] = answer_targets(ids, n_prompt)
    return x, y


def masked_loss(model: Any, x: Any, y: Any) -> Any:
    """Mean cross-entropy over the positions whose target is not `IGNORE`."""
    import torch.nn.functional as F

    logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                           ignore_index=IGNORE)


def mean_masked_loss(model: Any, batches: Sequence[tuple[Any, Any]]) -> float:
    """Masked loss over fixed batches, weighted by answer tokens (eval mode, no grad)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for x, y in batches:
            n = int((y != IGNORE).sum())
            total += float(masked_loss(model, x, y)) * n
            count += n
    model.train(was_training)
    return total / max(1, count)


# -- the stage ------------------------------------------------------------------------


@dataclass
class SftSettings:
    """Defaults that visibly teach the answer format in about a minute on two cores."""

    steps: int = 150
    lr: float = 3e-4
    """Learning rate (constant after warm-up)."""
    warmup: int = 10
    batch_size: int = 16
    block_size: int = 64
    """Longest example (tokens); longer answers are cut."""
    eval_every: int = 25
    eval_pairs: int = 96
    """Held-out pairs the ``val_loss`` is measured on (fixed: the first ones)."""
    train_pairs: int | None = None
    """Use only the first this many training pairs (None: all of them)."""
    sample_questions: int = 3
    """Held-out questions answered (greedy) before and after."""
    sample_tokens: int = 40
    seed: int = 0
    model: str | None = None
    """A model folder to start from; None: the bundled model."""
    bf16: bool | None = None
    """bfloat16 autocast; None: where the CPU has it natively (`runtime.use_bf16`)."""

    def validate(self) -> None:
        checks = [
            (self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.warmup >= 0, f"warm-up must be >= 0, got {self.warmup}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (16 <= self.block_size <= 4096, f"block size must be 16..4096, got {self.block_size}"),
            (self.eval_every >= 1, f"eval interval must be >= 1, got {self.eval_every}"),
            (self.eval_pairs >= 1, f"eval pairs must be >= 1, got {self.eval_pairs}"),
            (self.train_pairs is None or self.train_pairs >= 1,
             f"training pairs must be >= 1, got {self.train_pairs}"),
            (0 <= self.sample_questions <= 10,
             f"sample questions must be 0..10, got {self.sample_questions}"),
            (self.sample_tokens >= 1, f"sample tokens must be >= 1, got {self.sample_tokens}"),
        ]
        require(checks)


def fixed_batches(tokenizer: Any, pairs: Sequence[QAPair], block: int, batch_size: int
                  ) -> list[tuple[Any, Any]]:
    encoded = [encode_pair(tokenizer, p) for p in pairs]
    return [collate(encoded[i:i + batch_size], block) for i in range(0, len(encoded), batch_size)]


class Sft:
    """One supervised fine-tuning run; iterate `events()` once."""

    stage = STAGE
    shown = ("loss", "val_loss")

    def __init__(self, settings: SftSettings | None = None) -> None:
        self.settings = settings or SftSettings()
        self.settings.validate()
        self.trainee: Trainee | None = None
        self.questions: list[QAPair] = []
        """The held-out pairs whose questions are answered before and after."""

    def answer(self, pair: QAPair) -> str:
        """The current weights' greedy answer to ``pair``'s question (one line)."""
        assert self.trainee is not None
        return self.trainee.sample(pair.prompt, max_tokens=self.settings.sample_tokens,
                                   greedy=True, stop=("\n",))

    def events(self) -> Iterator[Event]:
        import torch

        s = self.settings
        t0 = time.perf_counter()
        yield Notice(STAGE, "reading the standard library's docstrings")
        train, held = split_pairs()
        if s.train_pairs is not None:
            train = train[:s.train_pairs]
        if not train or not held:
            raise UserError("no instruction pairs: the standard library's sources were not found")
        yield Notice(STAGE, "copying the language model")
        trainee = Trainee.bundled(s.model)
        self.trainee = trainee
        model = trainee.model
        block = min(s.block_size, trainee.block_size)
        tok = trainee.tokenizer
        encoded = [encode_pair(tok, p) for p in train]
        val_batches = fixed_batches(tok, held[:s.eval_pairs], block, s.batch_size)
        self.questions = held[:s.sample_questions]
        yield Notice(STAGE, f"{len(train):,} training and {len(held):,} held-out question/answer "
                            f"pairs from the standard library's docstrings; the loss counts "
                            "answer tokens only")
        for pair in self.questions:
            yield Sample(STAGE, 0, pair.prompt, self.answer(pair), "before")
        val_before = mean_masked_loss(model, val_batches)
        yield Metrics(STAGE, 0, s.steps, {"val_loss": val_before}, time.perf_counter() - t0)
        model.train()
        optimizer = adamw(model, s.lr, weight_decay=0.0)
        rng = torch.Generator().manual_seed(s.seed)
        history = [{"step": 0, "val_loss": round(val_before, 4)}]
        started, step, val = time.perf_counter(), 0, val_before
        for step in range(1, s.steps + 1):
            lr = s.lr * min(1.0, step / max(1, s.warmup))
            rows = torch.randint(0, len(encoded), (s.batch_size,), generator=rng).tolist()
            xb, yb = collate([encoded[r] for r in rows], block)
            loss = optimizer_step(model, optimizer, masked_loss, model, xb, yb, lr=lr,
                                  bf16=s.bf16)
            values = {"loss": loss, "lr": lr}
            if step % s.eval_every == 0 or step == s.steps:
                values["val_loss"] = val = mean_masked_loss(model, val_batches)
                history.append({"step": step, "val_loss": round(val, 4)})
            yield Metrics(STAGE, step, s.steps, values, time.perf_counter() - t0)
        seconds = time.perf_counter() - started
        for pair in self.questions:
            yield Sample(STAGE, step, pair.prompt, self.answer(pair), "after")
        summary = {"steps": step, "seconds": round(seconds, 1), "train_pairs": len(train),
                   "held_out_pairs": len(held),
                   "answer_loss_before": round(val_before, 4), "answer_loss_after": round(val, 4),
                   "history": history}
        trainee.record(STAGE, **{k: v for k, v in summary.items() if k != "history"},
                       history=history)
        yield Finished(STAGE, step, summary)
