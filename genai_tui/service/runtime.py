"""Process-wide settings that worker threads need: torch threads, the GC, and
whether bfloat16 autocast pays on this CPU.

The one torch-thread policy of the app: every CLI command, service and pane
worker sets torch's intra-op thread count through `thread_count`,
`set_torch_threads` or `torch_threads`. The one bfloat16 policy: every
trainer's ``bf16`` setting defaults to None, which `use_bf16` resolves in the
worker to `native_bf16()`. No Textual; torch is imported inside
the functions only.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Iterator
from functools import cache


def thread_count(requested: int | None = None) -> int | None:
    """The torch thread count to use: ``requested`` when given, else one, unless
    ``OMP_NUM_THREADS`` is set (then None: leave torch's own count).

    Our models are tiny: splitting their matrix products over threads costs more
    than it saves, and on a busy 2-core machine OpenMP's waiting collapses
    throughput (measured: 9 steps/s with 2 threads against 247 with 1).
    """
    if requested is not None:
        return requested
    return None if "OMP_NUM_THREADS" in os.environ else 1


def set_torch_threads(n: int | None) -> None:
    """Set the calling OS thread's torch thread count to ``n`` (None: leave it).

    For work that owns its thread to the end: a CLI command, a training run.
    `torch.set_num_threads` holds for the calling thread (and threads it starts
    later), so a pane's worker uses `torch_threads`, which restores the count.
    """
    if n is None:
        return
    import torch

    torch.set_num_threads(n)


@contextlib.contextmanager
def torch_threads(n: int | None = 1) -> Iterator[None]:
    """Run torch ops with ``n`` intra-op threads (None: as they are), restoring
    the count afterwards (see `thread_count` for why one is the default)."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a worker allocates a million
    small objects (the service's TokenInfo list for a 1 MB text).

    Otherwise CPython runs a full collection every few hundred thousand
    allocations; each walks every live object with the GIL held, freezing the
    UI thread for 0.1-0.3 s, about ten times per 1 MB (and tripling the
    tokenize time). Reference counting still frees everything; the collector
    resumes when the last concurrent worker leaves.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


M_ARENA_MAX = -8
"""glibc's `mallopt` parameter for the number of malloc arenas (malloc.h)."""


def limit_malloc_arenas(n: int = 2) -> bool:
    """Let at most ``n`` malloc arenas serve the process (glibc only; call it
    before worker threads start). Returns whether the limit was set.

    glibc gives each thread that allocates its own arena (up to 8 per core),
    and memory torch frees in a worker stays in that worker's arena: in a
    1,500-event monkey run resident memory grew 483 -> 783 MB with the default
    and 534 -> 542 MB with this limit. ``MALLOC_ARENA_MAX`` in the environment
    wins (glibc reads it itself).
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: nothing to limit
        return False
    return bool(mallopt(M_ARENA_MAX, n))


def trim_heap() -> bool:
    """Give the free memory at the top of glibc's heaps back to the system
    (``malloc_trim(0)``; glibc only). Returns whether anything was released.

    Call when big transient work ends (a model loaded, a training run over):
    tokenizing a corpus, parsing the standard library or an optimizer's
    buffers leave freed memory that glibc keeps. Running the Train pane's four
    stages one after another left 763 MB resident without it, 492 MB with it.
    ctypes lets go of the GIL for the call, so the UI thread is not held.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return False


def settle_heap() -> None:
    """Collect once, then exempt everything alive now from later collections.

    Call when a model has loaded: torch's modules, the weights and the panes
    built so far live as long as the app, yet every full collection walked
    them again (300k objects; 0.15 s on an idle machine, 0.9 s on a busy one,
    with the GIL held, so the UI froze). `gc.freeze` moves them to the
    permanent generation: a monkey run's longest collection fell from 880 ms
    to 140 ms. Frozen objects are still freed by reference counting; only a
    cycle among them that dies later is kept.
    """
    gc.collect()
    gc.freeze()
    trim_heap()


def thaw_heap() -> None:
    """Undo `settle_heap` (when the app ends, so a test process can free its panes)."""
    gc.unfreeze()


@cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX).

    There, bfloat16 autocast makes training 2-3x faster; elsewhere torch emulates
    it, and a step of the Train pane's pretraining took 2.6 s instead of 0.26 s
    (AMD EPYC with AVX2 only). Imports torch: call it from a worker."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    except RuntimeError:
        return False


def use_bf16(setting: bool | None) -> bool:
    """A trainer's ``bf16`` setting resolved: True/False as given, None (the default
    of every trainer) as `native_bf16()`."""
    return native_bf16() if setting is None else setting
