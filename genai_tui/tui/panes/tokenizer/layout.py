"""What the token views show, and how tokens flow into lines.

Pure Python (no Textual): built in worker threads for texts of any size, then
handed to a `TokenView`, which renders only the lines on screen. `char_span`
says which characters of the text a token covers (the text box marks them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len

from genai_tui.textsafe import visible_bytes

_NEWLINE = ord("\n")
_CHECK_EVERY = 20_000
"""Check for cancellation this often (tokens) in the long loops."""


class Cancelled(Exception):
    """The worker that built this was cancelled; its result is not wanted."""


def _check(is_cancelled: Callable[[], bool] | None) -> None:
    if is_cancelled is not None and is_cancelled():
        raise Cancelled




@dataclass(repr=False, eq=False)
class TokenCells:
    """One label per token, with the widths the line layout needs.

    Kept as parallel lists rather than one object per token: a 1 MB text can
    have a million tokens.
    """

    ids: list[int]
    data: list[bytes]
    """Each token's bytes."""
    labels: list[str]
    """The token's bytes as visible text (``·`` for space, ``␛`` for ESC, ...)."""
    label_widths: list[int]
    breaks: list[bool]
    """True where a token holds a newline: the layout starts a new line after it."""
    marks: frozenset[int] = field(default_factory=frozenset)
    """Token indices to highlight (the replay marks the tokens just merged)."""

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:  # never the million labels
        return f"<TokenCells {len(self.ids)} tokens>"

    @classmethod
    def build(
        cls,
        ids: Sequence[int],
        token_bytes: Sequence[bytes],
        is_cancelled: Callable[[], bool] | None = None,
        marks: frozenset[int] = frozenset(),
    ) -> TokenCells:
        """Label every token; labels are cached per id, so long texts of
        repeated tokens cost one dict lookup per token."""
        cache: dict[bytes, tuple[str, int, bool]] = {}
        labels: list[str] = []
        widths: list[int] = []
        breaks: list[bool] = []
        for n, data in enumerate(token_bytes):
            entry = cache.get(data)
            if entry is None:
                label = visible_bytes(data) or "∅"
                entry = cache[data] = (label, cell_len(label), _NEWLINE in data)
            labels.append(entry[0])
            widths.append(entry[1])
            breaks.append(entry[2])
            if n % _CHECK_EVERY == 0:
                _check(is_cancelled)
        return cls(list(ids), list(token_bytes), labels, widths, breaks, marks)


def cell_widths(cells: TokenCells, show_ids: bool) -> list[int]:
    """Columns each token takes: its label, or with ids shown the wider of
    label and id plus one column of gap (so neighbouring ids stay apart)."""
    if not show_ids:
        return list(cells.label_widths)
    return [
        max(w, len(str(i))) + 1 for w, i in zip(cells.label_widths, cells.ids, strict=True)
    ]


def wrap_lines(
    widths: Sequence[int],
    breaks: Sequence[bool],
    width: int,
    is_cancelled: Callable[[], bool] | None = None,
) -> list[int]:
    """Flow tokens into lines of ``width`` columns; return each line's first
    token index. A token never splits across lines (a token wider than the
    line gets a line of its own and is cut when drawn); a token holding a
    newline ends its line, so the layout follows the text's own lines."""
    width = max(1, width)
    starts: list[int] = [0] if widths else []
    x = 0
    last = len(widths) - 1
    for i, w in enumerate(widths):
        if x and x + w > width:
            starts.append(i)
            x = 0
        x += w
        if breaks[i] and i < last:
            starts.append(i + 1)
            x = 0
        if i % _CHECK_EVERY == 0:
            _check(is_cancelled)
    return starts


def line_of(starts: Sequence[int], index: int) -> int:
    """The line holding token ``index`` (binary search over line starts)."""
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= index:
            lo = mid
        else:
            hi = mid - 1
    return lo


def char_span(starts: list[int], index: int, data: bytes, text_length: int) -> tuple[int, int]:
    """The characters token ``index`` covers: from its start (the character
    holding its first byte) over the characters its bytes begin, never past
    the next token's start (a tokenizer that drops spaces, e.g. WordPiece,
    leaves them unmarked); a token that ends inside a character shares that
    character with the next token."""
    start = starts[index]
    inside = bool(data) and data[0] & 0xC0 == 0x80
    end = start + sum(1 for b in data if b & 0xC0 != 0x80) + (1 if inside else 0)
    if index + 1 < len(starts) and starts[index + 1] > start:
        end = min(end, starts[index + 1] + (1 if _ends_inside_character(data) else 0))
    return start, min(max(end, start + 1), text_length)


def _ends_inside_character(data: bytes) -> bool:
    """True when ``data``'s last UTF-8 character is missing continuation bytes."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the last lead (or ASCII) byte
            need = 1 if byte < 0x80 else 2 if byte >= 0xC0 and byte < 0xE0 else \
                3 if byte >= 0xE0 and byte < 0xF0 else 4 if byte >= 0xF0 else 1
            return back < need
    return False
