"""Tests of genai_tui/sampling/."""
