"""The generate pane's on-screen tokens/s against headless generation, same run.

Also: how long Esc takes to stop a running generation (key press to the
worker thread's end).

Headless: the service's generator consumed in a loop (``generate(...)`` with
top-10 candidates, as the pane asks). On screen: the real app (headless
Textual driver, 100x30) with the generate pane; F5, until the last token has
been painted; the pane's own figure (tokens on screen / time from the key to
the paint of the last token, what its title bar shows). Greedy, so both make
the same tokens. Rounds are interleaved; the best round of each is kept.

Run: ``.venv/bin/python benchmarks/generate_pane.py [--tokens N] [--rounds R] [--model DIR]``.
``benchmarks/generate.py`` also prints this figure (it imports `measure_pane`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from pathlib import Path

# torch's thread setting is per OS thread; the env var reaches the pane's
# worker threads too (when this script, not benchmarks/generate.py, imports torch).
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPT = "The assert statement"


def _headless(svc, lm, knobs) -> float:
    started = time.perf_counter()
    count = sum(1 for _ in svc.generate(PROMPT, knobs, lm, top_n=10))
    return count / (time.perf_counter() - started)


async def _on_screen(knobs, model_path: str | None, size: tuple[int, int]) -> float:
    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.generate import GeneratePane

    GeneratePane.MODEL_PATH = model_path
    app = GenaiApp(initial_pane="generate")
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(GeneratePane)
        while pane.generator is None:
            if pane.model_error:
                raise RuntimeError(pane.model_error)
            await pilot.pause(0.02)
        pane.knobs_a = knobs
        pane.query_one("#gen-prompt").value = PROMPT
        await pilot.pause(0.1)
        await pilot.press("f5")
        while not pane.runs or pane.runs[0].status == "running":
            await asyncio.sleep(0.25)  # slow polling: the pane times itself
        run = pane.runs[0]
        painted = run.rate
        for _ in range(100):  # the paint callback sets the final figure
            await pilot.pause(0.01)
            if run.rate != painted:
                break
        if len(run.steps) != knobs.max_tokens:
            raise RuntimeError(f"pane made {len(run.steps)} tokens, expected {knobs.max_tokens}")
        return float(run.rate or 0.0)


async def _stop_latency(model_path: str | None, size: tuple[int, int]) -> float:
    """Seconds from Esc to the worker's end, mid-way through a long stream."""
    from genai_tui.service import generate as svc
    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.generate import GeneratePane

    GeneratePane.MODEL_PATH = model_path
    app = GenaiApp(initial_pane="generate")
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(GeneratePane)
        while pane.generator is None:
            await pilot.pause(0.02)
        pane.knobs_a = dataclasses.replace(svc.Knobs(), max_tokens=5000, seed=0)
        await pilot.press("f5")
        await pilot.pause(0.4)
        started = time.perf_counter()
        await pilot.press("escape")
        while pane.driver.live:
            await asyncio.sleep(0.001)
        return time.perf_counter() - started


def measure_pane(tokens: int = 1024, rounds: int = 5, model_path: str | None = None,
                 size: tuple[int, int] = (100, 30)) -> dict[str, float]:
    """Best-of-``rounds`` headless and on-screen tokens/s, and their ratio."""
    import torch

    from genai_tui.service import generate as svc

    torch.set_num_threads(1)  # as `genai-tui generate` and benchmarks/generate.py
    lm = svc.load_model(model_path)
    knobs = dataclasses.replace(svc.Knobs(), greedy=True, max_tokens=tokens, seed=0)
    _headless(svc, lm, dataclasses.replace(knobs, max_tokens=16))  # warm-up
    headless, onscreen = [], []
    for _ in range(rounds):
        headless.append(_headless(svc, lm, knobs))
        onscreen.append(asyncio.run(_on_screen(knobs, model_path, size)))
    best_h, best_o = max(headless), max(onscreen)
    paired = sorted(o / h for h, o in zip(headless, onscreen, strict=True))
    stops = [asyncio.run(_stop_latency(model_path, size)) for _ in range(rounds)]
    return {"headless_tps": best_h, "onscreen_tps": best_o, "ratio": best_o / best_h,
            "median_round_ratio": paired[len(paired) // 2],
            "headless_all": headless, "onscreen_all": onscreen, "stop_seconds": stops}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--model", default=None, help="model folder (default: assets/lm)")
    parser.add_argument("--size", default="100x30", help="terminal size, e.g. 80x24")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    r = measure_pane(args.tokens, args.rounds, args.model, (width, height))
    print(f"generate pane, {args.tokens} greedy tokens, {width}x{height}, "
          f"best of {args.rounds} (rounds interleaved)")
    print(f"  headless  {r['headless_tps']:8,.0f} tokens/s   "
          f"rounds: {', '.join(f'{x:,.0f}' for x in r['headless_all'])}")
    print(f"  on screen {r['onscreen_tps']:8,.0f} tokens/s   "
          f"rounds: {', '.join(f'{x:,.0f}' for x in r['onscreen_all'])}")
    print(f"  on screen / headless = {r['ratio']:.0%} best vs best, "
          f"{r['median_round_ratio']:.0%} median of the rounds' ratios (target >= 90%)")
    print(f"  Esc to the worker's end: worst {max(r['stop_seconds']) * 1000:.0f} ms "
          f"of {len(r['stop_seconds'])} (target < 100 ms)")


if __name__ == "__main__":
    main()
