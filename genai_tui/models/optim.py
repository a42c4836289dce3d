"""Adam and SGD for the nets the app trains live (the GAN pane, the VAE's
latent search), written out.

Why not ``torch.optim``: constructing any of its optimizers imports
``torch._dynamo`` (and with it sympy and mpmath): +77 MB resident for a pane
that trains two small nets, a sixth of the app's memory with every pane
loaded. These do the same arithmetic as ``torch.optim.Adam`` / ``SGD`` with
their defaults otherwise (no weight decay, no AMSGrad, no momentum), checked
against them in ``tests/models/test_optim.py``, with ``torch._foreach_*`` kernels
(one call per step for all of a net's tensors, as ``foreach=True`` does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class _Optimizer:
    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = list(params)
        self.lr = lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()


class Adam(_Optimizer):
    """Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization"):

    m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
    θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = [0] * len(self.params)
        """Steps taken per tensor (one without a gradient in a step is not stepped)."""
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        for i in live:
            self.t[i] += 1
        params = [self.params[i] for i in live]
        grads = [self.params[i].grad for i in live]
        m = [self.m[i] for i in live]
        v = [self.v[i] for i in live]
        torch._foreach_lerp_(m, grads, 1 - self.beta1)
        torch._foreach_mul_(v, self.beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta2)
        steps = [self.t[i] for i in live]
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, [math.sqrt(1 - self.beta2 ** t) for t in steps])
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom,
                                [-self.lr / (1 - self.beta1 ** t) for t in steps])


class SGD(_Optimizer):
    """Plain gradient descent: θ ← θ − lr·g."""

    @torch.no_grad()
    def step(self) -> None:
        live = [p for p in self.params if p.grad is not None]
        if live:
            torch._foreach_add_(live, [p.grad for p in live], alpha=-self.lr)
