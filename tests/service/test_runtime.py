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


def test_bf16_default_follows_the_cpu_and_an_explicit_choice_wins(monkeypatch) -> None:
    from genai_tui.service import runtime

    real = runtime.native_bf16
    for native in (True, False):
        monkeypatch.setattr(runtime, "native_bf16", lambda native=native: native)
        assert runtime.use_bf16(None) is native
        assert runtime.use_bf16(True) is True and runtime.use_bf16(False) is False
    # the real answer is what torch says of this CPU
    cpu = torch.cpu
    expected = any(getattr(cpu, name, lambda: False)()
                   for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    real.cache_clear()
    assert real() is expected


def test_every_trainer_defaults_to_the_cpu_policy() -> None:
    from genai_tui.service.diffusion import TrainSettings as DiffusionSettings
    from genai_tui.service.imagine import TrainSettings as ImagineSettings
    from genai_tui.service.lifecycle.finetune import FinetuneSettings
    from genai_tui.service.lifecycle.pretrain import PretrainSettings
    from genai_tui.service.lifecycle.sft import SftSettings
    from genai_tui.service.train_lm import TrainSettings as LmSettings

    for settings in (DiffusionSettings, FinetuneSettings, PretrainSettings, SftSettings,
                     LmSettings, ImagineSettings):
        assert settings.__dataclass_fields__["bf16"].default is None, settings


def test_optimizer_step_autocasts_only_where_told(monkeypatch) -> None:
    from genai_tui.service import runtime
    from genai_tui.service.lifecycle.trainee import optimizer_step

    model = torch.nn.Linear(4, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: list[torch.dtype] = []

    def loss_fn(x):
        y = model(x)
        seen.append(y.dtype)
        return y.float().pow(2).mean()

    x = torch.randn(2, 4)
    for native, expected in ((False, torch.float32), (True, torch.bfloat16)):
        monkeypatch.setattr(runtime, "native_bf16", lambda native=native: native)
        optimizer_step(model, optimizer, loss_fn, x, lr=0.1, bf16=None)
        assert seen[-1] == expected
    optimizer_step(model, optimizer, loss_fn, x, lr=0.1, bf16=False)
    assert seen[-1] == torch.float32


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_trim_heap_gives_freed_memory_back() -> None:
    from genai_tui.service.runtime import trim_heap

    def churn() -> tuple[float, float, float]:
        # 150 MB of 2 kB blocks (glibc's heap, not mmap), every 50th kept so the heap
        # cannot shrink from its top by itself: only malloc_trim returns the middle
        blocks = [bytearray(2048) for _ in range(75_000)]
        before = _rss_mb()
        kept = blocks[::50]
        del blocks
        freed = _rss_mb()
        released = trim_heap()
        after = _rss_mb()
        del kept
        return before, freed, after if released else freed

    before, freed, after = _in_a_thread(churn)
    assert freed > before - 40  # freeing alone keeps most of it resident
    assert after < freed - 80  # trimming gives it back
