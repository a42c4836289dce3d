"""A small encoder-decoder transformer (Vaswani et al. 2017) in plain PyTorch.

The encoder reads the whole input with *bidirectional* self-attention (every
input position sees every other, padding excepted); the decoder has *causal*
self-attention over the output so far plus *cross-attention*, whose queries
come from the decoder and whose keys and values come from the encoder's
output ("memory"), section 3.2.3 of the paper.

Choices (see docs/ARCHITECTURE.md):

- Pre-LN blocks, ``x + sublayer(LN(x))``, with a final LayerNorm on each
  stack (Xiong et al. 2020; trains without warm-up tricks at this size),
  instead of the paper's post-LN.
- Sinusoidal positions (paper section 3.5): nothing learned, defined for any
  length, identical for encoder and decoder.
- One character vocabulary and one embedding table shared by the encoder
  input, the decoder input and the output projection (tied, Press & Wolf
  2017): the task copies characters (digits) from input to output.
- Attention probabilities are computed explicitly when ``trace=True`` (for the
  pane); otherwise through ``F.scaled_dot_product_attention``.

Weights are safetensors plus ``config.json``; nothing is pickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
FIRST_CHAR = 32  # printable ASCII: " " .. "~"
N_CHARS = 95


class CharVocab:
    """Printable ASCII characters plus four specials. Other characters map to ``<unk>``."""

    size = len(SPECIALS) + N_CHARS

    @staticmethod
    def encode(text: str) -> list[int]:
        return [len(SPECIALS) + ord(c) - FIRST_CHAR if FIRST_CHAR <= ord(c) < FIRST_CHAR + N_CHARS
                else UNK for c in text]

    @staticmethod
    def token(i: int) -> str:
        """Text of one id; specials as their names."""
        if i < len(SPECIALS):
            return SPECIALS[i]
        return chr(FIRST_CHAR + i - len(SPECIALS))

    @classmethod
    def decode(cls, ids: list[int]) -> str:
        return "".join(cls.token(i) for i in ids if i >= len(SPECIALS) or i == UNK)


@dataclass
class Seq2SeqConfig:
    """Shape of the encoder-decoder. Saved as ``config.json`` beside the weights."""

    vocab_size: int = CharVocab.size
    """Token ids (shared by source and target)."""
    d_model: int = 128
    """Width of the residual stream."""
    n_head: int = 4
    """Attention heads per attention layer."""
    n_enc_layer: int = 2
    """Encoder blocks."""
    n_dec_layer: int = 2
    """Decoder blocks."""
    d_ff: int = 512
    """Hidden width of each feed-forward sublayer."""
    max_src_len: int = 64
    """Longest input (characters) accepted."""
    max_tgt_len: int = 16
    """Longest output generated (tokens, <eos> included)."""
    dropout: float = 0.0
    """Dropout during training (0 at inference)."""

    def __post_init__(self) -> None:
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_head {self.n_head}")
        for name in ("vocab_size", "d_model", "n_head", "n_enc_layer", "n_dec_layer", "d_ff",
                     "max_src_len", "max_tgt_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Seq2SeqConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown Seq2SeqConfig fields: {sorted(unknown)}")
        return cls(**data)


@dataclass
class Seq2SeqTrace:
    """Attention probabilities of one forward pass, per layer."""

    encoder: list[torch.Tensor]
    """Encoder self-attention, (B, nh, S, S): bidirectional (padding keys at 0)."""
    decoder: list[torch.Tensor]
    """Decoder self-attention, (B, nh, T, T): causal (upper triangle at 0)."""
    cross: list[torch.Tensor]
    """Cross-attention, (B, nh, T, S): output positions over input positions."""


def sinusoidal_positions(n: int, d: int) -> torch.Tensor:
    """(n, d): PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...) (paper 3.5)."""
    pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)  # (n, 1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe


class Attention(nn.Module):
    """Multi-head attention; queries from ``x``, keys/values from ``kv``."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.q = nn.Linear(config.d_model, config.d_model)
        self.kv = nn.Linear(config.d_model, 2 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, kv: torch.Tensor, allowed: torch.Tensor,
                trace: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``allowed``: boolean, broadcastable to (B, nh, T, S); True where a query may look."""
        B, T, C = x.shape
        S = kv.shape[1]
        nh, hs = self.n_head, C // self.n_head
        q = self.q(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k, v = self.kv(kv).split(C, dim=2)  # each (B, S, C)
        k = k.view(B, S, nh, hs).transpose(1, 2)  # (B, nh, S, hs)
        v = v.view(B, S, nh, hs).transpose(1, 2)  # (B, nh, S, hs)
        if trace is not None:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, S)
            att = F.softmax(att.masked_fill(~allowed, float("-inf")), dim=-1)
            trace.append(att)
            y = att @ v  # (B, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.proj(y)


class FeedForward(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.d_model, config.d_ff)
        self.out = nn.Linear(config.d_ff, config.d_model)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.out(F.gelu(self.fc(x))))  # (B, T, C)


class EncoderBlock(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = Attention(config)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.ff = FeedForward(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor,
                trace: list[torch.Tensor] | None) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.drop(self.attn(h, h, allowed, trace))  # bidirectional
        return x + self.ff(self.ln_2(x))


class DecoderBlock(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.self_attn = Attention(config)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.cross_attn = Attention(config)
        self.ln_3 = nn.LayerNorm(config.d_model)
        self.ff = FeedForward(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, causal: torch.Tensor,
                src_allowed: torch.Tensor, trace: Seq2SeqTrace | None) -> torch.Tensor:
        h = self.ln_1(y)
        y = y + self.drop(self.self_attn(h, h, causal, trace.decoder if trace else None))
        y = y + self.drop(self.cross_attn(self.ln_2(y), memory, src_allowed,
                                          trace.cross if trace else None))
        return y + self.ff(self.ln_3(y))


class Seq2Seq(nn.Module):
    """Encoder-decoder: source ids (B, S) and target-so-far ids (B, T) -> logits (B, T, vocab)."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)  # shared everywhere
        n_pos = max(config.max_src_len, config.max_tgt_len + 1)
        self.register_buffer("pos", sinusoidal_positions(n_pos, config.d_model), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.encoder = nn.ModuleList([EncoderBlock(config) for _ in range(config.n_enc_layer)])
        self.ln_enc = nn.LayerNorm(config.d_model)
        self.decoder = nn.ModuleList([DecoderBlock(config) for _ in range(config.n_dec_layer)])
        self.ln_dec = nn.LayerNorm(config.d_model)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        # scaled by sqrt(d_model) as in the paper (3.4), so positions do not drown the tokens
        return self.drop(self.embed(ids) * math.sqrt(self.config.d_model) + self.pos[:T])

    def encode(self, src: torch.Tensor, trace: Seq2SeqTrace | None = None) -> torch.Tensor:
        """Source ids (B, S), ``PAD`` after the end -> memory (B, S, C)."""
        if src.shape[1] > self.config.max_src_len:
            raise ValueError(f"input of {src.shape[1]} tokens exceeds max_src_len "
                             f"{self.config.max_src_len}")
        allowed = (src != PAD)[:, None, None, :]  # (B, 1, 1, S): no query looks at padding
        x = self._embed(src)  # (B, S, C)
        for block in self.encoder:
            x = block(x, allowed, trace.encoder if trace else None)  # (B, S, C)
        return self.ln_enc(x)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src: torch.Tensor,
               trace: Seq2SeqTrace | None = None) -> torch.Tensor:
        """Target ids so far (B, T), starting with ``BOS``; memory (B, S, C) from
        `encode` of ``src`` (B, S) -> next-token logits after each position (B, T, vocab)."""
        T = tgt.shape[1]
        if T > self.config.max_tgt_len + 1:
            raise ValueError(f"target of {T} tokens exceeds max_tgt_len {self.config.max_tgt_len}")
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt.device).tril()  # (T, T)
        src_allowed = (src != PAD)[:, None, None, :]  # (B, 1, 1, S)
        y = self._embed(tgt)  # (B, T, C)
        for block in self.decoder:
            y = block(y, memory, causal, src_allowed, trace)  # (B, T, C)
        return self.ln_dec(y) @ self.embed.weight.t()  # tied output projection: (B, T, vocab)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, *, trace: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, Seq2SeqTrace]:
        tr = Seq2SeqTrace([], [], []) if trace else None
        logits = self.decode(tgt, self.encode(src, tr), src, tr)
        return (logits, tr) if tr is not None else logits

    def loss(self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of ``tgt_out`` (B, T) (``PAD`` ignored) given source and
        the shifted target ``tgt_in`` (teacher forcing)."""
        logits = self(src, tgt_in)  # (B, T, vocab)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1),
                               ignore_index=PAD)


def pad_batch(seqs: list[list[int]], length: int | None = None) -> torch.Tensor:
    """Right-pad id lists with ``PAD`` into (B, length)."""
    n = length if length is not None else max(len(s) for s in seqs)
    out = torch.full((len(seqs), n), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: torch.Tensor, max_len: int | None = None) -> list[list[int]]:
    """Batch greedy decoding: source (B, S) -> output ids per row (without BOS/EOS)."""
    n = max_len if max_len is not None else model.config.max_tgt_len
    memory = model.encode(src)  # (B, S, C)
    B = src.shape[0]
    tgt = torch.full((B, 1), BOS, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    for _ in range(n):
        nxt = model.decode(tgt, memory, src)[:, -1].argmax(-1)  # (B,)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        tgt = torch.cat([tgt, nxt[:, None]], dim=1)
        done |= nxt == EOS
        if bool(done.all()):
            break
    out = []
    for row in tgt[:, 1:].tolist():
        ids = []
        for i in row:
            if i in (EOS, PAD):
                break
            ids.append(i)
        out.append(ids)
    return out


# -- saving and loading ----------------------------------------------------------

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def save_model(model: Seq2Seq, directory: str | Path, dtype: torch.dtype | None = None) -> None:
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v)
             .detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE),
              metadata={"format": "pt", "architecture": "genai-tui Seq2Seq"})
    (directory / CONFIG_FILE).write_text(model.config.to_json(), encoding="utf-8")


def load_model(directory: str | Path) -> Seq2Seq:
    """Read ``config.json`` + ``model.safetensors`` (strict); OSError/ValueError on bad files."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config = Seq2SeqConfig.from_dict(
        json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8")))
    model = Seq2Seq(config)
    tensors = load_file(str(directory / WEIGHTS_FILE))
    own = model.state_dict()
    missing, unexpected = set(own) - set(tensors), set(tensors) - set(own)
    if missing or unexpected:
        raise ValueError(f"weights do not match the config: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]}")
    with torch.no_grad():
        for name, t in tensors.items():
            if own[name].shape != t.shape:
                raise ValueError(f"{name}: shape {tuple(t.shape)} != {tuple(own[name].shape)}")
            own[name].copy_(t.to(own[name].dtype))
    return model.eval()
