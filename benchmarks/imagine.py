"""Text-to-image sampling speed: one image at 25 DDIM steps from the bundled model, with
and without classifier-free guidance.

Peer: the same sampler without guidance (one U-Net pass per step). Guidance needs a
conditional and an unconditional prediction per step; we batch them into one call on
a doubled batch (`SampleSettings.batch_guidance`, the default) and compare with the
two-call version, measured in the same run, interleaved, same seed and settings. Both
guided versions draw the same image (checked).

The guided cases guide every step (``guidance_interval=1``) so that they measure the
cost of guidance per step; the default, guidance only in the low-noise part of the
schedule, is timed beside them.

With ``--evaluate`` it instead measures what the prompt does to the picture
(`imagine.evaluate`: the digit classifier's verdict on ``--samples`` images per digit
prompt at guidance 0, 1 and 3, and the ink of thick and thin prompts at 1 and 3);
``--write-card`` records that in the model's card.

    .venv/bin/python benchmarks/imagine.py [--model DIR] [--threads N] [--repeat K] [--n N]
    .venv/bin/python benchmarks/imagine.py --evaluate [--samples 100] [--write-card]
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
    parser.add_argument("--evaluate", action="store_true",
                        help="judge the pictures instead of timing them")
    parser.add_argument("--samples", type=int, default=100, help="--evaluate: per prompt")
    parser.add_argument("--write-card", action="store_true",
                        help="--evaluate: record the figures in the model's card")
    args = parser.parse_args()
    if args.evaluate:
        evaluate(args)
        return

    import numpy as np
    import torch

    from genai_tui.service import imagine as svc

    torch.set_num_threads(args.threads)
    model = svc.load(args.model)
    base = svc.SampleSettings(prompt="a thick seven", steps=args.steps, n=args.n, seed=0,
                              threads=args.threads, attention=False)
    every = replace(base, guidance_interval=1.0)
    cases = {
        "no guidance (w = 0, one pass)": replace(base, guidance=0.0),
        "no guidance (w = 1, the conditional pass)": replace(base, guidance=1.0),
        "guidance w = 3, batched (one call on 2N)": replace(every, guidance=3.0),
        "guidance w = 3, two calls": replace(every, guidance=3.0, batch_guidance=False),
        "guidance w = 3, batched, attention maps recorded": replace(every, guidance=3.0,
                                                                    attention=True),
        "guidance w = 3 in the default interval, batched": replace(base, guidance=3.0),
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


def evaluate(args: argparse.Namespace) -> None:
    import json

    from genai_tui.service import imagine as svc

    model = svc.load(args.model)
    settings = svc.SampleSettings()
    figures = svc.evaluate(model, n=args.samples, guidances=(0.0, 1.0, 3.0),
                           threads=args.threads)
    at_one = svc.evaluate(model, n=args.samples, guidances=(), ink_guidance=1.0,
                          threads=args.threads)
    figures["ink_guidance_1"] = {k: at_one[k] for k in ("ink", "ink_thick", "ink_thin",
                                                         "ink_ratio")}
    figures["guidance_interval"] = settings.guidance_interval
    figures["guidance_rescale"] = settings.guidance_rescale
    print(json.dumps(figures, indent=1, sort_keys=True))
    if args.write_card:
        path = model.path / "card.json"
        card = json.loads(path.read_text())
        card["evaluation"] = figures
        metrics = card.setdefault("metrics", {})
        for g, share in figures["mean_share"].items():
            metrics[f"digit_share_guidance_{g}"] = share
        for g, share in figures["digits"]["a seven"].items():
            if g != "target":
                metrics[f"seven_share_guidance_{g}"] = share
        metrics["ink_ratio"] = figures["ink_ratio"]
        metrics["ink_ratio_guidance_1"] = at_one["ink_ratio"]
        path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
