"""Beam-search speed of the bundled language model, against Hugging Face in the same run.

Ours: `genai_tui.service.beam.beam_generate` (what `genai-tui generate --beam 4`
and the Generate pane run: one KV-cache row per live beam, every step's live,
pruned and finished beams recorded). Peer: ``transformers``
``GPT2LMHeadModel.generate(num_beams=4)`` on the same weights, loaded from the
folder `genai-tui export --format hf` writes (the bundled LM converted; its
logits are checked against ours first, float32 both).

Two settings per prompt:

* ``full``: no end token, every hypothesis runs ``--tokens`` new tokens
  (a pure throughput figure);
* ``paragraph``: our default, a hypothesis ends at a token holding a blank
  line (HF gets the same ids as ``eos_token_id``), early_stopping=False.

Every round runs each engine once per prompt and setting, engines
interleaved; the script reports the median over rounds of tokens/s (new
tokens of the best hypothesis / wall time) and checks that both engines
return the same best sequence. One torch thread each (``--threads``).
Run: ``.venv/bin/python benchmarks/beam.py [--tokens N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = ["The assert statement", "def read_file(path):\n    ", "Return the number of"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=48, help="new tokens at most")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    import transformers

    from genai_tui.service import beam as bs
    from genai_tui.service import export as ex
    from genai_tui.service import generate as gen

    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    lm = gen.load_model()
    tmp = tempfile.TemporaryDirectory()
    ex.export_hf(lm, Path(tmp.name) / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(
        Path(tmp.name) / "hf", local_files_only=True).eval()
    ids0 = torch.tensor([gen.prompt_ids(PROMPTS[0], lm)])
    with torch.inference_mode():
        diff = (hf(ids0).logits - lm.model(ids0)).abs().max().item()
    print(f"bundled LM exported to HF: max |logit difference| {diff:.2e} (float32)")
    assert diff < 1e-3, diff
    paragraph_ends = bs.end_tokens(lm)

    def ours(prompt: str, setting: str) -> list[int]:
        settings = bs.BeamSettings(num_beams=args.beams, max_tokens=args.tokens,
                                   end_at_paragraph=setting == "paragraph")
        *_, last = bs.beam_generate(prompt, settings, lm)
        return list(last.ranking[0].tokens)

    def theirs(prompt: str, setting: str) -> list[int]:
        ids = gen.prompt_ids(prompt, lm)
        eos = list(paragraph_ends) if setting == "paragraph" else None
        with torch.inference_mode():
            out = hf.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids),
                              dtype=torch.long), num_beams=args.beams, do_sample=False,
                              max_new_tokens=args.tokens, eos_token_id=eos,
                              pad_token_id=eos[0] if eos else 0, length_penalty=1.0,
                              early_stopping=False)
        seq = out[0, len(ids):].tolist()
        if eos:  # HF pads a finished hypothesis after its end token
            for i, t in enumerate(seq):
                if t in paragraph_ends:
                    return seq[: i + 1]
        return seq

    engines = {"ours (service beam_generate)": ours, "Hugging Face generate": theirs}
    settings = ("full", "paragraph")
    rates: dict[tuple[str, str], list[float]] = {(e, s): [] for e in engines for s in settings}
    agree = {s: 0 for s in settings}
    lengths = {s: [] for s in settings}
    for prompt in PROMPTS:  # warm-up, and the agreement check
        for s in settings:
            a, b = ours(prompt, s), theirs(prompt, s)
            agree[s] += a == b
            lengths[s].append(len(a))
    for r in range(args.rounds):
        order = list(engines.items())
        if r % 2:
            order.reverse()
        for s in settings:
            for name, fn in order:
                tokens, t0 = 0, time.perf_counter()
                for prompt in PROMPTS:
                    tokens += len(fn(prompt, s))
                rates[(name, s)].append(tokens / (time.perf_counter() - t0))

    print(f"num_beams={args.beams}, max {args.tokens} new tokens, {len(PROMPTS)} prompts, "
          f"{args.rounds} rounds (median), torch threads {args.threads}, "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"{'setting':10} {'engine':30} {'tokens/s':>9} {'vs HF':>7}")
    for s in settings:
        peer = statistics.median(rates[("Hugging Face generate", s)])
        for name in engines:
            med = statistics.median(rates[(name, s)])
            print(f"{s:10} {name:30} {med:9.1f} {med / peer:6.2f}x")
        print(f"{'':10} same best sequence: {agree[s]}/{len(PROMPTS)} prompts; "
              f"lengths {lengths[s]}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
