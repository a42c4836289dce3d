"""The Transformer pane's embeddings view: nearest neighbours by cosine
similarity, analogies ``a - b + c``, a PCA map and a similarity matrix, from
the LM's own token table or MiniLM sentence embeddings.

Owns its worker (the embedding tools of `service.internals`), its two choice
bars (tool, source) and its drawing; the pane keeps one input text per tool
and source and hands the current one over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from genai_tui.service import internals as svc
from genai_tui.tui.panes.internals import embeddings_render
from genai_tui.tui.panes.internals.view import ERROR, HINT, INFO, LmView, message, put
from genai_tui.tui.panes.internals.widgets import Board
from genai_tui.tui.widgets import ViewBar

MODES = [("neighbours", "neighbours", ""), ("analogy", "a-b+c", ""), ("map", "PCA map", ""),
         ("similarity", "similarity", "")]
SOURCES = [("lm", "LM tokens", ""), ("minilm", "MiniLM", "")]


class EmbeddingsView(LmView):
    """Embedding tools over the LM's token table or MiniLM."""

    KIND = "embeddings"
    BOARD = "int-emb-board"
    DESCRIPTION = "computing embeddings"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = "neighbours"
        self.source = "lm"
        self.lm_error = ""
        """Why the language model did not load (the LM source shows it)."""
        self.waiting = ""
        """Shown instead of the result while MiniLM loads on first use."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="int-emb-bars"):
            yield ViewBar(MODES, self.mode, prefix="m", id="int-emb-modes")
            yield ViewBar(SOURCES, self.source, prefix=" s", id="int-emb-source")
        with Board(id="int-emb-board"):
            yield Static(id="int-emb-body", classes="body")

    @property
    def context(self) -> str:
        """Which input text this view computes from: its tool and source."""
        return f"{self.mode}:{self.source}"

    @property
    def busy(self) -> bool:
        return bool(self.waiting) or super().busy

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.query_one("#int-emb-modes", ViewBar).set_value(mode)

    def next_mode(self) -> None:
        order = [m for m, _, _ in MODES]
        self.set_mode(order[(order.index(self.mode) + 1) % len(order)])

    def set_source(self, source: str) -> None:
        self.source = source
        self.query_one("#int-emb-source", ViewBar).set_value(source)
        self.result = None

    # computing ---------------------------------------------------------------

    def recompute(self) -> None:
        if self.source == "lm" and self.lm is None:
            return  # computed when the model arrives (or its error is shown)
        if self.source == "minilm" and not svc.minilm_available():
            serial = self.new_request(self.KIND)
            self.post_message(self.Computed(self.KIND, serial, None, svc.MINILM_HINT))
            return
        if self.source == "minilm" and not svc.minilm_loaded():
            self.waiting = "⏳ Loading MiniLM sentence embeddings (first use)…"
            self.draw()
        self.compute(self.KIND, self.work(), self.DESCRIPTION)

    def work(self) -> Callable[[], Any]:
        mode, source, lm, text = self.mode, self.source, self.lm, self.text

        def compute() -> Any:
            if mode == "neighbours":
                word, among = split_query(text)
                return svc.neighbors(word, source, 12, model=lm, among=among)
            if mode == "analogy":
                a, b, c = svc.parse_analogy(text)
                return svc.analogy(a, b, c, source, 10, model=lm)
            words = svc.parse_words(text)
            if mode == "map":
                return svc.projection(words, source, model=lm)
            return svc.similarity(words, source, model=lm)

        return compute

    def computed(self, kind: str, result: Any, error: str) -> None:
        self.waiting = ""
        self.result = None  # an error clears the old result
        super().computed(kind, result, error)

    # drawing -----------------------------------------------------------------

    def draw(self) -> None:
        body = self.query_one("#int-emb-body", Static)
        if self.waiting:
            put(body, message(self.waiting), message=True)
            return
        if self.source == "lm" and self.lm is None:
            put(body, message("✗ " + self.lm_error, ERROR) if self.lm_error
                else message("⏳ Loading the language model…"), message=True)
            return
        if self.error:
            text = Text("✗ " + self.error, style=ERROR)
            if self.error == svc.MINILM_HINT:
                text.append("\nPress s for the LM's token table, which is always there.",
                            "grey50")
            put(body, text, message=True)
            return
        r = self.result
        if r is None:
            put(body, message("…", "grey50"), message=True)
            return
        body.set_class(False, "-message")
        width = self.width() - 2
        if isinstance(r, svc.NeighborResult):
            if len(r.query) == 3:
                a, b, c = (q.text for q in r.query)
                title = f"{a} - {b} + {c} ≈"
            else:
                title = f"nearest to {r.query[0].text}"
            body.update(embeddings_render.neighbor_list(r, width, title))
        elif isinstance(r, svc.Projection):
            body.update(embeddings_render.scatter(r.labels, r.points, width,
                                                  self.height() - 2, r.explained))
        elif isinstance(r, svc.SimilarityMatrix):
            body.update(embeddings_render.similarity_table(r, width))

    def status(self, line: Text) -> bool:
        line.append(" m tool  s source  Enter compute", HINT)
        if self.source == "minilm":
            line.append("   all-MiniLM-L6-v2, 384-d sentence vectors", INFO)
        elif self.lm is not None:
            line.append(f"   token table {self.lm.vocab_size} x {self.lm.model.config.n_embd}",
                        INFO)
        return True


def split_query(text: str) -> tuple[str, list[str] | None]:
    """``"China: Russia, banana"`` -> ("China", ["Russia", "banana"]); else (text, None)."""
    word, sep, rest = text.partition(":")
    if sep and word.strip() and rest.strip():
        return word.strip(), svc.parse_words(rest)
    return text, None
