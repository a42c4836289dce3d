"""A TextArea that never writes control characters to the terminal.

Textual's TextArea draws each document line as-is: an ESC pasted into it
would reach the terminal raw (``\\x1b[2J`` clears the screen, ``\\x1b]52;...``
sets the clipboard). This one draws every control character as its visible
picture (``␛``, ``␇``, ...) one-for-one, so columns and the cursor stay in
place, while the document keeps the user's real text for the tokenizer.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import TextArea

from genai_tui.textsafe import escape_controls


def _one_cell_picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "␡"
    return "�"  # C1 controls, bidi overrides, invisibles: one visible cell


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)):
        if chr(code) != "\t":
            table[code] = _one_cell_picture(chr(code))
    for code in (
        0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029,
        0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060,
        0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF,
    ):
        table[code] = "�"
    return table


_TABLE = _build_table()


def safe_line(line: str) -> str:
    """``line`` with every control/invisible character as one visible cell."""
    safe = line.translate(_TABLE)
    if not safe.replace("\t", "").isprintable():
        # Anything the table missed (e.g. unassigned code points) goes
        # through the general escaper; columns may shift, safety wins.
        safe = escape_controls(safe, keep_newlines=True)
    return safe


class SafeTextArea(TextArea, inherit_bindings=False):
    """TextArea showing control characters as visible symbols.

    F6/F7 (select line / select all in TextArea) are left to the pane, which
    uses the function keys for its views.
    """

    BINDINGS = [
        binding
        for binding in TextArea.BINDINGS
        if not (isinstance(binding, Binding) and binding.key in ("f6", "f7"))
    ]

    BIG_PASTE = 50_000
    """Pasting more characters than this turns soft wrapping off first:
    TextArea re-wraps the whole document on edits, ~1 s per MB."""

    def _on_paste(self, event: events.Paste) -> None:
        # Textual then runs TextArea._on_paste itself (handlers of every
        # class in the MRO run), which inserts the text.
        if self.soft_wrap and len(event.text) + len(self.document.text) > self.BIG_PASTE:
            self.soft_wrap = False
            self.notify(
                "Soft wrap is off for this long text (it keeps editing fast).",
                title="Long text",
            )

    def _on_text_area_changed(self, event: TextArea.Changed) -> None:
        if not self.soft_wrap and self.document.line_count < 1_000:
            if len(self.document.text) < self.BIG_PASTE // 2:
                self.soft_wrap = True  # short again: wrap as before

    _rendering = False

    @property  # type: ignore[override]
    def text(self) -> str:
        # TextArea.render_line asks `not self.text` for every line it draws,
        # joining the whole document each time (~3 ms per line for 1 MB).
        # While drawing, answer that question cheaply.
        if self._rendering:
            document = self.document
            return "" if document.line_count == 1 and not document[0] else "\n"
        return self.document.text

    @text.setter
    def text(self, text: str) -> None:
        self.load_text(text)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._rendering = True
        try:
            return super().render_lines(crop)
        finally:
            self._rendering = False

    def get_line(self, line_index: int) -> Text:
        line_string = self.document.get_line(line_index)
        return Text(safe_line(line_string), end="", no_wrap=True)
