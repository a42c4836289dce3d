"""Tests of genai_tui/tokenizers/."""
