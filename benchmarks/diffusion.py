"""Diffusion sampling speed: 16 digits with DDIM-25 (target < 1 s once loaded) and with
DDPM-1000, our sampler loops against diffusers' schedulers driving the same U-Net.

The peer is Hugging Face diffusers (`DDIMScheduler`, `DDPMScheduler`) configured like
ours (same betas, trailing timesteps, clipped x_0, posterior variance for DDPM). Both
loops call the same network with the same starting noise and random stream, so the
script also reports how far apart their samples end up (they should agree to float
precision). Both loops run in the same precision: bf16 autocast where the CPU has it
natively (our default, "auto"), fp32 otherwise; fp32 is measured too. Without
diffusers installed (`pip install -e .[bench]`) only ours runs.

    .venv/bin/python benchmarks/diffusion.py [--threads N] [--repeat K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _ours(model, sampler: str, steps: int, seed: int, n: int, bf16: bool):
    from genai_tui.service import diffusion as svc

    settings = svc.SampleSettings(n=n, sampler=sampler, steps=steps, seed=seed, threads=None,
                                  precision="bf16" if bf16 else "fp32")
    start = time.perf_counter()
    last = None
    for last in svc.sample_steps(model, settings, raw=True):  # noqa: B007
        pass
    return time.perf_counter() - start, last.x_next


def _peer(model, sampler: str, steps: int, seed: int, n: int, bf16: bool):
    import torch
    from diffusers import DDIMScheduler, DDPMScheduler

    betas = model.schedule.betas.float()
    common = dict(num_train_timesteps=model.num_timesteps, trained_betas=betas.numpy(),
                  clip_sample=True, clip_sample_range=1.0, prediction_type="epsilon")
    if sampler == "ddim":
        sched = DDIMScheduler(**common, set_alpha_to_one=True, timestep_spacing="trailing")
        sched.set_timesteps(steps)
    else:
        sched = DDPMScheduler(**common, variance_type="fixed_small")
        sched.set_timesteps(model.num_timesteps)
    gen = torch.Generator().manual_seed(seed)
    size = model.net.config.image_size
    start = time.perf_counter()
    with torch.inference_mode():
        x = torch.randn((n, 1, size, size), generator=gen)
        for t in sched.timesteps:
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                eps = model.net(x, torch.full((n,), int(t), dtype=torch.long)).float()
            if sampler == "ddim":
                x = sched.step(eps, t, x, eta=0.0).prev_sample
            else:
                x = sched.step(eps, t, x, generator=gen).prev_sample
    return time.perf_counter() - start, x


def measure_pane(presses: int = 20) -> dict:
    """The reverse animation in the real app at 80x24 (headless): frames per second of a
    DDIM-50 run of 16 samples, and the latency of `space` (key event sent -> the pane's
    state is paused/resumed and its status text set) while a DDPM run animates."""
    import asyncio

    from textual import events

    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.diffusion import DiffusionPane

    async def run() -> dict:
        app = GenaiApp(initial_pane="diffusion")
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(DiffusionPane)
            while pane.model is None:
                await pilot.pause(0.05)
            await pilot.press("2")
            while pane.frame is None:
                await pilot.pause(0.01)
            start, first = time.perf_counter(), pane.frames_shown
            while pane.state != "done":
                await pilot.pause(0.01)
            fps = (pane.frames_shown - first) / (time.perf_counter() - start)
            await pilot.press("d")  # DDPM: 1000 steps, long enough to press keys during it
            while pane.frame is None or pane.frame.total != 1000:
                await asyncio.sleep(0.01)
            latencies = []
            for _ in range(presses):
                before = pane.state
                # the key goes in as the terminal driver would send it (Pilot.press also
                # waits for the CPU to go idle, which it never does while sampling)
                key = events.Key("space", " ")
                key.set_sender(app)
                t0 = time.perf_counter()
                app._driver.send_message(key)
                while pane.state == before and time.perf_counter() - t0 < 10:
                    await asyncio.sleep(0.0005)
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(0.15)
            latencies.sort()
            return {"fps": fps, "p50_ms": 1000 * latencies[len(latencies) // 2],
                    "p95_ms": 1000 * latencies[int(len(latencies) * 0.95) - 1]}

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="DDIM runs per loop (median)")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--skip-ddpm", action="store_true")
    parser.add_argument("--skip-pane", action="store_true")
    args = parser.parse_args()

    import torch

    from genai_tui.service import diffusion as svc

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = svc.load_model()
    load_s = time.perf_counter() - start
    try:
        import diffusers  # noqa: F401

        have_peer = True
    except ImportError:
        have_peer = False

    print(f"model: {model.describe()}; load {load_s * 1000:.0f} ms; torch threads "
          f"{torch.get_num_threads()}; batch {args.n}")
    auto_bf16 = svc.native_bf16()
    for bf16 in {auto_bf16, False}:  # warm-up (first convolutions pick kernels)
        _ours(model, "ddim", 5, 0, args.n, bf16)
    rows = []
    plans = [("ddim", 25, args.repeat, auto_bf16)]
    if auto_bf16:
        plans.append(("ddim", 25, args.repeat, False))
    if not args.skip_ddpm:
        plans.append(("ddpm", 1000, 1, auto_bf16))
    for sampler, steps, repeat, bf16 in plans:
        ours, peer, diff = [], [], None
        for r in range(repeat):  # interleaved so both see the same load
            seconds, x_ours = _ours(model, sampler, steps, r, args.n, bf16)
            ours.append(seconds)
            if have_peer:
                seconds, x_peer = _peer(model, sampler, steps, r, args.n, bf16)
                peer.append(seconds)
                d = (x_ours - x_peer).abs().max().item()
                diff = d if diff is None else max(diff, d)
        rows.append((sampler, steps, "bf16" if bf16 else "fp32", statistics.median(ours),
                     statistics.median(peer) if peer else None, diff))

    print()
    print("| sampler | steps | precision | ours (s) | diffusers (s) | ours vs diffusers "
          "| max |x diff| |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for sampler, steps, precision, ours_s, peer_s, diff in rows:
        ratio = f"{peer_s / ours_s:.2f}x" if peer_s else "-"
        print(f"| {sampler.upper()} | {steps} | {precision} | {ours_s:.3f} | "
              f"{f'{peer_s:.3f}' if peer_s else '-'} | {ratio} | "
              f"{f'{diff:.1e}' if diff is not None else '-'} |")
    ddim = rows[0][3]
    print()
    print(f"{args.n} samples with DDIM-25 ({rows[0][2]}, the default here): {ddim:.3f} s "
          f"(target < 1 s: {'met' if ddim < 1 else 'NOT met'}); "
          f"per model call {ddim / 25 * 1000:.1f} ms")
    if rows[-1][0] == "ddpm":
        print(f"DDPM-1000 / DDIM-25 time: {rows[-1][3] / ddim:.0f}x")
    if not args.skip_pane:
        pane = measure_pane()
        from genai_tui.tui.panes.diffusion.run import FRAME_RATE

        print(f"pane at 80x24, DDIM-50 x 16: {pane['fps']:.1f} frames/s (paced to at most "
              f"{FRAME_RATE:.0f}); space while animating: p50 {pane['p50_ms']:.1f} ms, "
              f"p95 {pane['p95_ms']:.1f} ms")


if __name__ == "__main__":
    main()
