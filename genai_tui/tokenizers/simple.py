"""The two simplest tokenizers: one token per byte, one token per character.

Character file format (``*.chars``, UTF-8 text)::

    # comment lines start with '#'
    genai-chars 1                 <- magic word and format version
    "<JSON string of the vocabulary's characters, in id order>"

Character *i* of the string has id *i*; ids ``n .. n+255`` (n = number of
characters) are the 256 single bytes, used for any character outside the
vocabulary (its UTF-8 bytes), so every string round-trips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from genai_tui.errors import AssetError, UserError
from genai_tui.tokenizers.base import Tokenizer, write_text_file

CHARS_MAGIC = "genai-chars"
DEFAULT_CHARS_ASSET = "genai-chars.chars"


class ByteTokenizer(Tokenizer):
    """Token *i* is the byte *i*: UTF-8 with no merges at all."""

    kind = "byte"
    byte_level = True

    def __init__(self, name: str = "byte") -> None:
        self.name = name
        self.description = "raw UTF-8 bytes: 256 tokens, one per byte"

    @property
    def vocab_size(self) -> int:
        return 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8", errors="replace"))

    def encode_bytes(self, data: bytes) -> list[int]:
        return list(data)

    def decode_bytes(self, ids: list[int]) -> bytes:
        try:
            return bytes(ids)
        except ValueError:
            raise UserError("byte token ids are 0..255") from None

    def token_bytes(self, token_id: int) -> bytes:
        if not 0 <= token_id < 256:
            raise UserError(f"token id {token_id} is not a byte (0..255)")
        return bytes([token_id])

    def byte_token(self, byte: int) -> int:
        return byte


class CharTokenizer(Tokenizer):
    """One token per character of a fixed alphabet; other characters fall back
    to their UTF-8 bytes (ids after the alphabet), so nothing is lost."""

    kind = "char"

    def __init__(self, chars: str, name: str = "char") -> None:
        if len(set(chars)) != len(chars):
            raise AssetError(f"{name}: the character list has duplicates")
        self.name = name
        self.chars = chars
        self.description = (
            f"characters: {len(chars)} known characters + 256 byte tokens for the rest"
        )
        self._ids = {ch: i for i, ch in enumerate(chars)}
        self._n = len(chars)

    @classmethod
    def from_text(cls, text: str, name: str = "char") -> CharTokenizer:
        """The alphabet of ``text``, sorted by code point."""
        return cls("".join(sorted(set(text))), name=name)

    @property
    def vocab_size(self) -> int:
        return self._n + 256

    def encode(self, text: str) -> list[int]:
        ids = self._ids
        n = self._n
        out: list[int] = []
        for ch in text:
            i = ids.get(ch)
            if i is not None:
                out.append(i)
            else:
                out.extend(n + b for b in ch.encode("utf-8", errors="replace"))
        return out

    def token_bytes(self, token_id: int) -> bytes:
        if 0 <= token_id < self._n:
            return self.chars[token_id].encode("utf-8")
        if self._n <= token_id < self._n + 256:
            return bytes([token_id - self._n])
        raise UserError(f"token id {token_id} is not in {self.name} (0..{self.vocab_size - 1})")

    def dumps(self) -> str:
        return f"# genai-tui character vocabulary\n{CHARS_MAGIC} 1\n{json.dumps(self.chars)}\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        return write_text_file(path, self.dumps())

    @classmethod
    def load(cls, path: str | os.PathLike[str], name: str = "char") -> CharTokenizer:
        p = Path(path)
        try:
            lines = [
                ln for ln in p.read_text(encoding="utf-8").splitlines()
                if ln.strip() and not ln.startswith("#")
            ]
        except FileNotFoundError:
            raise AssetError(f"character vocabulary {str(p)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise AssetError(f"cannot read character vocabulary {str(p)!r}: {e}") from None
        if len(lines) != 2 or lines[0].split() != [CHARS_MAGIC, "1"]:
            raise AssetError(f"{p}: not a {CHARS_MAGIC} v1 file")
        try:
            chars = json.loads(lines[1])
        except ValueError:
            chars = None
        if not isinstance(chars, str):
            raise AssetError(f"{p}: line 2 must be a JSON string of characters")
        return cls(chars, name=name)


def default_chars_path() -> Path:
    from genai_tui.paths import asset

    return asset("tokenizers", DEFAULT_CHARS_ASSET)


def load_default_chars() -> CharTokenizer:
    """The character vocabulary of the CPython-docs corpus (shipped asset)."""
    return CharTokenizer.load(default_chars_path(), name="char")
