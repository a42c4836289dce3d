"""Generation speed of the bundled language model against llama.cpp and HF, in one run.

Measures, on ``assets/lm``, with 1 and with 2 torch threads (``--threads``;
`genai-tui generate` uses 1 unless told ``--threads``):

1. ours, KV cache: the full service (`genai_tui.service.generate.generate`,
   every `TokenStep` with top-10 candidates before/after the knobs and per
   stage, as the pane asks), greedy and sampled (temperature 0.8, top-k 50,
   top-p 0.95), with speculative decoding (the default) and without; and
   greedy without candidate lists (``top_n=0``, what the CLI's text mode asks);
2. ours, model only: `SpeculativeDecoder` and plain `IncrementalDecoder`,
   each + argmax (no TokenSteps);
3. Hugging Face ``GPT2LMHeadModel.generate`` on the same weights converted
   (after checking the converted model's logits match ours), greedy and
   with the same sampling knobs, and greedy with HF's own prompt-lookup
   speculation (``prompt_lookup_num_tokens``) for a like-for-like figure;
4. llama.cpp (llama-cpp-python, the ``bench`` extra) on the GGUF file our
   export writes (``genai-tui export --format gguf --dtype f16``: the same
   float16 weights), with as many threads as ours: its plain eval loop
   (``Llama.eval`` one token, argmax of its logits) and its own ``generate``
   with greedy sampling; after checking that its greedy ids equal ours;
5. ours without the cache: every token recomputes the whole context;
6. time to first token of ``genai-tui generate`` as a fresh process
   (process start, imports, model load, prompt, first token on stdout);
7. the generate pane's on-screen vs headless tokens/s, when
   ``benchmarks/generate_pane.py`` provides ``measure_pane``.

"Same weights": the bundled model stores float16 weights. Ours multiplies
them as float16 in the native kernel (`genai_tui/_native/f16gemm.c`, float32
accumulation); HF gets the very same values as float32 (its CPU default). The
script checks the logits of both our paths against HF's and that greedy
decoding gives HF's tokens for the whole run length.

Each measurement is repeated (rounds interleaved) and the median round kept;
the load average is printed with every table. Also printed: the share of a
sampled token's time that goes to the sampler chain and the candidate lists
(everything in the service but the decoder).
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-pane", action="store_true", help="skip the pane measurement")
    parser.add_argument("--threads", default="1,2", help="torch thread counts to measure")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    import torch

    from genai_tui import _native as native
    from genai_tui.models.gpt import IncrementalDecoder, hf_gpt2_config_kwargs
    from genai_tui.models.gpt import to_hf_gpt2_state_dict as to_hf
    from genai_tui.models.speculative import SpeculativeDecoder
    from genai_tui.service import generate as gen

    lm = gen.load_model()
    model = lm.model
    n = args.tokens
    prompt_ids = gen.prompt_ids(PROMPT, lm)
    if len(prompt_ids) + n > model.config.block_size:
        raise SystemExit(f"--tokens too large for block_size {model.config.block_size}")
    print(f"model: {lm.describe()} ({lm.path}); prompt {PROMPT!r} ({len(prompt_ids)} tokens), "
          f"{n} new tokens, torch {torch.__version__}, median of {args.rounds}, "
          f"load average {os.getloadavg()[0]:.1f}")

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
            hf_logits = hf(ids).logits[0]
            diff = float((hf_logits - model(ids)[0]).abs().max())
            fast = float((hf_logits - model.decode(ids[0], model.new_cache())).abs().max())
        print(f"converted HF GPT2LMHeadModel logits vs ours: max |diff| = {diff:.2e} "
              f"(forward), {fast:.2e} (decode path, float16-weight kernel: "
              f"{'on' if native.kernel() else 'not built'})")
        if max(diff, fast) > 1e-3:
            raise SystemExit("converted weights do not reproduce our logits")

    def ours_service(top_n: int = 10, speculative: bool = True, **knobs) -> float:
        k = gen.Knobs(max_tokens=n, seed=0, **knobs)
        t = time.perf_counter()
        count = sum(1 for _ in gen.generate(PROMPT, k, lm, top_n=top_n, speculative=speculative))
        assert count == n
        return time.perf_counter() - t

    def ours_model_only(decoder: type = SpeculativeDecoder) -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            dec = decoder(model)
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

    def hf_generate(sample: bool, lookup: int = 0) -> float:
        ids = torch.tensor([prompt_ids])
        extra = dict(do_sample=True, **SAMPLED) if sample else dict(do_sample=False)
        if lookup:
            extra["prompt_lookup_num_tokens"] = lookup
        torch.manual_seed(0)
        t = time.perf_counter()
        with torch.inference_mode():
            out = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                              min_new_tokens=n, pad_token_id=0, eos_token_id=None,
                              use_cache=True, **extra)
        assert out.shape[1] == len(prompt_ids) + n
        return time.perf_counter() - t

    runs = {
        "ours: service, greedy": lambda: ours_service(greedy=True),
        "ours: service, greedy, no speculation": lambda: ours_service(greedy=True,
                                                                      speculative=False),
        "ours: service, sampled": lambda: ours_service(**SAMPLED),
        "ours: service, sampled, no speculation": lambda: ours_service(**SAMPLED,
                                                                       speculative=False),
        "ours: service, no candidate lists (CLI), greedy": lambda: ours_service(0, greedy=True),
        "ours: model only (speculative + argmax)": ours_model_only,
        "ours: model only (plain KV cache + argmax)": lambda: ours_model_only(IncrementalDecoder),
        "ours: no KV cache, greedy": ours_no_cache,
    }
    if hf is not None:
        runs["HF GPT2LMHeadModel.generate, greedy"] = lambda: hf_generate(False)
        runs["HF GPT2LMHeadModel.generate, sampled"] = lambda: hf_generate(True)
        runs["HF generate, greedy, prompt lookup 4"] = lambda: hf_generate(False, 4)
    # greedy equality check: the same weights give the same tokens (ours with the
    # float16-weight kernel and speculation, HF in float32)
    if hf is not None:
        ours_ids = [s.id for s in gen.generate(PROMPT, gen.Knobs(max_tokens=n, greedy=True), lm)]
        with torch.inference_mode():
            hf_ids = hf.generate(torch.tensor([prompt_ids]), max_new_tokens=n, min_new_tokens=n,
                                 do_sample=False, pad_token_id=0, eos_token_id=None)
        same = hf_ids[0, len(prompt_ids):].tolist() == ours_ids
        print(f"greedy tokens identical to HF's ({n} tokens): {same}")
        if not same:
            raise SystemExit("ours and HF's greedy tokens differ")

    gguf_path = llama_gguf(lm)
    if gguf_path is not None:
        check = llama_peer(gguf_path, 1, prompt_ids, n)
        ours_greedy = [s.id for s in gen.generate(PROMPT, gen.Knobs(max_tokens=n, greedy=True), lm)]
        same = check.greedy_ids() == ours_greedy and check.generate_ids() == ours_greedy
        print(f"llama.cpp {check.version} on our GGUF export (f16): greedy ids identical to ours "
              f"({n} tokens, its eval loop and its generate): {same}")
        if not same:
            raise SystemExit("ours and llama.cpp's greedy tokens differ")
        del check

    print("\nsampler chain + candidate lists per sampled token (service minus decoder), 1 thread:")
    torch.set_num_threads(1)
    print("  " + sampler_share(gen, lm, n, SAMPLED))

    for threads in thread_counts:
        torch.set_num_threads(threads)
        print(f"\n### {threads} torch thread{'s' if threads > 1 else ''} "
              f"(load average {os.getloadavg()[0]:.1f})\n")
        thread_runs = dict(runs)
        fused = model._fused()
        if threads > 1 and fused is not None:
            def fixed_threads(fused=fused) -> float:
                fused.fix_threads(True)  # every pass on all threads, no timing choice
                try:
                    return ours_model_only(IncrementalDecoder)
                finally:
                    fused.fix_threads(False)
            thread_runs[f"ours: model only (plain), fused pass fixed at {threads} threads"] = (
                fixed_threads)
        if gguf_path is not None:
            peer = llama_peer(gguf_path, threads, prompt_ids, n)
            thread_runs[LLAMA_EVAL] = peer.time_eval
            thread_runs[LLAMA_GENERATE] = peer.time_generate
        measure(thread_runs, n, args.rounds, hf is not None)
        if model._fused() is not None:
            print(f"fused decode: the last pass used {model._fused().threads_choice(threads)} "
                  f"thread(s) of {threads} (it times both); {model._fused().stats()}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")

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

                r = measure_pane(tokens=1024, rounds=7)
                print(f"pane: on-screen {r['onscreen_tps']:,.0f} tokens/s vs headless "
                      f"{r['headless_tps']:,.0f} tokens/s = {r['ratio']:.0%} (target >= 90%)")
            except Exception as e:  # noqa: BLE001 - report, do not hide the other figures
                print(f"pane measurement failed: {type(e).__name__}: {e}")
        else:
            print("pane measurement: benchmarks/generate_pane.py not present")


LLAMA_EVAL = "llama.cpp f16: eval loop + argmax (peer)"
LLAMA_GENERATE = "llama.cpp f16: its generate, greedy"


def measure(runs: dict, n: int, rounds: int, with_hf: bool) -> None:
    for fn in runs.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            times[name].append(fn())
    tps = {name: n / statistics.median(t) for name, t in times.items()}
    llama = max((tps[k] for k in (LLAMA_EVAL, LLAMA_GENERATE) if k in tps), default=None)
    peer = {name: ("HF GPT2LMHeadModel.generate, sampled" if "sampled" in name
                   else "HF GPT2LMHeadModel.generate, greedy") for name in runs}
    print(f"| {'measurement':<50} | {'tokens/s':>9} | {'vs llama.cpp':>12} | {'vs HF':>6} |")
    print(f"|{'-' * 52}|{'-' * 10}:|{'-' * 13}:|{'-' * 7}:|")
    for name, value in tps.items():
        ratio = f"{value / tps[peer[name]]:.2f}x" if with_hf else "-"
        vs_llama = f"{value / llama:.2f}x" if llama else "-"
        print(f"| {name:<50} | {value:>9,.0f} | {vs_llama:>12} | {ratio:>6} |")
    print("\n(vs llama.cpp: against the faster of its two greedy loops; vs HF: against HF "
          "sampled for sampled rows, HF greedy otherwise)")
    g = tps["ours: service, greedy"]
    sampled = tps["ours: service, sampled"]
    loop = tps["ours: model only (speculative + argmax)"]
    if llama:
        print(f"ours / llama.cpp greedy: service greedy {g / llama:.2f}x (target >= 1.0x), "
              f"service sampled with candidate lists {sampled / llama:.2f}x (target >= 0.8x), "
              f"model loop {loop / llama:.2f}x")
    if with_hf:
        hf_greedy = tps["HF GPT2LMHeadModel.generate, greedy"]
        hf_sampled = tps["HF GPT2LMHeadModel.generate, sampled"]
        print(f"ours (service) / HF generate: greedy {g / hf_greedy:.2f}x, "
              f"sampled {sampled / hf_sampled:.2f}x, model loop {loop / hf_greedy:.2f}x; "
              "ours greedy / HF greedy with its prompt lookup: "
              f"{g / tps['HF generate, greedy, prompt lookup 4']:.2f}x")
    model_only = tps["ours: model only (plain KV cache + argmax)"]
    print(f"KV cache speed-up (plain model loop vs no cache): "
          f"{model_only / tps['ours: no KV cache, greedy']:.2f}x; speculation speed-up: model loop "
          f"{loop / model_only:.2f}x, service greedy "
          f"{g / tps['ours: service, greedy, no speculation']:.2f}x, service sampled "
          f"{sampled / tps['ours: service, sampled, no speculation']:.2f}x")


def sampler_share(gen, lm, n: int, knobs: dict) -> str:  # noqa: ANN001 - modules
    """Time in the service beyond the decoder's steps, per token, for sampled generation."""
    from genai_tui.models.gpt import IncrementalDecoder

    spent = [0.0]
    step = IncrementalDecoder.step

    def timed_step(self, token):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        try:
            return step(self, token)
        finally:
            spent[0] += time.perf_counter() - t

    results = []
    IncrementalDecoder.step = timed_step
    try:
        for _ in range(5):
            spent[0] = 0.0
            t = time.perf_counter()
            count = sum(1 for _ in gen.generate(PROMPT, gen.Knobs(max_tokens=n, seed=0, **knobs),
                                                lm, speculative=False))
            total = time.perf_counter() - t
            results.append((total - spent[0], total))
    finally:
        IncrementalDecoder.step = step
    rest, total = sorted(results)[len(results) // 2]
    setting = ", ".join(f"{k} {v}" for k, v in knobs.items())
    return (f"{rest / count * 1e6:.0f} us of {total / count * 1e6:.0f} us per token "
            f"({rest / total:.0%}; no speculation, {setting})")


def llama_gguf(lm) -> Path | None:  # noqa: ANN001 - LanguageModel
    """Our model written by our GGUF export (f16), or None without llama-cpp-python."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("llama-cpp-python is not installed (pip install -e '.[bench]'): skipping llama.cpp")
        return None
    import tempfile

    from genai_tui.service.export import export_gguf

    path = Path(tempfile.mkdtemp(prefix="genai-tui-bench-")) / "lm-f16.gguf"
    export_gguf(lm, path, dtype="f16")
    return path


class llama_peer:  # noqa: N801 - reads as a function at the call site
    """llama.cpp on ``path`` with ``threads`` threads: greedy ids and timings of ``n`` tokens."""

    def __init__(self, path: Path, threads: int, prompt_ids: list[int], n: int) -> None:
        import llama_cpp

        self.version = llama_cpp.__version__
        self.llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_batch=256,
                                   n_threads=threads, n_threads_batch=threads, verbose=False)
        self.prompt_ids, self.n = prompt_ids, n

    def _eval_loop(self) -> tuple[list[int], float]:
        import numpy as np

        llm, vocab = self.llm, self.llm.n_vocab()
        t = time.perf_counter()
        llm.reset()
        llm.eval(self.prompt_ids)
        out = []
        for _ in range(self.n):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,))  # last row
            out.append(int(logits.argmax()))
            llm.eval(out[-1:])
        return out, time.perf_counter() - t

    def _generate(self) -> tuple[list[int], float]:
        t = time.perf_counter()
        out = []
        for token in self.llm.generate(self.prompt_ids, top_k=1, temp=0.0, reset=True):
            out.append(token)
            if len(out) == self.n:
                break
        return out, time.perf_counter() - t

    def greedy_ids(self) -> list[int]:
        return self._eval_loop()[0]

    def generate_ids(self) -> list[int]:
        return self._generate()[0]

    def time_eval(self) -> float:
        return self._eval_loop()[1]

    def time_generate(self) -> float:
        return self._generate()[1]


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
