"""The token view: tokens as alternating coloured spans, ids beneath.

A Line-API scroll view: it keeps the whole layout (one start index per line)
but draws only the rows on screen, so a million tokens scroll as smoothly as
ten.
"""

from __future__ import annotations

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from genai_tui.tui.panes.tokenizer.layout import (
    Cancelled,
    TokenCells,
    cell_widths,
    line_of,
    wrap_lines,
)

# Token backgrounds (white text) and the matching id colours, alternating by
# token index as tiktokenizer does; readable on dark and light themes.
TOKEN_BACKGROUNDS = ("#4b3f8a", "#2e6b43", "#80561b", "#83323a", "#1f5f7a")
ID_COLOURS = ("#a99be0", "#74c48f", "#e0a452", "#e0808a", "#5bb8de")
_TOKEN_STYLES = tuple(Style(color="#ffffff", bgcolor=bg) for bg in TOKEN_BACKGROUNDS)
_ID_STYLES = tuple(Style(color=c) for c in ID_COLOURS)

SYNC_LAYOUT_LIMIT = 20_000
"""Up to this many tokens the layout is computed on the UI thread (a few ms);
above it, in a worker, keeping the old layout on screen meanwhile."""


class TokenView(ScrollView, can_focus=True):
    """Shows a `TokenCells`; a cursor selects one token (keys or mouse)."""

    BINDINGS = [
        Binding("left", "move(-1)", "Previous token", show=False),
        Binding("right", "move(1)", "Next token", show=False),
        Binding("up", "move_line(-1)", "Token above", show=False),
        Binding("down", "move_line(1)", "Token below", show=False),
        Binding("pageup", "move_page(-1)", "Page up", show=False),
        Binding("pagedown", "move_page(1)", "Page down", show=False),
        Binding("home", "move_to(0)", "First token", show=False),
        Binding("end", "move_to(-1)", "Last token", show=False),
    ]
    COMPONENT_CLASSES = {"token-view--cursor", "token-view--mark", "token-view--empty"}
    DEFAULT_CSS = """
    TokenView {
        height: 1fr;
        overflow-y: scroll;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
    }
    TokenView:focus { background-tint: $foreground 4%; }
    TokenView > .token-view--cursor { background: $accent; color: $text; text-style: bold; }
    TokenView > .token-view--mark { background: $warning; color: $text-warning; text-style: bold; }
    TokenView > .token-view--empty { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(-1, always_update=True, repaint=True)
    show_ids: reactive[bool] = reactive(True)

    class Selected(Message):
        """The cursor moved to token ``index`` (-1: none)."""

        def __init__(self, view: TokenView, index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

        @property
        def control(self) -> TokenView:
            return self.view

    def __init__(
        self,
        *,
        selectable: bool = True,
        empty_text: str = "(no tokens)",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.can_focus = selectable
        self.selectable = selectable
        self.empty_text = empty_text
        self.cells: TokenCells | None = None
        self._widths: list[int] = []
        self._starts: list[int] = []
        self._layout_width = 0
        self._version = 0

    # -- data -------------------------------------------------------------

    def set_cells(self, cells: TokenCells | None, keep_cursor: bool = True) -> None:
        """Show new tokens. The cursor keeps its index (clamped) when asked."""
        self._version += 1
        self.cells = cells
        count = len(cells) if cells else 0
        if not keep_cursor or count == 0:
            self.set_reactive(TokenView.cursor, -1)
        elif self.cursor >= count:
            self.set_reactive(TokenView.cursor, count - 1)
        self._relayout()

    @property
    def token_count(self) -> int:
        return len(self.cells) if self.cells else 0

    @property
    def line_count(self) -> int:
        return len(self._starts)

    @property
    def rows_per_line(self) -> int:
        return 2 if self.show_ids else 1

    def _content_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _relayout(self) -> None:
        cells = self.cells
        width = self._content_width()
        self._layout_width = width
        if not cells:
            self._widths, self._starts = [], []
            self._update_virtual_size()
            return
        if len(cells) <= SYNC_LAYOUT_LIMIT:
            self._widths = cell_widths(cells, self.show_ids)
            self._starts = wrap_lines(self._widths, cells.breaks, width)
            self._update_virtual_size()
            self._scroll_to_cursor(animate=False)
        else:
            self._layout_worker(self._version, cells, self.show_ids, width)

    @work(
        thread=True, exclusive=True, group="token-layout", exit_on_error=False,
        description="lay out tokens",  # (the default repr()s a million-token argument)
    )
    def _layout_worker(self, version: int, cells: TokenCells, show_ids: bool, width: int) -> None:
        worker = get_current_worker()
        try:
            widths = cell_widths(cells, show_ids)
            starts = wrap_lines(widths, cells.breaks, width, lambda: worker.is_cancelled)
        except Cancelled:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_layout, version, show_ids, widths, starts)

    def _apply_layout(
        self, version: int, show_ids: bool, widths: list[int], starts: list[int]
    ) -> None:
        if version != self._version or show_ids != self.show_ids:
            return
        self._widths, self._starts = widths, starts
        self._update_virtual_size()
        self._scroll_to_cursor(animate=False)

    def _update_virtual_size(self) -> None:
        rows = max(1, len(self._starts) * self.rows_per_line)
        self.virtual_size = Size(self._layout_width, rows)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self._content_width() != self._layout_width:
            self._version += 1
            self._relayout()

    def watch_show_ids(self, show_ids: bool) -> None:
        self._version += 1
        self._relayout()

    # -- geometry ---------------------------------------------------------

    def _line_span(self, line: int) -> tuple[int, int]:
        start = self._starts[line]
        end = self._starts[line + 1] if line + 1 < len(self._starts) else len(self._widths)
        return start, end

    def index_at(self, x: int, y: int) -> int | None:
        """The token under content offset (x, y), scroll included."""
        if not self._starts:
            return None
        line = (y + int(self.scroll_y)) // self.rows_per_line
        if line >= len(self._starts):
            return None
        start, end = self._line_span(line)
        column = 0
        for index in range(start, end):
            column += self._widths[index]
            if x < column:
                return index
        return None

    def _token_column(self, index: int) -> tuple[int, int]:
        line = line_of(self._starts, index)
        start, _ = self._line_span(line)
        return line, sum(self._widths[start:index])

    def _scroll_to_cursor(self, animate: bool = True) -> None:
        if self.cursor < 0 or not self._starts or self.cursor >= len(self._widths):
            return
        line, column = self._token_column(self.cursor)
        region = Region(column, line * self.rows_per_line, 1, self.rows_per_line)
        self.scroll_to_region(region, animate=animate, force=True, immediate=not animate)

    def token_offset(self, index: int) -> tuple[int, int] | None:
        """Where token ``index`` is drawn, as (x, y) in content coordinates
        with the current scroll (None when it is not laid out)."""
        if not self._starts or not 0 <= index < len(self._widths):
            return None
        line, column = self._token_column(index)
        return column, line * self.rows_per_line - int(self.scroll_y)

    def scroll_to_token(self, index: int) -> None:
        """Bring token ``index`` into view (without moving the cursor)."""
        if not self._starts or not 0 <= index < len(self._widths):
            return
        line, column = self._token_column(index)
        region = Region(column, line * self.rows_per_line, 1, self.rows_per_line)
        self.scroll_to_region(region, animate=False, force=True, immediate=True)

    # -- drawing ----------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        cells = self.cells
        if not cells or not self._starts:
            if y == 0:
                empty = self.get_component_rich_style("token-view--empty")
                text = set_cell_size(self.empty_text, width)
                return Strip([Segment(text, base + empty)], width)
            return Strip.blank(width, base)
        row = y + int(self.scroll_y)
        line, sub = divmod(row, self.rows_per_line)
        if line >= len(self._starts):
            return Strip.blank(width, base)
        start, end = self._line_span(line)
        cursor_style = self.get_component_rich_style("token-view--cursor")
        mark_style = self.get_component_rich_style("token-view--mark")
        gap = 1 if self.show_ids else 0
        segments: list[Segment] = []
        used = 0
        for index in range(start, end):
            cell = min(self._widths[index], width - used)
            if cell <= 0:
                break
            body = max(0, cell - gap)
            colour = index % len(_TOKEN_STYLES)
            if sub == 0:
                style = _TOKEN_STYLES[colour]
                if index in cells.marks:
                    style = mark_style
                if index == self.cursor:
                    style = cursor_style
                label = cells.labels[index]
                if body < cells.label_widths[index]:
                    label = set_cell_size(label, max(0, body - 1)) + "…" if body else ""
                segments.append(Segment(set_cell_size(label, body), base + style))
            else:
                style = _ID_STYLES[colour]
                if index == self.cursor:
                    style = cursor_style
                segments.append(Segment(set_cell_size(str(cells.ids[index]), body), base + style))
            if gap and cell > body:
                segments.append(Segment(" ", base))
            used += cell
        strip = Strip(segments, used)
        return strip.extend_cell_length(width, base)

    # -- cursor -----------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.post_message(self.Selected(self, new))

    def select(self, index: int) -> None:
        """Move the cursor to token ``index`` (clamped)."""
        count = self.token_count
        if count == 0 or not self.selectable:
            return
        self.cursor = max(0, min(count - 1, index))

    def action_move(self, step: int) -> None:
        self.select((self.cursor if self.cursor >= 0 else -1 if step > 0 else 0) + step)

    def action_move_to(self, index: int) -> None:
        self.select(index if index >= 0 else self.token_count - 1)

    def action_move_line(self, step: int) -> None:
        if not self._starts or not self._widths:
            return
        if self.cursor < 0:
            self.select(0)
            return
        line, column = self._token_column(self.cursor)
        target = line + step
        if not 0 <= target < len(self._starts):
            self.select(0 if target < 0 else self.token_count - 1)
            return
        start, end = self._line_span(target)
        x = 0
        for index in range(start, end):
            x += self._widths[index]
            if x > column:
                self.select(index)
                return
        self.select(end - 1)

    def action_move_page(self, step: int) -> None:
        lines = max(1, self.scrollable_content_region.height // self.rows_per_line - 1)
        for _ in range(min(lines, 200)):
            before = self.cursor
            self.action_move_line(step)
            if self.cursor == before:
                break

    def on_click(self, event: events.Click) -> None:
        if not self.selectable:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.index_at(offset.x, offset.y)
        if index is not None:
            self.cursor = index
