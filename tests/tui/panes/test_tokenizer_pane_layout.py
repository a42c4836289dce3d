"""Pure parts of the tokenizer pane: token labels, line layout, safe text area lines."""

from __future__ import annotations

import gc
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from genai_tui.service.runtime import gc_paused
from genai_tui.tui.panes.tokenizer.layout import (
    TokenCells,
    cell_widths,
    line_of,
    wrap_lines,
)
from genai_tui.tui.panes.tokenizer.safe_text_area import safe_line

_BIDI = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _harmless(text: str) -> bool:
    return not any(
        (unicodedata.category(ch) == "Cc" and ch != "\t") or ch in _BIDI for ch in text
    )


@given(st.lists(st.binary(min_size=1, max_size=6), max_size=60))
def test_labels_are_visible_for_any_bytes(chunks: list[bytes]) -> None:
    cells = TokenCells.build(list(range(len(chunks))), chunks)
    assert len(cells) == len(chunks) == len(cells.labels) == len(cells.breaks)
    for data, label, broken in zip(chunks, cells.labels, cells.breaks, strict=True):
        assert label and _harmless(label)
        assert broken == (b"\n" in data)


@given(
    st.lists(st.tuples(st.integers(1, 12), st.booleans()), max_size=200),
    st.integers(1, 60),
)
def test_wrap_lines_keeps_order_width_and_breaks(tokens, width: int) -> None:
    widths = [w for w, _ in tokens]
    breaks = [b for _, b in tokens]
    starts = wrap_lines(widths, breaks, width)
    if not tokens:
        assert starts == []
        return
    assert starts[0] == 0
    assert all(a < b for a, b in zip(starts, starts[1:], strict=False))
    ends = starts[1:] + [len(widths)]
    for start, end in zip(starts, ends, strict=True):
        line = widths[start:end]
        assert sum(line) <= width or len(line) == 1  # only a lone token may overflow
        assert not any(breaks[start:end - 1])  # a newline token ends its line
    for i, broken in enumerate(breaks[:-1]):
        if broken:
            assert i + 1 in starts
    for index in range(len(widths)):
        line = line_of(starts, index)
        assert starts[line] <= index < ends[line]


def test_ids_widen_cells() -> None:
    cells = TokenCells.build([7, 12345], [b"a", b"bcdefg"])
    assert cell_widths(cells, show_ids=False) == [1, 6]
    assert cell_widths(cells, show_ids=True) == [2, 7]  # max(label, id) + gap


@given(st.text())
def test_safe_line_draws_no_control_characters(text: str) -> None:
    line = text.replace("\n", "")
    safe = safe_line(line)
    assert _harmless(safe)
    if all(ch.isprintable() or unicodedata.category(ch) == "Cc" or ch in _BIDI for ch in line):
        assert len(safe) == len(line)  # one cell per character: the cursor stays put


def test_safe_line_examples() -> None:
    assert safe_line("a\x1b[2Jb\x07") == "a␛[2Jb␇"
    assert safe_line("x\u202ey\tz") == "x�y\tz"


def test_gc_paused_nests_and_restores() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()


def test_outside_strings_are_made_visible() -> None:
    from genai_tui.tui.panes.tokenizer.explain import ui

    assert ui("hf:/tmp/\x1b[2Jx\n") == "hf:/tmp/␛[2Jx␊"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
@example(" \u2000")  # a token ending inside U+2000 shares it with the next
def test_char_span_covers_exactly_the_token(text: str) -> None:
    from genai_tui.service import tokenize as svc
    from genai_tui.tui.panes.tokenizer.layout import char_span

    text = text.encode("utf-8", "replace").decode("utf-8", "replace")  # no lone surrogates
    tokens = svc.tokenize(text, "genai-bpe").tokens
    starts = [t.start for t in tokens]
    for index, token in enumerate(tokens):
        start, end = char_span(starts, index, token.bytes, len(text))
        assert 0 <= start < end <= len(text)
        whole = token.bytes.decode("utf-8", "strict") if _is_utf8(token.bytes) else None
        if whole is not None:
            assert text[start:end] == whole
        else:  # part of a character: the span holds the whole character(s)
            assert token.bytes in text[start:end].encode()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True
