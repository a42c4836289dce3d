"""The Transformer pane: attention, embeddings, positions and the logit lens."""

from genai_tui.tui.panes.internals.pane import InternalsPane

__all__ = ["InternalsPane"]
