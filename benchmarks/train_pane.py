"""The Train pane's on-screen training speed against the same run headless.

Headless: `Pretrain(settings).events()` consumed in a loop on one torch
thread (as the pane's worker runs it). On screen: the real app (headless
Textual driver, 80x24) with the Train pane; F5, until the run is done; the
pane redraws its chart, legend and status at up to 4 Hz meanwhile (the text
panel only when a sample or notice arrives).
Both sides run the pane's default pretraining settings (bytes, 2 layers,
width 128, block 128, batch 16) for ``--steps`` steps, evaluations and
samples included, and both are timed the same way: from the first step's
event to the last one's (``Metrics.elapsed``), so corpus reading and
tokenizing are left out. Rounds are interleaved; medians are reported.

Run: ``.venv/bin/python benchmarks/train_pane.py [--steps N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rate(metrics: list, batch: int, block: int) -> float:
    first, last = metrics[0], metrics[-1]
    return (last.step - first.step) * batch * block / (last.elapsed - first.elapsed)


def headless(steps: int) -> float:
    from genai_tui.service.lifecycle.events import Metrics
    from genai_tui.service.lifecycle.pretrain import Pretrain, PretrainSettings
    from genai_tui.service.runtime import torch_threads

    settings = PretrainSettings(steps=steps)
    with torch_threads(1):
        metrics = [e for e in Pretrain(settings).events() if isinstance(e, Metrics)]
    return _rate(metrics, settings.batch_size, settings.block_size)


async def on_screen(steps: int) -> tuple[float, int]:
    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.train import TrainPane
    from genai_tui.tui.panes.train import runner as rn

    app = GenaiApp(initial_pane="train", panes=[TrainPane])
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(TrainPane)
        await pilot.pause(0.5)
        pane.query_one("#pretrain-steps").value = str(steps)
        await pilot.pause(0.1)
        await pilot.press("f5")
        runner = pane.runners["pretrain"]
        while runner.state != rn.DONE:
            if runner.state == rn.FAILED:
                raise RuntimeError(runner.error)
            await asyncio.sleep(0.25)
        await pilot.pause(0.2)
        settings = runner.run.settings
        return _rate(runner.log.metrics, settings.batch_size, settings.block_size), pane.updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plain, pane, redraws = [], [], []
    for r in range(args.rounds):
        plain.append(headless(args.steps))
        rate, updates = asyncio.run(on_screen(args.steps))
        pane.append(rate)
        redraws.append(updates)
        print(f"round {r + 1}: headless {plain[-1]:,.0f} tok/s, on screen {rate:,.0f} tok/s "
              f"({updates} redraws), load {os.getloadavg()[0]:.2f}", flush=True)
    h, p = statistics.median(plain), statistics.median(pane)
    print(f"median: headless {h:,.0f} tok/s, on screen {p:,.0f} tok/s, ratio {p / h:.2f}; "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
