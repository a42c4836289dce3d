"""GAN benchmark: training speed with and without the pane drawing, and key latency.

Measured in one process run (the peer is the same trainer driven headless):

1. 2-D mode: steps/s of `GanTrainer.step()` in a plain loop (headless), then
   steps/s inside the GAN pane (Textual headless driver, 80x24 and 120x40) while
   it redraws the scatter map and three braille charts at ~10 Hz. Ratio pane /
   headless; target: at least 200 steps/s in the pane.
2. Image mode (DCGAN on 28x28 digits): headless and in-pane steps/s.
3. Key latency while training: time from `pilot.press(key)` to the key's
   effect: for space (pause) the action has run and the status line changed;
   for `d` (step D, while paused) the worker's event is on screen. Target:
   p95 under 16 ms.

Run: `.venv/bin/python benchmarks/gan.py [--quick]`. The machine is shared, so
headless and pane runs alternate and the ratio of medians is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_tui.service.gan import GanSettings, GanTrainer  # noqa: E402
from genai_tui.service.runtime import torch_threads  # noqa: E402


def headless_rate(settings: GanSettings, seconds: float, trainer: GanTrainer | None = None
                  ) -> float:
    """Steps per second of a plain training loop."""
    with torch_threads(1):
        tr = trainer or GanTrainer(settings)
        tr.step()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            tr.step()
            n += 1
        return n / (time.perf_counter() - t0)


async def _ready(pilot, pane) -> None:
    """Wait until the first run is built and the map has focus (keys reach the pane)."""
    from genai_tui.tui.panes.gan.widgets import MapView

    await _wait(pilot, lambda: not pane.busy and isinstance(pane.app.focused, MapView))


async def _wait(pilot, cond, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("pane did not get there")
        await pilot.pause(0.01)


async def pane_rate(mode: str, seconds: float, size: tuple[int, int]) -> dict:
    """Steps/s in the pane while it draws, and the UI thread's CPU share."""
    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.gan import GanPane

    app = GenaiApp(initial_pane="gan")
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(GanPane)
        await _ready(pilot, pane)
        if mode == "images":
            await pilot.press("m")
            await _wait(pilot, lambda: pane.mode == "images" and not pane.busy)
        await pilot.press("space")
        s0, t0, cpu0, u0 = pane.step, time.perf_counter(), time.thread_time(), pane.updates
        await asyncio.sleep(seconds)
        s1, t1, cpu1, u1 = pane.step, time.perf_counter(), time.thread_time(), pane.updates
        await pilot.press("space")
        return {"rate": (s1 - s0) / (t1 - t0), "ui_cpu": (cpu1 - cpu0) / (t1 - t0),
                "updates_per_s": (u1 - u0) / (t1 - t0)}


async def key_latency(presses: int) -> dict:
    """Latency (ms) from pilot.press to the key's effect, while training runs."""
    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.gan import GanPane

    app = GenaiApp(initial_pane="gan")
    pause_ms: list[float] = []
    pause_paint_ms: list[float] = []
    step_ms: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GanPane)
        await _ready(pilot, pane)
        status = pane.query_one("#gan-status")
        for _ in range(presses):
            await pilot.press("space")  # play
            await asyncio.sleep(0.15)  # training at full speed, plots refreshing
            t0 = time.perf_counter()
            await pilot.press("space")  # pause
            assert not pane.playing
            pause_ms.append((pane.last_action_at - t0) * 1000)
            await _wait(pilot, lambda t0=t0: status.rendered_at > t0, timeout=10)
            pause_paint_ms.append((status.rendered_at - t0) * 1000)
            d0 = pane.d_updates
            t1 = time.perf_counter()
            await pilot.press("d")  # one D update: a round trip through the worker
            await _wait(pilot, lambda d0=d0: pane.d_updates > d0, timeout=10)
            step_ms.append((pane.last_update_at - t1) * 1000)
    return {"pause (action ran)": pause_ms, "pause (painted)": pause_paint_ms,
            "step D (event shown)": step_ms}


def image_quality(steps: int, every: int, n: int = 256, **overrides) -> list[tuple]:
    """Train image mode with the pane's defaults (``overrides`` aside) and judge
    ``n`` samples (z seeded 1234) every ``every`` steps: (step, seconds, share,
    digits seen at >= 5 %, digit FID)."""
    import torch

    from genai_tui.service.classifier import judge_images

    torch.set_num_threads(1)
    settings = GanSettings.for_mode("images", eval_every=100_000, **overrides)
    trainer = GanTrainer(settings)
    z = torch.randn(n, settings.noise_dim, generator=torch.Generator().manual_seed(1234))
    rows, t0 = [], time.perf_counter()
    for step in range(1, steps + 1):
        trainer.step()
        if step % every == 0:
            judging = time.perf_counter()
            seconds = judging - t0
            with trainer._sampling():
                figures = judge_images(trainer.G(z))
            seen = sum(h >= 0.05 * n for h in figures.histogram)
            rows.append((step, seconds, figures.share, seen, figures.fid))
            print(f"step {step:5d}  {seconds:6.0f} s  judged digits {figures.share:6.1%}  "
                  f"digits seen {seen:2d}/10  FID {figures.fid:7.0f}", flush=True)
            t0 += time.perf_counter() - judging  # judging is not training time
    return rows


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--quality", type=int, metavar="STEPS", default=0,
                        help="only judge image mode's samples every 500 steps up to STEPS")
    args = parser.parse_args()
    if args.quality:
        print(f"# GAN image mode judged ({os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}), pane defaults, 256 samples")
        image_quality(args.quality, 500)
        return
    secs = 2.0 if args.quick else 5.0
    rounds = 1 if args.quick else 3
    print(f"# GAN benchmark ({os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}), {rounds} round(s) of {secs:.0f} s")

    points = GanSettings.for_mode("points")
    head, pane80, pane120 = [], [], []
    for _ in range(rounds):
        head.append(headless_rate(points, secs))
        pane80.append(asyncio.run(pane_rate("points", secs, (80, 24))))
        pane120.append(asyncio.run(pane_rate("points", secs, (120, 40))))
    h = statistics.median(head)
    p80 = statistics.median(r["rate"] for r in pane80)
    p120 = statistics.median(r["rate"] for r in pane120)
    ui80 = statistics.median(r["ui_cpu"] for r in pane80)
    ui120 = statistics.median(r["ui_cpu"] for r in pane120)
    hz = statistics.median(r["updates_per_s"] for r in pane80)
    print("\n## 2-D mode (ring, MLP 2x128, batch 128)")
    print(f"headless loop           {h:8.0f} steps/s")
    print(f"pane 80x24              {p80:8.0f} steps/s  ({p80 / h:.2f}x headless; "
          f"UI thread CPU {ui80:.0%}; {hz:.1f} plot refreshes/s)")
    print(f"pane 120x40             {p120:8.0f} steps/s  ({p120 / h:.2f}x headless; "
          f"UI thread CPU {ui120:.0%})")

    images = GanSettings.for_mode("images")
    ih = headless_rate(images, secs)
    ip = asyncio.run(pane_rate("images", secs, (80, 24)))
    print("\n## Image mode (DCGAN, 28x28 digits, batch 64)")
    print(f"headless loop           {ih:8.1f} steps/s")
    print(f"pane 80x24              {ip['rate']:8.1f} steps/s  ({ip['rate'] / ih:.2f}x headless)")

    lat = asyncio.run(key_latency(10 if args.quick else 30))
    print("\n## Key latency while training (pilot.press -> effect)")
    for name, values in lat.items():
        print(f"{name:22s} p50 {pct(values, 0.5):6.1f} ms   p95 {pct(values, 0.95):6.1f} ms   "
              f"max {max(values):6.1f} ms   (n={len(values)})")


if __name__ == "__main__":
    main()
