"""Tests of genai_tui/images/."""
