"""Generation speed of the bundled language model, against Hugging Face in the same run.

Measures, on ``assets/lm`` (single torch thread, like `genai-tui generate`):

1. ours, KV cache: the full service (`genai_tui.service.generate.generate`,
   every `TokenStep` with top-10 candidates before/after the knobs and per
   stage, as the pane asks), greedy and sampled (temperature 0.8, top-k 50,
   top-p 0.95); and greedy without candidate lists (``top_n=0``, what the
   CLI's text mode asks);
2. ours, model only: the `IncrementalDecoder` + argmax loop (no TokenSteps);
3. Hugging Face ``GPT2LMHeadModel.generate`` on the same weights converted
   (after checking the converted model's logits match ours), greedy and
   with the same sampling knobs;
4. ours without the cache: every token recomputes the whole context;
5. time to first token of ``genai-tui generate`` as a fresh process
   (process start, imports, model load, prompt, first token on stdout);
6. the generate pane's on-screen vs headless tokens/s, when
   ``benchmarks/generate_pane.py`` provides ``measure_pane``.

Each measurement is repeated (rounds interleaved) and the best round kept.
Run: ``.venv/bin/python benchmarks/generate.py [--tokens N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPT = "The assert statement"
SAMPLED = dict(temperature=0.8, top_k=50, top_p=0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200, help="new tokens per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-pane", action="store_true", help="skip the pane measurement")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    from genai_tui.models.gpt import IncrementalDecoder, hf_gpt2_config_kwargs
    from genai_tui.models.gpt import to_hf_gpt2_state_dict as to_hf
    from genai_tui.service import generate as gen

    lm = gen.load_model()
    model = lm.model
    n = args.tokens
    prompt_ids = gen.prompt_ids(PROMPT, lm)
    if len(prompt_ids) + n > model.config.block_size:
        raise SystemExit(f"--tokens too large for block_size {model.config.block_size}")
    print(f"model: {lm.describe()} ({lm.path}); prompt {PROMPT!r} ({len(prompt_ids)} tokens), "
          f"{n} new tokens, torch {torch.__version__}, 1 thread, best of {args.rounds}")

    try:
        import transformers
    except ImportError:
        transformers = None
        print("transformers is not installed (pip install -e '.[bench]'): skipping the HF peer")
    hf = None
    if transformers is not None:
        transformers.logging.set_verbosity_error()
        hf = transformers.GPT2LMHeadModel(
            transformers.GPT2Config(**hf_gpt2_config_kwargs(model.config))).eval()
        missing, unexpected = hf.load_state_dict(to_hf(model), strict=False)
        assert not unexpected, unexpected
        assert all(k.endswith("attn.bias") or k.endswith("masked_bias") for k in missing), missing
        ids = torch.tensor([prompt_ids + list(range(100, 140))])
        with torch.inference_mode():
            diff = float((hf(ids).logits - model(ids)).abs().max())
        print(f"converted HF GPT2LMHeadModel logits vs ours: max |diff| = {diff:.2e}")
        if diff > 1e-3:
            raise SystemExit("converted weights do not reproduce our logits")

    def ours_service(top_n: int = 10, **knobs) -> float:
        k = gen.Knobs(max_tokens=n, seed=0, **knobs)
        t = time.perf_counter()
        count = sum(1 for _ in gen.generate(PROMPT, k, lm, top_n=top_n))
        assert count == n
        return time.perf_counter() - t

    def ours_model_only() -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            dec = IncrementalDecoder(model)
            logits = dec.prefill(prompt_ids)
            for _ in range(n):
                logits = dec.step(int(logits.argmax()))
        return time.perf_counter() - t

    def ours_no_cache() -> float:
        t = time.perf_counter()
        ctx = list(prompt_ids)
        with torch.inference_mode():
            for _ in range(n):
                logits = model(torch.tensor([ctx[-model.config.block_size:]]))[0, -1]
                ctx.append(int(logits.argmax()))
        return time.perf_counter() - t

    def hf_generate(sample: bool) -> float:
        ids = torch.tensor([prompt_ids])
        extra = dict(do_sample=True, **SAMPLED) if sample else dict(do_sample=False)
        torch.manual_seed(0)
        t = time.perf_counter()
        with torch.inference_mode():
            out = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                              min_new_tokens=n, pad_token_id=0, eos_token_id=None,
                              use_cache=True, **extra)
        assert out.shape[1] == len(prompt_ids) + n
        return time.perf_counter() - t

    runs = {
        "ours: service, KV cache, greedy": lambda: ours_service(greedy=True),
        "ours: service, KV cache, sampled": lambda: ours_service(**SAMPLED),
        "ours: service, no candidate lists (CLI), greedy": lambda: ours_service(0, greedy=True),
        "ours: model only (KV cache + argmax)": ours_model_only,
        "ours: no KV cache, greedy": ours_no_cache,
    }
    if hf is not None:
        runs["HF GPT2LMHeadModel.generate, greedy"] = lambda: hf_generate(False)
        runs["HF GPT2LMHeadModel.generate, sampled"] = lambda: hf_generate(True)
    # greedy equality check: the same weights give the same tokens
    if hf is not None:
        ours_ids = [s.id for s in gen.generate(PROMPT, gen.Knobs(max_tokens=40, greedy=True), lm)]
        with torch.inference_mode():
            hf_ids = hf.generate(torch.tensor([prompt_ids]), max_new_tokens=40, min_new_tokens=40,
                                 do_sample=False, pad_token_id=0, eos_token_id=None)
        same = hf_ids[0, len(prompt_ids):].tolist() == ours_ids
        print(f"greedy tokens identical to HF's (40 tokens): {same}")

    for fn in runs.values():  # warm-up
        fn()
    best = {name: float("inf") for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            best[name] = min(best[name], fn())
    tps = {name: n / t for name, t in best.items()}
    print()
    print(f"| {'measurement':<48} | {'tokens/s':>9} |")
    print(f"|{'-' * 50}|{'-' * 11}:|")
    for name, value in tps.items():
        print(f"| {name:<48} | {value:>9,.0f} |")
    print()
    g, s = tps["ours: service, KV cache, greedy"], tps["ours: service, KV cache, sampled"]
    if hf is not None:
        hg = tps["HF GPT2LMHeadModel.generate, greedy"]
        hs = tps["HF GPT2LMHeadModel.generate, sampled"]
        print(f"ours (service) / HF generate: greedy {g / hg:.2f}x, sampled {s / hs:.2f}x "
              "(target >= 3x)")
    print(f"KV cache speed-up (model only vs no cache): "
          f"{tps['ours: model only (KV cache + argmax)'] / tps['ours: no KV cache, greedy']:.2f}x")
    print(f"service overhead (TokenStep records, top-10 lists, X-ray) vs model only: "
          f"{g / tps['ours: model only (KV cache + argmax)']:.2f}x of the bare loop")

    ttft = [time_to_first_token() for _ in range(3)]
    print(f"time to first token, `genai-tui generate` as a new process: median "
          f"{statistics.median(ttft):.2f} s (runs: {', '.join(f'{t:.2f}' for t in ttft)}; "
          "target < 3 s)")

    if not args.no_pane:
        pane_bench = ROOT / "benchmarks" / "generate_pane.py"
        if pane_bench.exists():
            sys.path.insert(0, str(pane_bench.parent))
            try:
                from generate_pane import measure_pane  # type: ignore[import-not-found]

                r = measure_pane(tokens=1024)
                print(f"pane: on-screen {r['onscreen_tps']:,.0f} tokens/s vs headless "
                      f"{r['headless_tps']:,.0f} tokens/s = {r['ratio']:.0%} (target >= 90%)")
            except Exception as e:  # noqa: BLE001 - report, do not hide the other figures
                print(f"pane measurement failed: {type(e).__name__}: {e}")
        else:
            print("pane measurement: benchmarks/generate_pane.py not present")


def time_to_first_token() -> float:
    exe = Path(sys.executable).with_name("genai-tui")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "genai_tui"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t = time.perf_counter()
    proc = subprocess.Popen(cmd + ["generate", PROMPT, "--greedy", "-n", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - t
    proc.communicate()
    if not first or proc.returncode != 0:
        raise SystemExit("genai-tui generate failed")
    return elapsed


if __name__ == "__main__":
    main()
