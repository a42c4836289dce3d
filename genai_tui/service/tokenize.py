"""Tokenizer service: what the tokenizer pane and `genai-tui tokenize` call.

CONTRACT (shared by the pane and the CLI; implementations may add fields, not
rename them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genai_tui.errors import UserError

if TYPE_CHECKING:
    from genai_tui.tokenizers.base import Tokenizer


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
    byte_level: bool = False
    """Tokens are byte strings (a token may hold part of a character)."""
    has_merges: bool = False
    """BPE with merges: `merge_info` and `replay` work."""


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
    positions: tuple[int, ...] = ()
    """Indices in ``ids`` of the tokens this step created (empty for the initial state)."""


# --------------------------------------------------------------------------- calls

REPLAY_MAX_CHARS = 10_000
"""`replay` refuses longer texts: every step holds the whole id list (10 000
characters: ~1000 steps, ~40 MB, ~0.5 s)."""

_lock = threading.Lock()
_name_locks: dict[str, threading.Lock] = {}
_cache: dict[str, Tokenizer] = {}
_vocab_text: dict[str, list[str]] = {}


def list_tokenizers() -> list[TokenizerInfo]:
    """Every tokenizer known on this machine, available or not (with the reason)."""
    from genai_tui.tokenizers import registry

    return [
        TokenizerInfo(
            name=e.name,
            kind=e.kind,
            description=e.description,
            available=e.available,
            reason=e.reason,
            vocab_size=e.vocab_size,
            byte_level=e.kind in ("bpe", "tiktoken", "byte"),
            has_merges=e.kind in ("bpe", "tiktoken"),
        )
        for e in registry.entries()
    ]


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called ``name``, loaded once per process (thread-safe).

    Raises `UserError` naming the valid choices for an unknown name, or why a
    known one cannot load."""
    tok = _cache.get(name)
    if tok is not None:
        return tok
    with _lock:
        name_lock = _name_locks.setdefault(name, threading.Lock())
    with name_lock:
        tok = _cache.get(name)
        if tok is None:
            from genai_tui.tokenizers import registry

            tok = registry.load(name)
            _cache[name] = tok
    return tok


def _token_table(tok: Tokenizer, ids: list[int]) -> dict[int, tuple[bytes, str, int, bool]]:
    """Per distinct id: (bytes, text, characters starting in it, starts mid-character)."""
    table = {}
    for i in set(ids):
        b = tok.token_bytes(i)
        # UTF-8 continuation bytes (10xxxxxx) do not start a character.
        leads = sum(1 for x in b if x & 0xC0 != 0x80)
        table[i] = (b, b.decode("utf-8", errors="replace"), leads, bool(b) and b[0] & 0xC0 == 0x80)
    return table


def tokenize(text: str, name: str) -> TokenizeResult:
    """Encode ``text`` with tokenizer ``name``: each token's id, text, bytes
    and the character offset where it starts. Fast enough for 1 MB in a worker."""
    tok = get_tokenizer(name)
    result = TokenizeResult(tokenizer=name, chars=len(text))
    if not text:
        return result
    encode_with_starts = getattr(tok, "encode_with_starts", None)
    if encode_with_starts is not None and not tok.lossless:
        ids, starts = encode_with_starts(text)
        string = getattr(tok, "token_string", None)
        result.tokens = [
            TokenInfo(
                id=i,
                text=string(i) if string else tok.token_bytes(i).decode("utf-8", "replace"),
                bytes=tok.token_bytes(i),
                start=s,
            )
            for i, s in zip(ids, starts, strict=True)
        ]
        result.bytes = len(text.encode("utf-8", errors="replace"))
        return result
    ids = tok.encode(text)
    table = _token_table(tok, ids)
    tokens: list[TokenInfo] = []
    append = tokens.append
    chars_before = 0
    nbytes = 0
    for i in ids:
        b, t, leads, inside = table[i]
        # A token that starts inside a character belongs to that character.
        append(TokenInfo(i, t, b, chars_before - 1 if inside and chars_before else chars_before))
        chars_before += leads
        nbytes += len(b)
    result.tokens = tokens
    result.bytes = nbytes
    return result


def token_bytes(name: str, token_id: int) -> bytes:
    """The bytes of one vocabulary entry; `UserError` for an id out of range."""
    return get_tokenizer(name).token_bytes(token_id)


def merge_info(name: str, token_id: int) -> MergeInfo | None:
    """How token ``token_id`` was formed (its two parts and the merge's rank);
    None for single bytes and for tokenizers without merges."""
    tok = get_tokenizer(name)
    parts = tok.merge_parts(token_id)
    if parts is None:
        tok.token_bytes(token_id)  # UserError for an id out of range
        return None
    left, right, rank = parts
    return MergeInfo(id=token_id, left=left, right=right, rank=rank)


def replay(text: str, name: str) -> list[ReplayStep]:
    """BPE merge replay of ``text``: step 0 is the raw bytes (one id per UTF-8
    byte), then one step per merge rank that occurs in this text, in the order
    tiktoken applies them; the last step's ids equal ``tokenize(text, name)``.

    `UserError` for tokenizers without merges or texts over `REPLAY_MAX_CHARS`.
    """
    from genai_tui.tokenizers.bpe import RankedBPE

    tok = get_tokenizer(name)
    if not isinstance(tok, RankedBPE):
        raise UserError(f"{name} has no merges to replay (only BPE tokenizers do)")
    if len(text) > REPLAY_MAX_CHARS:
        raise UserError(
            f"merge replay works on up to {REPLAY_MAX_CHARS} characters; "
            f"this text has {len(text)}"
        )
    steps = [ReplayStep(rank=None, merged=None, new_id=None, ids=tok.initial_ids(text))]
    for m in tok.replay(text):
        steps.append(
            ReplayStep(
                rank=m.rank,
                merged=(m.left, m.right),
                new_id=m.new_id,
                ids=m.ids,
                positions=m.positions,
            )
        )
    return steps


def _searchable(name: str, tok: Tokenizer) -> list[str]:
    texts = _vocab_text.get(name)
    if texts is None:
        from genai_tui.textsafe import visible_bytes

        texts = []
        for i in range(tok.vocab_size):
            try:
                b = tok.token_bytes(i)
            except UserError:  # a hole in the id range
                texts.append("")
                continue
            raw = b.decode("utf-8", errors="replace")
            shown = visible_bytes(b)
            texts.append(raw if raw == shown else f"{raw}\0{shown}")
        _vocab_text[name] = texts
    return texts


def vocab(name: str, query: str = "", limit: int = 500) -> list[tuple[int, bytes]]:
    """Vocabulary entries ``(id, bytes)`` for the browser, by id, at most ``limit``.

    ``query`` matches a token when it is a substring of the token's decoded
    text or of its visible form (``·`` for space, ``↵`` for newline, ``→``
    for tab, ``⟨ff⟩`` for a byte that is not UTF-8). Smart case: the match
    ignores case unless the query has an upper-case letter. A query of
    digits also matches the token with that id (listed first). An empty
    query lists ids from 0.
    """
    tok = get_tokenizer(name)
    limit = max(0, limit)
    if not query:
        return [(i, tok.token_bytes(i)) for i in range(min(limit, tok.vocab_size))]
    texts = _searchable(name, tok)
    out: list[tuple[int, bytes]] = []
    first: int | None = None
    if query.isdigit() and int(query) < len(texts) and texts[int(query)]:
        first = int(query)
        out.append((first, tok.token_bytes(first)))
    fold = query == query.lower()
    q = query.lower() if fold else query
    for i, t in enumerate(texts):
        if len(out) >= limit:
            break
        if i != first and t and q in (t.lower() if fold else t):
            out.append((i, tok.token_bytes(i)))
    return out[:limit]
