"""A tiny diffusion model in a throw-away assets folder (random weights, T = 1000), beside
the real bundled classifier, for the pane and CLI tests."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from genai_tui.paths import REPO_ROOT


def make_tiny_assets(root: Path, seed: int = 0) -> Path:
    """``root``/diffusion holds a tiny U-Net; ``root``/classifier links to the bundled one."""
    from genai_tui.models.ddpm import linear_schedule
    from genai_tui.models.unet import UNet, UNetConfig
    from genai_tui.service.diffusion import DiffusionModel, save_model

    torch.manual_seed(seed)
    net = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2), attention=False))
    torch.nn.init.normal_(net.conv_out.weight, std=0.05)  # predict some noise, not zeros
    save_model(DiffusionModel(net.eval(), linear_schedule(1000)), root / "diffusion",
               {"data": "none (random weights for tests)", "steps": 0, "seed": seed})
    classifier = REPO_ROOT / "assets" / "classifier"
    if classifier.is_dir() and not (root / "classifier").exists():
        os.symlink(classifier, root / "classifier")
    return root
