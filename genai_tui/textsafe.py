"""Make untrusted text (model output, files, servers, pasted input) safe to show.

Nothing here emits markup: callers put the result into `rich.text.Text` or print
it as plain text. Control characters, escape sequences and bidi overrides become
visible symbols, so they can never act on the terminal.
"""

from __future__ import annotations

# Whitespace made visible in token views (as tiktokenizer and minbpe do).
SPACE = "·"
TAB = "→"
NEWLINE = "↵"

_BIDI_AND_INVISIBLE = {
    0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029,
    0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060,
    0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF,
}


_INVISIBLE = frozenset(map(chr, _BIDI_AND_INVISIBLE))


def _plain(text: str) -> bool:
    """True when nothing in ``text`` needs escaping (a fast C-level check,
    so a 1 MB line typed into costs microseconds per keystroke)."""
    return text.isprintable() and _INVISIBLE.isdisjoint(text)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ␛ for ESC, ␇ for BEL
    if code == 0x7F:
        return "␡"
    if ch.isprintable() and code not in _BIDI_AND_INVISIBLE:
        return ch
    # C1 controls, bidi overrides, unassigned and other invisible code points.
    return f"⟨U+{code:04X}⟩"


def escape_controls(text: str, keep_newlines: bool = True) -> str:
    """Replace control characters with visible symbols; keep newlines and tabs
    when ``keep_newlines`` (for flowing text such as generated output)."""
    if _plain(text):
        return text
    out = []
    for ch in text:
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif ch.isprintable() and ord(ch) not in _BIDI_AND_INVISIBLE:
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def visible(text: str) -> str:
    """Show every character of a token: spaces as ``·``, tabs as ``→``,
    newlines as ``↵``, control characters as control pictures."""
    out = []
    for ch in text:
        if ch == " ":
            out.append(SPACE)
        elif ch == "\t":
            out.append(TAB)
        elif ch == "\n":
            out.append(NEWLINE)
        elif ch == "\r":
            out.append("␍")
        elif ch.isprintable() and ord(ch) not in _BIDI_AND_INVISIBLE:
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def bytes_text(data: bytes) -> str:
    """Bytes as text: decoded UTF-8, with bytes that are only part of a
    character shown as ``⟨xx⟩`` hex (not yet made visible)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out = []
    i = 0
    while i < len(data):
        for j in range(min(len(data), i + 4), i, -1):
            try:
                out.append(data[i:j].decode("utf-8"))
                i = j
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"⟨{data[i]:02x}⟩")
            i += 1
    return "".join(out)


def visible_bytes(data: bytes) -> str:
    """A token's bytes as visible text: `bytes_text` passed through `visible`."""
    return visible(bytes_text(data))
