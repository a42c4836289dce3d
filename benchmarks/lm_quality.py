"""Held-out quality of language-model folders, in bits per byte (issue 16).

    python benchmarks/lm_quality.py [MODEL_DIR ...] [--windows 512] [--write-card]

For each folder (default: the bundled ``assets/lm``) prints one JSON object:
mean next-token loss (nats/token), perplexity and bits per byte on

- ``sources``: the held-out files of the standard-library source corpus
  (`corpus.split_documents`, whole files), and
- ``docs_tail``: the first model's held-out slice (the last 5% of the
  docstring corpus, `corpus.split_corpus(build_corpus())`).

Bits per byte divide out the tokenizer (loss x tokens / bytes / ln 2), so
models with different vocabularies compare. ``--write-card`` stores the
figures in the first folder's card under ``heldout``, with the loss on a
24-window slice that `tests/service/test_lm_bundled.py` recomputes from the weights.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from genai_tui import corpus
from genai_tui.paths import asset

SLICE_WINDOWS = 24
"""A slice small enough for a test to recompute (tests/service/test_lm_bundled.py)."""


def figures(model_dir: Path, windows: int) -> dict:
    import torch

    from genai_tui.service.generate import load_model
    from genai_tui.service.train_lm import mean_loss
    from genai_tui.service.train_lm import windows as make_windows

    lm = load_model(model_dir)
    block = lm.model.config.block_size
    docs = corpus.source_documents()
    _, held = corpus.split_documents(docs)
    texts = {"sources": corpus.join_documents(held),
             "docs_tail": corpus.split_corpus(corpus.build_corpus(), 0.05)[1]}
    out: dict = {"model": str(model_dir), "windows": windows, "tokens_per_window": block}
    for name, text in texts.items():
        ids = torch.tensor(lm.tokenizer.encode(text), dtype=torch.long)
        x, y = make_windows(ids, block, windows)
        loss = mean_loss(lm.model, x, y, 16)
        n_bytes = len(text.encode("utf-8"))
        sx, sy = make_windows(ids, block, SLICE_WINDOWS)
        out[name] = {"loss": round(loss, 4), "perplexity": round(math.exp(loss), 2),
                     "slice_loss": round(mean_loss(lm.model, sx, sy, 16), 4),
                     "slice_windows": int(sx.shape[0]),
                     "bits_per_byte": round(loss * len(ids) / n_bytes / math.log(2), 4),
                     "tokens": len(ids), "bytes": n_bytes,
                     "windows": int(x.shape[0])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=[asset("lm")])
    parser.add_argument("--windows", type=int, default=512)
    parser.add_argument("--write-card", action="store_true")
    args = parser.parse_args()
    results = [figures(m, args.windows) for m in args.models]
    for r in results:
        print(json.dumps(r))
    if args.write_card:
        card_path = args.models[0] / "card.json"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["heldout"] = {k: v for k, v in results[0].items() if k != "model"}
        card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
