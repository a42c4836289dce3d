"""Denoising diffusion: noise schedules, the forward process, the training loss
and two samplers (DDPM ancestral and DDIM).

Papers (equation and algorithm numbers below refer to them):
- Ho, Jain, Abbeel 2020, "Denoising Diffusion Probabilistic Models" (DDPM).
- Nichol, Dhariwal 2021, "Improved Denoising Diffusion Probabilistic Models"
  (the cosine schedule).
- Song, Meng, Ermon 2021, "Denoising Diffusion Implicit Models" (DDIM).

Images are (B, C, H, W) tensors scaled to [-1, 1]. Timesteps are 0-based here:
t = 0 .. T-1 stands for the paper's t = 1 .. T, so ``alpha_bars[t]`` is the
paper's alpha-bar_{t+1}.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""eps_theta(x_t, t) -> predicted noise, same shape as x_t."""

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")


@dataclass(frozen=True)
class NoiseSchedule:
    """beta_t for t = 0..T-1 and the quantities derived from them (float64)."""

    name: str
    betas: torch.Tensor
    """(T,) variance of the noise added at each forward step."""

    @property
    def num_steps(self) -> int:
        return int(self.betas.shape[0])

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        """(T,) alpha-bar_t = prod_{s<=t} (1 - beta_s): the signal kept at step t."""
        return torch.cumprod(self.alphas, dim=0)


def linear_schedule(num_steps: int = 1000, beta_start: float = 1e-4,
                    beta_end: float = 0.02) -> NoiseSchedule:
    """Ho et al. 2020 section 4: betas rising linearly from 1e-4 to 0.02 over T = 1000.

    For other T the endpoints are rescaled by 1000/T (as Nichol & Dhariwal do) so the
    total noise stays alike; betas are clipped at 0.999 for very short schedules.
    """
    scale = 1000 / num_steps
    betas = torch.linspace(beta_start * scale, beta_end * scale, num_steps, dtype=torch.float64)
    return NoiseSchedule("linear", betas.clamp(max=0.999))


def cosine_schedule(num_steps: int = 1000, s: float = 0.008) -> NoiseSchedule:
    """Nichol & Dhariwal 2021 eq. 17: alpha-bar_t = f(t)/f(0), f(t) = cos^2((t/T + s)/(1 + s) pi/2).

    Betas are clipped at 0.999 to avoid the singularity at t = T.
    """
    steps = torch.arange(num_steps + 1, dtype=torch.float64)
    f = torch.cos(((steps / num_steps) + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bars = f / f[0]
    betas = (1 - alpha_bars[1:] / alpha_bars[:-1]).clamp(max=0.999)
    return NoiseSchedule("cosine", betas)


def make_schedule(name: str, num_steps: int = 1000) -> NoiseSchedule:
    """The schedule called ``name`` ("linear" or "cosine")."""
    if name == "linear":
        return linear_schedule(num_steps)
    if name == "cosine":
        return cosine_schedule(num_steps)
    raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


def _at(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped to broadcast against ``like`` (B, C, H, W)."""
    out = values.to(like.device)[t].to(like.dtype)
    return out.reshape(-1, *([1] * (like.dim() - 1)))


def ema_update(ema: torch.nn.Module, net: torch.nn.Module, step: int,
               max_decay: float) -> None:
    """Move ``ema``'s weights towards ``net``'s after optimizer step ``step`` (0-based),
    with a warm-up (decay (1 + step) / (10 + step), at most ``max_decay``) so early
    averages are not dominated by the random initialisation."""
    decay = min(max_decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), net.parameters(), strict=True):
            pe.lerp_(p, 1 - decay)


# --- the forward process ----------------------------------------------------------------------


def q_sample(schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor,
             noise: torch.Tensor) -> torch.Tensor:
    """x_t ~ q(x_t | x_0) in closed form (Ho et al. eq. 4):
    x_t = sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) eps.

    x0, noise: (B, C, H, W); t: (B,) ints.
    """
    ab = _at(schedule.alpha_bars, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def q_step(schedule: NoiseSchedule, x_prev: torch.Tensor, t: torch.Tensor,
           noise: torch.Tensor) -> torch.Tensor:
    """One forward step q(x_t | x_{t-1}) (Ho et al. eq. 2):
    x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps."""
    beta = _at(schedule.betas, t, x_prev)
    return (1 - beta).sqrt() * x_prev + beta.sqrt() * noise


def predict_x0(schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor,
               eps: torch.Tensor) -> torch.Tensor:
    """Invert eq. 4 given a noise estimate:
    x_0 = (x_t - sqrt(1 - alpha-bar_t) eps) / sqrt(alpha-bar_t)."""
    ab = _at(schedule.alpha_bars, t, x_t)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


# --- training ---------------------------------------------------------------------------------


def training_loss(model: Denoiser, schedule: NoiseSchedule, x0: torch.Tensor,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Ho et al. Algorithm 1 (the simplified objective, eq. 14), one batch.

    x0: (B, C, H, W) clean images in [-1, 1]. Returns the scalar loss.
    """
    b = x0.shape[0]
    # line 3: t ~ Uniform({1, ..., T})
    t = torch.randint(0, schedule.num_steps, (b,), generator=generator, device=x0.device)
    # line 4: eps ~ N(0, I)
    noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    # line 5: gradient step on || eps - eps_theta(sqrt(ab) x0 + sqrt(1 - ab) eps, t) ||^2
    pred = model(q_sample(schedule, x0, t, noise), t)
    return torch.mean((noise - pred.float()) ** 2)


# --- sampling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReverseStep:
    """One step of a sampler: what the model saw, what it predicted, where it went."""

    index: int
    """0 for the first (noisiest) step."""
    total: int
    """Number of steps the sampler takes."""
    t: int
    """The (0-based) timestep of x_t."""
    x_t: torch.Tensor
    """(B, C, H, W) the noisy images the model saw at this step."""
    eps: torch.Tensor
    """(B, C, H, W) the predicted noise eps_theta(x_t, t)."""
    x0: torch.Tensor
    """(B, C, H, W) the predicted clean images, clipped to [-1, 1]."""
    x_next: torch.Tensor
    """(B, C, H, W) the images after this step (x_{t-1}; the samples after the last step)."""


def ddim_timesteps(num_train_steps: int, num_steps: int) -> list[int]:
    """``num_steps`` evenly spaced timesteps, the first one T-1 (Song et al. section 4.2's
    sub-sequence tau, "linear" choice), spaced from the end ("trailing", Lin et al. 2024
    table 2): for T = 1000 and 25 steps, 999, 959, ..., 39; the last step jumps to x_0.
    Starting at T-1 matters: the sampler's x_T ~ N(0, I) only matches the noisiest step."""
    if not 1 <= num_steps <= num_train_steps:
        raise ValueError(f"steps must be between 1 and {num_train_steps}")
    stride = num_train_steps / num_steps
    ts = [round(num_train_steps - i * stride) - 1 for i in range(num_steps)]
    return sorted(set(ts), reverse=True)


@torch.no_grad()
def ddpm_sample(model: Denoiser, schedule: NoiseSchedule, shape: tuple[int, ...],
                generator: torch.Generator | None = None,
                x_T: torch.Tensor | None = None) -> Iterator[ReverseStep]:
    """Ho et al. Algorithm 2: ancestral sampling through all T steps, one yield per step.

    sigma_t^2 is the posterior variance beta-tilde_t (eq. 7), one of the two choices
    in section 3.2; the mean is the posterior mean mu-tilde_t(x_t, x0_hat) of eq. 7
    with x0_hat clipped to [-1, 1], which equals line 4's
    (x_t - beta_t / sqrt(1 - alpha-bar_t) eps) / sqrt(alpha_t) when nothing is clipped.
    """
    betas = schedule.betas
    alphas = schedule.alphas
    abars = schedule.alpha_bars
    abars_prev = torch.cat([torch.ones(1, dtype=abars.dtype), abars[:-1]])
    # eq. 7: q(x_{t-1} | x_t, x_0) = N(coef0 x_0 + coef_t x_t, beta-tilde_t I)
    coef0 = betas * abars_prev.sqrt() / (1 - abars)
    coef_t = (1 - abars_prev) * alphas.sqrt() / (1 - abars)
    var = betas * (1 - abars_prev) / (1 - abars)

    # line 1: x_T ~ N(0, I)
    x = x_T if x_T is not None else torch.randn(shape, generator=generator)
    total = schedule.num_steps
    for i, t in enumerate(range(total - 1, -1, -1)):  # line 2: for t = T, ..., 1
        tt = torch.full((x.shape[0],), t, dtype=torch.long)
        eps = model(x, tt).float()
        x0 = predict_x0(schedule, x, tt, eps).clamp(-1, 1)
        mean = _at(coef0, tt, x) * x0 + _at(coef_t, tt, x) * x
        if t > 0:  # line 3: z ~ N(0, I) if t > 1, else z = 0
            z = torch.randn(x.shape, generator=generator)
            x_next = mean + _at(var, tt, x).sqrt() * z  # line 4
        else:
            x_next = mean
        yield ReverseStep(i, total, t, x, eps, x0, x_next)
        x = x_next


@torch.no_grad()
def ddim_sample(model: Denoiser, schedule: NoiseSchedule, shape: tuple[int, ...],
                num_steps: int = 50, eta: float = 0.0,
                generator: torch.Generator | None = None,
                x_T: torch.Tensor | None = None) -> Iterator[ReverseStep]:
    """Song et al. 2021 eq. 12 over a sub-sequence of ``num_steps`` timesteps.

    x_{t-1} = sqrt(ab_{t-1}) x0_hat + sqrt(1 - ab_{t-1} - sigma_t^2) eps_theta + sigma_t z,
    sigma_t = eta sqrt((1 - ab_{t-1}) / (1 - ab_t)) sqrt(1 - ab_t / ab_{t-1})  (eq. 16).
    eta = 0 is deterministic given x_T (the "implicit" model); eta = 1 is DDPM-like.
    """
    abars = schedule.alpha_bars
    ts = ddim_timesteps(schedule.num_steps, num_steps)
    x = x_T if x_T is not None else torch.randn(shape, generator=generator)
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        ab = abars[t].item()
        ab_prev = abars[t_prev].item() if t_prev >= 0 else 1.0
        tt = torch.full((x.shape[0],), t, dtype=torch.long)
        eps = model(x, tt).float()
        # eq. 12, first term: "predicted x_0"
        x0 = ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab)) * math.sqrt(1 - ab / ab_prev)
        # eq. 12, second term: "direction pointing to x_t"
        direction = math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps
        x_next = math.sqrt(ab_prev) * x0 + direction
        if sigma > 0:  # eq. 12, third term: random noise
            x_next = x_next + sigma * torch.randn(x.shape, generator=generator)
        yield ReverseStep(i, len(ts), t, x, eps, x0, x_next)
        x = x_next


def sample(model: Denoiser, schedule: NoiseSchedule, shape: tuple[int, ...], *,
           sampler: str = "ddim", num_steps: int = 50, eta: float = 0.0,
           generator: torch.Generator | None = None) -> Iterator[ReverseStep]:
    """Either sampler by name; ``num_steps`` and ``eta`` apply to DDIM only."""
    if sampler == "ddpm":
        return ddpm_sample(model, schedule, shape, generator)
    if sampler == "ddim":
        return ddim_sample(model, schedule, shape, num_steps, eta, generator)
    raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
