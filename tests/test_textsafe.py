from hypothesis import given
from hypothesis import strategies as st

from genai_tui.textsafe import escape_controls, visible, visible_bytes

HOSTILE = ["\x1b[2J", "\x1b]52;c;aGk=\x07", "\x9b31m", "a\u202eb", "\x00\x7f"]


def test_visible_marks_whitespace() -> None:
    assert visible(" a\tb\n") == "·a→b↵"


def test_escape_sequences_become_control_pictures() -> None:
    assert visible("\x1b[2J") == "␛[2J"
    assert escape_controls("\x1b]52;c;aGk=\x07") == "␛]52;c;aGk=␇"


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    for shown in (visible(text), escape_controls(text, keep_newlines=False)):
        assert all(ch.isprintable() for ch in shown)


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "S"])))
def test_escape_controls_keeps_printable_text(text: str) -> None:
    assert escape_controls(text + "\n\t") == text + "\n\t"


def test_hostile_strings_lose_their_escape() -> None:
    for text in HOSTILE:
        assert "\x1b" not in visible(text) and "\x9b" not in visible(text)


def test_visible_bytes_shows_partial_utf8_as_hex() -> None:
    assert visible_bytes("é".encode()[:1]) == "⟨c3⟩"
    assert visible_bytes(b"a b") == "a·b"
