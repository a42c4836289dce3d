"""A small decoder-only transformer (GPT-2 architecture) in plain PyTorch.

Pre-norm blocks: ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))`` (Radford et al.
2019, "Language Models are Unsupervised Multitask Learners", section 2.3),
learned positional embeddings, GELU (tanh approximation) and LayerNorm with
eps 1e-5 exactly as GPT-2, and an output projection tied to the token
embedding (Press & Wolf 2017). Parameter names follow nanoGPT / GPT-2
(``transformer.h.0.attn.c_attn.weight``...), so the weights convert to Hugging
Face's ``GPT2LMHeadModel`` by transposing the ``Conv1D`` matrices
(`to_hf_gpt2_state_dict`).

Generation uses a preallocated key/value cache (`KVCache`): each new token
costs one forward pass over one position. ``forward(..., trace=True)`` also
returns every layer's attention probabilities and residual stream (for the
attention view and the logit lens); without it, attention runs through
``F.scaled_dot_product_attention``.

Weights are stored as safetensors plus ``config.json`` (the `GPTConfig`);
nothing is pickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from genai_tui.models.fastlinear import Linear, few_row_linear, fused_decode


@dataclass
class GPTConfig:
    """Shape of the transformer. Saved as ``config.json`` beside the weights."""

    vocab_size: int = 4096
    """Number of token ids (the tokenizer's vocabulary size)."""
    block_size: int = 256
    """Longest context the model sees (number of learned positions)."""
    n_layer: int = 4
    """Number of transformer blocks."""
    n_head: int = 4
    """Attention heads per block; ``n_embd`` must be divisible by it."""
    n_embd: int = 256
    """Width of the residual stream (d_model)."""
    dropout: float = 0.0
    """Dropout probability during training (0 at inference)."""
    bias: bool = True
    """Biases in Linear and LayerNorm layers (GPT-2 has them)."""

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown GPTConfig fields: {sorted(unknown)}")
        return cls(**data)


class KVCache:
    """Keys and values of every position seen so far, preallocated for
    ``block_size`` positions so no step allocates or concatenates."""

    def __init__(self, config: GPTConfig, batch: int = 1, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> None:
        shape = (config.n_layer, batch, config.n_head, config.block_size, config.head_size)
        self.k = _zeros(shape, dtype, device)  # (L, B, nh, Tmax, hs)
        self.v = _zeros(shape, dtype, device)  # (L, B, nh, Tmax, hs)
        self.pos = 0
        """Number of positions filled."""
        self.capacity = config.block_size

    def reset(self) -> None:
        self.pos = 0


def _zeros(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """``torch.zeros``, but on the CPU without PyTorch's threads: with two of
    them, the parallel fill of a new cache waited milliseconds for a thread
    the OS had not scheduled on a busy machine (~15% of a 200-token
    generation). numpy's zeros come from calloc: no fill, no threads."""
    if torch.device(device).type == "cpu" and dtype == torch.float32:
        import numpy as np

        return torch.from_numpy(np.zeros(shape, dtype=np.float32))
    return torch.zeros(shape, dtype=dtype, device=device)


@dataclass
class Trace:
    """What ``forward(..., trace=True)`` collects, for the attention view and the logit lens."""

    attention: list[torch.Tensor]
    """Per layer: attention probabilities, (B, nh, T, S) with S = cached + new positions."""
    residuals: list[torch.Tensor]
    """Residual stream (B, T, C): after the embeddings, then after each block
    (``n_layer + 1`` entries; the last one is before ``ln_f``)."""


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, layer: int = 0, cache: KVCache | None = None,
                trace: Trace | None = None) -> torch.Tensor:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        start = 0
        if cache is not None:
            start = cache.pos
            end = start + T
            cache.k[layer, :, :, start:end] = k
            cache.v[layer, :, :, start:end] = v
            k = cache.k[layer, :, :, :end]  # (B, nh, S, hs), S = start + T
            v = cache.v[layer, :, :, :end]  # (B, nh, S, hs)
        S = k.shape[2]
        if trace is not None:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, S)
            att = att.masked_fill(~_causal_mask(T, S, start, x.device), float("-inf"))
            att = F.softmax(att, dim=-1)  # (B, nh, T, S)
            trace.attention.append(att)
            y = att @ v  # (B, nh, T, hs)
        else:
            dropout = self.dropout if self.training else 0.0
            if T == 1:  # one new query sees every cached key: no mask
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
            elif start == 0:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
            else:  # several new queries after a cached prefix: mask aligned bottom-right
                y = F.scaled_dot_product_attention(
                    q, k, v, attn_mask=_causal_mask(T, S, start, x.device), dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


def _causal_mask(T: int, S: int, start: int, device: torch.device) -> torch.Tensor:
    """(T, S) boolean: query i (absolute position start + i) may see key j <= start + i."""
    q_pos = torch.arange(start, start + T, device=device).unsqueeze(1)  # (T, 1)
    k_pos = torch.arange(S, device=device).unsqueeze(0)  # (1, S)
    return k_pos <= q_pos


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.c_fc(x), approximate="tanh")  # (B, T, 4C); GPT-2's "gelu_new"
        return self.dropout(self.c_proj(x))  # (B, T, C)


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=1e-5, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=1e-5, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, layer: int = 0, cache: KVCache | None = None,
                trace: Trace | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), layer, cache, trace)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Decoder-only transformer: token ids (B, T) -> next-token logits (B, T, vocab)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, eps=1e-5, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied (Press & Wolf 2017)
        self._native_kernels = True
        self.apply(self._init_weights)
        # GPT-2 scales the residual projections by 1/sqrt(2 * n_layer).
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @property
    def native_kernels(self) -> bool:
        """Let `decode` use the native float16-weight kernel where it computes
        with exactly the same weights (see `fastlinear`); on by default."""
        return self._native_kernels

    @native_kernels.setter
    def native_kernels(self, on: bool) -> None:
        if bool(on) != self._native_kernels:  # the prepared weights differ: rebuild them
            self._native_kernels = bool(on)
            self.__dict__.pop("_fast", None)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameter count (the tied head counted once); optionally without position embeddings."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def new_cache(self, batch: int = 1) -> KVCache:
        w = self.transformer.wte.weight
        return KVCache(self.config, batch, dtype=w.dtype, device=w.device)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, *,
                last_only: bool = False, trace: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, Trace]:
        """Logits for the next token after each position of ``idx`` (B, T).

        With ``cache``, ``idx`` holds only the new positions; their keys and
        values are appended and ``cache.pos`` advances. ``last_only`` computes
        logits for the last position only (B, 1, vocab): what generation needs.
        ``trace=True`` returns ``(logits, Trace)`` with attention probabilities
        and residuals (slower: attention is computed explicitly).
        """
        B, T = idx.shape
        start = cache.pos if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(
                f"sequence of {start + T} positions exceeds block_size {self.config.block_size}")
        tr = Trace(attention=[], residuals=[]) if trace else None
        pos_emb = self.transformer.wpe.weight[start:start + T]  # (T, C)
        x = self.transformer.drop(self.transformer.wte(idx) + pos_emb)  # (B, T, C)
        if tr is not None:
            tr.residuals.append(x)
        for i, block in enumerate(self.transformer.h):
            x = block(x, i, cache, tr)  # (B, T, C)
            if tr is not None:
                tr.residuals.append(x)
        if cache is not None:
            cache.pos = start + T
        if last_only:
            x = x[:, -1:, :]  # (B, 1, C)
        logits = self.lm_head(self.transformer.ln_f(x))  # (B, T or 1, vocab)
        return (logits, tr) if tr is not None else logits

    def decode(self, ids: torch.Tensor, cache: KVCache, last_only: bool = False) -> torch.Tensor:
        """Fast path for generation: new token ids (T,) of one sequence through
        the cache; returns the next-token logits after each of them, (T, vocab)
        (``last_only``: after the last one only, (1, vocab)).

        The same arithmetic as ``forward(ids[None], cache)`` (tested to match),
        arranged for a few positions: activations stay 2-D (T, C), the
        projections are `fastlinear.few_row_linear` products (the native
        float16-weight kernel when the weights are exactly float16, as the
        bundled model's are; else ``addmm`` on pre-transposed copies), with no
        ``nn.Module`` calls or no-op dropouts. T = 1 is ordinary decoding;
        T > 1 verifies a speculative draft in one pass (each weight matrix is
        read once for all T rows). Inference only; the prepared weights are
        rebuilt by `refresh_fast_weights` (IncrementalDecoder calls it) when
        the parameters changed. ``native_kernels = False`` keeps to PyTorch.
        """
        cfg = self.config
        T, pos = ids.shape[0], cache.pos
        end = pos + T
        if end > cache.capacity:
            raise ValueError(f"{end} positions exceed block_size {cfg.block_size}")
        fused = self._fused()
        if (fused is not None and T <= fused.max_rows and ids.dtype == torch.long
                and cache.k.dtype == torch.float32 and cache.k.shape[1] == 1
                and cache.k.is_contiguous() and cache.v.is_contiguous()):
            # the whole pass in one native call (fastlinear.FusedDecode)
            logits = torch.empty(1 if last_only else T, cfg.vocab_size)
            fused(ids.contiguous(), cache.k, cache.v, pos, logits, torch.get_num_threads(),
                  last_only)
            cache.pos = end
            return logits
        C, nh = cfg.n_embd, cfg.n_head
        hs = C // nh
        wte, wpe, (lnf_w, lnf_b), head, layers = self._fast_weights()
        x = wte[ids] + wpe[pos:end]  # (T, C)
        mask = None  # additive: -inf where query i (position pos + i) may not look
        if T > 1:
            mask = torch.zeros(T, end).masked_fill_(~_causal_mask(T, end, pos, ids.device),
                                                     float("-inf"))
        scale = 1.0 / math.sqrt(hs)
        eps = 1e-5
        for layer, (ln1_w, ln1_b, qkv_proj, out_proj, ln2_w, ln2_b, fc, mlp_proj) in enumerate(
                layers):
            h = F.layer_norm(x, (C,), ln1_w, ln1_b, eps)  # (T, C)
            qkv = qkv_proj(h)  # (T, 3C)
            q, k, v = qkv.view(T, 3, nh, hs).permute(1, 2, 0, 3).unbind(0)  # each (nh, T, hs)
            keys, values = cache.k[layer, 0], cache.v[layer, 0]  # (nh, Tmax, hs)
            keys[:, pos:end] = k
            values[:, pos:end] = v
            # Attention by hand: for a few queries two bmm's beat SDPA's fused
            # CPU kernel (~8 vs ~30 us a layer in the loop).
            k_t = keys[:, :end].transpose(1, 2)  # (nh, hs, end)
            if mask is None:
                att = torch.bmm(q, k_t).mul_(scale)  # (nh, T, end)
            else:
                att = torch.baddbmm(mask, q, k_t, alpha=scale)
            y = torch.bmm(torch.softmax(att, dim=-1), values[:, :end])  # (nh, T, hs)
            x = x + out_proj(y.transpose(0, 1).reshape(T, C))  # heads concatenated: (T, C)
            h = F.layer_norm(x, (C,), ln2_w, ln2_b, eps)
            h = F.gelu(fc(h), approximate="tanh")  # (T, 4C)
            x = x + mlp_proj(h)  # (T, C)
        cache.pos = end
        if last_only:
            x = x[-1:]  # (1, C)
        x = F.layer_norm(x, (C,), lnf_w, lnf_b, eps)  # (T or 1, C)
        return head(x)  # (T or 1, vocab)

    def _params_version(self) -> tuple:
        return tuple(p._version for p in self.parameters()) + (
            id(self.transformer.wte.weight), self.native_kernels)

    def refresh_fast_weights(self) -> None:
        """Rebuild `decode`'s prepared weights if any parameter changed."""
        fast = self.__dict__.get("_fast")
        if fast is None or fast[0] != self._params_version():
            self.__dict__.pop("_fast", None)
            self._fast_weights()

    def _fast_weights(self) -> tuple:
        fast = self.__dict__.get("_fast")
        if fast is None:
            tr = self.transformer
            native = self.native_kernels

            def linear(module: nn.Linear) -> Linear:
                return few_row_linear(module.weight.t(), module.bias, native)

            with torch.no_grad():
                layers = [
                    (b.ln_1.weight, b.ln_1.bias, linear(b.attn.c_attn), linear(b.attn.c_proj),
                     b.ln_2.weight, b.ln_2.bias, linear(b.mlp.c_fc), linear(b.mlp.c_proj))
                    for b in tr.h
                ]
                head = few_row_linear(tr.wte.weight.t(), None, native)
                weights = (tr.wte.weight, tr.wpe.weight, (tr.ln_f.weight, tr.ln_f.bias), head,
                           layers)
                fused = (fused_decode(self.config.n_head, self.config.block_size, *weights)
                         if tr.wte.weight.device.type == "cpu" else None)
            fast = (self._params_version(), weights, fused)
            self.__dict__["_fast"] = fast
        return fast[1]

    def _fused(self):
        """The native whole-pass decoder (`fastlinear.FusedDecode`), or None."""
        self._fast_weights()
        return self.__dict__["_fast"][2]

    def logit_lens(self, residual: torch.Tensor) -> torch.Tensor:
        """Read a residual stream (B, T, C) through the final norm and the
        unembedding (nostalgebraist's "logit lens"): (B, T, vocab) logits."""
        return self.lm_head(self.transformer.ln_f(residual))

    def loss(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per token) of ``targets`` (B, T) given ``idx`` (B, T)."""
        logits = self(idx)  # (B, T, vocab)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


# -- saving and loading (safetensors + config.json; never pickle) ------------

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def state_dict_for_saving(model: GPT, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Contiguous tensors without the tied duplicate (safetensors refuses shared storage)."""
    out = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to transformer.wte.weight
        t = tensor.detach()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[name] = t.contiguous()
    return out


def save_model(model: GPT, directory: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write ``model.safetensors`` (optionally cast, e.g. float16) and ``config.json``."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(state_dict_for_saving(model, dtype), str(directory / WEIGHTS_FILE),
              metadata={"format": "pt", "architecture": "genai-tui GPT"})
    (directory / CONFIG_FILE).write_text(model.config.to_json(), encoding="utf-8")


def load_state(model: GPT, tensors: dict[str, torch.Tensor]) -> None:
    """Load saved tensors (any float dtype) into ``model``'s float32 parameters, strictly."""
    expected = set(state_dict_for_saving(model))
    missing, unexpected = expected - set(tensors), set(tensors) - expected
    if missing or unexpected:
        raise ValueError(f"weights do not match the config: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]}")
    own = model.state_dict()
    for name, t in tensors.items():
        if own[name].shape != t.shape:
            raise ValueError(f"{name}: shape {tuple(t.shape)} != expected {tuple(own[name].shape)}")
    with torch.no_grad():
        for name, t in tensors.items():
            own[name].copy_(t.to(own[name].dtype))


def load_model(directory: str | Path, config: GPTConfig | None = None) -> GPT:
    """Read ``config.json`` (unless ``config`` is given) + ``model.safetensors``;
    raises OSError/ValueError on bad files."""
    from safetensors.torch import load_file

    directory = Path(directory)
    if config is None:
        config = GPTConfig.from_dict(
            json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8")))
    model = GPT(config)
    load_state(model, load_file(str(directory / WEIGHTS_FILE)))
    model.eval()
    return model


def to_hf_gpt2_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """The same weights under Hugging Face ``GPT2LMHeadModel`` names.

    HF's GPT-2 uses ``Conv1D`` (weight stored as (in, out)), so the four
    projection matrices per block are transposed.
    """
    transposed = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                  "mlp.c_proj.weight")
    out = {}
    for name, t in model.state_dict().items():
        out[name] = t.t().contiguous() if name.endswith(transposed) else t.clone()
    return out


def hf_gpt2_config_kwargs(config: GPTConfig) -> dict:
    """Keyword arguments for ``transformers.GPT2Config`` matching ``config``."""
    return dict(
        vocab_size=config.vocab_size, n_positions=config.block_size, n_embd=config.n_embd,
        n_layer=config.n_layer, n_head=config.n_head, activation_function="gelu_new",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
        tie_word_embeddings=True,
    )


class IncrementalDecoder:
    """Feeds a growing token sequence through a `KVCache`, one new token per step.

    When the cache is full, the oldest ``block_size - keep`` tokens are dropped
    and the remaining ``keep`` re-encoded into a fresh cache (a sliding
    window; learned positions cannot simply shift). ``context`` is always
    exactly what the cache holds, so ``model(context)[-1]`` equals the last
    logits (tested).
    """

    def __init__(self, model: GPT, keep: int | None = None) -> None:
        self.model = model
        block = model.config.block_size
        self.keep = max(1, min(block - 1, keep if keep is not None else block * 3 // 4))
        self.cache = model.new_cache()
        self.context: list[int] = []
        model.refresh_fast_weights()
        self._one = torch.zeros(1, dtype=torch.long)  # reused input for single steps

    def prefill(self, ids: list[int]) -> torch.Tensor:
        """Start from ``ids`` (their last ``keep`` if longer than ``block_size``);
        return the next-token logits (vocab,)."""
        if not ids:
            raise ValueError("prefill needs at least one token")
        block = self.model.config.block_size
        if len(ids) > block:
            ids = ids[-self.keep:]
        self.cache.reset()
        self.context = list(ids)
        fused = self.model._fused()
        if fused is not None:
            # the native pass, a chunk of rows at a time: no PyTorch threads (whose
            # barriers stall on a busy machine) and the same cache as `decode` fills
            flat = torch.tensor(self.context, dtype=torch.long)
            for start in range(0, len(flat), fused.max_rows):
                logits = self.model.decode(flat[start:start + fused.max_rows], self.cache,
                                           last_only=True)
            return logits[0]
        idx = torch.tensor([self.context], dtype=torch.long)  # (1, T)
        return self.model(idx, self.cache, last_only=True)[0, -1]

    def step(self, token: int) -> torch.Tensor:
        """Append one token; return the next-token logits (vocab,)."""
        if self.cache.pos >= self.cache.capacity:
            return self.prefill(self.context[-(self.keep - 1):] + [token])
        self.context.append(token)
        self._one.fill_(token)
        return self.model.decode(self._one, self.cache)[0]

    def room(self) -> int:
        """Positions the cache can still take before the window slides."""
        return self.cache.capacity - self.cache.pos

    def step_many(self, tokens: list[int]) -> torch.Tensor:
        """Append several tokens in one pass; return the logits after each, (T, vocab).
        They must fit (``len(tokens) <= room()``): a draft is cut to the room left."""
        if len(tokens) > self.room():
            raise ValueError(f"{len(tokens)} tokens do not fit the {self.room()} positions left")
        self.context.extend(tokens)
        return self.model.decode(torch.tensor(tokens, dtype=torch.long), self.cache)

    def rollback(self, n: int) -> None:
        """Forget the last ``n`` tokens (a rejected draft): their cache rows are
        simply overwritten by the next step."""
        if not 0 <= n <= len(self.context) - 1:
            raise ValueError(f"cannot roll back {n} of {len(self.context)} tokens")
        if n:
            del self.context[-n:]
            self.cache.pos -= n
