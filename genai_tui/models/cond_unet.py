"""A text-conditioned U-Net: the denoiser of a tiny text-to-image diffusion model.

The image path is `genai_tui.models.unet`'s (Ho et al. 2020, 28 -> 14 -> 7),
with two ways for a caption to steer it, as latent diffusion does (Rombach et
al. 2022, "High-Resolution Image Synthesis with Latent Diffusion Models",
section 3.3):

- **cross-attention** after the residual blocks of the low-resolution levels
  (14x14 and 7x7 by default) and in the middle: every image position is a
  query, every caption token a key and a value (``softmax(Q K^T / sqrt(d)) V``
  over the tokens). The weights are a distribution over the caption's tokens
  at each position; `CrossAttention` keeps them when asked (`record_attention`)
  for the per-word heatmaps;
- **the pooled caption** (mean of the token states) added to the time
  embedding, so every residual block gets a per-channel shift from the caption
  as a whole (Imagen's pooled text embedding, Saharia et al. 2022, section 2.2).

The text encoder is a small bidirectional transformer on our BPE ids
(`genai_tui.models.clip`'s blocks), trained jointly with the denoiser. Every
caption starts with a learned *start* token, so "no caption" is the start
token alone: the null condition of classifier-free guidance (Ho & Salimans
2022, "Classifier-Free Diffusion Guidance", Algorithm 1 line 3 drops the
condition with probability p_uncond; `drop_condition`). The start slot is also
where attention goes when a position does not care about the words.

The network predicts v = sqrt(ab) eps - sqrt(1 - ab) x_0 (Salimans & Ho 2022,
"Progressive Distillation", section 4) by default; `to_eps` turns it into the
noise estimate the samplers of `genai_tui.models.ddpm` take.

Guidance (Algorithm 2 line 6, written as in Imagen): eps = eps_u + w (eps_c - eps_u);
w = 0 is the unconditional model, w = 1 the conditional one, w > 1 pushes
further from the unconditional prediction. `guided_eps` computes both
predictions in one batched call (or two calls, to compare).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from genai_tui.models.clip import _Block
from genai_tui.models.ddpm import _at
from genai_tui.models.unet import ResBlock, SelfAttention, timestep_embedding

PREDICTIONS = ("v", "eps")


@dataclass
class CondUNetConfig:
    """Size of the text-conditioned denoiser. Saved as JSON beside the weights."""

    image_size: int = 28
    """Height and width of the (square) images; must divide by 2**(levels-1)."""
    in_channels: int = 1
    base_channels: int = 16
    """Channels at full resolution."""
    channel_mults: tuple[int, ...] = (1, 2, 4)
    """Channels per level as multiples of base_channels; one level per resolution."""
    num_res_blocks: int = 1
    """Residual blocks per level on the down path (the up path has one more)."""
    cross_levels: tuple[int, ...] = (1, 2)
    """Levels (0 = full resolution) with cross-attention after each residual block;
    the middle always has it."""
    attention_heads: int = 2
    """Heads of the cross-attention (divides every channel count of ``cross_levels``)."""
    pooled_text: bool = True
    """Add the pooled caption to the time embedding."""
    groups: int = 8
    """GroupNorm groups; must divide every channel count."""
    dropout: float = 0.0
    time_channels: int = 0
    """Width of the time embedding; 0 means 4 x base_channels."""
    vocab_size: int = 4096
    """BPE ids of the tokenizer; ``vocab_size`` is padding, ``vocab_size + 1`` the start."""
    max_tokens: int = 24
    """Longest caption in tokens, the start token included; longer ones are cut."""
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    prediction: str = "v"
    """What the network outputs: "v" = sqrt(ab) eps - sqrt(1 - ab) x_0 (Salimans & Ho
    2022, section 4) or "eps" (the noise, as DDPM). v gave recognisable digits with DDIM
    after 800 small steps where eps gave noise (both sample through `guided_eps`, which
    always returns eps)."""

    def __post_init__(self) -> None:
        self.channel_mults = tuple(int(m) for m in self.channel_mults)
        self.cross_levels = tuple(sorted({int(v) for v in self.cross_levels}))
        if self.time_channels <= 0:
            self.time_channels = 4 * self.base_channels
        levels = len(self.channel_mults)
        if self.image_size % (2 ** (levels - 1)):
            raise ValueError("image_size must divide by 2**(levels-1)")
        for m in self.channel_mults:
            if (self.base_channels * m) % self.groups:
                raise ValueError("groups must divide every channel count")
        for lv in self.cross_levels:
            if not 0 <= lv < levels:
                raise ValueError(f"cross-attention level {lv} is not one of 0..{levels - 1}")
        for m in [self.channel_mults[lv] for lv in self.cross_levels] + [self.channel_mults[-1]]:
            if (self.base_channels * m) % self.attention_heads:
                raise ValueError("attention_heads must divide the cross-attention channels")
        if self.text_width % self.text_heads:
            raise ValueError("text_width must divide by text_heads")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {', '.join(PREDICTIONS)}")
        if self.max_tokens < 2 or self.vocab_size < 1:
            raise ValueError("max_tokens must be >= 2 and vocab_size >= 1")

    @property
    def pad_id(self) -> int:
        return self.vocab_size

    @property
    def start_id(self) -> int:
        return self.vocab_size + 1

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channel_mults"] = list(self.channel_mults)
        d["cross_levels"] = list(self.cross_levels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CondUNetConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TextCondition:
    """A batch of encoded captions, computed once per prompt and reused every step."""

    states: torch.Tensor
    """(B, L, text_width) per-token states: the keys and values of cross-attention."""
    keep: torch.Tensor
    """(B, L) bool, True for real tokens (the start token and the caption's), False for padding."""
    pooled: torch.Tensor
    """(B, text_width) mean of the real tokens' states."""

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def repeat(self, n: int) -> TextCondition:
        """Each row ``n`` times in a row (one caption for ``n`` images)."""
        return TextCondition(self.states.repeat_interleave(n, 0), self.keep.repeat_interleave(n, 0),
                             self.pooled.repeat_interleave(n, 0))


def cat_conditions(conds: list[TextCondition]) -> TextCondition:
    """Stack conditions along the batch, padding to the longest (padding is masked)."""
    length = max(c.states.shape[1] for c in conds)

    def pad(t: torch.Tensor, value: float | bool) -> torch.Tensor:
        extra = length - t.shape[1]
        if extra == 0:
            return t
        spec = (0, 0, 0, extra) if t.dim() == 3 else (0, extra)
        return F.pad(t, spec, value=value)

    return TextCondition(torch.cat([pad(c.states, 0.0) for c in conds]),
                         torch.cat([pad(c.keep, False) for c in conds]),
                         torch.cat([c.pooled for c in conds]))


class CondTextEncoder(nn.Module):
    """Caption ids (B, L), start token first, padded with ``pad_id`` -> `TextCondition`."""

    def __init__(self, config: CondUNetConfig) -> None:
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size + 2, config.text_width)  # + pad, start
        self.pos = nn.Embedding(config.max_tokens, config.text_width)
        self.blocks = nn.ModuleList(_Block(config.text_width, config.text_heads)
                                    for _ in range(config.text_layers))
        self.ln_f = nn.LayerNorm(config.text_width)

    def forward(self, ids: torch.Tensor) -> TextCondition:
        ids = ids[:, : self.config.max_tokens]
        keep = ids != self.config.pad_id  # (B, L)
        keep[:, 0] = True  # the start slot is always there (a null caption is it alone)
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))  # (B, L, W)
        for block in self.blocks:
            x = block(x, keep)
        x = self.ln_f(x)
        w = keep.unsqueeze(-1).to(x.dtype)  # (B, L, 1)
        return TextCondition(x, keep, (x * w).sum(1) / w.sum(1))


class CrossAttention(nn.Module):
    """Image positions attend to caption tokens (Rombach et al. 2022 eq. 3).

    Q = W_q phi(x) (the image features), K = W_k tau(y), V = W_v tau(y) (the
    caption's token states); out = softmax(Q K^T / sqrt(d)) V, projected and
    added to x. The output projection starts at zero: the block starts as the
    identity.
    """

    def __init__(self, channels: int, text_width: int, heads: int, groups: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.q = nn.Linear(channels, channels, bias=False)
        self.k = nn.Linear(text_width, channels, bias=False)
        self.v = nn.Linear(text_width, channels, bias=False)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.record = False
        """Keep the attention weights of the next forward passes in ``weights``."""
        self.weights: torch.Tensor | None = None
        """(B, H*W, L) the last recorded weights, averaged over heads (rows sum to 1)."""

    def forward(self, x: torch.Tensor, cond: TextCondition) -> torch.Tensor:
        b, c, h, w = x.shape
        nh, hs = self.heads, c // self.heads
        q = self.q(self.norm(x).flatten(2).transpose(1, 2))  # (B, HW, C)
        k, v = self.k(cond.states), self.v(cond.states)  # (B, L, C)
        q = q.view(b, h * w, nh, hs).transpose(1, 2)  # (B, nh, HW, hs)
        k = k.view(b, -1, nh, hs).transpose(1, 2)  # (B, nh, L, hs)
        v = v.view(b, -1, nh, hs).transpose(1, 2)  # (B, nh, L, hs)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, HW, L)
        scores = scores.masked_fill(~cond.keep[:, None, None, :], float("-inf"))
        att = scores.float().softmax(-1).to(v.dtype)  # (B, nh, HW, L): over the tokens
        if self.record:
            self.weights = att.detach().float().mean(1)  # (B, HW, L)
        out = (att @ v).transpose(1, 2).reshape(b, h * w, c)  # (B, HW, C)
        return x + self.proj(out).transpose(1, 2).reshape(b, c, h, w)


class _Level(nn.Module):
    """The residual blocks of one level, each followed by cross-attention (or not)."""

    def __init__(self, blocks: list[ResBlock], cross: list[CrossAttention] | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.cross = nn.ModuleList(cross) if cross else None


class CondUNet(nn.Module):
    """eps_theta(x_t, t, caption): the noise in x_t, given the caption.

    x: (B, C, H, W), t: (B,) ints, ids: (B, L) caption ids -> (B, C, H, W).
    `denoise` takes an encoded `TextCondition` instead of ids (sampling encodes
    the prompt once).
    """

    def __init__(self, config: CondUNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or CondUNetConfig()
        ch, tdim, g, p = cfg.base_channels, cfg.time_channels, cfg.groups, cfg.dropout
        tw, nh = cfg.text_width, cfg.attention_heads
        self.text = CondTextEncoder(cfg)
        self.time_mlp = nn.Sequential(nn.Linear(ch, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.text_to_time = nn.Linear(tw, tdim) if cfg.pooled_text else None
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)

        levels = [ch * m for m in cfg.channel_mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skip_channels = [ch]
        cur = ch
        for i, cout in enumerate(levels):
            blocks = []
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock(cur, cout, tdim, g, p))
                cur = cout
                skip_channels.append(cur)
            cross = ([CrossAttention(cout, tw, nh, g) for _ in blocks]
                     if i in cfg.cross_levels else None)
            self.down.append(_Level(blocks, cross))
            last = i == len(levels) - 1
            self.downsample.append(
                nn.Identity() if last else nn.Conv2d(cur, cur, 3, stride=2, padding=1))
            if not last:
                skip_channels.append(cur)

        self.mid1 = ResBlock(cur, cur, tdim, g, p)
        self.mid_attn = SelfAttention(cur, g)
        self.mid_cross = CrossAttention(cur, tw, nh, g)
        self.mid2 = ResBlock(cur, cur, tdim, g, p)

        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, cout in reversed(list(enumerate(levels))):
            blocks = []
            for _ in range(cfg.num_res_blocks + 1):
                blocks.append(ResBlock(cur + skip_channels.pop(), cout, tdim, g, p))
                cur = cout
            cross = ([CrossAttention(cout, tw, nh, g) for _ in blocks]
                     if i in cfg.cross_levels else None)
            self.up.append(_Level(blocks, cross))
            self.upsample.append(
                nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                              nn.Conv2d(cur, cur, 3, padding=1))
                if i > 0 else nn.Identity())

        self.norm_out = nn.GroupNorm(g, cur)
        self.conv_out = nn.Conv2d(cur, cfg.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    # -- text ---------------------------------------------------------------------------------

    def encode_text(self, ids: torch.Tensor) -> TextCondition:
        """(B, L) caption ids (start token first) -> `TextCondition`."""
        return self.text(ids)

    def null_ids(self, n: int = 1) -> torch.Tensor:
        """(n, 1) the null caption: the start token alone."""
        return torch.full((n, 1), self.config.start_id, dtype=torch.long)

    # -- the denoiser ---------------------------------------------------------------------------

    def forward(self, x: torch.Tensor, t: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.denoise(x, t, self.encode_text(ids))

    def denoise(self, x: torch.Tensor, t: torch.Tensor, cond: TextCondition) -> torch.Tensor:
        """eps_theta(x_t, t, y) with y already encoded. x: (B, C, H, W), t: (B,)."""
        temb = self.time_mlp(timestep_embedding(t, self.config.base_channels))  # (B, tdim)
        if self.text_to_time is not None:
            temb = temb + self.text_to_time(cond.pooled)  # the caption as a whole
        h = self.conv_in(x)  # (B, ch, 28, 28)
        skips = [h]
        for level, down in zip(self.down, self.downsample, strict=True):
            for j, block in enumerate(level.blocks):
                h = block(h, temb)
                if level.cross is not None:
                    h = level.cross[j](h, cond)  # (B, C_l, H_l, W_l): positions read the words
                skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                skips.append(h)
        h = self.mid1(h, temb)  # (B, C_mid, 7, 7)
        h = self.mid_cross(self.mid_attn(h), cond)
        h = self.mid2(h, temb)
        for level, up in zip(self.up, self.upsample, strict=True):
            for j, block in enumerate(level.blocks):
                h = block(torch.cat([h, skips.pop()], dim=1), temb)
                if level.cross is not None:
                    h = level.cross[j](h, cond)
            h = up(h)
        return self.conv_out(F.silu(self.norm_out(h)))  # (B, C, H, W)

    # -- attention maps -----------------------------------------------------------------------

    def cross_attentions(self) -> list[CrossAttention]:
        return [m for m in self.modules() if isinstance(m, CrossAttention)]

    def record_attention(self, on: bool = True) -> None:
        """Make every cross-attention keep (or stop keeping) its weights."""
        for m in self.cross_attentions():
            m.record = on
            if not on:
                m.weights = None

    def attention_maps(self, rows: slice | None = None) -> torch.Tensor | None:
        """The recorded weights of the last pass as per-token maps at full resolution:
        (B, L, H, W), each layer's (B, H_l*W_l, L) reshaped, upsampled (bilinear) and
        averaged over layers. At every pixel the L values sum to 1. None if nothing
        was recorded. ``rows`` picks batch rows (e.g. the conditional half)."""
        size = self.config.image_size
        maps = []
        for m in self.cross_attentions():
            if m.weights is None:
                continue
            w = m.weights if rows is None else m.weights[rows]  # (B, HW, L)
            side = math.isqrt(w.shape[1])
            grid = w.transpose(1, 2).reshape(w.shape[0], w.shape[2], side, side)  # (B, L, h, w)
            if side != size:
                grid = F.interpolate(grid, size=(size, size), mode="bilinear",
                                     align_corners=False)
            maps.append(grid)
        if not maps:
            return None
        length = max(g.shape[1] for g in maps)
        maps = [F.pad(g, (0, 0, 0, 0, 0, length - g.shape[1])) for g in maps]
        return torch.stack(maps).mean(0)  # (B, L, H, W)


# -- captions as ids --------------------------------------------------------------------------


def caption_ids(rows: list[list[int]], config: CondUNetConfig) -> torch.Tensor:
    """BPE id lists (no start token) -> (B, L) int64: start token, the ids cut to
    ``max_tokens - 1``, padding."""
    longest = 1 + min(config.max_tokens - 1, max((len(r) for r in rows), default=0))
    out = torch.full((len(rows), longest), config.pad_id, dtype=torch.long)
    out[:, 0] = config.start_id
    for i, r in enumerate(rows):
        r = r[: longest - 1]
        if r:
            out[i, 1: 1 + len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def drop_condition(ids: torch.Tensor, p_uncond: float, config: CondUNetConfig,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Ho & Salimans Algorithm 1 line 3: with probability ``p_uncond`` replace a
    caption by the null caption (the start token alone; the rest becomes padding).

    ids: (B, L). Returns (new ids, (B,) bool: which rows were dropped).
    """
    dropped = torch.rand(ids.shape[0], generator=generator) < p_uncond  # (B,)
    out = ids.clone()
    out[dropped, 1:] = config.pad_id
    return out, dropped


def _alpha_bar(schedule, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """alpha-bar_t shaped (B, 1, 1, 1) in ``like``'s dtype."""
    return _at(schedule.alpha_bars, t, like)


def training_target(schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
                    prediction: str) -> torch.Tensor:
    """What the network learns to output for x_t = sqrt(ab) x0 + sqrt(1 - ab) noise:
    the noise ("eps"), or v = sqrt(ab) noise - sqrt(1 - ab) x0 (Salimans & Ho 2022 eq. 2's
    velocity, "v")."""
    if prediction == "eps":
        return noise
    ab = _alpha_bar(schedule, t, x0)
    return ab.sqrt() * noise - (1 - ab).sqrt() * x0


def to_eps(schedule, out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
           prediction: str) -> torch.Tensor:
    """The noise estimate from the network's output: eps = sqrt(ab) v + sqrt(1 - ab) x_t
    for "v" (linear in the output, so guidance may mix either)."""
    if prediction == "eps":
        return out
    ab = _alpha_bar(schedule, t, x_t)
    return ab.sqrt() * out + (1 - ab).sqrt() * x_t


def training_loss(net: CondUNet, schedule, x0: torch.Tensor, ids: torch.Tensor,
                  p_uncond: float = 0.15,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Ho & Salimans Algorithm 1 (DDPM's simple loss with condition dropout), one batch;
    the target is the noise or v (`training_target`, by ``net.config.prediction``).

    x0: (B, C, H, W) in [-1, 1]; ids: (B, L) captions. Returns the scalar loss.
    """
    from genai_tui.models.ddpm import q_sample

    b = x0.shape[0]
    ids, _ = drop_condition(ids, p_uncond, net.config, generator)  # line 3
    t = torch.randint(0, schedule.num_steps, (b,), generator=generator)  # line 4
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)  # line 5
    pred = net(q_sample(schedule, x0, t, noise), t, ids)  # lines 6-7
    target = training_target(schedule, x0, t, noise, net.config.prediction)
    return torch.mean((target - pred.float()) ** 2)


def guided_eps(net: CondUNet, x: torch.Tensor, t: torch.Tensor, cond: TextCondition,
               uncond: TextCondition, scale: float, *, schedule=None, batched: bool = True,
               record: bool = False,
               rescale: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Classifier-free guidance: eps_u + scale (eps_c - eps_u) (Ho & Salimans Algorithm 2
    line 6, with w + 1 = scale). x: (B, C, H, W); cond, uncond: B rows each. Returns the
    noise estimate whatever the network predicts (``schedule`` converts v; only an
    "eps" network may leave it out).

    ``scale == 0`` is one unconditional pass and ``scale == 1`` one conditional pass.
    Otherwise both predictions come from one call on a 2B batch (``batched``) or two
    calls. ``record``: also return the conditional pass's cross-attention maps
    (B, L, H, W), else None.

    ``rescale`` (phi, Lin et al. 2024 section 3.4): scale the guided output back to the
    conditional output's standard deviation per image and mix, phi rescaled + (1 - phi)
    plain; strong guidance otherwise over-inks the digits (0: off).
    """
    prediction = net.config.prediction
    if prediction != "eps" and schedule is None:
        raise ValueError("a v-predicting network needs the schedule to give eps")

    def eps(out: torch.Tensor) -> torch.Tensor:
        return to_eps(schedule, out.float(), x, t, prediction)

    if scale == 0:
        net.record_attention(False)
        return eps(net.denoise(x, t, uncond)), None
    if scale == 1:  # eps_u + (eps_c - eps_u) is the conditional pass alone
        net.record_attention(record)
        out = net.denoise(x, t, cond).float()
        maps = net.attention_maps() if record else None
        net.record_attention(False)
        if maps is not None:
            maps = maps[:, : int(cond.keep.shape[1])]
        return eps(out), maps
    b = x.shape[0]
    net.record_attention(record)
    if batched:
        both = net.denoise(torch.cat([x, x]), torch.cat([t, t]),
                           cat_conditions([cond, uncond])).float()  # (2B, C, H, W)
        maps = net.attention_maps(slice(0, b)) if record else None
        eps_c, eps_u = both[:b], both[b:]
    else:
        eps_c = net.denoise(x, t, cond).float()
        maps = net.attention_maps() if record else None
        net.record_attention(False)
        eps_u = net.denoise(x, t, uncond).float()
    net.record_attention(False)
    if maps is not None:
        maps = maps[:, : int(cond.keep.shape[1])]
    guided = eps_u + scale * (eps_c - eps_u)
    if rescale > 0:
        dims = tuple(range(1, guided.dim()))
        ratio = eps_c.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True)
        guided = rescale * guided * ratio + (1 - rescale) * guided
    return eps(guided), maps
