"""Preference tuning: a visible rule ranks the model's own answers, a reward
model learns the ranking, and DPO moves the model towards it.

The preferences are rules anyone can check (`RULES`): "shorter" (a shorter
first line), "no-repeat" (fewer repeated word pairs) and "mentions" (the
answer contains a word the user picks). Each is a score of a text; a higher
score is preferred.

`Prefer(settings).events()` runs three phases, each announced by a `Notice`:

1. **Pairs.** For questions of the SFT set (`sft.qa_pairs`: training
   questions for training pairs, held-out questions for held-out pairs) the
   model itself writes ``candidates`` answers (seeded, temperature 1, up to
   the first newline); the best and the worst by the rule become (chosen,
   rejected). Prompts whose answers tie are skipped.
2. **Reward model.** Features of an answer from the frozen model (the final
   hidden state, after ``ln_f``, averaged over the answer's positions, and the
   one at its last token), standardised; a linear head on them is trained
   with the Bradley-Terry loss ``-log sigmoid(r(chosen) - r(rejected))``.
   Every step reports ``rm_loss`` and ``accuracy``: the share of held-out
   pairs it ranks as the rule does (chance: 0.5).
3. **DPO** (Rafailov et al. 2023) against a frozen copy of the starting
   weights: ``-log sigmoid(beta * ((log pi(c) - log ref(c)) - (log pi(r) -
   log ref(r))))``, log-probabilities of the answer tokens only. Every
   ``eval_every`` steps fresh answers of the policy to fixed held-out
   questions give ``rule_score`` (the rule's mean), ``reward`` (the reward
   model's mean) and ``kl``: KL(policy || reference) estimated on those
   samples, the sum over each answer's tokens of ``log pi - log ref``,
   averaged over answers.

One `Metrics.step` counts a unit of work of any phase (a prompt sampled, a
reward-model step, a DPO step), so one progress bar covers the run; the
values present say the phase. ``Prefer.trainee`` is the policy.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from genai_tui.errors import UserError, require
from genai_tui.service.lifecycle.events import Event, Finished, Metrics, Notice, Sample
from genai_tui.service.lifecycle.sft import IGNORE, QAPair, collate, split_pairs
from genai_tui.service.lifecycle.trainee import Trainee, adamw, optimizer_step

STAGE = "prefer"

_WORDS = re.compile(r"\w+")
_A_WORD = re.compile(r"^\w+$")


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def shorter_score(text: str) -> float:
    """Minus the characters before the first newline: shorter answers score higher."""
    return -float(len(first_line(text).strip()))


def repeats(text: str, sizes: tuple[int, ...] = (1, 2)) -> int:
    """How many word n-grams of the first line (single words and word pairs by
    default) repeat an earlier one: "a b a b" has 2 + 1."""
    words = _WORDS.findall(first_line(text).lower())
    count = 0
    for n in sizes:
        grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
        count += len(grams) - len(set(grams))
    return count


def no_repeat_score(text: str) -> float:
    """Minus the repeated words and word pairs (`repeats`): fewer score higher."""
    return -float(repeats(text))


def mentions_score(word: str) -> Callable[[str], float]:
    """1 when the first line contains ``word`` (any case, at the start of a word: "file"
    counts in "files"), else 0."""
    pattern = re.compile(rf"\b{re.escape(word)}", re.IGNORECASE)
    return lambda text: float(bool(pattern.search(first_line(text))))


@dataclass(frozen=True)
class Rule:
    """A visible preference: ``score(text)``, higher is preferred."""

    name: str
    description: str
    score: Callable[[str], float]


RULES: dict[str, str] = {
    "shorter": "shorter answers (fewer characters before the first newline)",
    "no-repeat": "answers that repeat fewer words and word pairs",
    "mentions": "answers that mention a word you choose",
}
"""The rules by name, with what each prefers."""


def make_rule(name: str, word: str = "") -> Rule:
    """The rule called ``name``; `UserError` for an unknown name, or "mentions"
    without a word."""
    if name not in RULES:
        raise UserError(f"unknown rule {name!r}: choose one of {', '.join(RULES)}")
    if name == "shorter":
        return Rule(name, RULES[name], shorter_score)
    if name == "no-repeat":
        return Rule(name, RULES[name], no_repeat_score)
    word = word.strip()
    if not word:
        raise UserError("the 'mentions' rule needs a word (--word), e.g. --word file")
    if not _A_WORD.match(word) or len(word) > 40:
        raise UserError(f"--word must be one word of letters, digits or '_' (up to 40), "
                        f"got {word!r}")
    return Rule(name, f"answers that mention {word!r}", mentions_score(word))


@dataclass(frozen=True)
class PreferencePair:
    """Two answers of the model to one prompt, ranked by the rule."""

    prompt: str
    prompt_ids: tuple[int, ...]
    chosen: tuple[int, ...]
    rejected: tuple[int, ...]
    chosen_text: str
    rejected_text: str
    chosen_score: float
    rejected_score: float


# -- the model's own answers, batched --------------------------------------------------


def newline_tokens(tokenizer: Any) -> Any:
    """(V,) bool: the token ids whose text holds a newline (an answer ends there)."""
    import torch

    return torch.tensor([b"\n" in tokenizer.token_bytes(i) for i in range(tokenizer.vocab_size)])


def sample_answers(model: Any, prompt_ids: Sequence[int], n: int, max_new: int,
                   generator: Any, ends: Any) -> list[list[int]]:
    """``n`` answers to one prompt sampled together (one batch through the KV cache)
    from the full softmax at temperature 1 (true samples of the model, which the
    KL estimate needs); each stops after its first newline token or ``max_new`` tokens."""
    import torch

    max_new = min(max_new, model.config.block_size - len(prompt_ids))
    if max_new < 1:
        raise UserError(f"a prompt of {len(prompt_ids)} tokens leaves no room for an answer "
                        f"in the model's {model.config.block_size}-token context")
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            cache = model.new_cache(batch=n)
            idx = torch.tensor([list(prompt_ids)] * n, dtype=torch.long)  # (n, P)
            logits = model(idx, cache, last_only=True)[:, -1]  # (n, V)
            out = torch.zeros((n, max_new), dtype=torch.long)
            lengths = torch.full((n,), max_new, dtype=torch.long)
            done = torch.zeros(n, dtype=torch.bool)
            for t in range(max_new):
                probs = torch.softmax(logits.float(), dim=-1)
                token = torch.multinomial(probs, 1, generator=generator)[:, 0]  # (n,)
                out[:, t] = token
                ended = ends[token] & ~done
                lengths[ended] = t + 1
                done |= ended
                if bool(done.all()) or t == max_new - 1:
                    break
                logits = model(token[:, None], cache)[:, -1]  # (n, V)
    finally:
        model.train(was_training)
    return [out[i, :int(lengths[i])].tolist() for i in range(n)]


def answer_logps(model: Any, prompts: Sequence[Sequence[int]],
                 answers: Sequence[Sequence[int]]) -> Any:
    """(N,) summed log-probabilities of each answer's tokens after its prompt (one
    forward pass; gradients flow when the caller allows them)."""
    import torch.nn.functional as F

    encoded = [(list(p) + list(a), len(p)) for p, a in zip(prompts, answers, strict=True)]
    x, y = collate(encoded, 10**9)
    logits = model(x)  # (N, T, V)
    nll = F.cross_entropy(logits.transpose(1, 2).float(), y, ignore_index=IGNORE,
                          reduction="none")  # (N, T), 0 where ignored
    return -nll.sum(dim=1)


def final_hidden(model: Any, idx: Any) -> Any:
    """(B, T, C): the residual stream after the last block and ``ln_f`` (what the
    output head reads)."""
    tr = model.transformer
    T = idx.shape[1]
    x = tr.wte(idx) + tr.wpe.weight[:T]  # (B, T, C)
    for block in tr.h:
        x = block(x)
    return tr.ln_f(x)


def answer_features(model: Any, prompts: Sequence[Sequence[int]],
                    answers: Sequence[Sequence[int]], batch_size: int = 32) -> Any:
    """(N, 2C) reward-model inputs from the frozen model: the final hidden state
    averaged over the answer's positions, and the one at its last token."""
    import torch

    rows = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            ps, ans = prompts[start:start + batch_size], answers[start:start + batch_size]
            seqs = [list(p) + list(a) for p, a in zip(ps, ans, strict=True)]
            length = max(len(s) for s in seqs)
            idx = torch.zeros((len(seqs), length), dtype=torch.long)
            for i, s in enumerate(seqs):
                idx[i, :len(s)] = torch.tensor(s)
            h = final_hidden(model, idx)  # (b, T, C)
            for i, (p, s) in enumerate(zip(ps, seqs, strict=True)):
                span = h[i, len(p):len(s)]  # the answer's positions, (A, C)
                rows.append(torch.cat([span.mean(0), span[-1]]))
    model.train(was_training)
    return torch.stack(rows)  # (N, 2C)


class RewardModel:
    """A linear head on standardised `answer_features`: ``score(features)`` -> (N,)."""

    def __init__(self, train_features: Any, seed: int) -> None:
        import torch

        self.mean = train_features.mean(0)
        self.std = train_features.std(0) + 1e-5
        generator = torch.Generator().manual_seed(seed)
        dim = train_features.shape[1]
        self.head = torch.nn.Linear(dim, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(1, dim, generator=generator) * 0.01)
            self.head.bias.zero_()

    def score(self, features: Any) -> Any:
        return self.head((features - self.mean) / self.std)[:, 0]  # (N,)


def bradley_terry_loss(reward: RewardModel, chosen: Any, rejected: Any) -> Any:
    import torch.nn.functional as F

    return -F.logsigmoid(reward.score(chosen) - reward.score(rejected)).mean()


def pair_accuracy(reward: RewardModel, chosen: Any, rejected: Any) -> float:
    import torch

    with torch.no_grad():
        return float((reward.score(chosen) > reward.score(rejected)).float().mean())


def dpo_loss(policy: Any, batch: Sequence[PreferencePair], ref_chosen: Any,
             ref_rejected: Any, beta: float) -> Any:
    """DPO's loss for a batch of pairs (reference log-probabilities given)."""
    import torch.nn.functional as F

    prompts = [p.prompt_ids for p in batch] * 2
    answers = [p.chosen for p in batch] + [p.rejected for p in batch]
    logps = answer_logps(policy, prompts, answers)  # (2B,)
    pi_chosen, pi_rejected = logps[:len(batch)], logps[len(batch):]
    margin = (pi_chosen - ref_chosen) - (pi_rejected - ref_rejected)
    return -F.logsigmoid(beta * margin).mean()


# -- the stage ------------------------------------------------------------------------


@dataclass
class PreferSettings:
    """Defaults that show the preferred property growing in about a minute on two cores."""

    rule: str = "shorter"
    """One of `RULES`."""
    word: str = ""
    """The word the "mentions" rule looks for."""
    pairs: int = 160
    """Training pairs wanted (fewer when the prompts run out first)."""
    held_out_pairs: int = 48
    """Held-out pairs wanted (from held-out questions) to measure the reward model."""
    candidates: int = 4
    """Answers sampled per prompt; the best and worst by the rule make the pair."""
    max_questions: int = 600
    """Questions asked at most (rules that often tie find fewer pairs)."""
    max_new: int = 24
    """Longest answer (tokens); an answer ends at its first newline."""
    rm_steps: int = 100
    rm_lr: float = 3e-3
    rm_weight_decay: float = 0.1
    steps: int = 60
    """DPO steps."""
    lr: float = 3e-5
    """DPO learning rate (constant after warm-up)."""
    warmup: int = 5
    beta: float = 0.1
    batch_size: int = 16
    """Pairs per DPO step."""
    eval_every: int = 10
    eval_prompts: int = 8
    """Held-out questions the policy answers at each evaluation."""
    eval_samples: int = 4
    """Answers per evaluation question."""
    sample_tokens: int = 24
    seed: int = 0
    model: str | None = None
    """A model folder to start from; None: the bundled model."""

    def validate(self) -> Rule:
        """Check the settings; returns the rule."""
        checks = [
            (self.pairs >= 2, f"pairs must be >= 2, got {self.pairs}"),
            (self.held_out_pairs >= 1, f"held-out pairs must be >= 1, got {self.held_out_pairs}"),
            (2 <= self.candidates <= 16, f"candidates must be 2..16, got {self.candidates}"),
            (self.max_questions >= 2, f"questions must be >= 2, got {self.max_questions}"),
            (2 <= self.max_new <= 128, f"answer length must be 2..128, got {self.max_new}"),
            (self.rm_steps >= 1, f"reward-model steps must be >= 1, got {self.rm_steps}"),
            (self.rm_lr > 0 and self.lr > 0, "learning rates must be > 0"),
            (self.rm_weight_decay >= 0, "weight decay must be >= 0"),
            (self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (self.warmup >= 0, f"warm-up must be >= 0, got {self.warmup}"),
            (0 < self.beta <= 10, f"beta must be in (0, 10], got {self.beta}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.eval_every >= 1, f"eval interval must be >= 1, got {self.eval_every}"),
            (1 <= self.eval_prompts <= 64, f"eval prompts must be 1..64, got {self.eval_prompts}"),
            (1 <= self.eval_samples <= 16, f"eval samples must be 1..16, got {self.eval_samples}"),
            (self.sample_tokens >= 1, f"sample tokens must be >= 1, got {self.sample_tokens}"),
        ]
        require(checks)
        return make_rule(self.rule, self.word)


def shuffled(items: Sequence[QAPair], seed: int) -> list[QAPair]:
    import random

    out = list(items)
    random.Random(seed).shuffle(out)
    return out


class Prefer:
    """One preference-tuning run (pairs, reward model, DPO); iterate `events()` once."""

    stage = STAGE
    shown = ("accuracy", "dpo_loss", "rule_score", "kl")

    def __init__(self, settings: PreferSettings | None = None) -> None:
        self.settings = settings or PreferSettings()
        self.rule = self.settings.validate()
        self.trainee: Trainee | None = None
        """The policy (set once set-up is done)."""
        self.reward: RewardModel | None = None
        self.train_pairs: list[PreferencePair] = []
        self.held_pairs: list[PreferencePair] = []

    # -- phase 1 ---------------------------------------------------------------------

    def _pair(self, model: Any, tok: Any, question: QAPair, generator: Any, ends: Any
              ) -> PreferencePair | None:
        s = self.settings
        prompt_ids = tok.encode(question.prompt)
        answers = sample_answers(model, prompt_ids, s.candidates, s.max_new, generator, ends)
        texts = [tok.decode(a) for a in answers]
        scores = [self.rule.score(t) for t in texts]
        best = max(range(len(scores)), key=scores.__getitem__)
        worst = min(range(len(scores)), key=scores.__getitem__)
        if scores[best] == scores[worst]:
            return None
        return PreferencePair(question.prompt, tuple(prompt_ids), tuple(answers[best]),
                              tuple(answers[worst]), texts[best], texts[worst],
                              scores[best], scores[worst])

    @staticmethod
    def _measure(ref: Any, pair: PreferencePair) -> tuple[Any, Any]:
        """What later phases need of a pair, computed as it is found so no event
        waits for all of them: reward-model features (2, 2C) and the reference's
        log-probabilities (2,) of chosen and rejected."""
        import torch

        prompts, answers = [pair.prompt_ids] * 2, [pair.chosen, pair.rejected]
        with torch.no_grad():
            return answer_features(ref, prompts, answers), answer_logps(ref, prompts, answers)

    # -- evaluation -------------------------------------------------------------------

    def _evaluate(self, policy: Any, ref: Any, tok: Any, prompts: list[list[int]],
                  ends: Any) -> dict[str, float]:
        """Fresh policy answers (the same seed each time) to the fixed prompts:
        rule score, reward-model score, KL estimate."""
        import torch

        s = self.settings
        generator = torch.Generator().manual_seed(s.seed + 1)
        flat_prompts, answers = [], []
        for prompt_ids in prompts:
            for answer in sample_answers(policy, prompt_ids, s.eval_samples, s.max_new,
                                         generator, ends):
                flat_prompts.append(prompt_ids)
                answers.append(answer)
        with torch.inference_mode():
            kl = answer_logps(policy, flat_prompts, answers) - answer_logps(
                ref, flat_prompts, answers)
            assert self.reward is not None
            rewards = self.reward.score(answer_features(ref, flat_prompts, answers))
        scores = [self.rule.score(tok.decode(a)) for a in answers]
        return {"rule_score": sum(scores) / len(scores), "reward": float(rewards.mean()),
                "kl": float(kl.mean()),
                "answer_tokens": sum(len(a) for a in answers) / len(answers)}

    def events(self) -> Iterator[Event]:
        import torch

        s = self.settings
        t0 = time.perf_counter()
        yield Notice(STAGE, f"preferring {self.rule.description}")
        trainee = Trainee.bundled(s.model)
        self.trainee = trainee
        policy, tok = trainee.model, trainee.tokenizer
        ref = copy.deepcopy(policy).eval()
        ref.requires_grad_(False)
        ends = newline_tokens(tok)
        train_q, held_q = split_pairs()
        held_q = shuffled(held_q, s.seed)
        eval_questions = held_q[:s.eval_prompts]
        eval_prompts = [tok.encode(q.prompt) for q in eval_questions]
        pool_held = held_q[s.eval_prompts:] or held_q
        pool_train = shuffled(train_q, s.seed)
        total = s.pairs + s.held_out_pairs + s.rm_steps + s.steps

        # Phase 1: the model's own answers, ranked by the rule.
        yield Notice(STAGE, f"phase 1/3: sampling {s.candidates} answers per question and "
                            f"ranking them ({s.pairs} training + {s.held_out_pairs} held-out "
                            "pairs wanted)")
        generator = torch.Generator().manual_seed(s.seed)
        ties, asked = 0, 0
        held_extra: list[tuple[Any, Any]] = []
        train_extra: list[tuple[Any, Any]] = []
        for pool, bucket, extra, wanted in (
                (pool_held, self.held_pairs, held_extra, s.held_out_pairs),
                (pool_train, self.train_pairs, train_extra, s.pairs)):
            for question in pool:
                if len(bucket) >= wanted or asked >= s.max_questions:
                    break
                pair = self._pair(policy, tok, question, generator, ends)
                asked += 1
                if pair is None:
                    ties += 1
                else:
                    bucket.append(pair)
                    extra.append(self._measure(ref, pair))
                done = len(self.held_pairs) + len(self.train_pairs)
                yield Metrics(STAGE, done, total, {
                    "pairs": float(len(self.train_pairs)),
                    "held_out_pairs": float(len(self.held_pairs)), "ties": float(ties)},
                    time.perf_counter() - t0)
        if len(self.train_pairs) < 2 or not self.held_pairs:
            raise UserError(f"too few preference pairs: {len(self.train_pairs)} training and "
                            f"{len(self.held_pairs)} held-out from {asked} questions; the "
                            "model's answers almost always tie under this rule (for "
                            "'mentions', try a commoner word)")
        example = self.train_pairs[0]
        yield Notice(STAGE, f"{len(self.train_pairs)} training and {len(self.held_pairs)} "
                            f"held-out pairs from {asked} questions ({ties} tied, skipped); "
                            f"e.g. chosen “{first_line(example.chosen_text).strip()}” over "
                            f"“{first_line(example.rejected_text).strip()}”")

        # Phase 2: the reward model.
        yield Notice(STAGE, "phase 2/3: training a reward model (a linear head on the frozen "
                            "model's hidden states) with the Bradley-Terry loss")
        train_features = torch.stack([f for f, _ in train_extra])  # (N, 2, 2C)
        held_features = torch.stack([f for f, _ in held_extra])  # (M, 2, 2C)
        tr_c, tr_r = train_features[:, 0], train_features[:, 1]
        he_c, he_r = held_features[:, 0], held_features[:, 1]
        reward = self.reward = RewardModel(torch.cat([tr_c, tr_r]), s.seed)
        rm_opt = torch.optim.AdamW(reward.head.parameters(), lr=s.rm_lr,
                                   weight_decay=s.rm_weight_decay)
        base = s.pairs + s.held_out_pairs
        accuracy = 0.5
        for step in range(1, s.rm_steps + 1):
            loss = bradley_terry_loss(reward, tr_c, tr_r)
            rm_opt.zero_grad(set_to_none=True)
            loss.backward()
            rm_opt.step()
            accuracy = pair_accuracy(reward, he_c, he_r)
            yield Metrics(STAGE, base + step, total, {
                "rm_loss": float(loss.detach()), "accuracy": accuracy,
                "train_accuracy": pair_accuracy(reward, tr_c, tr_r)},
                time.perf_counter() - t0)
        reward.head.requires_grad_(False)
        yield Notice(STAGE, f"reward model ranks {accuracy:.0%} of the {len(self.held_pairs)} "
                            "held-out pairs as the rule does (chance: 50%)")

        # Phase 3: DPO against the frozen reference.
        yield Notice(STAGE, f"phase 3/3: DPO (beta {s.beta}) against a frozen copy of the "
                            "starting weights")
        sample_prompt = eval_questions[0].prompt

        def sample() -> str:
            return trainee.sample(sample_prompt, max_tokens=s.sample_tokens, seed=s.seed,
                                  temperature=1.0, stop=("\n",))

        yield Sample(STAGE, 0, sample_prompt, sample(), "before")
        ref_logps = torch.stack([lp for _, lp in train_extra])  # (N, 2)
        ref_c, ref_r = ref_logps[:, 0], ref_logps[:, 1]
        before = self._evaluate(policy, ref, tok, eval_prompts, ends)
        base += s.rm_steps
        yield Metrics(STAGE, base, total, dict(before), time.perf_counter() - t0)
        policy.train()
        optimizer = adamw(policy, s.lr, weight_decay=0.0)
        rng = torch.Generator().manual_seed(s.seed)
        started, step, last = time.perf_counter(), 0, before
        history = [{"step": 0, **{k: round(v, 4) for k, v in before.items()}}]
        for step in range(1, s.steps + 1):
            lr = s.lr * min(1.0, step / max(1, s.warmup))
            rows = torch.randint(0, len(self.train_pairs), (s.batch_size,),
                                 generator=rng).tolist()
            batch = [self.train_pairs[r] for r in rows]
            loss = optimizer_step(policy, optimizer, dpo_loss, policy, batch, ref_c[rows],
                                  ref_r[rows], s.beta, lr=lr)
            values = {"dpo_loss": loss, "lr": lr}
            if step % s.eval_every == 0 or step == s.steps:
                last = self._evaluate(policy, ref, tok, eval_prompts, ends)
                values.update(last)
                history.append({"step": step, **{k: round(v, 4) for k, v in last.items()}})
            yield Metrics(STAGE, base + step, total, values, time.perf_counter() - t0)
        yield Sample(STAGE, step, sample_prompt, sample(), "after")
        summary = {
            "rule": self.rule.name, "word": s.word or None, "preferring": self.rule.description,
            "pairs": len(self.train_pairs), "held_out_pairs": len(self.held_pairs),
            "ties_skipped": ties, "reward_model_accuracy": round(accuracy, 4),
            "rule_score_before": round(before["rule_score"], 4),
            "rule_score_after": round(last["rule_score"], 4),
            "reward_before": round(before["reward"], 4), "reward_after": round(last["reward"], 4),
            "kl": round(last["kl"], 4), "answer_tokens_before": round(before["answer_tokens"], 2),
            "answer_tokens_after": round(last["answer_tokens"], 2), "dpo_steps": step,
            "beta": s.beta, "seconds": round(time.perf_counter() - t0, 1),
            "dpo_seconds": round(time.perf_counter() - started, 1), "history": history}
        trainee.record(STAGE, **{k: v for k, v in summary.items() if k != "history"},
                       history=history)
        yield Finished(STAGE, base + step, summary)
