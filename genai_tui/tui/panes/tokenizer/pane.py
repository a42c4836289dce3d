"""The tokenizer explorer: see text become tokens, compare tokenizers,
replay BPE merges, browse a vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from time import perf_counter
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Checkbox, ContentSwitcher, DataTable, Input, Select, Static
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.service import tokenize as svc
from genai_tui.service.runtime import gc_paused
from genai_tui.tui.pane import Export, Pane
from genai_tui.tui.panes.tokenizer import export
from genai_tui.tui.panes.tokenizer.explain import (
    chip,
    describe_merge,
    describe_token,
    hex_bytes,
    replay_bytes_map,
    token_bytes,
    ui,
)
from genai_tui.tui.panes.tokenizer.layout import Cancelled, TokenCells
from genai_tui.tui.panes.tokenizer.registry_screen import RegistryScreen
from genai_tui.tui.panes.tokenizer.replay_view import ReplayView
from genai_tui.tui.panes.tokenizer.safe_text_area import SafeTextArea
from genai_tui.tui.panes.tokenizer.token_view import TokenView
from genai_tui.tui.panes.tokenizer.vocab_view import VOCAB_LIMIT, VocabView

SAMPLE_TEXT = (
    "I want to learn Generative AI.\n"
    "Tokenizers cut text into pieces: common words stay whole, rare ones split "
    "(antidisestablishmentarianism).\n"
    "def greet(name):\n"
    "\treturn f\"Hello, {name}!\"  # 2 spaces, a tab\n"
    "Numbers 1234567, emoji 🙂, café, naïve, 東京"
)

REPLAY_CHARS = min(2_000, getattr(svc, "REPLAY_MAX_CHARS", 2_000))
"""The replay runs on the first this-many characters (each step keeps the
whole token sequence, and the merge loop is plain Python)."""

BIG_TEXT = 100_000
"""Above this many characters, wait longer after the last keystroke."""

LOADING = ""
"""Select value while the registry loads."""

PREFERRED = ("genai-bpe", "cl100k_base", "o200k_base", "char", "byte")


def char_span(starts: list[int], index: int, data: bytes, text_length: int) -> tuple[int, int]:
    """The characters token ``index`` covers: from its start (the character
    holding its first byte) over the characters its bytes begin, never past
    the next token's start (a tokenizer that drops spaces, e.g. WordPiece,
    leaves them unmarked); a token that ends inside a character shares that
    character with the next token."""
    start = starts[index]
    inside = bool(data) and data[0] & 0xC0 == 0x80
    end = start + sum(1 for b in data if b & 0xC0 != 0x80) + (1 if inside else 0)
    if index + 1 < len(starts) and starts[index + 1] > start:
        end = min(end, starts[index + 1] + (1 if _ends_inside_character(data) else 0))
    return start, min(max(end, start + 1), text_length)


def _ends_inside_character(data: bytes) -> bool:
    """True when ``data``'s last UTF-8 character is missing continuation bytes."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the last lead (or ASCII) byte
            need = 1 if byte < 0x80 else 2 if byte >= 0xC0 and byte < 0xE0 else \
                3 if byte >= 0xE0 and byte < 0xF0 else 4 if byte >= 0xF0 else 1
            return back < need
    return False


def _worker_cancelled() -> bool:
    return get_current_worker().is_cancelled


@dataclass(frozen=True)
class Counts:
    """What the stats bar shows for one tokenization."""

    name: str
    count: int
    chars: int
    bytes: int
    seconds: float

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.count if self.count else 0.0


class StatsBar(Widget):
    """Counts for one token view: tokens, characters, bytes, chars/token."""

    show_timing: ClassVar[bool] = True
    """Show how long tokenizing took (snapshot tests turn it off)."""

    DEFAULT_CSS = """
    StatsBar { height: 1; padding: 0 1; background: $boost; }
    StatsBar.-error { color: $text-error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: tuple[str, Any] = ("message", "loading tokenizers…")

    def show_result(self, result: Counts, versus: Counts | None = None) -> None:
        """Show the counts; ``versus`` (the other side in compare mode) adds
        how many more or fewer tokens this tokenizer needs."""
        self._state = ("result", (result, versus))
        self.remove_class("-error")
        self.refresh()

    def show_message(self, message: str, error: bool = False) -> None:
        self._state = ("message", message)
        self.set_class(error, "-error")
        self.refresh()

    def render(self) -> Text:
        kind, value = self._state
        if kind == "message":
            return Text(ui(value), no_wrap=True, overflow="ellipsis")
        result, versus = value
        wide = self.size.width >= 70
        out = Text(no_wrap=True, overflow="ellipsis")
        if wide:
            out.append(f"{ui(result.name)} · ", style="bold")
        out.append(f"{result.count:,}", style="bold")
        out.append(" tokens" if wide else " tok")
        if versus is not None and versus.count:
            change = (result.count - versus.count) / versus.count * 100
            out.append(f" ({change:+.0f}%)", style="green" if change < 0 else "yellow")
        out.append(" · ")
        out.append(f"{result.chars_per_token:.2f}", style="bold")
        out.append(" chars/token" if wide else " ch/tok")
        out.append(" · ")
        out.append(f"{result.chars:,}", style="bold")
        out.append(" chars" if wide else " ch")
        out.append(" · ")
        out.append(f"{result.bytes:,}", style="bold")
        out.append(" bytes" if wide else " B")
        if wide and self.show_timing:
            out.append(f" · {result.seconds * 1000:,.0f} ms", style="dim")
        return out


class TokenizerSelect(Select[str]):
    """A Select of the registry; unavailable tokenizers are listed but
    disabled (their reasons are in the tokenizer list, `ctrl+l`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            [(Text("loading…", style="dim"), LOADING)], allow_blank=False, compact=True, id=id
        )
        self.disabled_indices: list[int] = []

    def set_tokenizers(self, infos: list[svc.TokenizerInfo]) -> None:
        options: list[tuple[Text, str]] = []
        self.disabled_indices = []
        for n, info in enumerate(infos):
            if info.available:
                options.append((Text(ui(info.name)), info.name))
            else:
                options.append((Text(f"{ui(info.name)} (n/a)", style="dim strike"), info.name))
                self.disabled_indices.append(n)
        self.set_options(options)

    def _setup_options_renderables(self) -> None:
        super()._setup_options_renderables()
        try:
            from textual.widgets._select import SelectOverlay

            overlay = self.query_one(SelectOverlay)
            for index in self.disabled_indices:
                overlay.disable_option_at_index(index)
        except Exception:  # private API moved: the pane refuses them on change
            pass


class TokenizerPane(Pane):
    """Type or paste text and see it as tokens."""

    PANE_ID = "tokenizer"
    TITLE = "Tokenizer"
    HELP = """\
Language models read **tokens**, not letters. A tokenizer cuts text into pieces
from a fixed vocabulary and the model only ever sees their ids. Type or paste in
the box: each coloured span is one token with its id beneath (`·` is a space,
`→` a tab, `↵` a newline, `␛` an escape character).

**Byte-pair encoding (BPE)** starts from the text's raw UTF-8 bytes and keeps
merging adjacent pairs into new tokens. Training learned the merges from a
corpus, most frequent pair first; that order is the merge's **rank**, and
encoding applies the lowest-ranked merge first until none applies. Frequent
words end up as one token, rare words as several.

- **Tokens** (F4): select a token (Tab to the tokens, then ←/→/↑/↓, or click)
  to see its id, bytes and the two tokens it was merged from.
- **Replay** (F5): watch your own text go from bytes to tokens, one merge at a
  time (←/→, Home/End, or the buttons).
- **Vocab** (F6): search the vocabulary by text or id.
- **Compare** (F7): two tokenizers side by side; fewer tokens for the same text
  means more text fits in a model's context.
"""

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

    DEFAULT_CSS = """
    TokenizerPane { layout: vertical; }
    #tok-toolbar { height: 1; margin-bottom: 0; }
    #tok-toolbar Static { width: auto; padding: 0 1; color: $text-muted; }
    #tok-toolbar Select { width: 24; }
    #tok-toolbar SelectOverlay { width: 30; background: $panel; }
    #tok-toolbar Checkbox { margin: 0 1; }
    #tok-list { min-width: 3; margin-left: 1; }
    #tok-select-b { display: none; }
    TokenizerPane.-compare #tok-select-b { display: block; }
    #tok-text { height: 1fr; min-height: 4; max-height: 12; }
    #tok-viewbar { height: 1; }
    #tok-viewbar Button { margin-right: 1; min-width: 10; }
    #tok-viewbar Button.-current { text-style: bold reverse; }
    #tok-hint { width: 1fr; color: $text-muted; text-align: right; padding-right: 1; }
    #tok-views { height: 2fr; }
    #tok-view-tokens { height: 1fr; }
    #tok-columns { height: 1fr; }
    .tok-col { width: 1fr; }
    #tok-col-b { display: none; border-left: vkey $primary 50%; }
    TokenizerPane.-compare #tok-col-b { display: block; }
    #tok-detail { height: 3; padding: 0 1; background: $boost; }
    """

    HINTS: ClassVar[dict[str, str]] = {
        "tokens": "Tab to tokens · ←→↑↓ select · click · i ids",
        "replay": "←→ one merge · Home/End · shift+←→ ten",
        "vocab": "type to search · ↑↓ a row",
    }

    # -- messages from the workers ---------------------------------------

    class RegistryLoaded(Message):
        def __init__(self, infos: list[svc.TokenizerInfo] | None, error: str = "") -> None:
            super().__init__()
            self.infos = infos
            self.error = error

    class Tokenized(Message):
        def __init__(
            self,
            side: str,
            version: int,
            name: str,
            counts: Counts,
            cells: TokenCells,
            starts: list[int],
            text_length: int,
        ) -> None:
            super().__init__()
            self.side = side
            self.version = version
            self.name = name
            self.counts = counts
            self.cells = cells
            self.starts = starts
            """Character offset where each token starts (from the service)."""
            self.text_length = text_length

    class Failed(Message):
        """A worker's call failed; ``what`` is "tokens-a", "replay", ..."""

        def __init__(self, what: str, version: int, name: str, message: str) -> None:
            super().__init__()
            self.what = what
            self.version = version
            self.name = name
            self.message = ui(message)

    class ReplayReady(Message):
        def __init__(
            self,
            version: int,
            name: str,
            steps: list[svc.ReplayStep],
            known: dict[int, bytes],
            truncated_from: int,
        ) -> None:
            super().__init__()
            self.version = version
            self.name = name
            self.steps = steps
            self.known = known
            self.truncated_from = truncated_from

    class VocabReady(Message):
        def __init__(self, key: tuple[str, str], rows: list[tuple[int, bytes]]) -> None:
            super().__init__()
            self.key = key
            self.rows = rows

    class DetailReady(Message):
        def __init__(self, target: str, key: tuple[Any, ...], text: Text) -> None:
            super().__init__()
            self.target = target
            self.key = key
            self.text = text

    # -- set-up ------------------------------------------------------------

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.infos: dict[str, svc.TokenizerInfo] = {}
        self.compare = False
        self.view = "tokens"
        self.text_version = 0
        self.results: dict[str, TokenizerPane.Tokenized | None] = {"a": None, "b": None}
        self._debounce: Timer | None = None
        self._vocab_debounce: Timer | None = None
        self._replay_key: tuple[int, str] | None = None
        self._replay_wanted: tuple[int, str] | None = None
        self._vocab_key: tuple[str, str] | None = None
        self._detail_key: tuple[Any, ...] | None = None
        self._vocab_detail_key: tuple[Any, ...] | None = None
        self._selected_side = "a"

    def compose(self) -> ComposeResult:
        with Horizontal(id="tok-toolbar"):
            yield Static("Tokenizer")
            yield TokenizerSelect(id="tok-select-a")
            info = Button("ⓘ", id="tok-list", compact=True, tooltip="All tokenizers (ctrl+l)")
            info.can_focus = False
            yield info
            yield Checkbox("Compare", id="tok-compare", compact=True)
            yield TokenizerSelect(id="tok-select-b")
        text_area = SafeTextArea(SAMPLE_TEXT, id="tok-text", soft_wrap=True, tab_behavior="focus")
        text_area.border_title = "Text (type or paste)"
        yield text_area
        with Horizontal(id="tok-viewbar"):
            for name, label in (("tokens", "Tokens F4"), ("replay", "Replay F5"),
                                ("vocab", "Vocab F6")):
                button = Button(label, id=f"view-{name}", compact=True)
                button.can_focus = False  # F4-F6 or a click; Tab goes text -> tokens
                button.set_class(name == "tokens", "-current")
                yield button
            yield Static(Text(self.HINTS["tokens"]), id="tok-hint")
        with ContentSwitcher(initial="tok-view-tokens", id="tok-views"):
            with Vertical(id="tok-view-tokens"):
                with Horizontal(id="tok-columns"):
                    with Vertical(id="tok-col-a", classes="tok-col"):
                        yield StatsBar(id="tok-stats-a")
                        yield TokenView(empty_text="(tokenizing…)", id="tok-tokens-a")
                    with Vertical(id="tok-col-b", classes="tok-col"):
                        yield StatsBar(id="tok-stats-b")
                        yield TokenView(empty_text="(tokenizing…)", id="tok-tokens-b")
                yield Static(
                    Text("Select a token (Tab to the tokens, then ←/→, or click one) to see "
                         "its id, bytes and how BPE formed it."),
                    id="tok-detail",
                )
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
        ranked = [name for name in PREFERRED if name in available] + available
        first = ranked[0]
        second = next((name for name in ranked if name != first), first)
        for select_id, value in (("#tok-select-a", first), ("#tok-select-b", second)):
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
        if self._debounce is not None or self._vocab_debounce is not None:
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

    def _run(self, job: Callable[[], None], group: str, description: str) -> None:
        self.run_worker(
            job, thread=True, exclusive=True, group=group, exit_on_error=False,
            description=description,
        )

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
        text = self.text
        version = self.text_version
        self.query_one(f"#tok-stats-{side}", StatsBar).show_message(
            f"{name}: tokenizing {len(text):,} characters…"
        )
        self._run(
            partial(self._tokenize_job, side, version, name, text),
            group=f"tok-tokenize-{side}", description=f"tokenize with {name}",
        )

    def _tokenize_job(self, side: str, version: int, name: str, text: str) -> None:
        started = perf_counter()
        try:
            with gc_paused():
                result = svc.tokenize(text, name)
                if _worker_cancelled():
                    return
                tokens = result.tokens
                ids = [t.id for t in tokens]
                starts = [t.start for t in tokens]
                cells = TokenCells.build(ids, [t.bytes for t in tokens], _worker_cancelled)
                counts = Counts(name, len(tokens), result.chars, result.bytes, 0.0)
                # Keep plain lists, not a million TokenInfo objects: every
                # later full garbage collection would have to walk them.
                del tokens, result
        except Cancelled:
            return
        except Exception as exc:  # shown in the stats bar; the pane stays alive
            message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            self.post_message(self.Failed(f"tokens-{side}", version, name, message))
            return
        counts = replace(counts, seconds=perf_counter() - started)
        if not _worker_cancelled():
            self.post_message(
                self.Tokenized(side, version, name, counts, cells, starts, len(text))
            )

    def on_tokenizer_pane_tokenized(self, event: Tokenized) -> None:
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
            replay = self.query_one(ReplayView)
            if (replay.steps and self._replay_key == (event.version, event.name)
                    and len(self.text) <= REPLAY_CHARS):
                replay.set_final_ids(event.cells.ids)

    def _show_stats(self) -> None:
        a, b = self.results["a"], self.results["b"]
        both = self.compare and a is not None and b is not None
        for side, shown, other in (("a", a, b), ("b", b, a)):
            if shown is not None:
                self.query_one(f"#tok-stats-{side}", StatsBar).show_result(
                    shown.counts,
                    other.counts if both and side == "b" and other is not None else None,
                )

    def on_tokenizer_pane_failed(self, event: Failed) -> None:
        if event.what.startswith("tokens-"):
            side = event.what[-1]
            if event.version != self.text_version or event.name != self.tokenizer(side):
                return
            self.results[side] = None
            self.query_one(f"#tok-stats-{side}", StatsBar).show_message(
                f"{event.name}: {event.message}", error=True
            )
            self.query_one(f"#tok-tokens-{side}", TokenView).set_cells(None)
        elif event.what == "replay":
            self.query_one(ReplayView).show_message(
                Text(f"{ui(event.name)}: {event.message}", style="italic")
            )
        elif event.what == "vocab":
            self._vocab_key = None  # let the same search run again
            self.query_one(VocabView).show_message(Text(f"{ui(event.name)}: {event.message}"))
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
        token_id, data = shown.cells.ids[index], shown.cells.data[index]
        head = describe_token(shown.name, index, len(shown.cells), token_id, data)
        detail = Text()
        detail.append_text(head)
        detail.append("\nlooking up how it was formed…", style="dim")
        self.query_one("#tok-detail", Static).update(detail)
        key = (side, shown.version, shown.name, index)
        self._detail_key = key
        kind = self._kind(shown.name)
        self._run(
            partial(self._detail_job, "tokens", key, head, shown.name, kind, token_id, data),
            group="tok-detail", description="merge info",
        )
        if highlight:
            self._highlight_in_text(shown, index)

    def _detail_job(
        self, target: str, key: tuple[Any, ...], head: Text, name: str,
        kind: tuple[str, bool], token_id: int, data: bytes,
    ) -> None:
        merge = describe_merge(name, kind[0], token_id, data, has_merges=kind[1])
        if _worker_cancelled():
            return
        text = Text()
        text.append_text(head)
        text.append("\n")
        text.append_text(merge)
        self.post_message(self.DetailReady(target, key, text))

    def on_tokenizer_pane_detail_ready(self, event: DetailReady) -> None:
        if event.target == "tokens" and event.key == self._detail_key:
            self.query_one("#tok-detail", Static).update(event.text)
        elif event.target == "vocab" and event.key == self._vocab_detail_key:
            self.query_one(VocabView).show_detail(event.text)

    def _highlight_in_text(self, shown: Tokenized, index: int) -> None:
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
        if view not in self.HINTS:
            return
        self.view = view
        self.query_one("#tok-views", ContentSwitcher).current = f"tok-view-{view}"
        for name in self.HINTS:
            self.query_one(f"#view-{name}", Button).set_class(name == view, "-current")
        self.query_one("#tok-hint", Static).update(Text(self.HINTS[view]))
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
            self._start_vocab(immediate=True)

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
        key = (self.text_version, name)
        if key == self._replay_key or key == self._replay_wanted:
            return
        self._replay_wanted = key
        text = self.text
        replay = self.query_one(ReplayView)
        info = self.infos.get(name)
        if info is not None and not getattr(info, "has_merges", True):
            self._replay_key = key
            self._replay_wanted = None
            bpe = ", ".join(n for n, i in self.infos.items()
                            if i.available and getattr(i, "has_merges", False))
            replay.show_message(Text(
                f"{ui(name)} has no merges to replay: it is a {ui(info.kind)} tokenizer. "
                f"Pick a BPE tokenizer ({ui(bpe) or 'none available'}) in the menu above "
                "or with F8.", style="italic",
            ))
            return
        if not replay.steps:
            replay.show_message(
                Text(f"Replaying {ui(name)}'s merges on your text…", style="italic")
            )
        self._run(
            partial(self._replay_job, key, name, text),
            group="tok-replay", description=f"replay {name} merges",
        )

    def _replay_job(self, key: tuple[int, str], name: str, text: str) -> None:
        cut = text[:REPLAY_CHARS]
        try:
            steps = list(svc.replay(cut, name))
            if _worker_cancelled():
                return
            known = replay_bytes_map(steps, cut.encode("utf-8", "surrogatepass"))
            for step in steps[-1:]:
                for token_id in set(step.ids) - known.keys():
                    found = token_bytes(name, token_id)
                    if found is not None:
                        known[token_id] = found
        except Exception as exc:
            message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            self.post_message(self.Failed("replay", key[0], name, message))
            return
        if not _worker_cancelled():
            truncated_from = len(text) if len(text) > len(cut) else 0
            self.post_message(self.ReplayReady(key[0], name, steps, known, truncated_from))

    def on_tokenizer_pane_replay_ready(self, event: ReplayReady) -> None:
        key = (event.version, event.name)
        if key != self._replay_wanted:
            return
        replay = self.query_one(ReplayView)
        if not event.steps:
            self._replay_key = key
            replay.show_message(
                Text(f"{ui(event.name)} has no merges to replay.", style="italic")
            )
            return
        note = ""
        if event.truncated_from:
            note = (f"Replaying the first {REPLAY_CHARS:,} of {event.truncated_from:,} "
                    "characters.")
        final_ids = None
        shown = self.results["a"]
        if (not event.truncated_from and shown is not None and shown.version == event.version
                and shown.name == event.name):
            final_ids = shown.cells.ids
        same_tokenizer = self._replay_key is not None and self._replay_key[1] == event.name
        replay.set_replay(event.name, event.steps, event.known, note, final_ids,
                          keep_position=same_tokenizer)
        self._replay_key = key

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

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "vocab-search":
            return
        event.stop()
        if self._vocab_debounce is not None:
            self._vocab_debounce.stop()
        self._vocab_debounce = self.set_timer(0.15, self._start_vocab)

    def _start_vocab(self, immediate: bool = False) -> None:
        self._vocab_debounce = None
        name = self.tokenizer("a")
        if name == LOADING:
            return
        query = self.query_one(VocabView).query_text
        key = (name, query)
        if key == self._vocab_key:
            return
        self._vocab_key = key
        self._run(partial(self._vocab_job, key), group="tok-vocab", description="search vocab")

    def _vocab_job(self, key: tuple[str, str]) -> None:
        name, query = key
        try:
            rows = [(int(i), bytes(b)) for i, b in svc.vocab(name, query, VOCAB_LIMIT + 1)]
        except Exception as exc:
            message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            self.post_message(self.Failed("vocab", 0, name, message))
            return
        if not _worker_cancelled():
            self.post_message(self.VocabReady(key, rows))

    def on_tokenizer_pane_vocab_ready(self, event: VocabReady) -> None:
        if event.key != self._vocab_key:
            return
        rows = event.rows[:VOCAB_LIMIT]
        name, query = event.key
        if not rows:
            self._vocab_detail_key = None  # a late merge lookup must not fill the detail
        self.query_one(VocabView).show_rows(name, rows, len(event.rows) > VOCAB_LIMIT, query)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if (event.data_table.id != "vocab-table" or event.row_key is None
                or event.row_key.value is None):  # None: a cleared table (cursor_row -1)
            return
        event.stop()
        vocab = self.query_one(VocabView)
        name = vocab.tokenizer
        token_id = int(event.row_key.value)
        data = vocab.rows.get(token_id, b"")
        head = Text()
        head.append(f"{ui(name)} ", style="bold")
        head.append("id ")
        head.append(str(token_id), style="bold")
        head.append(" · ")
        head.append_text(chip(data))
        head.append(f" · {len(data)} byte{'s' if len(data) != 1 else ''}: ")
        head.append(hex_bytes(data), style="italic")
        key = ("vocab", name, token_id)
        self._vocab_detail_key = key
        self._run(
            partial(self._detail_job, "vocab", key, head, name, self._kind(name), token_id, data),
            group="tok-detail", description="merge info",
        )

    # -- export (genai_tui/tui/panes/tokenizer/export.py) ------------------------

    EXPORTS = "the tokens (ids, bytes, labels) as JSON"

    def export_data(self) -> Export | None:
        sides = ("a", "b") if self.compare else ("a",)
        shown = [self.results[side] for side in sides]
        if any(r is None or r.version != self.text_version for r in shown):
            return None
        text = self.query_one("#tok-text", SafeTextArea).text
        cells = [(r.name, r.cells) for r in shown]
        return Export("tokens", ".json", lambda path: export.write_tokens(path, text, cells))
