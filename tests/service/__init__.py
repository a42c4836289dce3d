"""Tests of genai_tui/service/."""
