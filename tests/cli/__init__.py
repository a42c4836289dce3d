"""Tests of genai_tui/cli/."""
