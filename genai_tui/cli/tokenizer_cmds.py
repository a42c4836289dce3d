"""Tokenizer commands (being written)."""

from genai_tui.cli._app import app, train_app  # noqa: F401
