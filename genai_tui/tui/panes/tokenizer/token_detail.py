"""The tokenizer pane's detail line for the selected token: its id, bytes and
position at once, then how BPE formed it (looked up in this widget's worker;
a newer selection supersedes the lookup, through the kit's `Computes`)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from genai_tui.tui.pane import Computes
from genai_tui.tui.panes.tokenizer.explain import describe_token, formed_text
from genai_tui.tui.panes.tokenizer.tokens_column import TokensColumn

HINT = ("Select a token (Tab to the tokens, then ←/→, or click one) to see "
        "its id, bytes and how BPE formed it.")


class TokenDetail(Computes, Static):
    """What the selected token is and where its merges came from."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text(HINT), id=id)

    def show_token(self, shown: TokensColumn.Tokenized, index: int,
                   kind: tuple[str, bool]) -> None:
        """Describe token ``index`` of ``shown``; the merge lookup follows."""
        token_id, data = shown.cells.ids[index], shown.cells.data[index]
        head = describe_token(shown.name, index, len(shown.cells), token_id, data)
        detail = Text()
        detail.append_text(head)
        detail.append("\nlooking up how it was formed…", style="dim")
        self.update(detail)
        name = shown.name
        self.compute("formed", lambda: formed_text(head, name, kind, token_id, data),
                     description="merge info")

    def computed(self, kind: str, result: Text | None, error: str) -> None:
        if result is not None:
            self.update(result)
