"""The DDPM's pure parts: schedules, the forward process, the samplers, the U-Net, training."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_tui.models.ddpm import (
    cosine_schedule,
    ddim_sample,
    ddim_timesteps,
    ddpm_sample,
    linear_schedule,
    make_schedule,
    predict_x0,
    q_sample,
    q_step,
    sample,
)
from genai_tui.models.unet import UNet, UNetConfig, count_parameters, timestep_embedding

TINY = UNetConfig(image_size=8, base_channels=8, channel_mults=(1, 2), groups=4)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@settings(max_examples=40, deadline=None)
@given(num_steps=st.integers(min_value=2, max_value=4000))
def test_alpha_bar_is_monotone_and_ends_near_zero(name: str, num_steps: int) -> None:
    ab = make_schedule(name, num_steps).alpha_bars
    assert ab.shape == (num_steps,)
    assert torch.all(ab[1:] < ab[:-1]), "alpha-bar must fall strictly"
    assert 0 < ab[-1] < 1e-3 and ab[0] <= 1
    betas = make_schedule(name, num_steps).betas
    assert torch.all((betas > 0) & (betas < 1))


def test_default_schedules_match_the_papers() -> None:
    lin = linear_schedule(1000)
    assert lin.betas[0].item() == pytest.approx(1e-4)
    assert lin.betas[-1].item() == pytest.approx(0.02)
    cos = cosine_schedule(1000)
    # Nichol & Dhariwal: alpha-bar falls like cos^2, about half way at t = T/2
    assert 0.4 < cos.alpha_bars[499].item() < 0.6
    assert lin.alpha_bars[499].item() < 0.1  # the linear schedule destroys signal sooner
    with pytest.raises(ValueError):
        make_schedule("quadratic")


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [0, 9, 49, 99])
def test_closed_form_matches_iterated_noising(name: str, t: int) -> None:
    """q(x_t | x_0) in one jump (eq. 4) has the same mean and variance as t+1 single
    steps of q(x_s | x_{s-1}) (eq. 2)."""
    sched = make_schedule(name, 100)
    gen = torch.Generator().manual_seed(t)
    n = 20000
    x0 = torch.tensor([-1.0, -0.3, 0.4, 1.0]).reshape(1, 4, 1, 1).expand(n, 4, 1, 1)
    x = x0.clone()
    for s in range(t + 1):
        x = q_step(sched, x, torch.full((n,), s), torch.randn(x.shape, generator=gen))
    tt = torch.full((n,), t)
    closed = q_sample(sched, x0, tt, torch.randn(x0.shape, generator=gen))
    ab = sched.alpha_bars[t].item()
    want_mean = math.sqrt(ab) * x0[0].flatten()
    for samples in (x, closed):
        mean = samples.mean(0).flatten()
        var = samples.var(0).flatten()
        # standard errors: 1/sqrt(n) = 0.007 for the mean, sqrt(2/n) = 0.01 for the variance
        assert torch.allclose(mean, want_mean.float(), atol=0.03)
        assert torch.allclose(var, torch.full_like(var, 1 - ab), atol=0.04)
    assert torch.allclose(x.mean(0), closed.mean(0), atol=0.04)
    assert torch.allclose(x.var(0), closed.var(0), atol=0.05)


def test_predict_x0_inverts_q_sample() -> None:
    sched = linear_schedule(1000)
    x0 = torch.rand(5, 1, 8, 8) * 2 - 1
    noise = torch.randn(5, 1, 8, 8)
    t = torch.tensor([0, 10, 300, 700, 999])
    x_t = q_sample(sched, x0, t, noise)
    assert torch.allclose(predict_x0(sched, x_t, t, noise), x0, atol=1e-3)


def _gaussian_denoiser(sched, mu: float, s: float):
    """The exact eps predictor for data x_0 ~ N(mu, s^2) per pixel:
    E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) mu) / (ab s^2 + 1 - ab)."""
    ab_all = sched.alpha_bars

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = ab_all[t].float().reshape(-1, 1, 1, 1)
        return (1 - ab).sqrt() * (x - ab.sqrt() * mu) / (ab * s * s + 1 - ab)

    return eps


# DDIM is a first-order ODE solver: with few steps it under-spreads (10 steps: std 0.19),
# so the DDIM cases use enough steps for the discretisation error to stay small.
@pytest.mark.parametrize("sampler,steps", [("ddpm", 0), ("ddim", 50), ("ddim", 200)])
def test_samplers_with_the_exact_denoiser_recover_gaussian_data(sampler: str, steps: int) -> None:
    sched = linear_schedule(200)
    mu, s = 0.2, 0.3
    gen = torch.Generator().manual_seed(0)
    steps_seen = list(sample(_gaussian_denoiser(sched, mu, s), sched, (4000, 1, 2, 2),
                             sampler=sampler, num_steps=steps, generator=gen))
    out = steps_seen[-1].x_next
    assert len(steps_seen) == (200 if sampler == "ddpm" else steps)
    assert out.mean().item() == pytest.approx(mu, abs=0.02)
    assert out.std().item() == pytest.approx(s, abs=0.03)


def test_ddim_with_eta_one_over_all_steps_is_ddpm() -> None:
    """Song et al.: eta = 1 with every timestep gives DDPM's posterior variance; with the
    same random stream the two samplers agree (nothing clipped for this data)."""
    sched = linear_schedule(100)
    model = _gaussian_denoiser(sched, 0.1, 0.2)
    a = list(ddpm_sample(model, sched, (64, 1, 2, 2), torch.Generator().manual_seed(3)))
    b = list(ddim_sample(model, sched, (64, 1, 2, 2), 100, eta=1.0,
                         generator=torch.Generator().manual_seed(3)))
    assert [s.t for s in a] == [s.t for s in b] == list(range(99, -1, -1))
    assert torch.allclose(a[-1].x_next, b[-1].x_next, atol=1e-4)


def test_ddim_eta_zero_is_deterministic_for_a_seed() -> None:
    torch.manual_seed(0)
    net = UNet(TINY).eval()
    _randomise_output(net)
    sched = linear_schedule(100)

    def run(seed: int, eta: float = 0.0) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return list(ddim_sample(net, sched, (3, 1, 8, 8), 10, eta, gen))[-1].x_next

    first = run(5)
    assert torch.equal(first, run(5))
    assert not torch.equal(first, run(6))
    # eta = 0 draws no noise after x_T: only the starting noise matters
    x_T = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    a = list(ddim_sample(net, sched, x_T.shape, 10, 0.0, torch.Generator().manual_seed(7),
                         x_T=x_T))[-1].x_next
    b = list(ddim_sample(net, sched, x_T.shape, 10, 0.0, torch.Generator().manual_seed(8),
                         x_T=x_T))[-1].x_next
    assert torch.equal(a, b)
    # eta > 0 draws fresh noise each step
    c = list(ddim_sample(net, sched, x_T.shape, 10, 1.0, torch.Generator().manual_seed(8),
                         x_T=x_T))[-1].x_next
    assert not torch.equal(a, c)


def _randomise_output(net: UNet) -> None:
    # the last conv starts at zero (eps = 0); give it weights so the net does something
    torch.nn.init.normal_(net.conv_out.weight, std=0.1)


def test_sampler_steps_report_every_step() -> None:
    torch.manual_seed(0)
    net = UNet(TINY).eval()
    sched = cosine_schedule(30)
    steps = list(ddpm_sample(net, sched, (2, 1, 8, 8), torch.Generator().manual_seed(0)))
    assert [s.index for s in steps] == list(range(30))
    assert all(s.total == 30 for s in steps)
    for a, b in zip(steps, steps[1:], strict=False):
        assert torch.equal(a.x_next, b.x_t)  # each step starts where the last one ended
    for s in steps:
        assert s.x_t.shape == s.eps.shape == s.x0.shape == s.x_next.shape == (2, 1, 8, 8)
        assert s.x0.min() >= -1 and s.x0.max() <= 1
    assert ddim_timesteps(1000, 4) == [999, 749, 499, 249]
    assert ddim_timesteps(1000, 25)[:2] == [999, 959] and ddim_timesteps(1000, 25)[-1] == 39
    assert ddim_timesteps(10, 10) == list(range(9, -1, -1))
    with pytest.raises(ValueError):
        ddim_timesteps(10, 11)
    with pytest.raises(ValueError):
        sample(net, sched, (1, 1, 8, 8), sampler="euler")


def test_unet_shapes_and_skip_connections() -> None:
    net = UNet(UNetConfig())
    assert 500_000 <= count_parameters(net) <= 2_000_000  # the bundled size
    x = torch.randn(2, 1, 28, 28)
    assert net(x, torch.tensor([0, 999])).shape == (2, 1, 28, 28)
    tiny = UNet(TINY)
    _randomise_output(tiny)
    out = tiny(torch.randn(1, 1, 8, 8), torch.tensor([3]))
    assert out.shape == (1, 1, 8, 8)
    # the time embedding changes the output
    x = torch.randn(1, 1, 8, 8)
    for block in tiny.modules():
        if hasattr(block, "conv2"):
            torch.nn.init.normal_(block.conv2.weight, std=0.1)
    assert not torch.allclose(tiny(x, torch.tensor([0])), tiny(x, torch.tensor([50])))
    emb = timestep_embedding(torch.tensor([0, 1, 500]), 16)
    assert emb.shape == (3, 16) and torch.allclose(emb[0, :8], torch.ones(8))
    with pytest.raises(ValueError):
        UNetConfig(image_size=30, channel_mults=(1, 2, 2))
    assert UNetConfig.from_dict(TINY.to_dict()) == TINY


def test_a_tiny_config_training_loss_falls() -> None:
    from genai_tui.service.diffusion import Trainer, TrainSettings

    torch.set_num_threads(1)
    images = torch.zeros(64, 1, 8, 8)
    images[:, :, 2:6, 3:5] = 1.0  # a bar: easy to learn
    images[32:, :, 3:5, 1:7] = 1.0  # and a cross
    settings_ = TrainSettings(steps=120, timesteps=100, batch_size=32, lr=2e-3, warmup=10,
                              base_channels=8, channel_mults=(1, 2), attention=False,
                              bf16=False, log_every=20)
    trainer = Trainer(settings_, images=images)
    events = list(trainer.run())
    assert [e.step for e in events] == [20, 40, 60, 80, 100, 120] and events[-1].done
    first, last = sum(trainer.losses[:10]) / 10, trainer.final_loss(20)
    assert last < 0.6 * first, (first, last)
    model = trainer.model()
    assert model.num_timesteps == 100 and not model.net.training


def test_ema_update_warms_up_then_caps_the_decay() -> None:
    from genai_tui.models.ddpm import ema_update

    net, ema = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
        for p in ema.parameters():
            p.zero_()
    ema_update(ema, net, step=0, max_decay=0.998)  # decay 1/10: 90% of the way at once
    assert torch.allclose(ema.weight, torch.full_like(ema.weight, 0.9))
    ema_update(ema, net, step=10_000, max_decay=0.5)  # capped: half of what is left
    assert torch.allclose(ema.weight, torch.full_like(ema.weight, 0.95))
