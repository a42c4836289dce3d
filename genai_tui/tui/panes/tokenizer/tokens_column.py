"""One column of the tokenizer pane's Tokens view: a stats bar over a token
view, and the worker that tokenizes the pane's text for it (`start`). The
pane keeps the latest result per side and drops results for an older text or
another tokenizer.
"""

from __future__ import annotations

from dataclasses import replace
from time import perf_counter

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.service import tokenize as svc
from genai_tui.service.runtime import gc_paused
from genai_tui.tui.panes.tokenizer.explain import ui
from genai_tui.tui.panes.tokenizer.layout import Cancelled, TokenCells
from genai_tui.tui.panes.tokenizer.stats import Counts, StatsBar
from genai_tui.tui.panes.tokenizer.token_view import TokenView


def _worker_cancelled() -> bool:
    return get_current_worker().is_cancelled


class TokensColumn(Vertical):
    """Stats and tokens for one side ("a", or "b" when comparing)."""

    def __init__(self, side: str, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.side = side

    def compose(self) -> ComposeResult:
        yield StatsBar(id=f"tok-stats-{self.side}")
        yield TokenView(empty_text="(tokenizing…)", id=f"tok-tokens-{self.side}")

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
        """A tokenize worker failed; ``what`` is "tokens-a" or "tokens-b"."""

        def __init__(self, what: str, version: int, name: str, message: str) -> None:
            super().__init__()
            self.what = what
            self.version = version
            self.name = name
            self.message = ui(message)

    def start(self, name: str, text: str, version: int) -> None:
        """Tokenize ``text`` (version ``version`` of the pane's text) with ``name``."""
        self.query_one(StatsBar).show_message(f"{name}: tokenizing {len(text):,} characters…")
        side = self.side
        self.run_worker(lambda: self._tokenize_job(side, version, name, text), thread=True,
                        exclusive=True, group=f"tok-tokenize-{side}", exit_on_error=False,
                        description=f"tokenize with {name}")

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
