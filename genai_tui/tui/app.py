"""The genai-tui Textual application: one tab per pane."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from genai_tui.tui.help import HelpScreen
from genai_tui.tui.keys import key_label, works_while_typing
from genai_tui.tui.pane import Pane
from genai_tui.tui.panes import PANES, PaneSpec, load_pane


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
    ]

    def __init__(self, initial_pane: str | None = None,
                 panes: Sequence[PaneSpec | type[Pane]] | None = None) -> None:
        """``panes``: the tabs to show (registry specs or pane classes);
        default, every pane in `PANES`. Tests and benchmarks pass one pane so
        other panes' tabs leave their snapshots alone."""
        super().__init__()
        self._pane_classes: list = list(PANES if panes is None else panes)
        self._initial_pane = initial_pane

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
        yield Footer(compact=True, show_command_palette=False)

    async def on_mount(self) -> None:
        await self._show_active_pane()

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "panes":  # not a pane's own inner tabs
            await self._show_active_pane()

    async def _show_active_pane(self) -> None:
        found = self.query("#panes").results(TabbedContent)
        tabs = next(found, None)
        if tabs is not None and tabs.active:
            pane = await self._ensure_pane(tabs.active)
            pane.pane_shown()
            self.call_after_refresh(self._focus_into, pane)

    def _focus_into(self, pane: Pane) -> None:
        # A pane's keys only fire with focus inside it; after a tab switch the
        # tab strip holds focus, so move into the pane unless it already did.
        focused = self.focused
        if focused is not None and pane in focused.ancestors_with_self:
            return
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return

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
        self.query_one("#panes", TabbedContent).active = pane_id

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
