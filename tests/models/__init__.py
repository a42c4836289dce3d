"""Tests of genai_tui/models/."""
