"""Token-level word wrap for a run view: a prompt plus tokens laid out in lines.

Plain Python (no Textual). `RunLayout` places each token's escaped text (and
its probability digits, a fork mark) as pieces tagged with the token's index,
so `run_view.RunView` can paint one line and find the token under a click.
Appending a token touches only the last line(s).
"""

from __future__ import annotations

import re

from rich.cells import cell_len

from genai_tui.service.generate import TokenStep
from genai_tui.textsafe import escape_controls
from genai_tui.tui.panes.generate.render import FORK_MARK, model_prob, subscript_percent

PROMPT = -1
"""Layout index of prompt text (tokens have their position, 0 and up)."""
_WORDS = re.compile(r"\s*\S+|\s+")

# One laid-out piece of a line: (text, token index or PROMPT, kind) where kind is
# "t" text, "n" a newline ending the line, "e" a token with no text of its own
# (the first bytes of a character), "d" probability digits, "f" fork mark.
Piece = tuple[str, int, str]


def _split_cells(text: str, room: int) -> tuple[str, str]:
    """The longest head of ``text`` that fits in ``room`` cells, and the rest."""
    used = 0
    for i, ch in enumerate(text):
        w = cell_len(ch)
        if used + w > room:
            return text[:i], text[i:]
        used += w
    return text, ""


class RunLayout:
    """Token-level word wrap of a prompt plus tokens into lines of pieces.

    Appending tokens only touches the last line(s): `append` returns the
    first line it changed.
    """

    def __init__(self, width: int, digits: bool) -> None:
        self.width = max(4, width)
        self.digits = digits
        self.lines: list[list[Piece]] = [[]]
        self.col = 0
        self.count = 0
        """Tokens laid out so far."""
        self.first_line: list[int] = []
        """Line where each token starts."""

    def _newline(self) -> None:
        self.lines.append([])
        self.col = 0

    def _place(self, text: str, index: int, kind: str = "t") -> None:
        while text:
            w = cell_len(text)
            room = self.width - self.col
            if w <= room:
                self.lines[-1].append((text, index, kind))
                self.col += w
                return
            if self.col > 0 and (w <= self.width or room <= 0):
                self._newline()
                if text.startswith(" ") and kind == "t" and len(text) > 1:
                    text = text[1:]  # a wrapped word does not start with its space
                continue
            head, rest = _split_cells(text, room)
            if not head:  # a wide character does not fit the gap
                if self.col > 0:
                    self._newline()
                    continue
                head, rest = text[0], text[1:]
            text = rest
            self.lines[-1].append((head, index, kind))
            self._newline()

    def add_unit(self, text: str, index: int) -> None:
        for k, part in enumerate(text.split("\n")):
            if k:
                self.lines[-1].append(("", index, "n"))
                self._newline()
            if part:
                self._place(part, index)

    def add_prompt(self, prompt: str) -> None:
        shown = escape_controls(prompt, keep_newlines=True).replace("\t", "    ")
        for line_no, line in enumerate(shown.split("\n")):
            if line_no:
                self._newline()
            for word in _WORDS.findall(line):
                self._place(word, PROMPT)

    def add_token(self, step: TokenStep, fork: bool) -> None:
        index = self.count
        before = len(self.lines) - 1
        if fork:
            self._place(FORK_MARK, index, "f")
        text = escape_controls(step.token, keep_newlines=True).replace("\t", "    ")
        if text:
            self.add_unit(text, index)
        else:  # part of a character: the next token shows it; a mark only when selected
            self.lines[-1].append(("", index, "e"))
        if self.digits and step.has_probs:
            self._place(subscript_percent(model_prob(step)), index, "d")
        first = before
        while first < len(self.lines) - 1 and not any(
                piece[1] == index for piece in self.lines[first]):
            first += 1
        self.first_line.append(first)
        self.count += 1
