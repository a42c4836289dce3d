"""`genai-tui serve` under load, and the remote back end's cost per token.

One run, the bundled LM, torch threads 1 in the server:

* serve: N streaming clients (N = 1, 4, 16) each ask for ``--tokens`` new
  tokens (seeded sampling, distinct prompts); aggregate tokens/s over the
  wall time and the p95 of time to first token;
* overhead: the same seeded request through `RemoteGenerator` against our
  own server and through `LocalGenerator` in this process, rounds
  interleaved; the median wall time per token of each and their ratio.

Run: ``.venv/bin/python benchmarks/serve.py [--tokens N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(lm, max_concurrent: int):  # noqa: ANN001, ANN201
    import uvicorn

    from genai_tui.server.openai_api import ServerSettings, create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(lm, ServerSettings(max_concurrent=max_concurrent)), host="127.0.0.1",
        port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}/v1"


def one_stream(url: str, model: str, seed: int, tokens: int) -> tuple[float, int]:
    body = {"model": model, "prompt": f"The assert statement {seed}", "max_tokens": tokens,
            "seed": seed, "stream": True, "temperature": 0.8}
    started = time.perf_counter()
    first = None
    count = 0
    with httpx.stream("POST", url + "/completions", json=body, timeout=300) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                if json.loads(line[6:]).get("choices"):
                    count += 1
                    if first is None:
                        first = time.perf_counter() - started
    return first or 0.0, count


def load(url: str, model: str, clients: int, tokens: int) -> tuple[float, float]:
    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        got = one_stream(url, model, i, tokens)
        with lock:
            results.append(got)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ttfts = sorted(r[0] for r in results)
    p95 = ttfts[min(len(ttfts) - 1, int(round(0.95 * (len(ttfts) - 1))))]
    return sum(r[1] for r in results) / wall, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import torch

    from genai_tui.sampling.knobs import default_knobs
    from genai_tui.service import generate as gen
    from genai_tui.service.backend import LocalGenerator
    from genai_tui.service.remote import RemoteGenerator, ServerConfig

    torch.set_num_threads(1)
    lm = gen.load_model()
    server, thread, url = start_server(lm, max_concurrent=16)
    try:
        one_stream(url, lm.name, 0, 4)  # warm-up
        print(f"serve: bundled LM, {args.tokens} new tokens per client, torch threads 1")
        print("clients  tokens/s (all)  p95 time to first token")
        for clients in (1, 4, 16):
            tps, p95 = load(url, lm.name, clients, args.tokens)
            print(f"{clients:>7}  {tps:14.1f}  {p95 * 1000:17.0f} ms")
        knobs = default_knobs()
        import dataclasses

        knobs = dataclasses.replace(knobs, max_tokens=args.tokens, seed=3)
        local = LocalGenerator(lm)
        remote = RemoteGenerator(ServerConfig(url), lm.name)
        per_token = {"local": [], "remote": []}
        texts = {}
        for _ in range(args.rounds):
            for name, g in (("local", local), ("remote", remote)):
                started = time.perf_counter()
                steps = list(g.generate("The assert statement", knobs))
                per_token[name].append((time.perf_counter() - started) / max(1, len(steps)))
                texts[name] = "".join(s.token for s in steps)
        loc, rem = (statistics.median(per_token[k]) for k in ("local", "remote"))
        print(f"\nper token, median of {args.rounds} interleaved rounds "
              f"({args.tokens} tokens, seeded sampling):")
        print(f"  local back end   {loc * 1000:6.2f} ms")
        print(f"  remote back end  {rem * 1000:6.2f} ms  ({rem / loc:.2f}x local, "
              f"+{(rem - loc) * 1000:.2f} ms/token)")
        print(f"  same text: {texts['local'] == texts['remote']}")
    finally:
        server.should_exit = True
        thread.join(10)


if __name__ == "__main__":
    main()
