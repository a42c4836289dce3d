"""The tokenizer pane's tokens as JSON (plain Python, no Textual)."""

from __future__ import annotations

import json
from pathlib import Path

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


def write_tokens(path: Path, text: str, sides: list[tuple[str, TokenCells]]) -> None:
    doc = {"format": FORMAT, "text": text, "tokenizers": [side_record(n, c) for n, c in sides]}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
