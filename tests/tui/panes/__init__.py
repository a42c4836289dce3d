"""Tests of genai_tui/tui/panes/."""
