"""The app's text boxes: every Input and TextArea in genai-tui is one of these.

`SafeInput` (one line) and `SafeTextArea` (many) never write control
characters to the terminal, leave the text box on Esc (see `tui/keys.py`,
the keyboard model) and undo with Ctrl+Z. tests/tui/test_frames_safe.py walks
every pane and fails on any other Input or TextArea.

The text area:

Textual's TextArea draws each document line as-is: an ESC pasted into it
would reach the terminal raw (``\\x1b[2J`` clears the screen, ``\\x1b]52;...``
sets the clipboard). This one draws every control character as its visible
picture (``␛``, ``␇``, ...) one-for-one, so columns and the cursor stay in
place, while the document keeps the user's real text for the tokenizer.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Input, TextArea
from textual.widgets.text_area import Location

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


def type_ahead(screen, character: str) -> bool:
    """Type ``character`` into ``screen``'s focused text box (True if it did so).

    For a character that reached the app without passing a text box (see
    `GenaiApp._on_key`).
    """
    focused = screen.focused
    if isinstance(focused, Input):
        focused.insert_text_at_cursor(character)
        return True
    return False


def leave_text_box(box) -> None:
    """Move focus from ``box`` to the next focusable widget of its pane that
    is not a text box (or nowhere). Raises SkipAction, so the pane's own Esc
    binding (stop, cancel, close) runs as well."""
    from genai_tui.tui.pane import Pane

    scope = next((n for n in box.ancestors if isinstance(n, Pane)), None)
    target = None
    if scope is not None:
        for widget in scope.query("*"):
            if (widget.focusable and widget is not box
                    and not isinstance(widget, (Input, TextArea))):
                target = widget
                break
    if target is None and scope is not None and scope.can_focus:
        target = scope
    box.screen.set_focus(target)
    raise SkipAction()


NUMBER_RESTRICT = {
    "integer": r"[-+]?[0-9_]*",
    "number": r"[-+]?[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9_]*)?",
}
"""What a number box lets through while typing, as Textual's ``type="integer"``
/ ``"number"`` does, but unambiguous (each character can match one way), so
checking a keystroke takes linear time. Textual's own patterns nest
quantifiers (``(?:\d*|\d+_)*``) and backtrack exponentially: 22 nines and an
``=`` froze the app (found by the monkey)."""


NEWLINE_MARK = "↵"
"""How a one-line box that takes newlines (``SafeInput(newlines=True)``) shows
them, and what Ctrl+J types there."""


class SafeInput(Input):
    """A one-line text box that shows pasted control characters as visible
    symbols (in its value, so what is shown is what the program gets), does
    not select its text on focus (the first key must not replace it), undoes
    with Ctrl+Z / redoes with Ctrl+Y, and leaves on Esc.

    With ``newlines=True`` (a prompt) it also takes newlines: pasted ones and
    Ctrl+J show as ``↵`` and `text` gives them back as newlines; a paste keeps
    all its lines (tabs become four spaces) instead of the first.
    """

    BINDINGS = [
        Binding("ctrl+j", "newline", "Newline", show=False),
        Binding("ctrl+z", "undo", "Undo", show=False),
        Binding("ctrl+y,ctrl+shift+z", "redo", "Redo", show=False),
        Binding("escape", "leave", "Leave the text box", show=False),
    ]

    MAX_LENGTH = 100_000
    """A paste is cut to this many characters (with a note), so a 1 MB line
    cannot make each keystroke re-check a megabyte."""

    UNDO_DEPTH = 200

    def __init__(self, value: str | None = None, *args, select_on_focus: bool = False,
                 max_length: int = 0, newlines: bool = False, **kwargs) -> None:
        self.newlines = newlines
        self._undo: list[tuple[str, int]] = []
        self._redo: list[tuple[str, int]] = []
        self._restoring = False
        super().__init__(value, *args, select_on_focus=select_on_focus,
                         max_length=max_length or self.MAX_LENGTH, **kwargs)
        if self.type in NUMBER_RESTRICT:  # its Integer/Number validator stays
            self.restrict = self.restrict or NUMBER_RESTRICT[self.type]
            self.type = "text"

    def validate_value(self, value: str) -> str:
        if self.newlines:
            value = (value.replace("\r\n", "\n").replace("\n", NEWLINE_MARK)
                     .replace("\t", "    "))
        return escape_controls(value, keep_newlines=False)

    @property
    def text(self) -> str:
        """The value as the program gets it (``↵`` back to newlines in a
        box that takes them)."""
        return self.value.replace(NEWLINE_MARK, "\n") if self.newlines else self.value

    def action_newline(self) -> None:
        if not self.newlines:
            raise SkipAction()  # Ctrl+J stays the pane's, as in any Input
        self.insert_text_at_cursor(NEWLINE_MARK)

    def watch_value(self, old: str, new: str) -> None:
        if self._restoring or old == new or not self.is_mounted:
            return
        self._undo.append((old, min(self.cursor_position, len(old))))
        del self._undo[:-self.UNDO_DEPTH]
        self._redo.clear()

    def _restore(self, source: list, sink: list) -> None:
        if not source:
            return
        sink.append((self.value, self.cursor_position))
        value, cursor = source.pop()
        self._restoring = True
        try:
            self.value = value
        finally:
            self._restoring = False
        self.cursor_position = min(cursor, len(self.value))

    def action_undo(self) -> None:
        self._restore(self._undo, self._redo)

    def action_redo(self) -> None:
        self._restore(self._redo, self._undo)

    def action_leave(self) -> None:
        leave_text_box(self)

    def cut_paste(self, text: str) -> str:
        """``text`` cut to fit the box (with a note when cut)."""
        room = max(0, self.max_length - len(self.value) + len(self.selected_text))
        if len(text) > room:
            self.notify(f"The pasted text was cut to {room:,} characters.",
                        title="Long paste", severity="warning", markup=False)
            text = text[:room]
        return text

    def _on_paste(self, event: events.Paste) -> None:
        # Input keeps a paste's first line (a prompt wants all of it); cut it
        # to fit instead of refusing it.
        if event.text:
            if self.newlines:
                line = self.cut_paste(self.validate_value(event.text))
            else:
                line = event.text.splitlines()[0] if event.text.splitlines() else ""
                line = self.cut_paste(line)
            start, end = sorted(self.selection)
            self.replace(line, start, end)
        event.stop()
        event.prevent_default()


class SafeTextArea(TextArea, inherit_bindings=False):
    """TextArea showing control characters as visible symbols, and able to
    mark a span (the selected token) without touching the user's selection.

    F6/F7 (select line / select all in TextArea) are left to the pane, which
    uses the function keys for its views.
    """

    BINDINGS = [
        *(binding
          for binding in TextArea.BINDINGS
          if not (isinstance(binding, Binding) and binding.key in ("f6", "f7"))),
        Binding("escape", "leave", "Leave the text box", show=False),
    ]

    def action_leave(self) -> None:
        leave_text_box(self)

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

    COMPONENT_CLASSES = {"safe-text-area--mark"}
    DEFAULT_CSS = """
    SafeTextArea > .safe-text-area--mark { background: $accent 70%; text-style: bold; }
    """

    _mark: tuple[Location, Location] | None = None

    @property
    def marked_text(self) -> str:
        """The text under the mark ("" when nothing is marked)."""
        if self._mark is None:
            return ""
        return self.document.get_text_range(*self._mark)

    def mark(self, start: Location | None, end: Location | None = None) -> None:
        """Highlight ``start``..``end`` (a token) and scroll it into view; the
        cursor and selection stay where the user left them, so typing never
        replaces the marked text. ``mark(None)`` clears it."""
        self._mark = None if start is None or end is None else (start, end)
        cache = getattr(self, "_line_cache", None)
        if cache is not None:
            cache.clear()  # cached lines were drawn without (or with) the mark
        self.refresh()
        if self._mark is not None:
            x, y = self.wrapped_document.location_to_offset(start)
            self.scroll_to_region(
                Region(x, y, 1, 1), animate=False, force=True, immediate=True
            )

    def _on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self._mark is not None:
            self.mark(None)  # offsets moved with the edit
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
        line = Text(safe_line(line_string), end="", no_wrap=True)
        if self._mark is not None:
            (top, left), (bottom, right) = self._mark
            if top <= line_index <= bottom:
                start = left if line_index == top else 0
                end = right if line_index == bottom else len(line_string) + 1
                if line_index != bottom and end > len(line):
                    line.append(" ")  # show that the newline is part of the token
                style = self.get_component_rich_style("safe-text-area--mark")
                line.stylize(style, start, end)
        return line
