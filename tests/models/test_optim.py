"""Our Adam and SGD do torch.optim's arithmetic (models/optim.py says why they exist)."""

from __future__ import annotations

import subprocess
import sys

import torch

from genai_tui.models.optim import SGD, Adam


def _train(make_opt, steps: int = 25) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1))
    x, y = torch.randn(32, 5), torch.randn(32, 1)
    opt = make_opt(list(net.parameters()))
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = (net(x) - y).pow(2).mean()
        loss.backward()
        if step == 3:  # a parameter without a gradient this step is left alone
            net[2].bias.grad = None
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


def test_adam_matches_torch_optim_adam() -> None:
    ours = _train(lambda ps: Adam(ps, lr=0.01, betas=(0.5, 0.999)))
    theirs = _train(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.5, 0.999)))
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # and it did train: not the initial weights
    start = _train(lambda ps: Adam(ps, lr=0.0), steps=1)
    assert any(not torch.equal(a, b) for a, b in zip(ours, start, strict=True))


def test_sgd_matches_torch_optim_sgd() -> None:
    ours = _train(lambda ps: SGD(ps, lr=0.05))
    theirs = _train(lambda ps: torch.optim.SGD(ps, lr=0.05))
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)


def test_a_gan_trainer_does_not_import_dynamo() -> None:
    probe = ("import sys; from genai_tui.service.gan import GanTrainer; t = GanTrainer(); "
             "[t.step() for _ in range(3)]; print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"
