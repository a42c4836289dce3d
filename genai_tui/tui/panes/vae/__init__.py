"""The VAE pane (sample, reconstruct, interpolate, walk, map, anomalies, denoise)."""

from genai_tui.tui.panes.vae.pane import VIEWS, VAEPane
from genai_tui.tui.panes.vae.views import capacity

__all__ = ["VIEWS", "VAEPane", "capacity"]
