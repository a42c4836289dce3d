"""Text-to-image sampling speed: one image at 25 DDIM steps from the bundled model, with
and without classifier-free guidance.

Peer: the same sampler without guidance (one U-Net pass per step). Guidance needs a
conditional and an unconditional prediction per step; we batch them into one call on
a doubled batch (`SampleSettings.batch_guidance`, the default) and compare with the
two-call version, measured in the same run, interleaved, same seed and settings. Both
guided versions draw the same image (checked).

    .venv/bin/python benchmarks/imagine.py [--model DIR] [--threads N] [--repeat K] [--n N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="default: assets/imagine")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--n", type=int, default=1, help="images per call")
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args()

    import numpy as np
    import torch

    from genai_tui.service import imagine as svc

    torch.set_num_threads(args.threads)
    model = svc.load(args.model)
    base = svc.SampleSettings(prompt="a thick seven", steps=args.steps, n=args.n, seed=0,
                              threads=args.threads, attention=False)
    cases = {
        "no guidance (w = 0, one pass)": replace(base, guidance=0.0),
        "guidance w = 3, batched (one call on 2N)": replace(base, guidance=3.0),
        "guidance w = 3, two calls": replace(base, guidance=3.0, batch_guidance=False),
        "guidance w = 3, batched, attention maps recorded": replace(base, guidance=3.0,
                                                                    attention=True),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    images: dict[str, np.ndarray] = {}
    for name, s in cases.items():  # warm-up
        images[name] = svc.generate(model, s)
    for _ in range(args.repeat):
        for name, s in cases.items():
            start = time.perf_counter()
            for _step in svc.imagine(model, s):
                pass
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    peer = med["no guidance (w = 0, one pass)"]
    print(f"{model.describe()}; {args.n} image(s), DDIM-{args.steps}, {args.threads} "
          f"thread(s), median of {args.repeat}")
    print("| case | s per call | ms per image | vs no guidance |")
    print("|---|---:|---:|---:|")
    for name, value in med.items():
        print(f"| {name} | {value:.3f} | {1000 * value / args.n:.0f} | {value / peer:.2f}x |")
    two = med["guidance w = 3, two calls"]
    one = med["guidance w = 3, batched (one call on 2N)"]
    print(f"two calls / batched: {two / one:.2f}x")
    diff = np.abs(images["guidance w = 3, batched (one call on 2N)"]
                  - images["guidance w = 3, two calls"]).max()
    print(f"max |batched - two calls| pixel difference: {diff:.1e}")


if __name__ == "__main__":
    main()
