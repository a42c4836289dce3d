"""The tokenizer pane under a 1 MB paste: how long the UI thread freezes.

For each tokenizer, in a headless app (100x30): paste 1 MB of CPython docs,
then measure until the counts show
- the time from the paste to the tokens on screen,
- the event loop's lag (a 10 ms asyncio probe; its worst oversleep is the
  longest the UI could not answer a key),
and compare, in the same run, with two peers:
- the same pane without pausing the garbage collector in the worker
  (`gc_paused`, see genai_tui/service/runtime.py);
- drawing the token view the naive way: one rich Text with a styled span per
  token, wrapped and rendered whole (what a Static would do on every
  repaint), against our Line-API view that draws only the rows on screen.

Run: .venv/bin/python benchmarks/tokenizer_pane.py
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pydoc_data.topics
import time

from rich.console import Console
from rich.text import Text
from textual import events

import genai_tui.tui.app as app_module
import genai_tui.tui.panes.tokenizer.pane as pane_module
from genai_tui.service import tokenize as svc
from genai_tui.tui.panes.tokenizer import TokenizerPane
from genai_tui.tui.panes.tokenizer.token_view import TOKEN_BACKGROUNDS, TokenView

MB = 1_000_000
SOURCE = "\n\n".join(pydoc_data.topics.topics.values())
BIG = (SOURCE * (MB // len(SOURCE) + 1))[:MB]


def only_tokenizer() -> app_module.GenaiApp:
    """The real app shell with only the tokenizer pane."""
    return app_module.GenaiApp(initial_pane="tokenizer", panes=[TokenizerPane])


async def _settle(pilot, pane: TokenizerPane) -> None:
    while True:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)
        if not pane.busy:
            return


async def paste_run(name: str) -> dict[str, float]:
    """Paste 1 MB with tokenizer ``name``; times and the worst loop lag."""
    app = only_tokenizer()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(TokenizerPane)
        await _settle(pilot, pane)
        pane.query_one("#tok-select-a").value = name
        await _settle(pilot, pane)
        pane.query_one("#tok-text").focus()
        await pilot.pause()
        lags: list[float] = []
        done = False

        async def probe() -> None:
            while not done:
                start = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - start - 0.01)

        task = asyncio.create_task(probe())
        started = time.perf_counter()
        app.post_message(events.Paste(BIG))
        await pilot.pause()
        pasted = time.perf_counter() - started
        await _settle(pilot, pane)
        shown = time.perf_counter() - started
        done = True
        await task
        view = pane.query_one("#tok-tokens-a", TokenView)
        assert view.token_count > 0
        view.focus()
        await pilot.press("end")
        frame_start = time.perf_counter()
        for _ in range(10):
            for y in range(view.size.height):
                view.render_line(y)
        frame = (time.perf_counter() - frame_start) / 10
        return {
            "tokens": view.token_count,
            "paste": pasted,
            "shown": shown,
            "max_lag": max(lags),
            "lags_over_100ms": sum(1 for lag in lags if lag > 0.1),
            "frame": frame,
        }


def naive_frame(name: str, width: int = 99) -> float:
    """Seconds to draw all tokens as one styled Text (a Static's approach)."""
    tokens = svc.tokenize(BIG, name).tokens
    console = Console(width=width, color_system="truecolor", file=open("/dev/null", "w"))
    started = time.perf_counter()
    text = Text()
    for n, token in enumerate(tokens):
        text.append(token.text, style=f"on {TOKEN_BACKGROUNDS[n % len(TOKEN_BACKGROUNDS)]}")
    lines = console.render_lines(text, console.options.update_width(width))
    assert lines
    return time.perf_counter() - started


def main() -> None:
    print(f"1 MB paste ({len(BIG):,} chars of CPython docs), headless 100x30\n")
    rows = []
    for name in ("genai-bpe", "cl100k_base", "char"):
        if not any(i.name == name and i.available for i in svc.list_tokenizers()):
            continue
        ours = asyncio.run(paste_run(name))
        gc.collect()
        original = pane_module.gc_paused
        pane_module.gc_paused = contextlib.nullcontext  # the peer: collector left on
        try:
            peer = asyncio.run(paste_run(name))
        finally:
            pane_module.gc_paused = original
        gc.collect()
        rows.append((name, ours, peer))
    print("| tokenizer | tokens | paste handled | tokens shown | worst UI lag | lags > 100 ms |"
          " peer (gc on): shown / worst lag / lags > 100 ms | lag ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, ours, peer in rows:
        print(
            f"| {name} | {ours['tokens']:,} | {ours['paste']:.2f} s | {ours['shown']:.2f} s"
            f" | {ours['max_lag'] * 1000:.0f} ms | {ours['lags_over_100ms']}"
            f" | {peer['shown']:.2f} s / {peer['max_lag'] * 1000:.0f} ms /"
            f" {peer['lags_over_100ms']}"
            f" | {peer['max_lag'] / max(ours['max_lag'], 1e-9):.1f}x |"
        )
    name, ours, _ = rows[0]
    naive = naive_frame(name)
    print(
        f"\nDrawing a screen of tokens at the end of the text ({name}): "
        f"ours {ours['frame'] * 1000:.2f} ms per frame (Line API, visible rows only); "
        f"one Text of all {ours['tokens']:,} tokens rendered whole: {naive:.2f} s "
        f"-> {naive / ours['frame']:,.0f}x"
    )


if __name__ == "__main__":
    main()
