"""The one torch-thread policy (`service/runtime.py`)."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from genai_tui.service.runtime import set_torch_threads, thread_count, torch_threads


def test_thread_count_is_as_told_else_one_unless_omp_says(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_count() == 1
    assert thread_count(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert thread_count() is None
    assert thread_count(3) == 3


def _in_a_thread(fn):
    # torch's count is per OS thread: run in a fresh one so the test leaves ours alone
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_torch_threads_restores_and_none_leaves_the_count() -> None:
    def body():
        before = torch.get_num_threads()
        with torch_threads(1):
            inside = torch.get_num_threads()
        with torch_threads(None):
            untouched = torch.get_num_threads()
        return before, inside, untouched, torch.get_num_threads()

    before, inside, untouched, after = _in_a_thread(body)
    assert inside == 1
    assert untouched == before == after


@pytest.mark.parametrize("n", [None, 1])
def test_set_torch_threads(n) -> None:
    def body():
        before = torch.get_num_threads()
        set_torch_threads(n)
        return before, torch.get_num_threads()

    before, after = _in_a_thread(body)
    assert after == (before if n is None else n)


def test_settle_heap_takes_live_objects_out_of_the_collectors_walk() -> None:
    import gc

    from genai_tui.service.runtime import settle_heap, thaw_heap

    keep = [[i] for i in range(20_000)]  # 20k tracked lists a full collection would walk
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(keep)
        assert not any(o is keep for o in gc.get_objects())
    finally:
        thaw_heap()
    assert gc.get_freeze_count() == 0
    assert any(o is keep for o in gc.get_objects())


async def test_a_loaded_pane_settles_the_heap_and_the_app_thaws_it_at_exit() -> None:
    import gc

    from genai_tui.tui.app import GenaiApp

    app = GenaiApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await app.show_pane_now("vae")
        for _ in range(200):
            if pane.load_state != "loading":
                break
            await pilot.pause(0.05)
        assert pane.load_state == "ready"
        assert gc.get_freeze_count() > 10_000  # torch, the model and the panes so far
    assert gc.get_freeze_count() == 0


def test_malloc_arenas_are_limited_unless_the_environment_says() -> None:
    import subprocess
    import sys

    code = ("from genai_tui.service.runtime import limit_malloc_arenas as f; "
            "print(f(), f(1))")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["True", "True"]  # glibc's mallopt accepted the limit
    env["MALLOC_ARENA_MAX"] = "4"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "False"]  # the user's setting wins
