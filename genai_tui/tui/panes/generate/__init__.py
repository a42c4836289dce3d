"""The generate pane: streaming generation with every decoding knob."""

from genai_tui.tui.panes.generate.pane import GeneratePane

__all__ = ["GeneratePane"]
