"""Few-row products ``x @ W^T + b`` for the generation fast path (`GPT.decode`).

Generating one token multiplies one row of activations by every weight
matrix, so the time goes into reading the weights. The bundled model's
weights are stored as float16 (and are float32 in memory only because PyTorch
computes in float32 on CPU). When a matrix is *exactly* representable in
float16, `few_row_linear` keeps it as packed float16 and multiplies with the
native kernel (`genai_tui/_native/f16gemm.c`), which reads half the bytes and
widens them to float32 in registers: the same weights, float32 accumulation,
about twice as fast, and a few rows (speculative tokens) cost hardly more than
one. It uses as many threads as PyTorch is set to. Otherwise, or without the
kernel, it is PyTorch's ``addmm`` on a contiguous W^T (~1.7x faster than
``F.linear`` for one row).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_tui._native import kernel

Linear = Callable[[torch.Tensor], torch.Tensor]
"""(M, K) float32 activations -> (M, N) outputs."""


class HalfLinear:
    """A weight matrix held as packed float16 panels for the native kernel."""

    def __init__(self, lib, weight_t16: torch.Tensor, bias: torch.Tensor | None) -> None:
        self.K, self.N = weight_t16.shape
        source = weight_t16.contiguous()
        self._packed = torch.empty_like(source)
        lib.f16_pack(source.data_ptr(), self._packed.data_ptr(), self.K, self.N)
        self._bias = None if bias is None else bias.detach().float().contiguous()
        self._gemm = lib.f16_gemm
        self._packed_ptr = self._packed.data_ptr()
        self._bias_ptr = None if self._bias is None else self._bias.data_ptr()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.K or x.dtype != torch.float32:
            raise ValueError(f"expected (M, {self.K}) float32, got {tuple(x.shape)} {x.dtype}")
        if not x.is_contiguous():
            x = x.contiguous()
        M = x.shape[0]
        y = torch.empty(M, self.N)
        self._gemm(x.data_ptr(), self._packed_ptr, self._bias_ptr, y.data_ptr(), M, self.K,
                   self.N, torch.get_num_threads())
        return y


def few_row_linear(weight_t: torch.Tensor, bias: torch.Tensor | None,
                   native: bool = True) -> Linear:
    """``x -> x @ weight_t + bias`` for a (K, N) ``weight_t`` (a Linear's weight,
    transposed), on the float16 kernel when that computes with the same weights."""
    weight_t = weight_t.detach()
    lib = kernel() if native else None
    if (lib is not None and weight_t.device.type == "cpu" and weight_t.dtype == torch.float32
            and weight_t.shape[1] % lib.f16_panel_cols() == 0):
        w16 = weight_t.to(torch.float16)
        if torch.equal(w16.float(), weight_t):  # exactly float16: nothing is rounded
            return HalfLinear(lib, w16, bias)
    wt = weight_t.contiguous()
    b = bias.detach() if bias is not None else torch.zeros(wt.shape[1], dtype=wt.dtype,
                                                           device=wt.device)
    return lambda x: torch.addmm(b, x, wt)
