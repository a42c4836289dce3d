"""The Train pane: pretraining and fine-tuning a language model, live."""

from genai_tui.tui.panes.train.pane import TrainPane

__all__ = ["TrainPane"]
