"""The model a lifecycle stage trains, held in memory, and the pieces every
stage's loop shares (optimizer, batches, evaluation, samples, saving).

A `Trainee` is a float32 `GPT` and its tokenizer. `Trainee.bundled()` is a
private copy of the bundled language model (never the shared instance the
Generate pane uses), `Trainee.fresh()` a new model with random weights.
`Trainee.save(folder)` writes a model folder (``model.safetensors`` float16,
``config.json``, ``tokenizer.bpe``, ``card.json``) that
`genai_tui.service.generate.load_model` loads, so the Generate pane can pick it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from genai_tui.errors import UserError
from genai_tui.service.generate import CARD_FILE, LanguageModel, generate
from genai_tui.service.train_lm import TOKENIZER_FILE, mean_loss, windows
from genai_tui.textsafe import escape_controls

__all__ = ["Trainee", "adamw", "random_batch", "windows", "mean_loss", "encode_split"]


class Trainee:
    """A trainable language model in memory: ``model`` (float32 `GPT`) and ``tokenizer``."""

    def __init__(self, model: Any, tokenizer: Any, card: dict | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.card: dict = dict(card or {})
        """What the weights are so far: their origin and each stage they went through
        (``card["stages"]``); `save` writes it as the folder's card."""
        self.card.setdefault("stages", [])
        self._lm: LanguageModel | None = None

    # -- making one ------------------------------------------------------------

    @classmethod
    def bundled(cls, path: str | Path | None = None) -> Trainee:
        """A private, trainable copy of a model folder (default: the bundled model)."""
        from genai_tui.service.generate import default_model_dir, load_model

        lm = load_model(Path(path) if path is not None else default_model_dir())
        card = {"name": f"{lm.name}-tuned", "base": lm.name,
                "kind": lm.card.get("kind", "GPT (decoder-only transformer)"),
                "tokenizer": lm.card.get("tokenizer"), "base_card": {
                    k: lm.card[k] for k in ("corpus", "steps", "val_loss", "bits_per_byte")
                    if k in lm.card}}
        return cls(lm.model, lm.tokenizer, card)

    @classmethod
    def fresh(cls, *, n_layer: int, n_head: int, n_embd: int, block_size: int,
              seed: int, tokenizer: Any = None) -> Trainee:
        """A GPT with random weights (seeded) over ``tokenizer`` (default: the bundled
        model's tokenizer, `genai-bpe-src-4k`)."""
        import torch

        from genai_tui.models.gpt import GPT, GPTConfig

        if tokenizer is None:
            tokenizer = tokenizer_named("bpe")
        if n_embd % n_head:
            raise UserError(f"width {n_embd} must be divisible by heads {n_head}")
        config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size,
                           n_layer=n_layer, n_head=n_head, n_embd=n_embd)
        torch.manual_seed(seed)
        model = GPT(config)
        card = {"name": "pretrained-live", "kind": "GPT (decoder-only transformer, GPT-2 "
                "architecture)", "origin": f"random weights (seed {seed})",
                "tokenizer": {"kind": "byte"} if is_byte_level(tokenizer) else
                {"kind": "bpe", "file": TOKENIZER_FILE, "name": tokenizer.name}}
        return cls(model, tokenizer, card)

    # -- using it ----------------------------------------------------------------

    @property
    def block_size(self) -> int:
        return self.model.config.block_size

    def num_params(self) -> int:
        return self.model.num_params()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def language_model(self) -> LanguageModel:
        """The weights as a `LanguageModel` (shares the tensors: it sees every update)."""
        if self._lm is None:
            self._lm = LanguageModel(self.model, self.tokenizer, self.card)
        return self._lm

    def sample(self, prompt: str, *, max_tokens: int = 48, seed: int = 0,
               temperature: float = 0.8, greedy: bool = False,
               stop: tuple[str, ...] = ()) -> str:
        """What the current weights write after ``prompt`` (the same seed gives the
        same text for the same weights). Leaves the model in the mode it was in."""
        from genai_tui.sampling.knobs import Knobs

        was_training = self.model.training
        self.model.eval()
        try:
            knobs = Knobs(temperature=temperature, top_k=40 if not greedy else 0,
                          max_tokens=max_tokens, seed=seed, greedy=greedy, stop=stop)
            steps = generate(prompt, knobs, self.language_model(), top_n=0, speculative=False)
            return "".join(step.token for step in steps)
        finally:
            self.model.train(was_training)

    def record(self, stage: str, **facts: Any) -> None:
        """Add a stage the weights went through to the card."""
        self.card["stages"].append({"stage": stage, **facts})

    def save(self, folder: str | Path, *, name: str | None = None) -> Path:
        """Write the model folder (float16 weights); returns it. `UserError` when
        the folder cannot be written."""
        import torch

        from genai_tui.models.gpt import save_model

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{escape_controls(str(folder), False)!r} exists and is not a folder")
        card = dict(self.card)
        card["name"] = name or folder.name
        card["parameters"] = self.num_params()
        card["config"] = asdict(self.model.config)
        byte_level = is_byte_level(self.tokenizer)
        card["tokenizer"] = ({"kind": "byte", "vocab_size": 256} if byte_level else
                             {"kind": "bpe", "file": TOKENIZER_FILE, "name": self.tokenizer.name,
                              "vocab_size": self.tokenizer.vocab_size})
        card["weights_dtype"] = "float16"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            save_model(self.model, folder, dtype=torch.float16)
            if not byte_level:
                self.tokenizer.save(folder / TOKENIZER_FILE)
            (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise UserError(f"cannot save the model to {escape_controls(str(folder), False)!r}: "
                            f"{e.strerror or e}") from None
        return folder


def is_byte_level(tokenizer: Any) -> bool:
    from genai_tui.tokenizers.simple import ByteTokenizer

    return isinstance(tokenizer, ByteTokenizer)


def tokenizer_named(name: str) -> Any:
    """"byte" (256 ids, one per byte) or "bpe" (the bundled model's 4096-token BPE)."""
    if name == "byte":
        from genai_tui.tokenizers.simple import ByteTokenizer

        return ByteTokenizer()
    if name == "bpe":
        from genai_tui.service.generate import default_model_dir
        from genai_tui.tokenizers.bpe import BPETokenizer

        return BPETokenizer.load(default_model_dir() / TOKENIZER_FILE)
    raise UserError(f"tokenizer must be 'byte' or 'bpe', got {escape_controls(name, False)!r}")


def adamw(model: Any, lr: float, weight_decay: float = 0.1) -> Any:
    """AdamW with weight decay on matrices only (not biases, norms), betas (0.9, 0.95)."""
    import torch

    decay = [p for p in model.parameters() if p.dim() >= 2 and p.requires_grad]
    no_decay = [p for p in model.parameters() if p.dim() < 2 and p.requires_grad]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def random_batch(ids: Any, block: int, batch: int, generator: Any) -> tuple[Any, Any]:
    """``batch`` random (input, next-token target) windows of ``block`` tokens: (B, T) each."""
    import torch

    starts = torch.randint(0, len(ids) - block - 1, (batch,), generator=generator)
    idx = starts.unsqueeze(1) + torch.arange(block)  # (B, T)
    return ids[idx], ids[idx + 1]


def optimizer_step(model: Any, optimizer: Any, loss_fn: Callable[..., Any], *inputs: Any,
                   lr: float, grad_clip: float = 1.0, bf16: bool | None = False) -> float:
    """One step: ``loss_fn(*inputs)`` (optionally under bfloat16 autocast; None: where
    the CPU has it natively), backward, clip, update. Returns the loss."""
    import torch

    from genai_tui.service.runtime import use_bf16

    for group in optimizer.param_groups:
        group["lr"] = lr
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16(bf16)):
        loss = loss_fn(*inputs)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach())


def encode_split(tokenizer: Any, train_text: str, val_text: str, block: int
                 ) -> tuple[Any, Any]:
    """Token tensors of the two texts; `UserError` when either is too short for
    one window of ``block`` tokens."""
    import torch

    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    need = block + 2
    if len(train_ids) < need or len(val_ids) < need:
        raise UserError(f"text too short: {len(train_ids)} training and {len(val_ids)} "
                        f"held-out tokens, each side needs at least {need} (block {block})")
    return train_ids, val_ids
