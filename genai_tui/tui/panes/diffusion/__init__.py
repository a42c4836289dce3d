"""The diffusion pane (forward and reverse process of a DDPM on digits)."""

from genai_tui.tui.panes.diffusion.pane import DiffusionPane

__all__ = ["DiffusionPane"]
