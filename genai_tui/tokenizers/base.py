"""The interface every tokenizer implements."""

from __future__ import annotations

import abc
import os
import re
from pathlib import Path

from genai_tui.errors import UserError

_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


class Tokenizer(abc.ABC):
    """Text to token ids and back.

    ``decode(encode(s)) == s`` for every string ``s`` without lone surrogates
    (HF tokenizers whose normalizer changes text are the exception, see
    ``lossless``). Byte-level tokenizers (``byte_level``) also map arbitrary
    bytes: ``decode_bytes(encode_bytes(b)) == b``.
    """

    name: str
    kind: str
    """"bpe", "tiktoken", "hf", "char" or "byte"."""
    description: str = ""
    byte_level: bool = False
    """Every token is a byte string and any byte sequence can be encoded."""
    lossless: bool = True
    """decode(encode(s)) == s for all strings."""

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Number of token ids (ids are 0 .. vocab_size - 1)."""

    @abc.abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""

    @abc.abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The UTF-8 bytes a token stands for (possibly part of a character)."""

    def decode_bytes(self, ids: list[int]) -> bytes:
        """The bytes a token sequence stands for."""
        return b"".join(self.token_bytes(i) for i in ids)

    def decode(self, ids: list[int]) -> str:
        """The text of a token sequence (U+FFFD where the bytes are not valid UTF-8)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def encode_bytes(self, data: bytes) -> list[int]:
        """Token ids of arbitrary bytes (byte-level tokenizers only): valid
        UTF-8 runs are encoded as text, other bytes as single-byte tokens."""
        if not self.byte_level:
            raise TypeError(f"{self.name} is not a byte-level tokenizer")
        ids: list[int] = []
        text = data.decode("utf-8", errors="surrogateescape")
        pos = 0
        for m in _ESCAPED_BYTES.finditer(text):
            if m.start() > pos:
                ids.extend(self.encode(text[pos : m.start()]))
            raw = m.group().encode("utf-8", errors="surrogateescape")
            ids.extend(self.byte_token(b) for b in raw)
            pos = m.end()
        if pos < len(text):
            ids.extend(self.encode(text[pos:]))
        return ids

    def byte_token(self, byte: int) -> int:
        """The id of the token holding the single byte ``byte`` (byte-level only)."""
        raise TypeError(f"{self.name} is not a byte-level tokenizer")

    def merge_parts(self, token_id: int) -> tuple[int, int, int] | None:
        """For BPE tokens: (left id, right id, merge rank); None otherwise."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} vocab={self.vocab_size}>"


def write_text_file(path: str | os.PathLike[str], text: str) -> Path:
    """Write a tokenizer file (parent folders are created); `UserError` on failure."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot write {str(p)!r}: {e.strerror or e}") from None
    return p
