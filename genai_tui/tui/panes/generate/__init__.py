"""The generate pane: streaming generation with every decoding knob.

`GeneratePane` is imported on first use, so the Textual-free modules here
(`driver`, `runs`, `status`, `render`, `knob_specs`, `beam_render`, `export`)
import without Textual (`tests/tui/panes/test_generate_runs.py` checks it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["GeneratePane"]


def __getattr__(name: str) -> Any:
    if name == "GeneratePane":
        from genai_tui.tui.panes.generate.pane import GeneratePane

        return GeneratePane
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
