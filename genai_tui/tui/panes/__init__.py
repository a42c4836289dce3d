"""The app's panes, in tab order, as "module:Class" (imported when the app starts).

Only panes that really work are listed: no placeholders.
"""

from __future__ import annotations

import importlib

PANES: list[str] = [
    "genai_tui.tui.panes.tokenizer:TokenizerPane",
    "genai_tui.tui.panes.generate:GeneratePane",
    "genai_tui.tui.panes.internals:InternalsPane",
    "genai_tui.tui.panes.vae:VAEPane",
    "genai_tui.tui.panes.diffusion:DiffusionPane",
    "genai_tui.tui.panes.gan:GanPane",
]


def pane_classes() -> list[type]:
    """Import and return the pane classes in tab order."""
    classes = []
    for spec in PANES:
        module_name, _, class_name = spec.partition(":")
        classes.append(getattr(importlib.import_module(module_name), class_name))
    return classes
