"""The app as a process: time to quit, resident memory, key latency while busy.

- Quit and memory: the installed ``genai-tui`` under a real pseudo-terminal
  (80x24... here 100x30), keys sent as a terminal sends them. "Loaded": every
  pane shown once (each loads its model), then generating on the Generate
  pane when Ctrl+Q is pressed. Peer in the same run: the same app quitting
  right after its first paint (idle, nothing loaded). Time to quit: Ctrl+Q
  written → the process has exited. Memory: VmRSS of the process.
- Key latency: the real app in-process (headless Textual driver), the
  Generate pane with the bundled model, knob panel focused; ``right``/``left``
  alternately; press → the knob's new value is in the pane's state and on
  screen (after the next refresh). While a 2,000-token run streams, against
  the same presses idle, rounds interleaved.

First paint is `benchmarks/startup.py`; keys while a GAN trains are
`benchmarks/gan.py`.

Run: ``.venv/bin/python benchmarks/app_lifecycle.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.monkey import rss_mb  # noqa: E402 - after the path is set

F3 = b"\x1bOR"
F5 = b"\x1b[15~"
CTRL_Q = b"\x11"


class PtyApp:
    """``genai-tui`` on a pseudo-terminal; a thread drains what it draws."""

    def __init__(self, cols: int = 100, rows: int = 30) -> None:
        exe = shutil.which("genai-tui", path=str(Path(sys.executable).parent)) or "genai-tui"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        self.proc = subprocess.Popen([exe], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, close_fds=True, start_new_session=True)
        os.close(slave)
        self.master = master
        self.bytes = 0
        self.last_output = time.perf_counter()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.bytes += len(data)
            self.last_output = time.perf_counter()

    def wait_painted(self, timeout: float = 30) -> None:
        deadline = time.perf_counter() + timeout
        while self.bytes < 2000 and time.perf_counter() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def quit_seconds(self) -> float:
        started = time.perf_counter()
        self.send(CTRL_Q)
        self.proc.wait(timeout=60)
        took = time.perf_counter() - started
        os.close(self.master)
        return took


def lifecycle_round() -> dict[str, float]:
    idle = PtyApp()
    idle.wait_painted()
    out = {"idle_rss_mb": rss_mb(idle.proc.pid)}
    out["idle_quit_s"] = idle.quit_seconds()

    busy = PtyApp()
    busy.wait_painted()
    for _ in range(6):  # every pane once: tokenizer → … → GAN → tokenizer
        busy.send(F3)
        time.sleep(4)
    out["loaded_rss_mb"] = rss_mb(busy.proc.pid)
    busy.send(F3)  # generate
    time.sleep(1.5)
    busy.send(F5)
    time.sleep(0.3)  # generating now
    out["busy_rss_mb"] = rss_mb(busy.proc.pid)
    out["busy_quit_s"] = busy.quit_seconds()
    return out


async def key_latency(rounds: int, presses: int = 40) -> dict[str, list[float]]:
    from textual import events

    from genai_tui.tui.app import GenaiApp
    from genai_tui.tui.panes.generate import GeneratePane

    results: dict[str, list[float]] = {"idle": [], "generating": []}
    app = GenaiApp(initial_pane="generate", panes=[GeneratePane])
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(GeneratePane)
        for _ in range(600):
            await pilot.pause(0.05)
            if pane.generator is not None:
                break
        assert pane.generator is not None, pane.model_error
        pane.knobs_a = dataclasses.replace(pane.knobs_a, max_tokens=2000)
        pane.knob_panel.set_knobs(pane.knobs_a, "A")
        for _ in range(rounds):
            for mode in ("idle", "generating"):
                if mode == "generating":
                    pane.action_run()
                    await pilot.pause(0.3)
                    assert pane.busy
                panel = pane.knob_panel
                panel.focus()
                await pilot.pause()
                for i in range(presses):
                    before = pane.knobs_a.temperature
                    key = "right" if i % 2 == 0 else "left"
                    painted = asyncio.Event()
                    started = time.perf_counter()
                    app.post_message(events.Key(key, None))
                    while pane.knobs_a.temperature == before:
                        await asyncio.sleep(0)
                    app.call_after_refresh(painted.set)
                    await painted.wait()
                    results[mode].append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(0.02)
                if mode == "generating":
                    assert pane.busy, "the run ended before the presses did"
                    pane.action_stop()
                    for _ in range(200):
                        await pilot.pause(0.02)
                        if not pane.busy:
                            break
        await app.action_quit()
    return results


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    rounds = [lifecycle_round() for _ in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print("| measurement | idle app (peer) | every pane loaded, generating | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| time to quit (Ctrl+Q → process gone) | {med['idle_quit_s'] * 1000:.0f} ms | "
          f"{med['busy_quit_s'] * 1000:.0f} ms | {med['busy_quit_s'] / med['idle_quit_s']:.2f}x |")
    print(f"| resident memory | {med['idle_rss_mb']:.0f} MB | {med['busy_rss_mb']:.0f} MB "
          f"(all panes shown: {med['loaded_rss_mb']:.0f} MB) | "
          f"{med['busy_rss_mb'] / med['idle_rss_mb']:.1f}x |")
    lat = asyncio.run(key_latency(args.rounds))
    print()
    print("| knob key → value set and painted | p50 | p95 | max | n |")
    print("|---|---:|---:|---:|---:|")
    for mode, values in lat.items():
        print(f"| {mode} | {statistics.median(values):.1f} ms | {_pct(values, 0.95):.1f} ms | "
              f"{max(values):.1f} ms | {len(values)} |")
    ratio = _pct(lat["generating"], 0.95) / _pct(lat["idle"], 0.95)
    print(f"\np95 while generating / idle: {ratio:.2f}x")


if __name__ == "__main__":
    main()
