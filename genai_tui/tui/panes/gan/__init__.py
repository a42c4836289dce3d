"""The GAN pane: live GAN training on 2-D points or digit images."""

from genai_tui.tui.panes.gan.pane import GanPane

__all__ = ["GanPane"]
