"""The knob panel: every decoding knob in a compact grid, values always visible.

Keyboard: ↑/↓ pick a knob, ←/→ (or -/+) change it, shift+←/→ in big steps,
Enter types an exact value, Backspace switches the knob off (neutral value).
Mouse: click a knob to pick it, click its ◂ / ▸ to change it, or scroll the
wheel over it. `KnobEditScreen` is the box a typed value goes through. What
each knob is (range, step, parsing) is `knob_specs.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import DEFAULT_ORDER, SAMPLING_ONLY, Knobs
from genai_tui.tui.panes.generate.knob_specs import KNOBS, KnobSpec, unparse_stop, with_value
from genai_tui.tui.textbox import SafeInput


class KnobPanel(Widget, can_focus=True):
    """Every knob of one `Knobs` set in a grid; one knob is selected."""

    BINDINGS = [
        Binding("up", "move(-1)", "Prev knob", show=False),
        Binding("down", "move(1)", "Next knob", show=False),
        Binding("left,minus", "change(-1)", "Less", show=False),
        Binding("right,plus,equals_sign", "change(1)", "More", show=False),
        Binding("shift+left", "change(-10)", "Much less", show=False),
        Binding("shift+right", "change(10)", "Much more", show=False),
        Binding("enter", "edit", "Type value", show=False),
        Binding("space", "toggle", "Toggle", show=False),
        Binding("backspace,delete", "neutral", "Knob off", show=False),
    ]
    DEFAULT_CSS = """
    KnobPanel { height: auto; padding: 0; }
    KnobPanel.-set-b { background: #2a1f3d; }
    """
    CELL_WIDTH = 16

    selected: reactive[int] = reactive(0)

    class Changed(Message):
        """The user changed a knob (the panel's `knobs` already holds the new set)."""

        def __init__(self, panel: KnobPanel, field_name: str) -> None:
            super().__init__()
            self.panel = panel
            self.field_name = field_name

    def __init__(self, knobs: Knobs, *, id: str | None = None,
                 specs: tuple[KnobSpec, ...] = KNOBS) -> None:
        super().__init__(id=id)
        self.knobs: Any = knobs
        """A `Knobs` (sampling) or a `BeamSettings` (beam mode): the fields ``specs`` name."""
        self.specs = specs
        self.set_name = "A"
        self.honoured: frozenset[str] | None = None
        """Knob fields the back end honours (None: all); the others are struck through."""

    # layout ------------------------------------------------------------------

    def _columns(self) -> int:
        width = self.size.width or 80
        return max(2, width // self.CELL_WIDTH)

    def _cell_rows(self) -> list[list[int]]:
        """Knob indices per grid row (the order cell spans two columns)."""
        cols = self._columns()
        rows: list[list[int]] = [[]]
        used = 0
        for i, spec in enumerate(self.specs):
            if used + spec.span > cols:
                rows.append([])
                used = 0
            rows[-1].append(i)
            used += spec.span
        return rows

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[override]
        cols = max(2, width // self.CELL_WIDTH)
        used, rows = 0, 1
        for spec in self.specs:
            if used + spec.span > cols:
                rows += 1
                used = 0
            used += spec.span
        return rows

    def on_resize(self) -> None:
        self.refresh(layout=True)

    def render(self) -> Text:
        cols = self._columns()
        width = self.size.width or cols * self.CELL_WIDTH
        cell_w = max(10, width // cols)
        out = Text(end="", no_wrap=True, overflow="crop")
        focused = self.has_focus
        for r, row in enumerate(self._cell_rows()):
            if r:
                out.append("\n")
            for i in row:
                out.append_text(self._cell(i, cell_w * self.specs[i].span, focused))
        return out

    def _cell(self, index: int, width: int, focused: bool) -> Text:
        spec = self.specs[index]
        value = getattr(self.knobs, spec.field)
        selected = index == self.selected
        muted = spec.is_neutral(value) or (getattr(self.knobs, "greedy", False)
                                           and spec.field in SAMPLING_ONLY)
        ignored = self.ignores(spec.field)
        base = Style(meta={"knob": index, "delta": 0})
        label_style = base + Style(color="grey62", strike=ignored)
        value_style = base + (Style(color="grey50", strike=ignored) if muted or ignored
                              else Style(color="#5fd7ff", bold=True))
        arrow_style = Style(color="#ffd75f", bold=True)
        cell = Text(end="", no_wrap=True, overflow="crop")
        cell.append("◂", arrow_style + Style(meta={"knob": index, "delta": -1}) if selected
                    else base + Style(color="grey35"))
        inner = width - 3
        label = spec.label
        shown = spec.format(value)
        room = inner - len(label) - 1
        if len(shown) > room:
            shown = shown[: max(1, room - 1)] + "…"
        cell.append(label, label_style)
        cell.append(" " * max(1, inner - len(label) - len(shown)), base)
        cell.append(shown, value_style)
        cell.append("▸", arrow_style + Style(meta={"knob": index, "delta": 1}) if selected
                    else base + Style(color="grey35"))
        cell.append(" ", base)
        if selected:
            cell.stylize(Style(bgcolor="#303f5f" if focused else "grey23"), 0, width - 1)
        return cell

    class Moved(Message):
        """Another knob was selected (the pane's hint line follows it)."""

    def watch_selected(self) -> None:
        self.refresh()
        self.post_message(self.Moved())

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # changing values ------------------------------------------------------------

    @property
    def spec(self) -> KnobSpec:
        return self.specs[min(self.selected, len(self.specs) - 1)]

    def ignores(self, field_name: str) -> bool:
        """The back end does not honour this knob (it is still kept and sent nowhere)."""
        return self.honoured is not None and field_name not in self.honoured

    def set_honoured(self, honoured: frozenset[str] | None) -> None:
        self.honoured = honoured
        self.refresh()

    def set_knobs(self, knobs: Any, set_name: str,
                  specs: tuple[KnobSpec, ...] | None = None) -> None:
        """Show ``knobs`` (set "A", "B" or "beam"); ``specs`` switches the grid's knobs."""
        self.knobs = knobs
        self.set_name = set_name
        self.set_class(set_name == "B", "-set-b")
        if specs is not None and specs is not self.specs:
            self.specs = specs
            self.selected = min(self.selected, len(specs) - 1)
            self.refresh(layout=True)
        self.refresh()

    def set_value(self, field_name: str, value: object) -> None:
        self.knobs = with_value(self.knobs, field_name, value)
        self.refresh()
        self.post_message(self.Changed(self, field_name))

    def action_move(self, step: int) -> None:
        self.selected = (self.selected + step) % len(self.specs)

    def action_change(self, steps: int) -> None:
        spec = self.spec
        if spec.kind == "stop":
            self.action_edit()
            return
        if spec.kind in ("bool", "order", "choice") and abs(steps) > 1:
            steps = 1 if steps > 0 else -1
        value = spec.stepped(getattr(self.knobs, spec.field), steps)
        self.set_value(spec.field, value)

    def action_toggle(self) -> None:
        if self.spec.kind in ("bool", "choice"):
            self.action_change(1)
        else:
            self.action_edit()

    def action_neutral(self) -> None:
        spec = self.spec
        default = getattr(type(self.knobs)(), spec.field)
        neutral = {"bool": False, "stop": (), "order": DEFAULT_ORDER}.get(spec.kind, spec.neutral)
        self.set_value(spec.field, neutral if neutral is not None else default)

    def action_edit(self) -> None:
        spec = self.spec
        current = getattr(self.knobs, spec.field)
        if spec.kind == "stop":
            start = unparse_stop(current)
        elif spec.kind == "order":
            start = ", ".join(current)
        else:
            start = spec.format(current) if spec.kind != "float" else f"{current:g}"

        def done(value: object) -> None:
            if value is not _CANCELLED:
                self.set_value(spec.field, value)

        self.app.push_screen(KnobEditScreen(spec, start, self.knobs, self.validator), done)

    validator: Callable[[Knobs], None] | None = None
    """Checks a whole knob set (the service's `validate`); set by the pane."""

    # mouse ------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "knob" not in meta:
            return
        event.stop()
        self.focus()
        index = int(meta["knob"])
        if index != self.selected:
            self.selected = index
            return
        delta = int(meta.get("delta", 0))
        if delta:
            self.action_change(delta)
        elif event.chain >= 2 or self.specs[index].kind in ("stop",):
            self.action_edit()
        elif self.specs[index].kind in ("bool", "choice"):
            self.action_change(1)

    def _wheel(self, event: events.MouseEvent, steps: int) -> None:
        meta = event.style.meta
        if "knob" not in meta:
            return
        event.stop()
        event.prevent_default()
        self.selected = int(meta["knob"])
        if self.spec.kind not in ("stop",):
            self.action_change(steps)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, 1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, -1)

    def hint(self) -> Text:
        """What the selected knob does and how to change it (wraps: never cut)."""
        spec = self.spec
        text = Text(end="")
        text.append(f"{spec.label}: ", "bold")
        if self.ignores(spec.field):
            text.append("this back end ignores it. ", "bold #ff875f")
        text.append(spec.help, "grey70")
        keys = "  ↑↓ knob ←→ change ⏎ type ⌫ off"
        text.append(keys, "grey50")
        return text


_CANCELLED = object()


class KnobEditScreen(ModalScreen[object]):
    """Type one knob's exact value; a bad value shows why and keeps the box open."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    KnobEditScreen { align: center middle; }
    KnobEditScreen > Vertical {
        width: 64; max-width: 95%; height: auto; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    KnobEditScreen #knob-input { background: $boost; margin: 1 0 0 0; }
    KnobEditScreen #knob-error { color: $error; height: auto; }
    KnobEditScreen #knob-help { color: $text-muted; height: auto; }
    """

    def __init__(self, spec: KnobSpec, start: str, knobs: Knobs,
                 validator: Callable[[Knobs], None] | None) -> None:
        super().__init__()
        self.spec = spec
        self.start = start
        self.knobs = knobs
        self.validator = validator

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Set {self.spec.label}", style="bold"))
            yield Static(Text(self.spec.help), id="knob-help")
            # A number starts empty (the current one as placeholder; Enter on an
            # empty box keeps it), so what is typed is the value even when it
            # was typed in one burst with the Enter that opened this box.
            yield SafeInput(value="" if self._numeric else self.start, id="knob-input",
                            compact=True,
                            placeholder=f"now {self.start}; type a value" if self._numeric
                            else r"e.g. \n\n | ###  (empty: none)" if self.spec.kind == "stop"
                            else "type a value")
            yield Static("", id="knob-error")
            yield Static(Text("Enter: set   Esc: cancel", style="grey50"))

    def on_mount(self) -> None:
        self.query_one("#knob-input", Input).focus()

    @property
    def _numeric(self) -> bool:
        return self.spec.kind in ("float", "int", "seed")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._numeric and not event.value.strip():
            self.dismiss(_CANCELLED)  # nothing typed: the value stays
            return
        try:
            value = self.spec.parse(event.value)
            trial = with_value(self.knobs, self.spec.field, value)
            if self.validator is not None:
                self.validator(trial)
            elif self.spec.kind in ("float", "int") and not (
                self.spec.lo <= float(value) <= self.spec.hi  # type: ignore[arg-type]
            ):
                raise UserError(f"{self.spec.label} must be in [{self.spec.lo}, {self.spec.hi}]")
        except UserError as exc:
            self.query_one("#knob-error", Static).update(Text(str(exc)))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(_CANCELLED)
