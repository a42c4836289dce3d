"""Process-wide settings that worker threads need: torch threads and the GC.

No Textual; torch is imported inside `torch_threads` only.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run torch ops with ``n`` intra-op threads, restoring the count afterwards.

    Our models are tiny: splitting their matrix products over threads costs more
    than it saves, and on a busy 2-core machine OpenMP's waiting collapses
    throughput (measured: 9 steps/s with 2 threads against 247 with 1).
    """
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
