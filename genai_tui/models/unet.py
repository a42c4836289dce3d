"""A small U-Net that predicts the noise in a noisy image (the DDPM denoiser).

The shape follows Ho et al. 2020 (appendix B), scaled down for 28x28 digits on a
CPU: a sinusoidal time embedding fed to every residual block, a down path that
halves the resolution (28 -> 14 -> 7), a middle with self-attention at 7x7, and
an up path that concatenates the down path's activations (the skip
connections) before each block. GroupNorm everywhere, SiLU activations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class UNetConfig:
    """Size of the denoiser. Saved as JSON beside the weights."""

    image_size: int = 28
    """Height and width of the (square) images; must divide by 2**(levels-1)."""
    in_channels: int = 1
    """1 for grayscale."""
    base_channels: int = 16
    """Channels at full resolution (most of the compute is spent there)."""
    channel_mults: tuple[int, ...] = (1, 2, 4)
    """Channels per level as multiples of base_channels; one level per resolution."""
    num_res_blocks: int = 1
    """Residual blocks per level on the down path (the up path has one more, as in DDPM)."""
    attention: bool = True
    """Self-attention in the middle (lowest resolution)."""
    groups: int = 8
    """GroupNorm groups; must divide every channel count."""
    dropout: float = 0.0
    time_channels: int = field(default=0)
    """Width of the time embedding; 0 means 4 x base_channels."""

    def __post_init__(self) -> None:
        self.channel_mults = tuple(int(m) for m in self.channel_mults)
        if self.time_channels <= 0:
            self.time_channels = 4 * self.base_channels
        if self.image_size % (2 ** (len(self.channel_mults) - 1)):
            raise ValueError("image_size must divide by 2**(levels-1)")
        for m in self.channel_mults:
            if (self.base_channels * m) % self.groups:
                raise ValueError("groups must divide every channel count")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channel_mults"] = list(self.channel_mults)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> UNetConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017, as in DDPM).

    t: (B,) ints -> (B, dim) floats: [cos(t w_i), sin(t w_i)] with geometric w_i.
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t.float()[:, None] * freqs[None, :]  # (B, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, plus the time embedding, twice; residual add."""

    def __init__(self, cin: int, cout: int, tdim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, cout, H, W)
        h = h + self.time(temb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Single-head self-attention over the H*W positions (DDPM uses it at 16x16)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)  # each (B, C, HW)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2)[:, None], k.transpose(1, 2)[:, None], v.transpose(1, 2)[:, None]
        )  # (B, 1, HW, C)
        out = out[:, 0].transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj(out)


class UNet(nn.Module):
    """eps_theta(x_t, t): predicts the noise that was added to x_0 to make x_t.

    x: (B, C, H, W), t: (B,) integer timesteps -> (B, C, H, W).
    """

    def __init__(self, config: UNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or UNetConfig()
        ch, tdim, g, p = cfg.base_channels, cfg.time_channels, cfg.groups, cfg.dropout
        self.time_mlp = nn.Sequential(nn.Linear(ch, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)

        levels = [ch * m for m in cfg.channel_mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skip_channels = [ch]
        cur = ch
        for i, cout in enumerate(levels):
            blocks = nn.ModuleList()
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock(cur, cout, tdim, g, p))
                cur = cout
                skip_channels.append(cur)
            self.down.append(blocks)
            last = i == len(levels) - 1
            self.downsample.append(
                nn.Identity() if last else nn.Conv2d(cur, cur, 3, stride=2, padding=1)
            )
            if not last:
                skip_channels.append(cur)

        self.mid1 = ResBlock(cur, cur, tdim, g, p)
        self.mid_attn = SelfAttention(cur, g) if cfg.attention else nn.Identity()
        self.mid2 = ResBlock(cur, cur, tdim, g, p)

        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, cout in reversed(list(enumerate(levels))):
            blocks = nn.ModuleList()
            for _ in range(cfg.num_res_blocks + 1):
                blocks.append(ResBlock(cur + skip_channels.pop(), cout, tdim, g, p))
                cur = cout
            self.up.append(blocks)
            self.upsample.append(
                nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                              nn.Conv2d(cur, cur, 3, padding=1))
                if i > 0 else nn.Identity()
            )

        self.norm_out = nn.GroupNorm(g, cur)
        self.conv_out = nn.Conv2d(cur, cfg.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.config.base_channels))  # (B, tdim)
        h = self.conv_in(x)
        skips = [h]
        for blocks, down in zip(self.down, self.downsample, strict=True):
            for block in blocks:
                h = block(h, temb)
                skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for blocks, up in zip(self.up, self.upsample, strict=True):
            for block in blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), temb)
            h = up(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
