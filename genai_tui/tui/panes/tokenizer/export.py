"""The tokenizer pane's tokens as JSON (plain Python, no Textual)."""

from __future__ import annotations

from genai_tui.tui.panes.tokenizer.layout import TokenCells

FORMAT = "genai-tui-tokens 1"


def side_record(name: str, cells: TokenCells) -> dict:
    """One tokenizer's tokens: id, bytes (hex: a token may end inside a character)
    and the visible label the pane draws."""
    return {
        "tokenizer": name,
        "count": len(cells),
        "tokens": [{"id": i, "bytes": data.hex(), "text": data.decode("utf-8", "replace"),
                    "label": label}
                   for i, data, label in zip(cells.ids, cells.data, cells.labels, strict=True)],
    }


def tokens_document(text: str, sides: list[tuple[str, TokenCells]]) -> dict:
    """The text and each tokenizer's tokens (the pane saves it with `json_export`)."""
    return {"format": FORMAT, "text": text, "tokenizers": [side_record(n, c) for n, c in sides]}
