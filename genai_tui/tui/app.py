"""The genai-tui Textual application: one tab per pane."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING

from textual import events
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Header, Input, TabbedContent, TabPane, TextArea

from genai_tui.lesson import Lesson
from genai_tui.service.runtime import limit_malloc_arenas, thaw_heap
from genai_tui.textsafe import escape_controls
from genai_tui.tui.help import HelpScreen
from genai_tui.tui.keys import key_label, works_while_typing
from genai_tui.tui.lesson_player import LessonBar, LessonPlayer
from genai_tui.tui.pane import Pane, save_file
from genai_tui.tui.panes import PANES, PaneSpec, load_pane
from genai_tui.tui.terminal import fit_app
from genai_tui.tui.textbox import type_ahead
from genai_tui.tui.widgets import Footer

if TYPE_CHECKING:
    from genai_tui.service.backend import BackendSpec


class GenaiApp(App[None]):
    """See how generative AI works, live."""

    TITLE = "genai-tui"
    SUB_TITLE = "see how generative AI works"
    # Absolute, so the stylesheet is found whoever subclasses the app.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f2", "cycle_pane(-1)", "Prev pane", show=False),
        Binding("f3", "cycle_pane(1)", "Next pane", show=False),
        Binding("ctrl+q", "quit", "Quit"),
        # Work while typing too (ctrl chords), so they are priority bindings.
        Binding("ctrl+s", "screenshot", "Screenshot", show=False, priority=True),
        Binding("ctrl+o", "export", "Export", show=False, priority=True),
        # Lesson keys: space/backspace only outside text boxes (there they
        # type: the actions raise SkipAction), alt+arrows from anywhere.
        Binding("space", "lesson(1, True)", "Next step", show=False, priority=True),
        Binding("backspace", "lesson(-1, True)", "Step back", show=False, priority=True),
        Binding("alt+right", "lesson(1, False)", "Next step", show=False, priority=True),
        Binding("alt+left", "lesson(-1, False)", "Step back", show=False, priority=True),
    ]

    _visible_pane: Pane | None = None

    HOLD_KEYS_AT_MOST = 3.0
    """Seconds keys are held while a pane is being built (then they go where focus is)."""
    REPLAY_GAP = 0.03
    """Seconds before a replayed key is first checked for being done (and between
    checks that focus has arrived); see `_replay_when_done`."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without a lesson its space/backspace bindings step aside, so the
        # footer shows what the pane's own space key does.
        if action == "lesson":
            return self.lesson is not None
        return True

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast is plain text: messages quote paths, card values and
        errors, and a ``[/x]`` or ``[@click=app.quit]`` in them must show, not
        parse (or crash, or become a live action). ``markup`` is ignored."""
        super().notify(escape_controls(message), title=escape_controls(title),
                       severity=severity, timeout=timeout, markup=False)

    def __init__(self, initial_pane: str | None = None,
                 panes: Sequence[PaneSpec | type[Pane]] | None = None, *,
                 ascii: bool = False, depth: str | None = None, fps: float | None = None,
                 export_dir: str | Path | None = None, lesson: Lesson | None = None,
                 backend: BackendSpec | None = None) -> None:
        """``panes``: the tabs to show (registry specs or pane classes);
        default, every pane in `PANES`. Tests and benchmarks pass one pane so
        other panes' tabs leave their snapshots alone.

        ``ascii``: draw printable ASCII only. ``depth``: colour depth
        ("truecolor", "256", "16", "mono"; default: what the terminal says,
        "mono" under ``NO_COLOR``). ``fps``: repaint cap (default 60, 20
        over SSH). ``export_dir``: where ctrl+s / ctrl+o save (default: the
        working directory). ``lesson``: a checked lesson to play. ``backend``:
        where the generate pane generates (default: the bundled model)."""
        super().__init__()
        self._pane_classes: list = list(PANES if panes is None else panes)
        self._initial_pane = initial_pane
        self.display_profile = fit_app(self, ascii=ascii, depth=depth, fps=fps)
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.backend = backend
        self.lesson = LessonPlayer(lesson) if lesson is not None else None
        self._held_keys: list[events.Key] = []
        self._holding = True  # until the first pane has focus
        self._hold_timer = None
        self._replay_timer = None
        self._focus_waits = 0
        self._in_flight: events.Key | None = None
        self._in_flight_at = 0.0
        self._in_flight_back = False
        self.ran = False
        """Whether the app got as far as mounting (`run_in_terminal` exits fast then)."""

    async def on_event(self, event: events.Event) -> None:
        # Keys typed while a pane is being built (at launch, or just after a pane
        # switch) would reach no pane: focus is not inside one yet. Hold them and
        # replay them in order once it is. Ctrl+Q is never held.
        if (isinstance(event, events.Key) and self._holding and not event.is_forwarded
                and event.key != "ctrl+q"):
            self._held_keys.append(event)
            return
        returning = event is self._in_flight and event.is_forwarded
        await super().on_event(event)
        if returning:
            self._in_flight_back = True  # bubbled back up: its bindings have run

    def _hold_keys(self) -> None:
        self._holding = True
        if self._hold_timer is not None:
            self._hold_timer.stop()
        # A safety net: a pane that never takes focus must not swallow the keyboard.
        self._hold_timer = self.set_timer(self.HOLD_KEYS_AT_MOST, self._release_keys)

    def _release_keys(self) -> None:
        self._holding = False
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        if self._replay_timer is None:  # one replay at a time, in order
            self._replay_next()

    def _replay_next(self) -> None:
        self._replay_timer = None
        if self._holding or not self._held_keys:
            return
        if self.focused is None and self._focus_waits * self.REPLAY_GAP < self.HOLD_KEYS_AT_MOST:
            # focus() is applied later than it is asked for: a key now would go nowhere
            self._focus_waits += 1
            self._replay_timer = self.set_timer(self.REPLAY_GAP, self._replay_next)
            return
        self._focus_waits = 0
        key = self._held_keys.pop(0)
        self._in_flight, self._in_flight_at, self._in_flight_back = key, monotonic(), False
        self.post_message(key)
        self._replay_timer = self.set_timer(self.REPLAY_GAP, self._replay_when_done)

    def _replay_when_done(self) -> None:
        # The next key goes only when this one is done: stopped by the widget that
        # took it, or back at the app after bubbling up (where bindings such as an
        # Input's Home run). Under load bubbling takes longer than the gap, and a
        # printable key after it would overtake it (Home, H, i typed "iH").
        key = self._in_flight
        done = key is None or key._stop_propagation or self._in_flight_back
        if not done and monotonic() - self._in_flight_at < 1.0:
            self._replay_timer = self.set_timer(0.005, self._replay_when_done)
            return
        self._in_flight = None
        self._replay_next()

    def action_command_palette(self) -> None:
        """Textual's, unless a palette is anywhere in the stack (or still closing):
        it checks only the top screen, so a click on the header's icon with Help
        over an open palette pushed a second one with the same id and crashed."""
        if any(isinstance(node, CommandPalette) for node in self._nodes):
            return
        super().action_command_palette()

    async def action_quit(self) -> None:
        """Quit at once: workers are told to stop and not waited for."""
        self.workers.cancel_all()
        self.exit()

    async def _on_key(self, event: events.Key) -> None:
        # A typed character reaches the app only if no text box took it on its
        # way up. If a text box has focus now, the key was typed in the same
        # burst as the key that opened the box's dialog (Enter, then "1.2" at
        # once): each widget passes keys on before the app runs the Enter's
        # binding. Type it there instead of dropping it.
        # (Textual then calls App._on_key, bindings first, unless prevented here.)
        if event.is_printable and event.character and type_ahead(self.screen, event.character):
            event.stop()
            event.prevent_default()

    def compose(self) -> ComposeResult:
        yield Header()
        first = self._pane_classes[0].PANE_ID if self._pane_classes else ""
        initial = self._initial_pane or first
        # Only the first pane is built now; the others are mounted when first
        # shown, so the first screen paints sooner.
        with TabbedContent(id="panes", initial=initial):
            for cls in self._pane_classes:
                with TabPane(cls.TITLE, id=cls.PANE_ID):
                    if cls.PANE_ID == initial:
                        yield load_pane(cls)(id=f"pane-{cls.PANE_ID}")
        # Compact, without the palette hint (F1 help names ctrl+p), so the
        # pane's keys and Help/Quit fit at 80 columns.
        if self.lesson is not None:
            yield LessonBar(id="lesson-bar")
        yield Footer(compact=True, show_command_palette=False)

    def on_unmount(self) -> None:
        thaw_heap()  # the panes' models were frozen out of the collector (settle_heap)

    async def on_mount(self) -> None:
        self.ran = True
        _widen_default_executor()
        self._hold_keys()
        await self._show_active_pane()
        if self.lesson is not None:
            await self.lesson.forward(self)

    # -- lessons, screenshots, exports ---------------------------------------------

    @property
    def lesson_bar(self) -> LessonBar:
        return self.query_one("#lesson-bar", LessonBar)

    @property
    def active_pane_id(self) -> str | None:
        tabs = self.query_one("#panes", TabbedContent)
        return tabs.active or None

    async def show_pane_now(self, pane_id: str) -> Pane:
        """Switch to a pane (mounting it) and return it once its tab shows."""
        pane = await self._ensure_pane(pane_id)
        if self.active_pane_id != pane_id:
            self._switch_to(pane_id)
            await self._show_active_pane()
        return pane

    def _typing(self) -> bool:
        return isinstance(self.focused, (Input, TextArea))

    async def action_lesson(self, step: int, outside_text_only: bool) -> None:
        # Not over a modal (help, a knob editor): their keys come first.
        if self.lesson is None or (outside_text_only and self._typing()) or len(
                self.screen_stack) > 1:
            raise SkipAction()
        if step > 0:
            await self.lesson.forward(self)
        else:
            await self.lesson.back(self)

    def action_screenshot(self) -> None:
        """Save what the screen shows as an SVG file (works while typing)."""
        svg = self.export_screenshot()
        pane = self.active_pane_id or "app"

        def write(path: Path) -> None:
            path.write_text(svg, encoding="utf-8")

        save_file(self, f"screenshot-{pane}", ".svg", write, title="Saved SVG")

    def action_export(self) -> None:
        """Save the active pane's data (JSON, PNG or CSV, per pane)."""
        pane = self.active_pane
        if pane is not None:
            pane.export_now()

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "panes":  # not a pane's own inner tabs
            await self._show_active_pane()

    async def _show_active_pane(self) -> None:
        found = self.query("#panes").results(TabbedContent)
        tabs = next(found, None)
        if tabs is not None and tabs.active:
            pane = await self._ensure_pane(tabs.active)
            previous, self._visible_pane = self._visible_pane, pane
            if previous is not None and previous is not pane:
                previous.pane_hidden()
            pane.pane_shown()
            self.call_after_refresh(self._focus_into, pane)

    def _focus_into(self, pane: Pane) -> None:
        # A pane's keys only fire with focus inside it; after a tab switch the
        # tab strip holds focus, so move into the pane unless it already did: to
        # the pane itself when it takes focus (its keys then work at once and the
        # first letter typed lands in no text box), else its first focusable widget.
        focused = self.focused
        if focused is None or pane not in focused.ancestors_with_self:
            for widget in [pane, *pane.query("*")]:
                if widget.focusable:
                    widget.focus()
                    break
        self.call_after_refresh(self._release_keys)  # focus is in: held keys go there

    async def _ensure_pane(self, pane_id: str) -> Pane:
        """The pane with this id, mounting it into its tab on first use."""
        tab = self.query_one("#panes", TabbedContent).get_pane(pane_id)
        for pane in tab.query(Pane):
            return pane
        entry = next(c for c in self._pane_classes if c.PANE_ID == pane_id)
        pane = load_pane(entry)(id=f"pane-{pane_id}")
        await tab.mount(pane)
        return pane

    @property
    def active_pane(self) -> Pane | None:
        """The pane whose tab is showing."""
        tabs = self.query_one("#panes", TabbedContent)
        if not tabs.active:
            return None
        for pane in tabs.get_pane(tabs.active).query(Pane):
            return pane
        return None

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.active_pane))

    def action_show_pane(self, pane_id: str) -> None:
        self._switch_to(pane_id)

    def _switch_to(self, pane_id: str) -> None:
        # Drop focus first: hiding a focused widget makes Textual focus a
        # sibling inside the old pane, and the tabs would switch back to it.
        self.screen.set_focus(None)
        tabs = self.query_one("#panes", TabbedContent)
        if tabs.active != pane_id:
            self._hold_keys()  # until the pane is built and focused (`_focus_into`)
        tabs.active = pane_id

    def action_cycle_pane(self, step: int) -> None:
        ids = [cls.PANE_ID for cls in self._pane_classes]
        if not ids:
            return
        tabs = self.query_one("#panes", TabbedContent)
        index = ids.index(tabs.active) if tabs.active in ids else 0
        self._switch_to(ids[(index + step) % len(ids)])

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Explain the current pane", self.action_help)
        for entry in self._pane_classes:
            cls = load_pane(entry)
            yield SystemCommand(
                f"Go to {cls.TITLE}", f"Show the {cls.TITLE} pane",
                partial(self.action_show_pane, cls.PANE_ID),
            )
            for binding in cls.BINDINGS:
                if isinstance(binding, Binding) and binding.description:
                    yield SystemCommand(
                        f"{cls.TITLE}: {binding.description}",
                        f"key {key_label(binding.key)}" + (
                            "" if works_while_typing(binding) else " (outside a text box)"
                        ),
                        partial(self._run_pane_action, cls.PANE_ID, binding.action),
                    )

    async def _run_pane_action(self, pane_id: str, action: str) -> None:
        self.action_show_pane(pane_id)
        pane = await self._ensure_pane(pane_id)
        self.call_after_refresh(self.run_action, action, pane)


WORKER_THREADS = 64
"""Threads for Textual's thread workers (see `_widen_default_executor`)."""


def _widen_default_executor() -> None:
    """Give the event loop a default executor wide enough for every worker.

    Textual runs each thread worker, and Markdown's parser, in the loop's default
    executor; Python sizes it min(32, cores + 4): six threads on two cores. The
    GAN pane's training loop lives as long as the pane, and a superseded job
    (a tokenization, a sampler) runs on until it next checks for cancellation,
    so a few of them filled it and every later worker waited: the help screen
    stayed blank, a pane's load never started. Idle threads cost nothing."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="genai-worker"))


def run_in_terminal(app: GenaiApp) -> None:
    """Run the app, then leave the process at once.

    After the app has restored the terminal, the interpreter's own shutdown
    (tearing down torch, freeing every model's tensors, waiting for a worker
    thread mid-step) took over a second once models were loaded; nothing is
    left to save by then, so skip it. Exit status: the app's return code."""
    limit_malloc_arenas()  # before any worker thread allocates
    app.run()
    if app.ran:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(app.return_code or 0)
