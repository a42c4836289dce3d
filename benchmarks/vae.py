"""Benchmark: sample 16 digits from the bundled VAE and render the grid in the terminal.

Target: under 0.2 s once the model is loaded. Peer, measured in the same run:
rich-pixels (a Rich half-block image renderer) drawing the same 16 images as
one PIL image, without sampling. Run: ``python benchmarks/vae.py``.
"""

from __future__ import annotations

import io
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from rich.console import Console  # noqa: E402

from genai_tui.images.render import grid_array, render_grid  # noqa: E402
from genai_tui.service import vae as svc  # noqa: E402

RUNS = 30


def _console(system: str | None) -> Console:
    return Console(file=io.StringIO(), width=240, color_system=system,
                   force_terminal=system is not None, no_color=system is None)


def _median_seconds(fn) -> float:
    fn()  # warm caches
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    start = time.perf_counter()
    handle = svc.load("vae")
    load_s = time.perf_counter() - start
    seed = iter(range(10**9))

    def ours(mode: str | None, system: str | None):
        def run() -> None:
            result = svc.sample(handle, n=16, seed=next(seed))
            _console(system).print(render_grid(result.images, ncol=8, mode=mode))
        return run

    rows = {
        "truecolor": _median_seconds(ours(None, "truecolor")),
        "256-colour": _median_seconds(ours(None, "256")),
        "16-colour": _median_seconds(ours(None, "standard")),
        "ascii": _median_seconds(ours(None, None)),
    }
    sample_only = _median_seconds(lambda: svc.sample(handle, n=16, seed=next(seed)))

    peer = None
    try:
        from PIL import Image
        from rich_pixels import Pixels

        images = svc.sample(handle, n=16, seed=0).images
        pil = Image.fromarray((grid_array(images, ncol=8, padding=1, pad_value=0.0) * 255)
                              .round().astype("uint8"), mode="L").convert("RGB")

        def peer() -> None:
            _console("truecolor").print(Pixels.from_image(pil))
    except ImportError:
        pass

    print(f"model load: {load_s * 1000:.0f} ms (once)")
    print(f"sample 16 (decode only): {sample_only * 1000:.2f} ms")
    for name, seconds in rows.items():
        flag = "ok" if seconds < 0.2 else "SLOW"
        print(f"sample 16 + render grid, {name:<10}: {seconds * 1000:6.2f} ms  "
              f"(target < 200 ms: {flag})")
    fixed = svc.sample(handle, n=16, seed=0).images

    def ours_render() -> None:
        _console("truecolor").print(render_grid(fixed, ncol=8))

    if peer is None:
        print(f"render only (same 16, truecolor): {_median_seconds(ours_render) * 1000:.2f} ms")
        print("peer rich-pixels not installed (pip install -e '.[bench]')")
        return
    # Interleaved rounds, so both see the same machine load.
    ours_render()
    peer()
    ours_t, peer_t = [], []
    for _ in range(RUNS):
        for fn, acc in ((ours_render, ours_t), (peer, peer_t)):
            start = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - start)
    ours_m, peer_m = statistics.median(ours_t), statistics.median(peer_t)
    print(f"render only, same 16 images, truecolor: ours {ours_m * 1000:.2f} ms, "
          f"peer rich-pixels {peer_m * 1000:.2f} ms")
    print(f"ratio ours / rich-pixels: {ours_m / peer_m:.2f}x (lower is faster)")


if __name__ == "__main__":
    main()
