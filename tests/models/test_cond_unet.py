"""The text-conditioned U-Net (models/cond_unet.py) on tiny configs."""

from __future__ import annotations

import pytest
import torch

from genai_tui.models.cond_unet import (
    CondUNet,
    CondUNetConfig,
    caption_ids,
    drop_condition,
    guided_eps,
    to_eps,
    training_loss,
    training_target,
)
from genai_tui.models.ddpm import make_schedule

TINY = dict(base_channels=8, channel_mults=(1, 2), cross_levels=(1,), attention_heads=2,
            vocab_size=50, max_tokens=8, text_width=16, text_layers=1, text_heads=2,
            image_size=8, prediction="eps")


def tiny_net(seed: int = 0, **overrides) -> CondUNet:
    torch.manual_seed(seed)
    net = CondUNet(CondUNetConfig(**{**TINY, **overrides}))
    # the output and attention projections start at zero; give every weight a value
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def batch(net: CondUNet, n: int = 3, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    size = net.config.image_size
    x = torch.randn(n, 1, size, size, generator=g)
    t = torch.randint(0, 100, (n,), generator=g)
    rows = [torch.randint(0, 50, (k,), generator=g).tolist() for k in (1, 4, 6)[:n]]
    return x, t, caption_ids(rows, net.config)


def test_caption_ids_start_with_the_start_token_and_pad() -> None:
    cfg = CondUNetConfig(**TINY)
    ids = caption_ids([[3, 4], [], list(range(20))], cfg)
    assert ids.shape == (3, cfg.max_tokens)
    assert (ids[:, 0] == cfg.start_id).all()
    assert ids[0, 1:3].tolist() == [3, 4] and (ids[0, 3:] == cfg.pad_id).all()
    assert (ids[1, 1:] == cfg.pad_id).all()
    assert ids[2, 1:].tolist() == list(range(cfg.max_tokens - 1))  # cut to fit


def test_output_shape_and_padding_does_not_change_the_prediction() -> None:
    net = tiny_net()
    x, t, ids = batch(net)
    with torch.no_grad():
        eps = net(x, t, ids)
        padded = torch.cat([ids, torch.full((3, 2), net.config.pad_id)], 1)[:, :8]
        again = net(x, t, padded)
    assert eps.shape == x.shape
    torch.testing.assert_close(eps, again, atol=1e-5, rtol=1e-5)


def test_condition_dropout_really_nulls_the_condition() -> None:
    net = tiny_net()
    x, t, ids = batch(net)
    dropped, which = drop_condition(ids, 1.0, net.config)
    assert which.all()
    assert (dropped[:, 0] == net.config.start_id).all()
    assert (dropped[:, 1:] == net.config.pad_id).all()
    with torch.no_grad():
        torch.testing.assert_close(net(x, t, dropped), net(x, t, net.null_ids(3)),
                                   atol=1e-5, rtol=1e-5)
        assert not torch.allclose(net(x, t, ids), net(x, t, dropped), atol=1e-4)
    kept, which = drop_condition(ids, 0.0, net.config)
    assert not which.any() and torch.equal(kept, ids)
    many = ids[:1].repeat(20000, 1)
    _, which = drop_condition(many, 0.15, net.config, torch.Generator().manual_seed(0))
    assert abs(which.float().mean().item() - 0.15) < 0.01


def test_guidance_zero_is_the_unconditional_pass_and_one_the_conditional() -> None:
    net = tiny_net()
    x, t, ids = batch(net)
    with torch.no_grad():
        cond, uncond = net.encode_text(ids), net.encode_text(net.null_ids(3))
        eps0, maps = guided_eps(net, x, t, cond, uncond, 0.0, record=True)
        torch.testing.assert_close(eps0, net.denoise(x, t, uncond))
        assert maps is None
        eps1, _ = guided_eps(net, x, t, cond, uncond, 1.0)
        torch.testing.assert_close(eps1, net.denoise(x, t, cond), atol=1e-5, rtol=1e-5)


def test_guidance_one_is_a_single_conditional_pass_with_the_same_maps(monkeypatch) -> None:
    net = tiny_net()
    x, t, ids = batch(net)
    with torch.no_grad():
        cond, uncond = net.encode_text(ids), net.encode_text(net.null_ids(3))
        _, maps_two = guided_eps(net, x, t, cond, uncond, 1.0 + 1e-9, record=True)
        batches: list[int] = []
        real = net.denoise
        monkeypatch.setattr(net, "denoise", lambda x, t, c: batches.append(len(x)) or real(x, t, c))
        eps1, maps = guided_eps(net, x, t, cond, uncond, 1.0, record=True)
    assert batches == [3]  # one pass on the batch, not on 2B
    torch.testing.assert_close(eps1, real(x, t, cond), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(maps, maps_two, atol=1e-5, rtol=1e-4)
    assert all(m.weights is None and not m.record for m in net.cross_attentions())


@pytest.mark.parametrize("scale", [0.5, 3.0, 7.5])
def test_the_batched_guided_call_equals_two_separate_calls(scale) -> None:
    net = tiny_net()
    x, t, ids = batch(net)
    with torch.no_grad():
        cond, uncond = net.encode_text(ids), net.encode_text(net.null_ids(3))
        one, maps_one = guided_eps(net, x, t, cond, uncond, scale, batched=True, record=True)
        two, maps_two = guided_eps(net, x, t, cond, uncond, scale, batched=False, record=True)
        eps_c, eps_u = net.denoise(x, t, cond), net.denoise(x, t, uncond)
    torch.testing.assert_close(one, two, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(one, eps_u + scale * (eps_c - eps_u), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(maps_one, maps_two, atol=1e-5, rtol=1e-4)


def test_cross_attention_maps_are_distributions_over_the_real_tokens() -> None:
    net = tiny_net()
    x, t, ids = batch(net)
    with torch.no_grad():
        cond, uncond = net.encode_text(ids), net.encode_text(net.null_ids(3))
        _, maps = guided_eps(net, x, t, cond, uncond, 3.0, record=True)
    size = net.config.image_size
    assert maps.shape == (3, ids.shape[1], size, size)
    assert (maps >= 0).all()
    torch.testing.assert_close(maps.sum(1), torch.ones(3, size, size), atol=1e-5, rtol=0)
    real = ids != net.config.pad_id
    assert (maps[~real] == 0).all()  # padding gets no attention
    torch.testing.assert_close(maps[0, :2].sum(0), torch.ones(size, size))  # start + 1 token
    # recording is off again afterwards: nothing is kept between calls
    assert all(m.weights is None and not m.record for m in net.cross_attentions())


def test_config_round_trips_and_rejects_bad_levels() -> None:
    cfg = CondUNetConfig(**TINY)
    assert CondUNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="level"):
        CondUNetConfig(**{**TINY, "cross_levels": (5,)})
    with pytest.raises(ValueError, match="heads"):
        CondUNetConfig(**{**TINY, "attention_heads": 3})


def test_v_prediction_converts_back_to_the_noise() -> None:
    schedule = make_schedule("linear", 100)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    t = torch.tensor([0, 10, 50, 99])
    from genai_tui.models.ddpm import q_sample

    x_t = q_sample(schedule, x0, t, noise)
    v = training_target(schedule, x0, t, noise, "v")
    torch.testing.assert_close(to_eps(schedule, v, x_t, t, "v"), noise, atol=1e-5, rtol=1e-5)
    assert training_target(schedule, x0, t, noise, "eps") is noise


def test_a_v_network_gives_eps_through_guidance_and_needs_the_schedule() -> None:
    net = tiny_net(prediction="v")
    schedule = make_schedule("linear", 100)
    x, t, ids = batch(net)
    with torch.no_grad():
        cond, uncond = net.encode_text(ids), net.encode_text(net.null_ids(3))
        eps, _ = guided_eps(net, x, t, cond, uncond, 0.0, schedule=schedule)
        torch.testing.assert_close(eps, to_eps(schedule, net.denoise(x, t, uncond), x, t, "v"))
        one, _ = guided_eps(net, x, t, cond, uncond, 2.0, schedule=schedule)
        two, _ = guided_eps(net, x, t, cond, uncond, 2.0, schedule=schedule, batched=False)
        torch.testing.assert_close(one, two, atol=1e-5, rtol=1e-4)
        with pytest.raises(ValueError, match="schedule"):
            guided_eps(net, x, t, cond, uncond, 2.0)


@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_the_loss_decreases_on_a_tiny_run(prediction) -> None:
    torch.manual_seed(0)
    net = CondUNet(CondUNetConfig(**{**TINY, "prediction": prediction}))
    schedule = make_schedule("linear", 50)
    g = torch.Generator().manual_seed(0)
    x0 = torch.zeros(16, 1, 8, 8)
    x0[:8, :, 2:6, 3:5] = 1.0  # "one": a bar; "zero": a ring
    x0[8:, :, 2:6, 2:6] = 1.0
    x0[8:, :, 3:5, 3:5] = 0.0
    x0 = x0 * 2 - 1
    ids = caption_ids([[1]] * 8 + [[2]] * 8, net.config)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = training_loss(net, schedule, x0, ids, 0.15, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10
