"""The tokenizer explorer: see text become tokens, compare tokenizers,
replay BPE merges, browse a vocabulary.

This file owns the pane: the toolbar (tokenizer menus, compare), the text box
and its debounce, the tokenize workers feeding the token views and stats bars,
the selected token's detail, and the view switch. The replay and vocabulary
views (`replay_view.py`, `vocab_view.py`) own their workers; the pane tells
them the text and tokenizer.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Checkbox, ContentSwitcher, Select

from genai_tui.service import tokenize as svc
from genai_tui.tui.pane import Export, Pane, json_export
from genai_tui.tui.panes.tokenizer import export
from genai_tui.tui.panes.tokenizer.explain import ui
from genai_tui.tui.panes.tokenizer.layout import char_span
from genai_tui.tui.panes.tokenizer.registry_screen import RegistryScreen
from genai_tui.tui.panes.tokenizer.replay_view import REPLAY_CHARS, ReplayView
from genai_tui.tui.panes.tokenizer.safe_text_area import SafeTextArea
from genai_tui.tui.panes.tokenizer.stats import StatsBar
from genai_tui.tui.panes.tokenizer.style import PANE_CSS
from genai_tui.tui.panes.tokenizer.texts import HELP, SAMPLE_TEXT
from genai_tui.tui.panes.tokenizer.token_detail import TokenDetail
from genai_tui.tui.panes.tokenizer.token_view import TokenView
from genai_tui.tui.panes.tokenizer.tokenizer_select import LOADING, TokenizerSelect, first_two
from genai_tui.tui.panes.tokenizer.tokens_column import TokensColumn
from genai_tui.tui.panes.tokenizer.toolbar import HINTS, Toolbar, ViewButtons
from genai_tui.tui.panes.tokenizer.vocab_view import VocabView

BIG_TEXT = 100_000
"""Above this many characters, wait longer after the last keystroke."""


class TokenizerPane(Pane):
    """Type or paste text and see it as tokens."""

    PANE_ID = "tokenizer"
    TITLE = "Tokenizer"
    HELP = HELP

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f4", "show_view('tokens')", "Tokens", priority=True),
        Binding("f5", "show_view('replay')", "Replay", priority=True),
        Binding("f6", "show_view('vocab')", "Vocab", priority=True),
        Binding("f7", "toggle_compare", "Compare", priority=True),
        Binding("f8", "next_tokenizer", "Next tokenizer", show=False, priority=True),
        Binding("f9", "toggle_ids", "Show/hide token ids", show=False, priority=True),
        Binding("i", "toggle_ids", show=False),  # outside the text box
        Binding("ctrl+l", "tokenizer_list", "List tokenizers", show=False, priority=True),
        Binding("ctrl+t", "focus_text", "Edit the text", show=False, priority=True),
        Binding("left_square_bracket", "replay_step(-1)", "Previous merge", show=False),
        Binding("right_square_bracket", "replay_step(1)", "Next merge", show=False),
        Binding("left_curly_bracket", "replay_first", "Replay from raw bytes", show=False),
        Binding("right_curly_bracket", "replay_last", "Replay to final tokens", show=False),
    ]

    DEFAULT_CSS = PANE_CSS


    # -- messages from the workers ---------------------------------------

    class RegistryLoaded(Message):
        def __init__(self, infos: list[svc.TokenizerInfo] | None, error: str = "") -> None:
            super().__init__()
            self.infos = infos
            self.error = error

    # -- set-up ------------------------------------------------------------

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.infos: dict[str, svc.TokenizerInfo] = {}
        self.compare = False
        self.view = "tokens"
        self.text_version = 0
        self.results: dict[str, TokensColumn.Tokenized | None] = {"a": None, "b": None}
        self._debounce: Timer | None = None
        self._selected_side = "a"

    def compose(self) -> ComposeResult:
        yield Toolbar(id="tok-toolbar")
        text_area = SafeTextArea(SAMPLE_TEXT, id="tok-text", soft_wrap=True, tab_behavior="focus")
        text_area.border_title = "Text (type or paste)"
        yield text_area
        yield ViewButtons(id="tok-viewbar")
        with ContentSwitcher(initial="tok-view-tokens", id="tok-views"):
            with Vertical(id="tok-view-tokens"):
                with Horizontal(id="tok-columns"):
                    yield TokensColumn("a", id="tok-col-a", classes="tok-col")
                    yield TokensColumn("b", id="tok-col-b", classes="tok-col")
                yield TokenDetail(id="tok-detail")
            yield ReplayView(id="tok-view-replay")
            yield VocabView(id="tok-view-vocab")

    def pane_shown(self) -> None:
        super().pane_shown()
        # The pane's keys work only with focus inside it; the tab strip holds
        # focus after a tab switch, so move into the pane (ready to type).
        focused = self.app.focused
        if focused is None or self not in focused.ancestors_with_self:
            self.call_after_refresh(self._focus_default)

    def _focus_default(self) -> None:
        if self.view == "tokens":
            self.query_one("#tok-text", SafeTextArea).focus()
        else:
            self.action_show_view(self.view)

    def on_pane_first_show(self) -> None:
        self.run_worker(
            self._registry_job, thread=True, exclusive=True, group="tok-registry",
            exit_on_error=False, description="list tokenizers",
        )

    def _registry_job(self) -> None:
        try:
            infos = list(svc.list_tokenizers())
        except Exception as exc:
            self.post_message(self.RegistryLoaded(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.RegistryLoaded(infos))

    def on_tokenizer_pane_registry_loaded(self, event: RegistryLoaded) -> None:
        if event.infos is None:
            self.query_one("#tok-stats-a", StatsBar).show_message(
                f"Could not list the tokenizers: {event.error}", error=True
            )
            return
        self.infos = {info.name: info for info in event.infos}
        available = [info.name for info in event.infos if info.available]
        if not available:
            self.query_one("#tok-stats-a", StatsBar).show_message(
                "No tokenizer is available on this machine (ctrl+l lists why).", error=True
            )
            return
        for select_id, value in zip(("#tok-select-a", "#tok-select-b"),
                                    first_two(available), strict=True):
            select = self.query_one(select_id, TokenizerSelect)
            with select.prevent(Select.Changed):
                select.set_tokenizers(event.infos)
                select.value = value
        self._start_tokenize("a")
        if self.compare:
            self._start_tokenize("b")
        self._refresh_current_view()

    # -- helpers -----------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Work pending: a debounce timer or a worker of this pane or its views."""
        if self._debounce is not None or self.query_one(VocabView).pending:
            return True
        mine = {self, *self.query("*")}
        return any(
            not worker.is_finished and worker.node in mine for worker in self.app.workers
        )

    def tokenizer(self, side: str = "a") -> str:
        value = self.query_one(f"#tok-select-{side}", TokenizerSelect).value
        return value if isinstance(value, str) else LOADING

    def _kind(self, name: str) -> tuple[str, bool]:
        """The tokenizer's kind and whether it has BPE merges."""
        info = self.infos.get(name)
        if info is None:
            return "", True
        return info.kind, bool(getattr(info, "has_merges", True))

    @property
    def text(self) -> str:
        return self.query_one("#tok-text", SafeTextArea).text

    # -- tokenizing ----------------------------------------------------------

    def on_text_area_changed(self, event: SafeTextArea.Changed) -> None:
        self.text_version += 1
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.4 if self._text_is_big() else 0.15, self._text_settled)

    def _text_is_big(self) -> bool:
        document = self.query_one("#tok-text", SafeTextArea).document
        return document.line_count > 2_000 or len(document.text) > BIG_TEXT

    def _text_settled(self) -> None:
        self._debounce = None
        self._start_tokenize("a")
        if self.compare:
            self._start_tokenize("b")
        if self.view == "replay":
            self._start_replay()

    def _start_tokenize(self, side: str) -> None:
        name = self.tokenizer(side)
        if name == LOADING:
            return
        self.query_one(f"#tok-col-{side}", TokensColumn).start(name, self.text, self.text_version)

    def on_tokens_column_tokenized(self, event: TokensColumn.Tokenized) -> None:
        if event.version != self.text_version or event.name != self.tokenizer(event.side):
            return
        self.results[event.side] = event
        self._show_stats()
        view = self.query_one(f"#tok-tokens-{event.side}", TokenView)
        view.empty_text = "(no text: type or paste above)"
        view.set_cells(event.cells)
        if view.cursor >= 0 and self._selected_side == event.side:
            self._show_token_detail(event.side, view.cursor, highlight=False)
        if event.side == "a":
            self.query_one(ReplayView).tokens_ready(event.version, event.name, event.cells.ids,
                                                   len(self.text) <= REPLAY_CHARS)

    def _show_stats(self) -> None:
        a, b = self.results["a"], self.results["b"]
        if a is not None:
            self.query_one("#tok-stats-a", StatsBar).show_result(a.counts)
        if b is not None:  # compared with A's counts when both are shown
            self.query_one("#tok-stats-b", StatsBar).show_result(
                b.counts, a.counts if self.compare and a is not None else None)

    def on_tokens_column_failed(self, event: TokensColumn.Failed) -> None:
        side = event.what[-1]
        if event.version != self.text_version or event.name != self.tokenizer(side):
            return
        self.results[side] = None
        self.query_one(f"#tok-stats-{side}", StatsBar).show_message(
            f"{event.name}: {event.message}", error=True
        )
        self.query_one(f"#tok-tokens-{side}", TokenView).set_cells(None)
        self.notify(event.message, title=ui(event.name), severity="error", markup=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        select = event.select
        if not isinstance(select, TokenizerSelect) or event.value == LOADING:
            return
        side = "a" if select.id == "tok-select-a" else "b"
        name = event.value
        info = self.infos.get(name) if isinstance(name, str) else None
        if info is not None and not info.available:
            self.notify(f"{ui(name)} is not available: {ui(info.reason)}",
                        severity="warning", markup=False)
            previous = self.results[side].name if self.results[side] else None
            fallback = previous or next(n for n, i in self.infos.items() if i.available)
            select.value = fallback
            return
        self.results[side] = None
        self._start_tokenize(side)
        if side == "a":
            self._refresh_current_view()

    # -- token selection ---------------------------------------------------

    def on_token_view_selected(self, event: TokenView.Selected) -> None:
        view_id = event.view.id or ""
        if not view_id.startswith("tok-tokens-"):
            return
        event.stop()
        side = view_id[-1]
        self._selected_side = side
        other = self.query_one(f"#tok-tokens-{'b' if side == 'a' else 'a'}", TokenView)
        if other.cursor >= 0:
            other.set_reactive(TokenView.cursor, -1)
            other.refresh()
        if event.index >= 0:
            self._show_token_detail(side, event.index, highlight=True)

    def _show_token_detail(self, side: str, index: int, highlight: bool) -> None:
        shown = self.results[side]
        if shown is None or not 0 <= index < len(shown.cells):
            return
        self.query_one(TokenDetail).show_token(shown, index, self._kind(shown.name))
        if highlight:
            self._highlight_in_text(shown, index)

    def _highlight_in_text(self, shown: TokensColumn.Tokenized, index: int) -> None:
        """Mark the token's characters in the text area."""
        if shown.version != self.text_version:
            return
        start, end = char_span(shown.starts, index, shown.cells.data[index], shown.text_length)
        text_area = self.query_one("#tok-text", SafeTextArea)
        document = text_area.document
        try:
            location_start = document.get_location_from_index(start)
            location_end = document.get_location_from_index(end)
        except (ValueError, IndexError):
            return
        text_area.mark(location_start, location_end)

    # -- views -----------------------------------------------------------------

    def action_show_view(self, view: str) -> None:
        if view not in HINTS:
            return
        self.view = view
        self.query_one("#tok-views", ContentSwitcher).current = f"tok-view-{view}"
        self.query_one(ViewButtons).set_current(view)
        self._refresh_current_view()
        focus = {
            "tokens": "#tok-tokens-a",
            "replay": "#tok-view-replay",
            "vocab": "#vocab-search",
        }[view]
        self.query_one(focus).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        if button_id.startswith("view-"):
            event.stop()
            self.action_show_view(button_id.removeprefix("view-"))
        elif button_id == "tok-list":
            event.stop()
            self.action_tokenizer_list()

    def _refresh_current_view(self) -> None:
        if self.view == "replay":
            self._start_replay()
        elif self.view == "vocab":
            self._start_vocab()

    def action_toggle_compare(self) -> None:
        checkbox = self.query_one("#tok-compare", Checkbox)
        checkbox.value = not checkbox.value

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id != "tok-compare":
            return
        self.compare = event.value
        self.set_class(self.compare, "-compare")
        if self.compare:
            if self.view != "tokens":
                self.action_show_view("tokens")
            self._start_tokenize("b")
        else:
            self.results["b"] = None
            self.query_one("#tok-tokens-b", TokenView).set_cells(None)

    def action_next_tokenizer(self) -> None:
        names = [name for name, info in self.infos.items() if info.available]
        if not names:
            return
        select = self.query_one("#tok-select-a", TokenizerSelect)
        current = self.tokenizer("a")
        index = names.index(current) if current in names else -1
        select.value = names[(index + 1) % len(names)]

    def action_toggle_ids(self) -> None:
        show = not self.query_one("#tok-tokens-a", TokenView).show_ids
        for view in self.query(TokenView):
            view.show_ids = show

    def action_focus_text(self) -> None:
        self.query_one("#tok-text", SafeTextArea).focus()

    def action_tokenizer_list(self) -> None:
        self.app.push_screen(RegistryScreen(list(self.infos.values())))

    # -- replay ------------------------------------------------------------------

    def _start_replay(self) -> None:
        name = self.tokenizer("a")
        if name == LOADING:
            return
        bpe = [n for n, i in self.infos.items() if i.available and getattr(i, "has_merges", False)]
        self.query_one(ReplayView).start(name, self.text, self.text_version,
                                         self.infos.get(name), bpe)

    def _replay_view(self) -> ReplayView:
        if self.view != "replay":
            self.action_show_view("replay")
        return self.query_one(ReplayView)

    def action_replay_step(self, delta: int) -> None:
        self._replay_view().action_step(delta)

    def action_replay_first(self) -> None:
        self._replay_view().action_first()

    def action_replay_last(self) -> None:
        self._replay_view().action_last()

    # -- vocabulary --------------------------------------------------------------

    def _start_vocab(self) -> None:
        name = self.tokenizer("a")
        if name != LOADING:
            self.query_one(VocabView).browse(name, self._kind(name))

    # -- export (genai_tui/tui/panes/tokenizer/export.py) ------------------------

    EXPORTS = "the tokens (ids, bytes, labels) as JSON"

    def export_data(self) -> Export | None:
        sides = ("a", "b") if self.compare else ("a",)
        shown = [self.results[side] for side in sides]
        if any(r is None or r.version != self.text_version for r in shown):
            return None
        text = self.query_one("#tok-text", SafeTextArea).text
        cells = [(r.name, r.cells) for r in shown]
        return json_export("tokens", export.tokens_document(text, cells))
