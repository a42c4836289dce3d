"""The app's panes, in tab order.

Each entry names its id and title, so the app can draw every tab while
importing only the pane it shows first; the others are imported when first
shown (their modules pull in numpy and friends). Only panes that really work
are listed: no placeholders.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PaneSpec:
    """A pane named without importing it: `target` is "module:Class"."""

    PANE_ID: str
    TITLE: str
    target: str

    def load(self) -> type:
        module_name, _, class_name = self.target.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if (cls.PANE_ID, cls.TITLE) != (self.PANE_ID, self.TITLE):
            raise RuntimeError(f"{self.target} is {cls.PANE_ID}/{cls.TITLE}, not {self}")
        return cls


PANES: list[PaneSpec] = [
    PaneSpec("tokenizer", "Tokenizer", "genai_tui.tui.panes.tokenizer:TokenizerPane"),
    PaneSpec("generate", "Generate", "genai_tui.tui.panes.generate:GeneratePane"),
    PaneSpec("internals", "Transformer", "genai_tui.tui.panes.internals:InternalsPane"),
    PaneSpec("train", "Train", "genai_tui.tui.panes.train:TrainPane"),
    PaneSpec("vae", "VAE", "genai_tui.tui.panes.vae:VAEPane"),
    PaneSpec("diffusion", "Diffusion", "genai_tui.tui.panes.diffusion:DiffusionPane"),
    PaneSpec("imagine", "Imagine", "genai_tui.tui.panes.imagine:ImaginePane"),
    PaneSpec("gan", "GAN", "genai_tui.tui.panes.gan:GanPane"),
]


def load_pane(entry: PaneSpec | type) -> type:
    """The pane class for a registry entry (a spec or, in tests, a class)."""
    return entry.load() if isinstance(entry, PaneSpec) else entry


def pane_classes() -> list[type]:
    """Import and return every pane class, in tab order."""
    return [spec.load() for spec in PANES]
