"""Measure every bundled image model with the judge (issue 15) and record it in the cards.

    python benchmarks/judge_quality.py [--write-cards] [--n 256]

Prints one JSON object per model: recognisable share, class histogram (mode
coverage) and digit FID against held-out real digits, by the bundled judge;
for diffusion also the seconds per 16-image grid for each sampler measured.
With ``--write-cards`` each card gets a ``judge_quality`` section.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from genai_tui.paths import REPO_ROOT
from genai_tui.service import classifier as judge_svc


def vae_figures(name: str, n: int) -> dict:
    from genai_tui.service import vae

    handle = vae.load(name)
    if handle.latent_dim == 2:
        grid = 16  # 256 cells of the latent map, z in [-2.5, 2.5]^2
        images = vae.latent_map(handle, vae.test_digits(64), grid=grid, tile=28).mosaic
        images = images.view(grid, 28, grid, 28).permute(0, 2, 1, 3).reshape(-1, 1, 28, 28)
        what = f"latent map cells ({grid}x{grid}, span 2.5)"
    else:
        images = vae.sample(handle, n=n, seed=1234).images
        what = f"prior samples (n={n}, seed 1234)"
    return {"what": what, **judge_svc.judge_images(images).to_dict()}


def diffusion_figures(n: int, ddpm: bool) -> dict:
    from genai_tui.service import diffusion as svc

    model = svc.load_model(REPO_ROOT / "assets" / "diffusion")
    out = {}
    # the default precision (fp32) and bf16 autocast (faster where the CPU has it natively)
    samplers = [("ddim", 25, "fp32"), ("ddim", 25, "bf16")] + (
        [("ddpm", model.num_timesteps, "fp32")] if ddpm else [])
    for sampler, steps, precision in samplers:
        settings = svc.SampleSettings(n=16, sampler=sampler, steps=steps, seed=7,
                                      precision=precision)
        t = time.perf_counter()
        svc.generate(model, settings)
        grid_s = time.perf_counter() - t
        images = svc.generate(model, dataclasses.replace(settings, n=n, seed=1234))
        key = f"{sampler}-{steps}" + ("" if precision == "fp32" else f"-{precision}")
        out[key] = {"seconds_per_16_grid": round(grid_s, 2), "precision": precision,
                    **judge_svc.judge_images(images).to_dict()}
    return out


def _summary(figures: dict) -> dict:
    return {k: _summary(v) if isinstance(v, dict) else v for k, v in figures.items()
            if k not in ("labels", "confidences")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--ddpm", action="store_true", help="also DDPM-1000 (slow)")
    ap.add_argument("--write-cards", action="store_true")
    args = ap.parse_args()
    results = {"vae": vae_figures("vae", args.n), "vae2d": vae_figures("vae2d", args.n),
               "diffusion": diffusion_figures(args.n, args.ddpm)}
    for name, figures in results.items():
        print(json.dumps({"model": name, **figures}))
        if args.write_cards:
            path = REPO_ROOT / "assets" / name / "card.json"
            card = json.loads(path.read_text())
            card["judge_quality"] = _summary(figures)  # not the per-image lists
            path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
