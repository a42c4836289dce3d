"""Diffusion sampling speed: 16 digits with DDIM-25 (target < 1 s once loaded) and with
DDPM-1000, our sampler loops against diffusers' schedulers driving the same U-Net.

The peer is Hugging Face diffusers (`DDIMScheduler`, `DDPMScheduler`) configured like
ours (same betas, trailing timesteps, clipped x_0, posterior variance for DDPM). Both
loops call the same network with the same starting noise and random stream, so the
script also reports how far apart their samples end up (they should agree to float
precision). Without diffusers installed (`pip install -e .[bench]`) only ours runs.

    .venv/bin/python benchmarks/diffusion.py [--threads N] [--repeat K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _ours(model, sampler: str, steps: int, seed: int, n: int):
    from genai_tui.service import diffusion as svc

    settings = svc.SampleSettings(n=n, sampler=sampler, steps=steps, seed=seed, threads=None)
    start = time.perf_counter()
    last = None
    for last in svc.sample_steps(model, settings, raw=True):  # noqa: B007
        pass
    return time.perf_counter() - start, last.x_next


def _peer(model, sampler: str, steps: int, seed: int, n: int):
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
            eps = model.net(x, torch.full((n,), int(t), dtype=torch.long))
            if sampler == "ddim":
                x = sched.step(eps, t, x, eta=0.0).prev_sample
            else:
                x = sched.step(eps, t, x, generator=gen).prev_sample
    return time.perf_counter() - start, x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="DDIM runs per loop (median)")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--skip-ddpm", action="store_true")
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
    _ours(model, "ddim", 5, 0, args.n)  # warm-up (first convolutions pick kernels)
    rows = []
    plans = [("ddim", 25, args.repeat)] + ([] if args.skip_ddpm else [("ddpm", 1000, 1)])
    for sampler, steps, repeat in plans:
        ours, peer, diff = [], [], None
        for r in range(repeat):  # interleaved so both see the same load
            seconds, x_ours = _ours(model, sampler, steps, r, args.n)
            ours.append(seconds)
            if have_peer:
                seconds, x_peer = _peer(model, sampler, steps, r, args.n)
                peer.append(seconds)
                d = (x_ours - x_peer).abs().max().item()
                diff = d if diff is None else max(diff, d)
        rows.append((sampler, steps, statistics.median(ours),
                     statistics.median(peer) if peer else None, diff))

    print()
    print("| sampler | steps | ours (s) | diffusers (s) | ours vs diffusers | max |x diff| |")
    print("|---|---:|---:|---:|---:|---:|")
    for sampler, steps, ours_s, peer_s, diff in rows:
        ratio = f"{peer_s / ours_s:.2f}x" if peer_s else "-"
        print(f"| {sampler.upper()} | {steps} | {ours_s:.3f} | "
              f"{f'{peer_s:.3f}' if peer_s else '-'} | {ratio} | "
              f"{f'{diff:.1e}' if diff is not None else '-'} |")
    ddim = rows[0][2]
    print()
    print(f"16 samples with DDIM-25: {ddim:.3f} s (target < 1 s: "
          f"{'met' if ddim < 1 else 'NOT met'}); "
          f"per model call {ddim / 25 * 1000:.1f} ms")
    if len(rows) > 1:
        print(f"DDPM-1000 / DDIM-25 time: {rows[1][2] / ddim:.0f}x")


if __name__ == "__main__":
    main()
