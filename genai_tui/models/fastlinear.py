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

`FusedDecode` goes one step further when *every* product of a GPT is on the
kernel: the whole decode pass (all layers, attention over the KV cache, the
final norm and the head) is one native call (`genai_tui/_native/gptdecode.c`).
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable, Sequence

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


class FusedDecode:
    """One native call per decode pass of a GPT whose products are all `HalfLinear`.

    Computes what `GPT.decode` computes with PyTorch around the kernel (the
    same weights; logits equal to ~1e-5), writing the new keys and values
    into the caller's `KVCache` tensors. Build it with `fused_decode`, which
    returns None where it does not apply.
    """

    def __init__(self, lib, handle: int, keep: list) -> None:
        self._lib = lib
        self._handle = handle
        self._keep = keep  # every tensor the handle points into
        self.max_rows = lib.gpt_max_rows()
        """Longest input of one call; longer ones take the per-product path."""
        self._finalizer = weakref.finalize(self, lib.gpt_free, handle)

    def __call__(self, ids: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, pos: int,
                 logits: torch.Tensor, threads: int, last_only: bool = False) -> None:
        """Decode ``ids`` (T,) int64 at positions ``pos..pos+T-1``: logits (T, vocab)
        float32 are written to ``logits`` ((1, vocab), the last row's, with
        ``last_only``), keys/values (L, 1, nh, block, hs) in place."""
        rc = self._lib.gpt_decode(self._handle, ids.data_ptr(), ids.shape[0], pos,
                                  keys.data_ptr(), values.data_ptr(), logits.data_ptr(), threads,
                                  int(last_only))
        if rc == -1:
            raise IndexError("token id out of range of the vocabulary")
        if rc:
            raise RuntimeError(f"native decode failed ({rc})")

    def threads_choice(self, threads: int) -> int:
        """How many threads the last pass used (with ``threads`` allowed it times
        both and picks the faster of 1 and ``threads``)."""
        return self._lib.gpt_threads_choice(self._handle, threads)

    def stats(self) -> dict[str, int]:
        """Passes timed on one thread and on several, and how many of the latter
        waited for a helper thread the OS had not scheduled (a busy machine)."""
        out = (ctypes.c_long * 3)()
        self._lib.gpt_stats(self._handle, out)
        return {"one_thread": out[0], "pooled": out[1], "pooled_stalled": out[2]}

    def fix_threads(self, fixed: bool) -> None:
        """``True``: every pass uses the thread count asked for (to measure it);
        ``False`` (the default): the faster of 1 and that count, as timed."""
        self._lib.gpt_fixed_threads(self._handle, int(fixed))


def fused_decode(n_head: int, block_size: int, wte: torch.Tensor, wpe: torch.Tensor,
                 ln_f: tuple[torch.Tensor, torch.Tensor | None], head: Linear,
                 layers: Sequence[tuple]) -> FusedDecode | None:
    """A `FusedDecode` over `GPT._fast_weights`' parts, or None unless every
    product is a `HalfLinear` and the shapes suit the native pass."""
    lib = kernel()
    products = [head] + [f for layer in layers for f in (layer[2], layer[3], layer[6], layer[7])]
    if lib is None or not all(isinstance(f, HalfLinear) for f in products):
        return None
    keep: list = list(products)

    def ptr(t: torch.Tensor | None) -> int | None:
        if t is None:
            return None
        t = t.detach()
        if t.dtype != torch.float32 or t.device.type != "cpu":
            raise ValueError("expected float32 CPU tensors")
        t = t.contiguous()
        keep.append(t)
        return t.data_ptr()

    ptrs = [ptr(wte), ptr(wpe), ptr(ln_f[0]), ptr(ln_f[1]), head._packed_ptr]
    for ln1_w, ln1_b, qkv, proj, ln2_w, ln2_b, fc, mproj in layers:
        ptrs += [ptr(ln1_w), ptr(ln1_b), qkv._packed_ptr, qkv._bias_ptr, proj._packed_ptr,
                 proj._bias_ptr, ptr(ln2_w), ptr(ln2_b), fc._packed_ptr, fc._bias_ptr,
                 mproj._packed_ptr, mproj._bias_ptr]
    vocab, n_embd = wte.shape
    array = (ctypes.c_void_p * len(ptrs))(*ptrs)
    handle = lib.gpt_new(len(layers), n_embd, n_head, vocab, block_size, array)
    return FusedDecode(lib, handle, keep) if handle else None
