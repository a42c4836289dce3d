"""A monkey for the whole app: random keys, clicks, scrolls, pastes and resizes
across every pane, from a fixed seed, through the real app (headless).

It looks for what a class demo must never hit: a crash, the UI thread blocked
(the event loop's lag, sampled every 10 ms while the events run), a worker
that does not stop when told to, the app not quitting cleanly, and resident
memory that keeps growing. ``tests/tui/test_monkey.py`` runs a few hundred events
in the suite; ``make monkey`` runs 10,000 and prints the figures:

    python -m tests.monkey --events 10000 --seed 1 [--json]

Keys come from what the screen offers (the app's and the active pane's
bindings) plus the keys a person mashes (arrows, Tab, Enter, Escape, letters,
digits). Left out: Ctrl+Q (it ends the run; pressed once at the end) and
Ctrl+P (the command palette's "Quit" would end it too).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.errors import NoWidget
from textual.pilot import _get_mouse_message_arguments

from genai_tui.service.runtime import limit_malloc_arenas
from genai_tui.tui.app import GenaiApp

QUIT_KEYS = ("ctrl+q", "ctrl+c")
"""Keys the monkey never presses (nor clicks in the footer): they end the run."""
SIZES = [(80, 24), (100, 30), (120, 40), (160, 50), (90, 28)]
MASHED = ["tab", "shift+tab", "up", "down", "left", "right", "enter", "escape", "space",
          "backspace", "home", "end", "pageup", "pagedown", "delete", "shift+left",
          "shift+right", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10",
          "ctrl+s", "ctrl+o", "ctrl+z", "ctrl+a", "question_mark"]
PRINTABLE = "abcdefghijklmnopqrstuvwxyz0123456789[]+-=.,/ "
CHAR_OF = {"space": " ", "question_mark": "?", "full_stop": ".", "comma": ",",
           "slash": "/", "plus": "+", "minus": "-", "equals_sign": "=",
           "left_square_bracket": "[", "right_square_bracket": "]", "enter": "\r",
           "tab": "\t", "backspace": "\x7f", "escape": "\x1b"}
KEY_OF = {" ": "space", ".": "full_stop", ",": "comma", "/": "slash", "+": "plus",
          "-": "minus", "=": "equals_sign", "[": "left_square_bracket",
          "]": "right_square_bracket"}
PASTES = [
    "\x1b]52;c;UFdORUQ=\x07 \x1b[31mred\x1b[0m [bold]x[/bold] [@click=app.quit]q[/]",
    "\u202eevil\u200b \x00 \x9b31m" + "\x1b" + "F" * 32 + "]52;c;UFdORUQ=" + "\x1b" + "G" * 32,
    "def f(x):\n    return x * 2\n",
    "The assert statement",
    "héllo wörld 日本語 🙂",
    "1.5", "-3", "0", "999999999999999999999", "nan", "/proc/x.png", "d[/x]",
    "x" * 5000,
]
SLOW_MS = 250.0


@dataclass
class Report:
    events: int
    seed: int
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)
    panes_seen: list[str] = field(default_factory=list)
    crashed: str | None = None
    lag_ms_p50: float = 0.0
    lag_ms_p99: float = 0.0
    lag_ms_max: float = 0.0
    blocks_over_250ms: list[tuple[float, str]] = field(default_factory=list)
    """(lag ms, the event that preceded it), worst first (at most 20)."""
    stuck_workers: list[str] = field(default_factory=list)
    quit_cleanly: bool = False
    rss_mb_after_load: float = 0.0
    """Resident memory once every pane had been shown (first time all were)."""
    rss_mb_end: float = 0.0
    gc_runs: list[int] = field(default_factory=lambda: [0, 0, 0])
    gc_ms_max: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """Garbage collections per generation, and the longest of each (any thread)."""
    stalled_in: list[tuple[str, int]] = field(default_factory=list)
    """Where the UI thread was (innermost of our frames) when sampled stalled, with counts."""
    slow_gcs: list[tuple[str, int]] = field(default_factory=list)
    """Collections over 100 ms: the thread and the code whose allocation (or
    explicit ``gc.collect``) started them, with counts."""
    object_growth: list[tuple[str, int]] = field(default_factory=list)
    """With ``objects=True``: the types whose live objects grew most between
    "every pane loaded" and the end (frozen objects included), with the growth."""

    def ok(self, block_ms: float = SLOW_MS) -> bool:
        return (self.crashed is None and not self.stuck_workers and self.quit_cleanly
                and self.lag_ms_max <= block_ms)

    def summary(self) -> str:
        lines = [
            f"{self.events} events (seed {self.seed}) in {self.seconds:.0f} s: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())),
            f"panes seen: {', '.join(self.panes_seen)}",
            f"crash: {self.crashed or 'none'}; stuck workers: "
            f"{', '.join(self.stuck_workers) or 'none'}; quit cleanly: {self.quit_cleanly}",
            f"UI-thread lag: p50 {self.lag_ms_p50:.1f} ms, p99 {self.lag_ms_p99:.1f} ms, "
            f"max {self.lag_ms_max:.0f} ms; blocks over {SLOW_MS:.0f} ms: "
            f"{len(self.blocks_over_250ms)}",
        ]
        for lag, what in self.blocks_over_250ms[:8]:
            lines.append(f"  {lag:.0f} ms after {what}")
        lines.append("garbage collections (gen 0/1/2): "
                     + " / ".join(f"{n} (max {ms:.0f} ms)"
                                  for n, ms in zip(self.gc_runs, self.gc_ms_max, strict=True)))
        for where, count in self.stalled_in[:8]:
            lines.append(f"  stalled {count}x in {where}")
        for where, count in self.slow_gcs[:8]:
            lines.append(f"  collection over 100 ms {count}x from {where}")
        lines.append(f"resident memory: {self.rss_mb_after_load:.0f} MB once every pane had "
                     f"loaded, {self.rss_mb_end:.0f} MB at the end")
        if self.object_growth:
            lines.append("live objects that grew most after every pane loaded: "
                         + ", ".join(f"{name} +{n}" for name, n in self.object_growth[:10]))
        return "\n".join(lines)


def live_types() -> Counter[str]:
    """Live objects the collector tracks (frozen ones too), counted by type."""
    gc.collect()
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # get_objects() leaves out the permanent generation
    try:
        return Counter(type(o).__qualname__ for o in gc.get_objects())
    finally:
        if frozen:
            gc.freeze()


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (this one by default), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _offered_keys(app: GenaiApp) -> list[str]:
    """The keys the app and the active pane bind (what F1 lists)."""
    keys: list[str] = []
    owners = [app]
    pane = app.active_pane
    if pane is not None:
        owners.append(pane)
    for owner in owners:
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding):
                keys.extend(k.strip() for k in binding.key.split(","))
            elif isinstance(binding, tuple):
                keys.extend(k.strip() for k in binding[0].split(","))
    return [k for k in keys if k and k not in (*QUIT_KEYS, "ctrl+p")]


def _quits(screen, x: int, y: int) -> bool:
    """Whether a click at (x, y) lands on a footer key that quits the app."""
    try:
        widget, _ = screen.get_widget_at(x, y)
    except NoWidget:
        return False
    return any(getattr(node, "key", None) in QUIT_KEYS for node in widget.ancestors_with_self)


def _key_event(key: str) -> events.Key:
    if len(key) == 1:
        return events.Key(KEY_OF.get(key, key), key)
    return events.Key(key, CHAR_OF.get(key))


async def run(n_events: int = 300, seed: int = 0, size: tuple[int, int] = (100, 30),
              progress: bool = False, objects: bool = False) -> Report:
    rng = random.Random(seed)
    report = Report(events=n_events, seed=seed)
    export_dir = Path(tempfile.mkdtemp(prefix="genai-monkey-"))
    app = GenaiApp(export_dir=export_dir)
    lags: list[float] = []
    last_event = ["start"]
    blocks: list[tuple[float, str]] = []
    started = time.perf_counter()
    all_pane_ids = [cls.PANE_ID for cls in app._pane_classes]
    seen: list[str] = []

    counts_after_load: Counter[str] = Counter()

    def note_seen(pane_id: str) -> None:
        if pane_id not in seen:
            seen.append(pane_id)
            if len(seen) == len(all_pane_ids):
                report.rss_mb_after_load = rss_mb()
                if objects:
                    counts_after_load.update(live_types())

    gc_started: list[float] = [0.0]
    slow_gcs: Counter[str] = Counter()

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            ms = (time.perf_counter() - gc_started[0]) * 1000
            gen = info["generation"]
            report.gc_ms_max[gen] = max(report.gc_ms_max[gen], ms)
            report.gc_runs[gen] += 1
            if ms > 100:
                stack = traceback.extract_stack(sys._getframe(1))[-3:]
                where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                   for f in reversed(stack))
                slow_gcs[f"gen {gen} on {threading.current_thread().name}: {where}"] += 1

    gc.callbacks.append(on_gc)
    main_thread = threading.get_ident()
    tick = [time.perf_counter()]
    stalls: Counter[str] = Counter()

    def watchdog() -> None:
        """Where the UI thread is when it has not ticked for 200 ms (sampled)."""
        while running:
            time.sleep(0.05)
            if time.perf_counter() - tick[0] > 0.2:
                frame = sys._current_frames().get(main_thread)
                if frame is not None:
                    stack = traceback.extract_stack(frame)
                    ours = [f for f in stack if "genai_tui" in f.filename] or stack[-3:]
                    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                       for f in reversed(ours[-3:]))
                    stalls[where] += 1

    try:
        async with app.run_test(size=size) as pilot:
            running = True
            dog = threading.Thread(target=watchdog, daemon=True)
            dog.start()

            async def heartbeat() -> None:
                while running:
                    t0 = time.perf_counter()
                    tick[0] = t0
                    await asyncio.sleep(0.01)
                    lag = (time.perf_counter() - t0 - 0.01) * 1000
                    lags.append(lag)
                    if lag > SLOW_MS:
                        blocks.append((lag, last_event[0]))

            beat = asyncio.create_task(heartbeat())
            try:
                for i in range(n_events):
                    if app._exception is not None:
                        break
                    pane_id = app.active_pane_id or "?"
                    note_seen(pane_id)
                    roll = rng.random()
                    screen = app.screen
                    share = max(1, n_events // len(all_pane_ids))
                    if i % share == 0:
                        # Each pane gets its share of the events: show the next one as a
                        # click on its tab would (typed keys alone rarely leave a text
                        # box), closing any dialog first as a person would.
                        kind = "tab"
                        while len(app.screen_stack) > 1:
                            await app.pop_screen()
                        target_id = all_pane_ids[(i // share) % len(all_pane_ids)]
                        last_event[0] = f"tab {target_id}"
                        # Wait until the tab shows: on a busy box a pane still being
                        # built could otherwise be left before it was ever seen.
                        await app.show_pane_now(target_id)
                        note_seen(target_id)  # shown, even if the next event leaves it
                    elif roll < 0.70:
                        kind = "key"
                        pool = rng.choice([_offered_keys(app), MASHED, list(PRINTABLE)])
                        key = rng.choice(pool or MASHED)
                        last_event[0] = f"key {key} on {pane_id}"
                        app.post_message(_key_event(key))
                    elif roll < 0.85:
                        kind = "click"
                        x, y = rng.randrange(screen.size.width), rng.randrange(screen.size.height)
                        last_event[0] = f"click ({x},{y}) on {pane_id}"
                        if _quits(screen, x, y):
                            # the footer's "^q Quit" quits, as it should: not a finding
                            kind = "click on Quit (skipped)"
                        else:
                            args = _get_mouse_message_arguments(screen, (x, y), button=1)
                            app.mouse_position = (x, y)
                            for cls in (events.MouseDown, events.MouseUp):
                                screen._forward_event(cls(**args))
                            screen._forward_event(events.Click(**args, chain=1))
                    elif roll < 0.90:
                        kind = "scroll"
                        x, y = rng.randrange(screen.size.width), rng.randrange(screen.size.height)
                        last_event[0] = f"scroll ({x},{y}) on {pane_id}"
                        args = _get_mouse_message_arguments(screen, (x, y), button=0)
                        cls = rng.choice([events.MouseScrollDown, events.MouseScrollUp])
                        screen._forward_event(cls(**args))
                    elif roll < 0.96:
                        kind = "paste"
                        text = rng.choice(PASTES)
                        last_event[0] = f"paste {text[:20]!r} on {pane_id}"
                        target = app.focused or screen
                        target.post_message(events.Paste(text))
                    else:
                        kind = "resize"
                        w, h = rng.choice(SIZES)
                        last_event[0] = f"resize {w}x{h} on {pane_id}"
                        app._driver._size = type(screen.size)(w, h)  # headless driver
                        app.post_message(events.Resize(screen.size.__class__(w, h),
                                                       screen.size.__class__(w, h)))
                    report.kinds[kind] = report.kinds.get(kind, 0) + 1
                    try:
                        await pilot._wait_for_screen(timeout=30)
                    except Exception as exc:  # noqa: BLE001 - a timeout is a finding
                        report.crashed = f"UI did not settle after {last_event[0]}: {exc}"
                        break
                    note_seen(app.active_pane_id or "?")
                    await asyncio.sleep(0.002 if rng.random() < 0.9 else 0.05)
                    if progress and i % 500 == 0:
                        print(f"{i} events, {time.perf_counter() - started:.0f} s, "
                              f"{rss_mb():.0f} MB, pane {pane_id}", file=sys.stderr)
            finally:
                running = False
                await beat
            if app._exception is not None and report.crashed is None:
                report.crashed = f"{type(app._exception).__name__}: {app._exception}"
            report.rss_mb_end = rss_mb()
            if objects and counts_after_load:
                growth = Counter(live_types())
                growth.subtract(counts_after_load)
                report.object_growth = [(k, n) for k, n in growth.most_common(20) if n > 0]
            # Every worker must stop when told to.
            workers = [w for w in app.workers if not w.is_finished]
            app.workers.cancel_all()
            deadline = time.perf_counter() + 15
            while time.perf_counter() < deadline and any(not w.is_finished for w in workers):
                await asyncio.sleep(0.05)
            report.stuck_workers = [w.description or w.name for w in workers if not w.is_finished]
            if report.crashed is None:
                await pilot.press("escape", "escape", "escape")  # close any open dialog
                while len(app.screen_stack) > 1:
                    app.pop_screen()
                await pilot.press("ctrl+q")
    except Exception as exc:  # noqa: BLE001 - the app crashed: that is the finding
        traceback.print_exc()  # where, for whoever reads the finding
        report.crashed = report.crashed or f"{type(exc).__name__}: {exc} (after {last_event[0]})"
        running = False
    gc.callbacks.remove(on_gc)
    report.quit_cleanly = report.crashed is None and app.return_code == 0
    report.seconds = time.perf_counter() - started
    report.panes_seen = seen
    if lags:
        ordered = sorted(lags)
        report.lag_ms_p50 = statistics.median(ordered)
        report.lag_ms_p99 = ordered[int(0.99 * (len(ordered) - 1))]
        report.lag_ms_max = ordered[-1]
    report.blocks_over_250ms = sorted(blocks, reverse=True)[:20]
    report.stalled_in = stalls.most_common(12)
    report.slow_gcs = slow_gcs.most_common(12)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--objects", action="store_true",
                        help="count live objects by type after load and at the end "
                        "(a full collection each time: it shows as one block)")
    args = parser.parse_args()
    limit_malloc_arenas()  # as the app's entry point does
    report = asyncio.run(run(args.events, args.seed, progress=not args.json,
                             objects=args.objects))
    print(json.dumps(asdict(report)) if args.json else report.summary())
    sys.exit(0 if report.ok() else 1)


if __name__ == "__main__":
    main()
