"""The tokenizer pane's text area: the app's shared `SafeTextArea`."""

from genai_tui.tui.textbox import SafeTextArea, safe_line

__all__ = ["SafeTextArea", "safe_line"]
