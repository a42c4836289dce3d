"""Training the language model: a generator of metric events.

`train(settings)` tokenizes the corpus with our BPE, trains the GPT with AdamW
(linear warm-up, cosine decay), and yields `StepEvent`s, periodic
`EvalEvent`s (validation loss on fixed windows of held-out text) and
`CheckpointEvent`s, then a final `DoneEvent`. The CLI (`genai-tui train lm`)
draws a progress bar from them; anything else can consume them too.

Checkpoints (``<out>/checkpoint/``) hold the float32 model, the optimizer
state and the batch sampler's random state as safetensors, plus
``state.json`` (step, settings, config). Resuming continues with exactly the
batches an uninterrupted run would have seen (tested). The finished model
folder holds ``model.safetensors`` (float16 by default), ``config.json``,
``tokenizer.bpe`` (a copy: the folder is self-contained) and ``card.json``.
No pickle anywhere.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from genai_tui.corpus import SOURCE_VAL_FRACTION
from genai_tui.errors import UserError, require
from genai_tui.service.generate import CARD_FILE
from genai_tui.service.runtime import set_torch_threads, use_bf16

CHECKPOINT_DIR = "checkpoint"
TOKENIZER_FILE = "tokenizer.bpe"


@dataclass
class TrainSettings:
    """What `train` does. Model shape fields mirror `genai_tui.models.gpt.GPTConfig`."""

    corpus: str | None = None
    """A UTF-8 text file (held out: its tail); None = the standard-library sources
    (`corpus.source_documents`, held out: whole files, `corpus.split_documents`)."""
    out: str | None = None
    """Model folder to write; None = the bundled ``assets/lm``."""
    tokenizer: str | None = None
    """A ``.bpe`` file; None = the bundled ``genai-bpe-4k``."""
    steps: int = 2000
    """Total optimizer steps (a resumed run continues up to this number)."""
    resume: bool = False
    seed: int = 1337
    batch_size: int = 16
    block_size: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    dropout: float = 0.0
    lr: float = 2e-3
    """Peak learning rate (after warm-up)."""
    min_lr: float = 2e-4
    """Learning rate at the end of the cosine decay."""
    warmup: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    """Steps between validation losses (and at the end)."""
    eval_windows: int = 64
    """At most this many validation windows of ``block_size`` tokens."""
    final_eval_windows: int = 512
    """Windows of held-out (and of training) text for the final figures in the card."""
    bf16: bool | None = None
    """bfloat16 autocast; None: where the CPU has it natively (`runtime.use_bf16`)."""
    """Run forward and backward under bfloat16 autocast (weights, optimizer and
    evaluation stay float32); 2-3x faster on CPUs with AVX-512 BF16 / AMX."""
    checkpoint_every: int = 200
    save_dtype: str = "float16"
    """Dtype of the final weights file ("float16", "bfloat16" or "float32")."""
    val_fraction: float = SOURCE_VAL_FRACTION
    """Held out: whole files of the source corpus, or the tail of a user's file."""
    threads: int | None = None
    """torch threads (None: leave torch's default)."""
    time_limit: float | None = None
    """Stop early (then evaluate and save as usual) after this many seconds of training."""
    command: str = ""
    """The command line that started the run (recorded in the card)."""


@dataclass(frozen=True)
class PrepareEvent:
    """Set-up progress (before the first step)."""

    message: str


@dataclass(frozen=True)
class StepEvent:
    step: int
    """Steps done so far (1-based)."""
    steps: int
    loss: float
    """Training loss of this step's batch (nats per token)."""
    lr: float
    tokens_per_s: float
    """Training throughput over the last steps."""
    elapsed: float


@dataclass(frozen=True)
class EvalEvent:
    step: int
    val_loss: float
    perplexity: float


@dataclass(frozen=True)
class CheckpointEvent:
    step: int
    path: str


@dataclass(frozen=True)
class DoneEvent:
    step: int
    val_loss: float
    perplexity: float
    out: str
    card: dict = field(default_factory=dict)


TrainEvent = PrepareEvent | StepEvent | EvalEvent | CheckpointEvent | DoneEvent


def validate(settings: TrainSettings) -> None:
    """`UserError` for settings that cannot work."""
    checks = [
        (settings.steps >= 1, f"steps must be >= 1, got {settings.steps}"),
        (settings.batch_size >= 1, f"batch size must be >= 1, got {settings.batch_size}"),
        (settings.block_size >= 2, f"block size must be >= 2, got {settings.block_size}"),
        (settings.n_layer >= 1 and settings.n_head >= 1 and settings.n_embd >= 1,
         "layers, heads and width must be >= 1"),
        (settings.n_embd % max(settings.n_head, 1) == 0,
         f"width {settings.n_embd} must be divisible by heads {settings.n_head}"),
        (settings.lr > 0 and settings.min_lr >= 0, "learning rates must be positive"),
        (settings.eval_every >= 1 and settings.checkpoint_every >= 1,
         "eval/checkpoint intervals must be >= 1"),
        (0 <= settings.dropout < 1, "dropout must be in [0, 1)"),
        (settings.save_dtype in ("float16", "bfloat16", "float32"),
         f"save dtype must be float16, bfloat16 or float32, got {settings.save_dtype!r}"),
        (0 < settings.val_fraction < 0.5, "val fraction must be in (0, 0.5)"),
        (0 <= settings.seed < 2**63, "seed must be in [0, 2**63)"),
    ]
    require(checks)


def warmup_cosine(step: int, steps: int, peak: float, warmup: int, floor: float,
                  time_progress: float = 0.0) -> float:
    """The learning rate at ``step`` (0-based): linear warm-up to ``peak`` over
    ``warmup`` steps, then cosine decay to ``floor`` at ``steps``. Every trainer
    here uses this schedule (LM, lifecycle stages, seq2seq, diffusion, CLIP).

    ``time_progress`` (elapsed / time limit) moves the decay on when the time
    limit will come before ``steps``: a time-limited run still ends at ``floor``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, max((step - warmup) / max(1, steps - warmup), time_progress))
    return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - floor)


def lr_at(step: int, s: TrainSettings, time_progress: float = 0.0) -> float:
    """`warmup_cosine` from ``lr`` to ``min_lr`` over ``s.steps``."""
    return warmup_cosine(step, s.steps, s.lr, s.warmup, s.min_lr, time_progress)


def _default_out() -> Path:
    from genai_tui.paths import asset

    return asset("lm")


def _tokenizer_path(settings: TrainSettings) -> Path:
    if settings.tokenizer:
        return Path(settings.tokenizer)
    from genai_tui.tokenizers.bpe import default_path

    return default_path()


def train(settings: TrainSettings) -> Iterator[TrainEvent]:
    """Run training, yielding events. Validates first (`UserError`), before any work."""
    validate(settings)
    out = Path(settings.out) if settings.out else _default_out()
    ckpt = out / CHECKPOINT_DIR
    if settings.resume and not (ckpt / "state.json").is_file():
        raise UserError(f"nothing to resume: no checkpoint in {str(ckpt)!r}")
    if out.exists() and not out.is_dir():
        raise UserError(f"output {str(out)!r} exists and is not a folder")
    return _train(settings, out, ckpt)


def _load_corpus(settings: TrainSettings) -> tuple[str, str, str]:
    """(train text, held-out text, description for the card)."""
    from genai_tui import corpus as corpus_mod

    if settings.corpus:
        text = corpus_mod.load_text_corpus(settings.corpus)
        description = (f"user file {Path(settings.corpus).name} ({len(text.encode())} bytes; "
                       f"held out: its last {100 * settings.val_fraction:g}%)")
        return (*corpus_mod.split_corpus(text, settings.val_fraction), description)
    docs = corpus_mod.source_documents()
    train_docs, held_docs = corpus_mod.split_documents(docs, settings.val_fraction)
    return (corpus_mod.join_documents(train_docs), corpus_mod.join_documents(held_docs),
            corpus_mod.source_description(docs, settings.val_fraction))


def _train(settings: TrainSettings, out: Path, ckpt: Path) -> Iterator[TrainEvent]:
    import torch

    settings = replace(settings, bf16=use_bf16(settings.bf16))
    from genai_tui.models.gpt import GPT, GPTConfig, save_model
    from genai_tui.tokenizers.bpe import BPETokenizer

    set_torch_threads(settings.threads or None)
    started = time.perf_counter()
    state: dict[str, Any] = {}
    previous_runs: list[dict] = []
    if settings.resume:
        state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
        saved = state["settings"]
        previous_runs = state.get("runs") or [_first_run(state, out)]
        # The shape and data of a run cannot change when resuming; the step
        # budget (and so the schedule's end) can.
        for key in ("corpus", "tokenizer", "batch_size", "block_size", "n_layer", "n_head",
                    "n_embd", "seed", "lr", "min_lr", "warmup", "weight_decay", "val_fraction"):
            setattr(settings, key, saved[key])

    tok_path = _tokenizer_path(settings)
    yield PrepareEvent(f"loading tokenizer {tok_path.name}")
    tokenizer = BPETokenizer.load(tok_path)
    yield PrepareEvent("building corpus" if not settings.corpus else "reading corpus")
    train_text, val_text, corpus_description = _load_corpus(settings)
    yield PrepareEvent(f"tokenizing {len((train_text + val_text).encode()) / 1e6:.1f} MB")
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    T = settings.block_size
    if len(train_ids) < T + 2:
        raise UserError(f"corpus too small: {len(train_ids)} training tokens for block size {T}")
    if len(val_ids) < T + 1:
        # Tiny corpora: validate on the end of the training text rather than on nothing.
        val_ids = train_ids[-(T + 1) * 2:]

    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=T, n_layer=settings.n_layer,
                       n_head=settings.n_head, n_embd=settings.n_embd,
                       dropout=settings.dropout)
    torch.manual_seed(settings.seed)
    model = GPT(config)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.lr, betas=(0.9, 0.95), eps=1e-8)
    batch_rng = torch.Generator()
    batch_rng.manual_seed(settings.seed)
    step = 0
    history: list[dict] = []
    if settings.resume:
        yield PrepareEvent(f"resuming from step {state['step']}")
        step = _load_checkpoint(ckpt, model, optimizer, batch_rng)
        history = state.get("history", [])
    start_step = step

    def runs_so_far() -> list[dict]:
        return previous_runs + [{"command": settings.command, "from_step": start_step,
                                 "to_step": step,
                                 "seconds": round(time.perf_counter() - started, 1)}]

    # Fixed windows, spread evenly: the same ones at every evaluation. The
    # training windows give the train side of the curve (a batch's loss is noisy).
    val_x, val_y = windows(val_ids, T, settings.eval_windows)
    train_x, train_y = windows(train_ids, T, settings.eval_windows)
    offsets = torch.arange(T)

    def evaluate(x: Any = None, y: Any = None) -> float:
        return mean_loss(model, val_x if x is None else x, val_y if y is None else y,
                         settings.batch_size)

    yield PrepareEvent(f"{model.num_params() / 1e6:.2f}M parameters, {len(train_ids)} "
                       f"training tokens, {len(val_ids)} validation tokens")
    model.train()
    val_loss = float("nan")
    window_start, window_tokens = time.perf_counter(), 0
    loop_start = time.perf_counter()
    stopped_early = False
    while step < settings.steps:
        limit = settings.time_limit
        if limit is not None and time.perf_counter() - loop_start > limit:
            stopped_early = True
            yield PrepareEvent(f"time limit reached after {step} steps: stopping early")
            _save_checkpoint(ckpt, model, optimizer, batch_rng, step, settings, history,
                             runs_so_far())
            yield CheckpointEvent(step, str(ckpt))
            break
        starts = torch.randint(0, len(train_ids) - T - 1, (settings.batch_size,),
                               generator=batch_rng)
        idx = starts.unsqueeze(1) + offsets  # (B, T)
        xb, yb = train_ids[idx], train_ids[idx + 1]  # (B, T) each
        lr = lr_at(step, settings, 0.0 if limit is None
                   else (time.perf_counter() - loop_start) / limit)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
            loss = model.loss(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        step += 1
        window_tokens += xb.numel()
        now = time.perf_counter()
        tps = window_tokens / max(now - window_start, 1e-9)
        if window_tokens >= 20 * xb.numel():
            window_start, window_tokens = now, 0
        loss_value = loss.item()
        yield StepEvent(step, settings.steps, loss_value, lr, tps, now - started)
        if step % settings.eval_every == 0 or step == settings.steps:
            val_loss = evaluate()
            history.append({"step": step, "train_loss": round(evaluate(train_x, train_y), 4),
                            "batch_loss": round(loss_value, 4), "val_loss": round(val_loss, 4),
                            "seconds": round(now - started, 1)})
            yield EvalEvent(step, val_loss, math.exp(val_loss))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            _save_checkpoint(ckpt, model, optimizer, batch_rng, step, settings, history,
                             runs_so_far())
            yield CheckpointEvent(step, str(ckpt))

    yield PrepareEvent(f"final evaluation on {settings.final_eval_windows} windows each "
                       "of held-out and training text")
    final_vx, final_vy = windows(val_ids, T, settings.final_eval_windows)
    final_tx, final_ty = windows(train_ids, T, settings.final_eval_windows)
    val_loss = evaluate(final_vx, final_vy)
    train_loss = evaluate(final_tx, final_ty)
    val_bytes = len(val_text.encode("utf-8"))
    bits_per_byte = val_loss * len(val_ids) / val_bytes / math.log(2)
    model.eval()
    save_dtype = getattr(torch, settings.save_dtype)
    save_model(model, out, dtype=None if save_dtype == torch.float32 else save_dtype)
    shutil.copyfile(tok_path, out / TOKENIZER_FILE)
    card = {
        "name": out.name,
        "kind": "GPT (decoder-only transformer, GPT-2 architecture)",
        "parameters": model.num_params(),
        "config": asdict(config),
        "tokenizer": {"kind": "bpe", "file": TOKENIZER_FILE, "name": tokenizer.name,
                      "source": tok_path.name, "vocab_size": tokenizer.vocab_size},
        "corpus": corpus_description,
        "train_tokens": len(train_ids),
        "val_tokens": len(val_ids),
        "steps": step,
        "steps_planned": settings.steps,
        "stopped_early": stopped_early,
        "tokens_seen": step * settings.batch_size * T,
        "epochs": round(step * settings.batch_size * T / len(train_ids), 2),
        "seed": settings.seed,
        "batch_size": settings.batch_size,
        "optimizer": {"name": "AdamW", "lr": settings.lr, "min_lr": settings.min_lr,
                      "warmup": settings.warmup, "weight_decay": settings.weight_decay,
                      "betas": [0.9, 0.95], "grad_clip": settings.grad_clip,
                      "schedule": "linear warm-up, cosine decay"},
        "val_loss": round(val_loss, 4),
        "perplexity": round(math.exp(val_loss), 2),
        "train_loss": round(train_loss, 4),
        "generalization_gap": round(val_loss - train_loss, 4),
        "bits_per_byte": round(bits_per_byte, 4),
        "val_bytes": val_bytes,
        "val_bytes_per_token": round(val_bytes / len(val_ids), 4),
        "final_eval": {"windows": int(final_vx.shape[0]), "tokens_per_window": T,
                       "what": "mean next-token loss (nats) over evenly spread windows; "
                               "bits per byte = loss x held-out tokens / held-out bytes / ln 2"},
        "bf16_autocast": settings.bf16,
        "history": history,
        "weights_dtype": settings.save_dtype,
        "train_seconds": round(sum(r["seconds"] or 0 for r in runs_so_far()), 1),
        "runs": runs_so_far(),
        "torch": torch.__version__,
        "command": settings.command,
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    yield DoneEvent(step, val_loss, math.exp(val_loss), str(out), card)


def windows(ids: Any, block: int, n: int) -> tuple[Any, Any]:
    """At most ``n`` evenly spread (input, target) windows of ``block`` tokens."""
    import torch

    count = max(1, min(n, (len(ids) - 1) // block))
    starts = torch.linspace(0, len(ids) - block - 1, count).long().tolist()
    x = torch.stack([ids[s:s + block] for s in starts])  # (count, block)
    y = torch.stack([ids[s + 1:s + block + 1] for s in starts])  # (count, block)
    return x, y


def mean_loss(model: Any, x: Any, y: Any, batch_size: int) -> float:
    """Mean next-token loss (nats) of ``model`` over windows ``x`` -> ``y``, in float32."""
    import torch

    was_training = model.training
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            total += float(model.loss(xb, yb)) * len(xb)
    model.train(was_training)
    return total / len(x)


def _save_checkpoint(ckpt: Path, model: Any, optimizer: Any, batch_rng: Any, step: int,
                     settings: TrainSettings, history: list[dict], runs: list[dict]) -> None:
    from safetensors.torch import save_file

    from genai_tui.models.gpt import save_model

    ckpt.mkdir(parents=True, exist_ok=True)
    save_model(model, ckpt)  # float32
    opt_state = optimizer.state_dict()
    tensors = {"batch_rng": batch_rng.get_state()}
    for index, per_param in opt_state["state"].items():
        for key, value in per_param.items():
            tensors[f"state.{index}.{key}"] = value.detach().clone().contiguous()
    tmp = ckpt / "optimizer.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, ckpt / "optimizer.safetensors")
    groups = [{k: v for k, v in g.items()} for g in opt_state["param_groups"]]
    state = {"step": step, "settings": asdict(settings), "param_groups": groups,
             "history": history, "runs": runs}
    tmp_json = ckpt / "state.json.tmp"
    tmp_json.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_json, ckpt / "state.json")


def _first_run(state: dict, out: Path) -> dict:
    """Describe the run that wrote a checkpoint from before runs were recorded."""
    seconds = None
    try:
        seconds = json.loads((out / CARD_FILE).read_text(encoding="utf-8")).get("train_seconds")
    except (OSError, ValueError):
        pass
    return {"command": state["settings"].get("command", ""), "from_step": 0,
            "to_step": state["step"], "seconds": seconds}


def _load_checkpoint(ckpt: Path, model: Any, optimizer: Any, batch_rng: Any) -> int:
    from safetensors.torch import load_file

    from genai_tui.errors import AssetError
    from genai_tui.models.gpt import WEIGHTS_FILE, load_state

    try:
        state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
        load_state(model, load_file(str(ckpt / WEIGHTS_FILE)))
        tensors = load_file(str(ckpt / "optimizer.safetensors"))
    except Exception as e:  # noqa: BLE001 - any corruption is the same problem for the user
        raise AssetError(f"checkpoint in {str(ckpt)!r} is unreadable: "
                         f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    per_param: dict[int, dict] = {}
    for name, t in tensors.items():
        if name.startswith("state."):
            _, index, key = name.split(".", 2)
            per_param.setdefault(int(index), {})[key] = t
    optimizer.load_state_dict({"state": per_param, "param_groups": state["param_groups"]})
    batch_rng.set_state(tensors["batch_rng"])
    return int(state["step"])
