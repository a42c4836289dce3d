"""The Imagine pane (text to image): see `pane.py`."""

from genai_tui.tui.panes.imagine.pane import ImaginePane

__all__ = ["ImaginePane"]
