"""Tokenizer service: what the tokenizer pane and `genai-tui tokenize` call.

CONTRACT (shared by the pane and the CLI; implementations may add fields, not
rename them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TokenizerInfo:
    """One entry of the registry."""

    name: str
    """Registry name, e.g. "genai-bpe", "cl100k_base", "char", "byte"."""
    kind: str
    """"bpe", "tiktoken", "hf", "char" or "byte"."""
    description: str
    available: bool
    reason: str = ""
    """Why it is unavailable (empty when available)."""
    vocab_size: int | None = None


@dataclass(frozen=True)
class TokenInfo:
    """One token of an encoded text."""

    id: int
    text: str
    """The token's text (may hold U+FFFD where the token splits a character)."""
    bytes: bytes
    start: int = 0
    """Character offset of the token's first character in the text (best effort)."""


@dataclass
class TokenizeResult:
    tokenizer: str
    tokens: list[TokenInfo] = field(default_factory=list)
    chars: int = 0
    bytes: int = 0

    @property
    def count(self) -> int:
        return len(self.tokens)

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.count if self.tokens else 0.0


@dataclass(frozen=True)
class MergeInfo:
    """How a BPE token was formed."""

    id: int
    left: int
    right: int
    rank: int
    """0 for the first merge learned."""


@dataclass(frozen=True)
class ReplayStep:
    """One step of a BPE merge replay over a text: the token sequence after
    applying the merge of this rank everywhere it occurs."""

    rank: int | None
    """None for the initial raw-byte state."""
    merged: tuple[int, int] | None
    new_id: int | None
    ids: list[int]
    """Token ids of the whole text after this step."""
