"""Start-up times: `genai-tui --help` and the app's first paint.

- ``--help``: wall time of a fresh ``genai-tui --help`` process (the installed
  script, or ``python -m genai_tui``), median of N runs. Peer in the same
  run: a bare ``python -c pass`` (the interpreter's own start-up).
- first paint: wall time from spawning a fresh interpreter until `GenaiApp`,
  run headless (``App.run_test``), has mounted its first screen and
  refreshed once (``call_after_refresh``). Median of N runs.

Targets (issue 2): ``--help`` < 0.3 s, first paint < 0.5 s.

Usage: python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PAINT_PROBE = r"""
import asyncio, sys
from genai_tui.tui.app import GenaiApp

async def main():
    app = GenaiApp()
    painted = asyncio.Event()
    async with app.run_test(size=(100, 30)) as pilot:
        app.call_after_refresh(painted.set)
        await painted.wait()
        sys.stdout.write("PAINTED " + str(sorted(m for m in sys.modules if m == "torch")) + "\n")
        sys.stdout.flush()
        await app.action_quit()

asyncio.run(main())
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "genai-tui"
    if script.is_file():
        return [str(script)]
    found = shutil.which("genai-tui")
    return [found] if found else [sys.executable, "-m", "genai_tui"]


def time_command(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=_env(), cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def time_first_paint(runs: int) -> tuple[list[float], bool]:
    times = []
    torch_loaded = False
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", PAINT_PROBE],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(), cwd=ROOT,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.wait(timeout=60)
        if not line.startswith("PAINTED"):
            raise SystemExit(f"the app did not paint: {line!r}")
        torch_loaded = torch_loaded or "torch" in line
    return times, torch_loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    args = parser.parse_args()

    bare = time_command([sys.executable, "-c", "pass"], args.runs)
    cli = _cli()
    help_times = time_command([*cli, "--help"], args.runs)
    tok_help = time_command([*cli, "tokenize", "--help"], args.runs)
    paint, torch_loaded = time_first_paint(args.runs)

    def row(label: str, times: list[float], target: float | None = None) -> None:
        med = statistics.median(times)
        verdict = "" if target is None else ("  OK" if med < target else "  OVER TARGET")
        print(
            f"{label:<34} median {med * 1000:7.0f} ms  (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}){verdict}"
        )

    print(f"command: {' '.join(cli)}; {args.runs} runs each; load {os.getloadavg()[0]:.2f}\n")
    row("python -c pass (peer)", bare)
    row("genai-tui --help", help_times, 0.3)
    row("genai-tui tokenize --help", tok_help, 0.3)
    row("first paint (headless run_test)", paint, 0.5)
    base = statistics.median(bare)
    print(
        f"\n--help / bare interpreter: {statistics.median(help_times) / base:.1f}x; "
        f"first paint / bare interpreter: {statistics.median(paint) / base:.1f}x; "
        f"torch loaded before first paint: {torch_loaded}"
    )


if __name__ == "__main__":
    main()
