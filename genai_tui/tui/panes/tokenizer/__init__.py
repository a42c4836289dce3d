"""The tokenizer pane: text to tokens, compare, BPE merge replay, vocabulary."""

from genai_tui.tui.panes.tokenizer.pane import TokenizerPane

__all__ = ["TokenizerPane"]
