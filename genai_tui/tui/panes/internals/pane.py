"""The Transformer pane: attention, embeddings, positions and the logit lens,
computed live from the bundled language model (and MiniLM when installed), and
the encoder-decoder view.

This file owns the pane: the model (loaded by the pane kit), which views
recompute when the input settles, the status line, the view switch and the
keys, which it hands to the current view. The input row with its text per
context and its debounce is `inputs.py`; the help is `texts.py`. Each view
(`attention.py`, `embeddings.py`, `positions.py`, `lens.py`,
`seq2seq_view.py`) owns its worker and its drawing.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Static

from genai_tui.service import internals as svc
from genai_tui.tui.pane import Export, Pane
from genai_tui.tui.panes.internals import export
from genai_tui.tui.panes.internals.attention import AttentionView
from genai_tui.tui.panes.internals.embeddings import EmbeddingsView
from genai_tui.tui.panes.internals.inputs import InputRow
from genai_tui.tui.panes.internals.lens import LensView
from genai_tui.tui.panes.internals.positions import PositionsView
from genai_tui.tui.panes.internals.seq2seq_view import Seq2SeqView
from genai_tui.tui.panes.internals.texts import HELP
from genai_tui.tui.panes.internals.view import ERROR, INFO, LmView, message
from genai_tui.tui.panes.internals.widgets import Board
from genai_tui.tui.textbox import SafeInput
from genai_tui.tui.widgets import ViewBar

VIEWS = [("attention", "Attention", "1"), ("embeddings", "Embeddings", "2"),
         ("positions", "Positions", "3"), ("lens", "Logit lens", "4"),
         ("seq2seq", "Enc-dec", "5")]
LM_VIEWS = ("attention", "embeddings", "positions", "lens")
class InternalsPane(Pane):
    """Attention heatmaps, embedding neighbours and maps, positional
    similarities and the logit lens of a real small GPT."""

    PANE_ID = "internals"
    TITLE = "Transformer"
    HELP = HELP
    BINDINGS = [
        # The view bar shows 1-4; F5-F8 also work while typing in the input.
        Binding("f5", "view('attention')", "Attention view (also 1)", show=False),
        Binding("f6", "view('embeddings')", "Embeddings view (also 2)", show=False),
        Binding("f7", "view('positions')", "Positions view (also 3)", show=False),
        Binding("f8", "view('lens')", "Logit lens view (also 4)", show=False),
        Binding("f9", "view('seq2seq')", "Encoder-decoder view (also 5)", show=False),
        Binding("1", "view('attention')", "Attention view", show=False),
        Binding("2", "view('embeddings')", "Embeddings view", show=False),
        Binding("3", "view('positions')", "Positions view", show=False),
        Binding("4", "view('lens')", "Logit lens view", show=False),
        Binding("5", "view('seq2seq')", "Encoder-decoder view", show=False),
        Binding("left_square_bracket", "layer(-1)", "Previous layer", show=False),
        Binding("right_square_bracket", "layer(1)", "Next layer", show=False),
        Binding("left", "horizontal(-1)", "Previous head / position", show=False),
        Binding("right", "horizontal(1)", "Next head / position", show=False),
        Binding("up", "vertical(-1)", "Previous query token / layer", show=False),
        Binding("down", "vertical(1)", "Next query token / layer", show=False),
        # Shown in the footer (only in the views where they act), so they can be
        # clicked: with the mouse alone, "m" (all heads, then click a small map)
        # is the way to another layer or head.
        Binding("m", "mode", "Mode", tooltip="one head / all heads / mean; embedding tool"),
        Binding("s", "source", "Source", tooltip="Embeddings: LM tokens or MiniLM"),
        Binding("plus,equals_sign", "zoom(1)", "More", tooltip="Positions: more of them"),
        Binding("minus", "zoom(-1)", "Fewer", tooltip="Positions: fewer of them"),
        Binding("slash", "focus_input", "Edit the input", show=False),
        Binding("escape", "leave_input", "Leave the input", show=False),
    ]
    DEFAULT_CSS = """
    InternalsPane { layout: vertical; height: 1fr; }
    InternalsPane #int-inrow { height: 1; }
    InternalsPane #int-inlabel { width: auto; color: $text-muted; padding-right: 1; }
    InternalsPane #int-input { width: 1fr; }
    InternalsPane #int-status { height: 1; background: $boost; }
    InternalsPane #int-switch { height: 1fr; }
    InternalsPane #int-switch > * { height: 1fr; }
    InternalsPane #int-att-board { width: 1fr; overflow-x: auto; scrollbar-size-horizontal: 1; }
    InternalsPane #int-att-side { width: 1fr; padding-left: 1; }
    InternalsPane #int-att-side.-hidden { display: none; }
    InternalsPane #int-emb-bars { height: 1; }
    InternalsPane #int-emb-modes { width: auto; }
    InternalsPane #int-emb-source { width: 1fr; }
    InternalsPane #int-pos-board { width: auto; max-width: 65%; }
    InternalsPane #int-pos-side { width: 1fr; padding-left: 1; }
    InternalsPane Static.body { width: auto; }
    InternalsPane Static.body.-message { width: 100%; }
    """

    LOADING = "the language model"
    REBUILD = "genai-tui train lm --bundled"

    def __init__(self, *, id: str | None = None, model_path: str | None = None) -> None:
        super().__init__(id=id)
        self.model_path = model_path
        self.lm: Any = None
        self.view = "attention"

    # the views ---------------------------------------------------------------------

    @property
    def att(self) -> AttentionView:
        return self.query_one(AttentionView)

    @property
    def emb(self) -> EmbeddingsView:
        return self.query_one(EmbeddingsView)

    @property
    def pos(self) -> PositionsView:
        return self.query_one(PositionsView)

    @property
    def lens(self) -> LensView:
        return self.query_one(LensView)

    def lm_view(self, kind: str) -> LmView:
        return {"attention": self.att, "embeddings": self.emb, "positions": self.pos,
                "lens": self.lens}[kind]

    def compose(self) -> ComposeResult:
        yield ViewBar(VIEWS, self.view, id="int-views")
        yield InputRow(id="int-inrow")
        yield Static(id="int-status")
        with ContentSwitcher(initial="int-attention", id="int-switch"):
            yield AttentionView(id="int-attention")
            yield EmbeddingsView(id="int-embeddings")
            yield PositionsView(id="int-positions")
            yield LensView(id="int-lens")
            yield Seq2SeqView(id="int-seq2seq")

    def on_mount(self) -> None:
        waiting = message("The language model loads when this tab is first shown.", "grey50")
        self._show_message_everywhere(waiting)
        self._update_status()

    def pane_shown(self) -> None:
        super().pane_shown()
        # After a tab switch focus sits on the tab strip: move it inside, so keys work.
        self.call_after_refresh(self._focus_board)

    def pane_hidden(self) -> None:
        super().pane_hidden()
        # MiniLM is ~105 MB resident that only this pane uses: let go of it while
        # another pane is on screen (the next embedding query loads it again).
        if svc.minilm_loaded():
            self.run_worker(svc.unload_minilm, thread=True, group="minilm-unload",
                            description="free MiniLM", exit_on_error=False)

    @property
    def busy(self) -> bool:
        """True while the model loads or any view waits for a result (tests wait on it)."""
        if self.load_state == "loading" or self.query_one(InputRow).typing:
            return True
        if self.view == "seq2seq" and self.query_one(Seq2SeqView).busy:
            return True
        return any(self.lm_view(kind).busy for kind in LM_VIEWS)

    def on_pane_first_show(self) -> None:
        self.start_loading()
        self._update_status()
        if self.view == "embeddings" and self.emb.source == "minilm":
            self._compute("embeddings")

    # model -------------------------------------------------------------------------

    def load(self) -> Any:
        return svc.get_lm(self.model_path)

    def loaded(self, lm: Any) -> None:
        self.lm = lm
        for kind in LM_VIEWS:
            self.lm_view(kind).lm = lm
        for kind in ("attention", "lens", "positions"):
            self._compute(kind)
        if self.view == "embeddings":
            self._compute("embeddings")
        self._update_status()

    def show_load_state(self, text: Text) -> None:
        if self.load_state == "failed":
            text.append("\nThe MiniLM embeddings (Embeddings view, source MiniLM) work "
                        "without it.", "grey50")
        self._show_message_everywhere(text)

    def load_failed(self, error: str) -> None:
        self.emb.lm_error = error
        if self.emb.source == "lm":
            self.emb.draw()
        self._update_status()

    def _show_message_everywhere(self, text: Text) -> None:
        """A message (loading, error) in the attention, positions and lens views."""
        for view in (self.att, self.pos, self.lens):
            view.show_message(text)

    # computing ---------------------------------------------------------------------

    def _compute(self, kind: str) -> None:
        """Start (or restart) one view's worker with the current inputs."""
        view = self.lm_view(kind)
        texts = self.query_one(InputRow).texts
        view.text = texts[self.emb.context if kind == "embeddings" else "prompt"]
        view.recompute()

    def on_lm_view_changed(self, event: LmView.Changed) -> None:
        event.stop()
        self._update_status()

    # inputs (the row and its contexts: inputs.py) ------------------------------------

    @property
    def input(self) -> SafeInput:
        return self.query_one(InputRow).input

    def _switch_context(self) -> None:
        self.query_one(InputRow).switch(self.emb.context if self.view == "embeddings"
                                        else "prompt")

    def on_input_row_settled(self, event: InputRow.Settled) -> None:
        """Typing paused or Enter: recompute the views that read this context."""
        event.stop()
        if event.context == "prompt":
            self._compute("attention")
            self._compute("lens")
        else:
            self._compute("embeddings")
        event.row.typing = False
        if event.submitted:
            self._focus_board()

    # actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.view
        if action == "layer":
            return view in ("attention", "lens")
        if action in ("horizontal", "vertical"):
            return view in ("attention", "lens")
        if action == "mode":
            return view in ("attention", "embeddings")
        if action == "source":
            return view == "embeddings"
        if action == "zoom":
            return view == "positions"
        if action == "leave_input":
            return self.input.has_focus
        return True

    def action_view(self, view: str) -> None:
        if view == self.view or view not in {v for v, _, _ in VIEWS}:
            return
        self.view = view
        self.query_one("#int-views", ViewBar).set_value(view)
        self.query_one("#int-switch", ContentSwitcher).current = f"int-{view}"
        self.query_one("#int-inrow").display = view not in ("positions", "seq2seq")
        self._switch_context()
        if view == "embeddings" and not self.emb.answered and not self.emb.waiting:
            self._compute("embeddings")
        self._render_view()
        # Again after the layout pass: showing/hiding the input row resizes the
        # view, and its charts are drawn to the view's size.
        self.call_after_refresh(self._render_view)
        self._update_status()
        self.refresh_bindings()
        if not self.input.has_focus or view == "positions":
            self._focus_board()

    def _current(self) -> LmView | None:
        return self.lm_view(self.view) if self.view in LM_VIEWS else None

    def action_layer(self, step: int) -> None:
        if (view := self._current()) is not None:
            view.layer(step)
        self._update_status()

    def action_horizontal(self, step: int) -> None:
        if (view := self._current()) is not None:
            view.horizontal(step)
        self._update_status()

    def action_vertical(self, step: int) -> None:
        if (view := self._current()) is not None:
            view.vertical(step)
        self._update_status()

    def action_mode(self) -> None:
        if self.view == "attention":
            self.att.next_mode()
        elif self.view == "embeddings":
            self.emb.next_mode()
            self._emb_changed()
        self._update_status()

    def _emb_changed(self) -> None:
        self._switch_context()
        self._compute("embeddings")

    def action_source(self) -> None:
        self._set_source("lm" if self.emb.source == "minilm" else "minilm")

    def _set_source(self, source: str) -> None:
        self.emb.set_source(source)
        self._emb_changed()
        self.emb.draw()
        self._update_status()

    def action_zoom(self, step: int) -> None:
        self.pos.zoom(step)
        self._update_status()

    def action_focus_input(self) -> None:
        if self.view != "positions":
            self.input.focus()

    def action_leave_input(self) -> None:
        self._focus_board()

    def help_bindings(self) -> list:
        if self.view != "seq2seq":
            return list(self.BINDINGS)
        own = {b.key for b in Seq2SeqView.BINDINGS if isinstance(b, Binding)}
        return list(Seq2SeqView.BINDINGS) + [
            b for b in self.BINDINGS if not (isinstance(b, Binding) and b.key in own)]

    def _focus_board(self) -> None:
        if self.view == "seq2seq":
            self.query_one(Seq2SeqView).focus_board()
        else:
            self.lm_view(self.view).focus_board()

    @on(ViewBar.Picked)
    def _picked(self, event: ViewBar.Picked) -> None:
        bar = event.bar.id
        if bar == "int-views":
            self.action_view(event.value)
        elif bar == "int-emb-modes":
            self.emb.set_mode(event.value)
            self._emb_changed()
            self._update_status()
        elif bar == "int-emb-source":
            self._set_source(event.value)

    @on(Board.Clicked)
    def _board_clicked(self, event: Board.Clicked) -> None:
        if (view := self._current()) is not None:
            view.clicked(event.meta)
        self._update_status()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._render_view)

    # drawing -----------------------------------------------------------------------

    def _render_view(self) -> None:
        if self.view == "seq2seq":
            self.query_one(Seq2SeqView).shown()
        else:
            self.lm_view(self.view).draw()

    def _update_status(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        view = self.view
        if self.load_state == "loading" and view != "embeddings":
            t.append(" loading the language model…", INFO)
        elif view == "seq2seq":
            t.append(" encoder-decoder: dates in words -> ISO 8601", INFO)
        elif self.lm_view(view).status(t):
            pass
        elif self.load_error:
            t.append(" no language model", ERROR)
        self.query_one("#int-status", Static).update(t)

    # export (genai_tui/tui/panes/internals/export.py) -----------------------------

    EXPORTS = ("the attention weights shown (attention view) or the position "
               "similarity curve (positions view) as CSV")

    def export_data(self) -> Export | None:
        att, pos = self.att, self.pos
        if self.view == "attention" and att.result is not None and att.mode != "all":
            a, head = att.result, None if att.mode == "mean" else att.head
            weights = a.head(att.layer_index, head)
            name = f"attention-L{att.layer_index}-{'mean' if head is None else f'h{head}'}"
            return Export(name, ".csv",
                          lambda path: export.write_attention(path, a.tokens, weights))
        if self.view == "positions" and pos.result is not None:
            curve = list(pos.result.by_distance)
            return Export("positions-similarity", ".csv",
                          lambda path: export.write_distance_curve(path, curve))
        return None
