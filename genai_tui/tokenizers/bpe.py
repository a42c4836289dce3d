"""Byte-level BPE: our own trainer, file format and a plain-Python merge engine.

How encoding works (GPT-2/GPT-4 style, and exactly what tiktoken does):

1. The text is cut into *pieces* by a regular expression (`GPT4_SPLIT_PATTERN`,
   cl100k_base's pattern): words with their leading space, runs of up to three
   digits, punctuation runs, whitespace. Merges never cross a piece boundary.
2. Each piece becomes its UTF-8 bytes, one token per byte (ids 0..255 are the
   raw bytes in our own vocabularies).
3. Repeatedly, the adjacent pair whose concatenated bytes have the lowest rank
   is merged (leftmost first on ties), until no adjacent pair is a token.
   A piece that is itself a token becomes that token directly.

Encoding is done by tiktoken's compiled engine (`tiktoken.Encoding` built from
our ranks, nothing downloaded); `encode_plain` is the same algorithm in plain
Python, kept for the step-by-step merge replay and as a benchmark baseline.

Training (`iter_train`/`train`) counts the pieces of a corpus once (unique
pieces with their counts), then repeatedly merges the most frequent adjacent
pair (ties: the smallest ``(left, right)`` ids), updating pair counts
incrementally only in the pieces that contain the merged pair. A pair whose
bytes already form a token is merged into that token without a new id.

File format (``*.bpe``, UTF-8 text, one record per line)::

    # any line starting with '#' is a comment
    genai-bpe 1                      <- magic word and format version (first non-comment line)
    name genai-bpe-4k                <- free-form name
    pattern "<JSON string>"          <- the pre-split regex, JSON-encoded
    merges 3840                      <- number of merge lines that follow
    256 32 116 # ·t                  <- new id, left id, right id, then an optional
    257 104 101 # he                    comment showing the token's bytes

Ids 0..255 are the single bytes 0x00..0xFF. Merge line *i* (0-based) creates
id ``256 + i`` from two earlier ids; its merge rank is *i*. The vocabulary
size is therefore ``256 + merges``. The loader checks every line and raises
`AssetError` naming the file and line on any problem.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from genai_tui.errors import AssetError, UserError
from genai_tui.tokenizers.base import Tokenizer, write_text_file

if TYPE_CHECKING:
    import tiktoken

GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
"""cl100k_base's (GPT-4's) pre-split pattern."""

GPT2_SPLIT_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
"""r50k_base's (GPT-2's) pre-split pattern."""

O200K_SPLIT_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
"""o200k_base's (GPT-4o's) pre-split pattern."""

FORMAT_MAGIC = "genai-bpe"
FORMAT_VERSION = 1
DEFAULT_ASSET = "genai-bpe-4k.bpe"
"""The shipped vocabulary, under ``assets/tokenizers/``."""


# --------------------------------------------------------------------------- engine


def bpe_merge_pieces(
    piece: bytes, ranks: dict[bytes, int], max_rank: int | None = None
) -> list[bytes]:
    """Merge one pre-split piece by rank, as tiktoken does (plain Python).

    With ``max_rank``, only tokens of rank < ``max_rank`` may form: used to
    find the two parts a token was made of.
    """
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best_rank = None
        best_i = -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank = rank
                best_i = i
        if best_rank is None or (max_rank is not None and best_rank >= max_rank):
            break
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


@dataclass(frozen=True)
class ReplayMerge:
    """One step of a merge replay: the merge of ``rank`` applied in every piece
    whose lowest-ranked pair it is. ``positions`` are the indices (in the token
    sequence after this step) of the tokens it created."""

    rank: int
    left: int
    right: int
    new_id: int
    ids: list[int]
    positions: tuple[int, ...]


class RankedBPE(Tokenizer):
    """A byte-level BPE given by a pre-split pattern and mergeable ranks
    (token bytes -> id), as in tiktoken's ``*.tiktoken`` files."""

    byte_level = True

    def __init__(
        self,
        name: str,
        pattern: str,
        ranks: dict[bytes, int],
        kind: str = "bpe",
        description: str = "",
    ) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.pattern = pattern
        self.ranks = ranks
        self._decoder: list[bytes | None] = [None] * (max(ranks.values()) + 1 if ranks else 0)
        for token, rank in ranks.items():
            self._decoder[rank] = token
        missing = [b for b in range(256) if bytes([b]) not in ranks]
        if missing:
            raise AssetError(f"{name}: byte 0x{missing[0]:02x} has no token (not byte-level)")
        self._byte_ids = [ranks[bytes([b])] for b in range(256)]
        # The lowest rank of any multi-byte token: merge ranks count from there.
        self._first_merge = min((r for t, r in ranks.items() if len(t) > 1), default=256)

    # ----------------------------------------------------------------- interface

    @property
    def vocab_size(self) -> int:
        return len(self._decoder)

    @cached_property
    def regex(self):  # noqa: ANN201 - regex.Pattern
        import regex

        return regex.compile(self.pattern)

    @cached_property
    def engine(self) -> tiktoken.Encoding:
        """tiktoken's compiled encoder built from our ranks (no download)."""
        import tiktoken

        return tiktoken.Encoding(
            f"genai-{self.name}"[:64],
            pat_str=self.pattern,
            mergeable_ranks=self.ranks,
            special_tokens={},
        )

    def encode(self, text: str) -> list[int]:
        return self.engine.encode_ordinary(text)

    def decode_bytes(self, ids: list[int]) -> bytes:
        try:
            return b"".join([self._decoder[i] for i in ids])  # type: ignore[misc]
        except (IndexError, TypeError):
            bad = next(i for i in ids if not self._valid(i))
            raise UserError(f"token id {bad} is not in {self.name}") from None

    def _valid(self, i: int) -> bool:
        return 0 <= i < len(self._decoder) and self._decoder[i] is not None

    def token_bytes(self, token_id: int) -> bytes:
        if not self._valid(token_id):
            raise UserError(f"token id {token_id} is not in {self.name} (0..{self.vocab_size - 1})")
        return self._decoder[token_id]  # type: ignore[return-value]

    def byte_token(self, byte: int) -> int:
        return self._byte_ids[byte]

    def merge_rank(self, token_id: int) -> int:
        """0 for the first merge learned (the lowest-ranked multi-byte token)."""
        return token_id - self._first_merge

    def merge_parts(self, token_id: int) -> tuple[int, int, int] | None:
        """The two tokens this token was merged from, and the merge's rank.

        Found by re-running BPE on the token's bytes with only lower ranks
        allowed (as minbpe recovers GPT-4's merges)."""
        token = self.token_bytes(token_id)
        if len(token) < 2:
            return None
        parts = bpe_merge_pieces(token, self.ranks, max_rank=self.ranks[token])
        if len(parts) != 2:
            return None
        return self.ranks[parts[0]], self.ranks[parts[1]], self.merge_rank(token_id)

    # ----------------------------------------------------------------- plain Python

    def split(self, text: str) -> list[str]:
        """The pre-split pieces of ``text``."""
        return self.regex.findall(text)

    def encode_plain(self, text: str) -> list[int]:
        """Encode in plain Python; the same ids as `encode` (tested)."""
        ranks = self.ranks
        ids: list[int] = []
        for piece in self.regex.findall(text):
            data = piece.encode("utf-8", errors="replace")
            rank = ranks.get(data)
            if rank is not None:
                ids.append(rank)
            else:
                ids.extend(ranks[p] for p in bpe_merge_pieces(data, ranks))
        return ids

    def replay(self, text: str) -> Iterator[ReplayMerge]:
        """The merges that turn ``text``'s raw bytes into its tokens, one rank at a time.

        Each step applies one merge rank: in every piece whose lowest-ranked
        adjacent pair it is, leftmost first, repeatedly while it stays that
        piece's lowest. Every piece therefore follows tiktoken's exact merge
        order, and the last step's ids equal `encode(text)`. Only merges that
        occur in this text are steps. The first state (raw bytes) is
        `initial_ids`.
        """
        from itertools import accumulate, chain

        ranks = self.ranks
        pieces = [
            [data[i : i + 1] for i in range(len(data))]
            for data in (p.encode("utf-8", errors="replace") for p in self.split(text))
        ]
        piece_ids = [[ranks[p] for p in parts] for parts in pieces]

        def lowest(parts: list[bytes]) -> int | None:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best = r
            return best

        heap = [(r, k) for k, parts in enumerate(pieces) if (r := lowest(parts)) is not None]
        heapq.heapify(heap)
        while heap:
            rank = heap[0][0]
            touched: list[int] = []
            while heap and heap[0][0] == rank:
                touched.append(heapq.heappop(heap)[1])
            token = self._decoder[rank]
            left = right = -1
            made: list[tuple[int, int]] = []  # (piece, index in piece) of new tokens
            for k in touched:
                parts = pieces[k]
                while True:
                    best_i = -1
                    best = None
                    for i in range(len(parts) - 1):
                        r = ranks.get(parts[i] + parts[i + 1])
                        if r is not None and (best is None or r < best):
                            best, best_i = r, i
                    if best != rank:
                        break
                    left, right = ranks[parts[best_i]], ranks[parts[best_i + 1]]
                    parts[best_i : best_i + 2] = [token]  # type: ignore[list-item]
                    # Later merges of this rank lie to the right: index stays valid.
                    made.append((k, best_i))
                piece_ids[k] = [ranks[p] for p in parts]
                nxt = lowest(parts)
                if nxt is not None:
                    heapq.heappush(heap, (nxt, k))
            starts = [0, *accumulate(map(len, piece_ids))]
            ids = list(chain.from_iterable(piece_ids))
            positions = tuple(starts[k] + i for k, i in made)
            yield ReplayMerge(self.merge_rank(rank), left, right, rank, ids, positions)

    def initial_ids(self, text: str) -> list[int]:
        """The raw-byte tokens of ``text`` (the replay's first state)."""
        return [self._byte_ids[b] for b in text.encode("utf-8", errors="replace")]


# --------------------------------------------------------------------------- our BPE


class BPETokenizer(RankedBPE):
    """Our own byte-level BPE: ids 0..255 are bytes, merge *i* makes id 256 + *i*."""

    def __init__(
        self,
        merges: list[tuple[int, int]],
        pattern: str = GPT4_SPLIT_PATTERN,
        name: str = "genai-bpe",
        description: str = "",
    ) -> None:
        vocab = [bytes([b]) for b in range(256)]
        for left, right in merges:
            vocab.append(vocab[left] + vocab[right])
        ranks = {token: i for i, token in enumerate(vocab)}
        if len(ranks) != len(vocab):
            raise AssetError(f"{name}: two merges make the same token")
        self.merges = list(merges)
        super().__init__(name, pattern, ranks, kind="bpe", description=description)

    def merge_parts(self, token_id: int) -> tuple[int, int, int] | None:
        self.token_bytes(token_id)
        if token_id < 256:
            return None
        left, right = self.merges[token_id - 256]
        return left, right, token_id - 256

    # ----------------------------------------------------------------- files

    def dumps(self) -> str:
        """The tokenizer in the ``.bpe`` text format (see the module docstring)."""
        from genai_tui.textsafe import visible_bytes

        lines = [
            "# genai-tui byte-level BPE; format: genai_tui/tokenizers/bpe.py",
            f"{FORMAT_MAGIC} {FORMAT_VERSION}",
            f"name {self.name}",
            f"pattern {json.dumps(self.pattern)}",
            f"merges {len(self.merges)}",
        ]
        for i, (left, right) in enumerate(self.merges):
            new_id = 256 + i
            lines.append(f"{new_id} {left} {right} # {visible_bytes(self.token_bytes(new_id))}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the ``.bpe`` file (parent folders are created)."""
        return write_text_file(path, self.dumps())

    @classmethod
    def loads(cls, text: str, source: str = "<string>") -> BPETokenizer:
        """Parse the ``.bpe`` text format; `AssetError` on any problem."""

        def fail(lineno: int, why: str) -> AssetError:
            return AssetError(f"{source}: line {lineno}: {why}")

        header: dict[str, str] = {}
        merges: list[tuple[int, int]] = []
        expected = None
        lineno = 0
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not header:
                if line.split() != [FORMAT_MAGIC, str(FORMAT_VERSION)]:
                    raise fail(lineno, f"not a genai-bpe v{FORMAT_VERSION} file")
                header["magic"] = line
                continue
            if expected is None:
                key, _, value = line.partition(" ")
                if key not in ("name", "pattern", "merges"):
                    raise fail(lineno, f"unknown header field {key[:40]!r}")
                if key == "merges":
                    if not value.strip().isdigit():
                        raise fail(lineno, "merges must be a number")
                    expected = int(value)
                header[key] = value.strip()
                continue
            fields = line.split("#", 1)[0].split()
            if len(fields) != 3 or not all(f.isdigit() for f in fields):
                raise fail(lineno, "expected '<new id> <left id> <right id>'")
            new_id, left, right = map(int, fields)
            if new_id != 256 + len(merges):
                raise fail(lineno, f"expected id {256 + len(merges)}, got {new_id}")
            if left >= new_id or right >= new_id:
                raise fail(lineno, "a merge may only use earlier ids")
            merges.append((left, right))
        if not header:
            raise AssetError(f"{source}: empty or not a genai-bpe file")
        if "pattern" not in header or expected is None:
            raise AssetError(f"{source}: missing 'pattern' or 'merges' header")
        if len(merges) != expected:
            raise AssetError(f"{source}: header says {expected} merges, found {len(merges)}")
        import regex

        try:
            pattern = json.loads(header["pattern"])
            if not isinstance(pattern, str):
                raise ValueError
            regex.compile(pattern)
        except (ValueError, regex.error):
            raise AssetError(f"{source}: the 'pattern' header is not a valid regex") from None
        return cls(merges, pattern=pattern, name=header.get("name", "bpe"))

    @classmethod
    def load(cls, path: str | os.PathLike[str], name: str | None = None) -> BPETokenizer:
        """Read a ``.bpe`` file; `AssetError` if missing or malformed."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise AssetError(f"tokenizer file {str(p)!r} does not exist") from None
        except UnicodeDecodeError:
            raise AssetError(f"tokenizer file {str(p)!r} is not UTF-8 text") from None
        except OSError as e:
            raise AssetError(f"cannot read tokenizer file {str(p)!r}: {e.strerror or e}") from None
        tok = cls.loads(text, source=str(p))
        if name:
            tok.name = name
        return tok


# --------------------------------------------------------------------------- trainer


@dataclass(frozen=True)
class MergeEvent:
    """One merge learned by the trainer."""

    rank: int
    left: int
    right: int
    new_id: int
    count: int
    """How often the pair occurred in the corpus when it was merged."""
    token: bytes
    vocab_size: int
    """Vocabulary size after this merge."""


def count_pieces(text: str, pattern: str = GPT4_SPLIT_PATTERN) -> Counter[bytes]:
    """Unique pre-split pieces of ``text`` (as UTF-8 bytes) with their counts."""
    import regex

    return Counter(p.encode("utf-8", errors="replace") for p in regex.findall(pattern, text))


def iter_train(
    text: str, vocab_size: int, pattern: str = GPT4_SPLIT_PATTERN
) -> Iterator[MergeEvent]:
    """Learn BPE merges on ``text`` until the vocabulary has ``vocab_size``
    tokens (or no pair is left), yielding each merge.

    Pair counts are kept for the whole corpus and updated only in the pieces
    that contain the merged pair, so each merge costs time proportional to
    the pieces it touches, not to the corpus.
    """
    if vocab_size < 256:
        raise UserError(f"vocab size must be at least 256 (the bytes), got {vocab_size}")
    pieces = count_pieces(text, pattern)
    words: list[list[int]] = [list(p) for p in pieces]
    counts: list[int] = list(pieces.values())

    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for w, (word, n) in enumerate(zip(words, counts, strict=True)):
        for pair in pairwise(word):
            pair_counts[pair] = pair_counts.get(pair, 0) + n
            where.setdefault(pair, set()).add(w)
    # Max-heap by count, ties broken by the smallest (left, right): deterministic.
    heap = [(-c, pair) for pair, c in pair_counts.items()]
    heapq.heapify(heap)

    vocab = [bytes([b]) for b in range(256)]
    token_ids = {t: i for i, t in enumerate(vocab)}
    rank = 0
    while len(vocab) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or neg == 0:
            continue  # stale heap entry
        left, right = pair
        token = vocab[left] + vocab[right]
        new_id = token_ids.get(token)
        is_new = new_id is None
        if is_new:
            new_id = len(vocab)
            vocab.append(token)
            token_ids[token] = new_id
        changed: dict[tuple[int, int], int] = {}
        for w in sorted(where.pop(pair, ())):
            word = words[w]
            n = counts[w]
            merged: list[int] = []
            i = 0
            hit = False
            while i < len(word):
                if i + 1 < len(word) and word[i] == left and word[i + 1] == right:
                    merged.append(new_id)
                    i += 2
                    hit = True
                else:
                    merged.append(word[i])
                    i += 1
            if not hit:
                continue
            for p in pairwise(word):
                changed[p] = changed.get(p, 0) - n
            for p in pairwise(merged):
                changed[p] = changed.get(p, 0) + n
                if p != pair:
                    where.setdefault(p, set()).add(w)
            words[w] = merged
        for p, delta in changed.items():
            if delta:
                c = pair_counts.get(p, 0) + delta
                if c > 0:
                    pair_counts[p] = c
                    heapq.heappush(heap, (-c, p))
                else:
                    pair_counts.pop(p, None)
        pair_counts.pop(pair, None)
        if is_new:
            yield MergeEvent(rank, left, right, new_id, -neg, token, len(vocab))
            rank += 1


def train(
    text: str,
    vocab_size: int,
    pattern: str = GPT4_SPLIT_PATTERN,
    name: str = "genai-bpe",
    progress: Callable[[MergeEvent], None] | None = None,
) -> BPETokenizer:
    """Train a `BPETokenizer` on ``text`` (see `iter_train`)."""
    merges: list[tuple[int, int]] = []
    for event in iter_train(text, vocab_size, pattern):
        merges.append((event.left, event.right))
        if progress is not None:
            progress(event)
    return BPETokenizer(merges, pattern=pattern, name=name)


def default_path() -> Path:
    """The shipped vocabulary file."""
    from genai_tui.paths import asset

    return asset("tokenizers", DEFAULT_ASSET)


def load_default() -> BPETokenizer:
    """The shipped 4096-token vocabulary trained on the CPython-docs corpus."""
    return BPETokenizer.load(default_path(), name="genai-bpe")
