"""A run's streaming output with a token cursor (`RunView`).

`RunView` lays tokens out itself (`layout.RunLayout`: token-level word wrap)
and renders only the lines on screen, so appending a token repaints one or two
lines, not the screen: the worker thread keeps the GIL for the model instead
of the UI. Its title says the run's state, knobs, length and on-screen rate.
"""

from __future__ import annotations

from time import monotonic

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from genai_tui.service.generate import TokenStep
from genai_tui.textsafe import visible
from genai_tui.tui.panes.generate.bars import set_plain_title
from genai_tui.tui.panes.generate.layout import PROMPT, RunLayout
from genai_tui.tui.panes.generate.render import CURSOR_STYLE, FORK_STYLE, token_style
from genai_tui.tui.panes.generate.runs import Run, knob_summary, own_side

_PROMPT_STYLE = Style(color="grey58")
_DIGIT_STYLE = Style(color="grey62")
_ERROR_STYLE = Style(color="red", bold=True)


def _fmt_rate(rate: float | None) -> str:
    return "…" if rate is None else f"{rate:,.0f} tok/s"


class RunView(ScrollView, can_focus=True):
    """One run's prompt and tokens, coloured by probability, with a token cursor.

    ←/→ move the cursor over emitted tokens (End follows the newest token),
    ↑/↓ pick an alternative in the inspector, Enter or b branches there.
    Clicking a token selects it.
    """

    BINDINGS = [
        Binding("left", "cursor(-1)", "Prev token", show=False),
        Binding("right", "cursor(1)", "Next token", show=False),
        Binding("home", "cursor_to(0)", "First token", show=False),
        Binding("end", "follow", "Follow newest", show=False),
        Binding("up", "alt(-1)", "Prev alternative", show=False),
        Binding("down", "alt(1)", "Next alternative", show=False),
        Binding("enter", "branch", "Branch here", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]
    DEFAULT_CSS = """
    RunView {
        border-top: solid $primary-darken-2; height: 1fr; width: 1fr; padding: 0 1;
        scrollbar-size-vertical: 1; overflow-x: hidden; overflow-y: scroll;
    }
    RunView:focus { border-top: solid $accent; }
    """
    SHOW_RATES = True
    """Snapshot tests switch the tokens/s figure off (it is the one non-deterministic value)."""

    class Selected(Message):
        """The cursor moved (or the view got focus): the inspector should follow."""

        def __init__(self, view: RunView) -> None:
            super().__init__()
            self.view = view

    class BranchRequested(Message):
        def __init__(self, view: RunView) -> None:
            super().__init__()
            self.view = view

    class AltMoved(Message):
        def __init__(self, view: RunView, delta: int) -> None:
            super().__init__()
            self.view = view
            self.delta = delta

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: Run | None = None
        self.cursor: int | None = None
        self.follow = True
        self.digits = False
        self.compare_fork: int | None = None
        """Mark this position (the parent side of a branch comparison)."""
        self.message_text: Text | None = None
        self._layout: RunLayout | None = None
        self._message_strips: list[Strip] = []
        self._styles: dict[tuple[int, str, bool, bool], Style] = {}
        self._styles_base: Style | None = None
        self._titled_at = 0.0

    # content -------------------------------------------------------------------

    def set_run(self, run: Run | None, compare_fork: int | None = None) -> None:
        if run is not self.run:
            self.run = run
            self.follow = True
            self.cursor = None
        self.compare_fork = compare_fork
        self.message_text = None
        self._layout = None
        self.update_view()

    def show_message(self, text: Text) -> None:
        """Replace the output with a message (loading, errors)."""
        self.message_text = text
        self._layout = None
        self.border_title = ""
        self._layout_message()

    def _content_width(self) -> int:
        return max(4, self.scrollable_content_region.width - 1)

    def _layout_message(self) -> None:
        width = self._content_width()
        text = self.message_text if self.message_text is not None else Text(
            "Type a prompt and press Enter (or F5).", style="grey50")
        console = Console(width=width, color_system="truecolor", legacy_windows=False)
        self._message_strips = [Strip(line.render(console)) for line in text.wrap(console, width)]
        self._set_virtual_height(len(self._message_strips))
        self.refresh()

    def _set_virtual_height(self, lines: int, live: bool = False) -> None:
        size = Size(self._content_width(), max(1, lines))
        old = self.virtual_size
        if size == old:
            if not live:
                self._sync_scrollbar()
            return
        if self.is_mounted and old.width == size.width and old.height > 0:
            # Growing text must not cost a layout pass of the whole screen per
            # line: the vertical scrollbar is always shown (overflow-y: scroll),
            # so only the virtual height and the scrollbar's thumb change. While
            # streaming the thumb follows with the title (twice a second): a
            # scrollbar repaint spans the view's full height, so every line
            # would repaint the whole row of widgets.
            self.set_reactive(Widget.virtual_size, size)
            if not live:
                self._sync_scrollbar()
        else:
            self.virtual_size = size

    def _sync_scrollbar(self) -> None:
        if not self.is_mounted:
            return
        bar = self.vertical_scrollbar
        if bar.window_virtual_size != self.virtual_size.height:
            bar.window_virtual_size = self.virtual_size.height  # repaints the bar

    def _fork(self) -> int | None:
        run = self.run
        if run is None:
            return None
        return run.fork_at if run.fork_at is not None else self.compare_fork

    def update_view(self, live: bool = False) -> None:
        """Lay out new tokens and repaint what changed.

        ``live`` (while streaming): repaint only the lines that changed, scroll
        in jumps of a third of the view rather than a line at a time, and
        update the title twice a second; each full repaint of the view costs
        the UI thread time the model's thread would rather have (the GIL).
        """
        run = self.run
        if self.message_text is not None or run is None:
            self._layout_message()
            if run is None:
                self.border_title = ""
            return
        n = len(run.steps)
        old_cursor = self.cursor
        if self.follow:
            self.cursor = n - 1 if n else None
        elif self.cursor is not None and self.cursor >= n:
            self.cursor = n - 1 if n else None
        layout = self._layout
        width = self._content_width()
        if layout is None or layout.width != width or layout.digits != self.digits \
                or layout.count > n:
            layout = RunLayout(width, self.digits)
            layout.add_prompt(run.prompt)
            self._styles.clear()
            self._layout = layout
            changed_from = 0
        else:
            changed_from = len(layout.lines) - 1
        fork = self._fork()
        while layout.count < n:
            layout.add_token(run.steps[layout.count], fork == layout.count)
        lines = len(layout.lines) + (1 if run.error else 0)
        height = max(1, self.scrollable_content_region.height)
        following = self.follow
        slack = height // 3 if live and following else 0
        self._set_virtual_height(lines + slack, live)
        top = int(self.scroll_offset.y)
        scroll_to = None
        if following and (not live or lines > top + height):
            scroll_to = max(0, lines + slack - height)
        if changed_from == 0 or (scroll_to is not None and scroll_to != top):
            self.refresh()
        else:
            self.refresh_lines(changed_from, len(layout.lines) - changed_from + 1)
            for index in (old_cursor, self.cursor):
                self._refresh_token(index)
        now = monotonic()
        if not live or now - self._titled_at >= 0.5:
            self._titled_at = now
            self._set_title()
            self._sync_scrollbar()
        if scroll_to is not None and scroll_to != top:
            self.scroll_to(y=scroll_to, animate=False, immediate=True)

    def _refresh_token(self, index: int | None) -> None:
        layout = self._layout
        if layout is None or index is None or not 0 <= index < layout.count:
            return
        first = layout.first_line[index]
        last = layout.first_line[index + 1] if index + 1 < layout.count else len(layout.lines) - 1
        self.refresh_lines(first, last - first + 1)

    def _set_title(self) -> None:
        run = self.run
        if run is None:
            return
        icon = {"running": "●", "paused": "❚❚", "stopped": "■", "done": "✓", "error": "✗",
                "waiting": "…"}.get(run.status, "")
        parts = [f"{icon} {run.label}"]
        side = own_side(run)  # an A/B run: first what sets it apart (cut last when narrow)
        if side is not None:
            parts.append(side)
        parts.append(f"{run.generated}/{run.knobs.max_tokens} tok")
        if self.SHOW_RATES and run.generated and not run.stepping:
            parts.append(_fmt_rate(run.rate))
        if run.stepping and run.status == "paused":
            parts.append("stepping")
        if run.status == "done" and run.steps and getattr(run.steps[-1], "finish", "") == "stop":
            parts.append("hit a stop string")
        if side is None:
            parts.append(knob_summary(run.knobs))
        own = run.steps[run.inherited:]
        speculated = sum(s.speculated for s in own)
        if speculated:  # fewer forward passes than tokens; last: the first thing cut when narrow
            parts.append(f"{len(own) / (len(own) - speculated):.2f} tok/pass")
        title = " · ".join(parts)
        set_plain_title(self, title)

    def on_resize(self, event: events.Resize) -> None:
        if self._layout is not None and self._layout.width != self._content_width():
            self._layout = None
        self.update_view()

    # drawing ----------------------------------------------------------------------

    def _piece_style(self, base: Style, index: int, kind: str, fork: int | None) -> Style:
        cursor = index == self.cursor and kind != "d"
        key = (index, kind, cursor, index == fork)
        style = self._styles.get(key)
        if style is not None:
            return style
        if index == PROMPT:
            style = base + _PROMPT_STYLE
        else:
            run = self.run
            assert run is not None
            meta = Style(meta={"token": index})
            if kind == "f":
                style = base + FORK_STYLE + meta
            else:
                shade = _DIGIT_STYLE if kind == "d" else token_style(run.steps[index])
                style = base + shade
                if index < (run.fork_at or 0):
                    style += Style(dim=True)
                if index == fork:
                    style += FORK_STYLE
                if cursor:
                    style += CURSOR_STYLE
                style += meta
        self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles_base = None  # focus or theme changed: look the style up again

    def render_lines(self, crop):  # type: ignore[override]
        # One CSS style lookup per style change, not one per line (it walks the DOM).
        if self._styles_base is None:
            self._styles.clear()
            self._styles_base = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line_no = y + int(self.scroll_offset.y)
        base = self._styles_base if self._styles_base is not None else self.rich_style
        layout = self._layout
        if layout is None:
            strips = self._message_strips
            strip = strips[line_no] if 0 <= line_no < len(strips) else Strip.blank(width)
            return strip.extend_cell_length(width).crop(0, width).apply_style(base)
        if line_no >= len(layout.lines):
            run = self.run
            if run is not None and run.error and line_no == len(layout.lines):
                text = Text(run.error[:width], style=_ERROR_STYLE)
                return Strip(text.render(Console(width=width))).extend_cell_length(
                    width).crop(0, width).apply_style(base)
            return Strip.blank(width, base)
        fork = self._fork()
        segments = []
        for text, index, kind in layout.lines[line_no]:
            if kind in ("n", "e"):
                if index != self.cursor:
                    continue
                text = "↵" if kind == "n" else "∅"
            elif index == self.cursor and kind == "t" and not text.strip():
                text = visible(text)
            segments.append(Segment(text, self._piece_style(base, index, kind, fork)))
        return Strip(segments).extend_cell_length(width, base).crop(0, width)

    # cursor ---------------------------------------------------------------------

    @property
    def selected_step(self) -> TokenStep | None:
        if self.run is None or self.cursor is None or not self.run.steps:
            return None
        return self.run.steps[min(self.cursor, len(self.run.steps) - 1)]

    def move_cursor(self, index: int, notify: bool = True) -> None:
        if self.run is None or not self.run.steps:
            return
        n = len(self.run.steps)
        index = max(0, min(n - 1, index))
        old = self.cursor
        self.cursor = index
        self.follow = False
        self._refresh_token(old)
        self._refresh_token(index)
        self._scroll_to_cursor()
        if notify:
            self.post_message(self.Selected(self))

    def action_cursor(self, step: int) -> None:
        if self.run is None or not self.run.steps:
            return
        current = self.cursor if self.cursor is not None else len(self.run.steps) - 1
        self.move_cursor(current + step)

    def action_cursor_to(self, index: int) -> None:
        self.move_cursor(index)

    def action_follow(self) -> None:
        self.follow = True
        self.update_view()
        self.post_message(self.Selected(self))

    def action_page(self, direction: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_offset.y + direction * height, animate=False)

    def action_alt(self, delta: int) -> None:
        self.post_message(self.AltMoved(self, delta))

    def action_branch(self) -> None:
        self.post_message(self.BranchRequested(self))

    def _scroll_to_cursor(self) -> None:
        layout = self._layout
        if layout is None or self.cursor is None or self.cursor >= layout.count:
            return
        line = layout.first_line[self.cursor]
        top, height = int(self.scroll_offset.y), self.scrollable_content_region.height
        if not top <= line < top + height:
            self.scroll_to(y=max(0, line - height // 2), animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        self.focus()
        if "token" in meta:
            event.stop()
            self.move_cursor(int(meta["token"]))

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))
