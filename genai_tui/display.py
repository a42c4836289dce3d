"""What the terminal can show: colour depth and whether only ASCII may be drawn.

One process-wide `Display` profile. The app sets it once at start-up from
its console (`--ascii`, ``NO_COLOR``, the colour system Rich detected); the
Textual-free renderers (`images/render.py`, the heatmaps, the charts) read it
when they draw, so one renderer serves true colour, 256, 16 colours,
monochrome and ASCII. The CLI leaves it alone: Rich consoles there carry the
same facts (`images.render.mode_for`).

`fold` maps any text to printable ASCII cell for cell (box drawing to
``+-|``, blocks and shades to a density ramp, braille by which half has
dots), so `--ascii` can hold for every widget, Textual's own included.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Depth = Literal["truecolor", "256", "16", "mono"]


@dataclass(frozen=True)
class Display:
    """The terminal's abilities, as the renderers need them."""

    depth: Depth = "truecolor"
    """Colours the terminal shows; "mono" = none (``NO_COLOR`` or a dumb terminal)."""
    ascii: bool = False
    """Only printable ASCII may be drawn (``--ascii``)."""

    @property
    def glyph_cues(self) -> bool:
        """Colour alone cannot carry a value: draw a glyph/number/pattern too."""
        return self.ascii or self.depth in ("16", "mono")


_current = Display()


def current() -> Display:
    """The profile renderers draw for."""
    return _current


def configure(depth: Depth = "truecolor", ascii: bool = False) -> Display:
    """Set the process-wide profile (the app calls this once per run)."""
    global _current
    if depth not in ("truecolor", "256", "16", "mono"):
        raise ValueError(f"unknown colour depth {depth!r}")
    _current = Display(depth=depth, ascii=ascii)
    return _current


def depth_of(color_system: str | None, no_color: bool = False) -> Depth:
    """A Rich colour system name ("truecolor", "256", "standard", "windows", None) as a depth."""
    if no_color or color_system is None:
        return "mono"
    if color_system in ("truecolor", "256"):
        return color_system  # type: ignore[return-value]
    return "16"


# -- folding to ASCII ----------------------------------------------------------

SHADE_RAMP = " .:-=+*#%@"
"""Ten ASCII glyphs from empty to full (the image renderer's ramp too)."""

_FIXED = {
    # blocks and shades: by how much of the cell they fill
    "█": "#", "▓": "*", "▒": "+", "░": ":", "▀": '"', "▄": "_", "▌": "[", "▐": "]",
    "▁": "_", "▂": "_", "▃": "=", "▅": "=", "▆": "#", "▇": "#",
    "▏": "|", "▎": "|", "▍": "|", "▋": "#", "▊": "#", "▉": "#",
    "▔": "-", "▕": "|", "▖": ".", "▗": ".", "▘": "'", "▝": "'", "▚": "%", "▞": "%",
    "▙": "#", "▛": "#", "▜": "#", "▟": "#",
    # marks and arrows
    "·": ".", "•": "o", "●": "O", "○": "o", "◌": "o", "◉": "@", "×": "x", "⊕": "*",
    "…": "~", "⋯": "~", "—": "-", "–": "-", "‒": "-", "−": "-", "‘": "'", "’": "'",
    "“": '"', "”": '"', "←": "<", "→": ">", "↑": "^", "↓": "v", "↔": "-", "↕": "|",
    "▶": ">", "▸": ">", "►": ">", "◀": "<", "◂": "<", "▲": "^", "▼": "v", "▴": "^",
    "▾": "v", "↵": "$", "⏎": "$", "⑂": "Y", "✓": "v", "✔": "v", "✗": "x", "✘": "x",
    "⭘": "O", "ⓘ": "i", "⚠": "!", "★": "*", "☆": "*", "♦": "*", "◆": "*", "◇": "o",
    "■": "#", "□": "o", "▪": "#", "▫": "o", "≈": "~", "≤": "<", "≥": ">", "≠": "#",
    "±": "+", "°": "o", "μ": "u", "σ": "s", "α": "a", "β": "b", "ε": "e", "θ": "t",
    "²": "2", "³": "3", "¹": "1", "⁰": "0", "½": "/", "␛": "?", "␇": "?", "�": "?",
    "\u00a0": " ", "\u2009": " ", "\u200a": " ",
}
# Subscript and superscript digits (probability digits, exponents).
_FIXED.update({chr(0x2080 + i): str(i) for i in range(10)})
_FIXED.update({chr(c): str(i) for i, c in enumerate(
    (0x2070, 0xB9, 0xB2, 0xB3, 0x2074, 0x2075, 0x2076, 0x2077, 0x2078, 0x2079))})

# Braille dot bits of the upper and lower half of a cell (U+2800 + bits).
_BRAILLE_TOP = 0x01 | 0x08 | 0x02 | 0x10
_BRAILLE_BOTTOM = 0x04 | 0x20 | 0x40 | 0x80


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """One character as printable ASCII taking the same cells (a wide one -> two)."""
    if " " <= ch <= "~":
        return ch
    if ch in _FIXED:
        return _FIXED[ch]
    code = ord(ch)
    if 0x2800 <= code <= 0x28FF:  # braille: which half holds dots
        bits = code - 0x2800
        top, bottom = bits & _BRAILLE_TOP, bits & _BRAILLE_BOTTOM
        return ":" if top and bottom else "'" if top else "." if bottom else " "
    if 0x2500 <= code <= 0x257F:  # box drawing: by the strokes' names
        name = unicodedata.name(ch, "")
        horizontal = "HORIZONTAL" in name
        vertical = "VERTICAL" in name
        if ("DOWN" in name or "UP" in name) and ("LEFT" in name or "RIGHT" in name):
            return "+"
        if horizontal and vertical:
            return "+"
        if vertical or "UP" in name or "DOWN" in name:
            return "|"
        if "DIAGONAL" in name:
            return "/" if "UPPER RIGHT TO LOWER LEFT" in name else "\\"
        return "-"
    if ch in "\n\r\t":
        return ch
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):  # zero width: stays zero width
        return ""
    decomposed = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
    decomposed = "".join(c for c in decomposed if " " <= c <= "~")
    wide = unicodedata.east_asian_width(ch) in ("W", "F")
    if decomposed:
        return decomposed[:2] if wide else decomposed[0]
    return "??" if wide else "?"


def fold(text: str) -> str:
    """``text`` in printable ASCII, cell for cell (newlines kept)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(fold_char(ch) for ch in text)
