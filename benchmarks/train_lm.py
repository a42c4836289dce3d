"""Language-model training throughput: the Pretrain stage against a nanoGPT-style loop.

Ours: `genai_tui.service.lifecycle.pretrain.Pretrain(...).events()`, the loop
the Train pane and ``genai-tui train pretrain`` run (random batch, cosine
learning rate, bf16 autocast optional, backward, clip, AdamW step, one
`Metrics` event per step). Evaluation and sampling intervals are set past the
end of the run, and the timing is the wall time between the `Metrics` events
of steps ``warmup`` and ``steps - 1``: optimizer steps only (the last step's
event also carries the final evaluation, so it is left out, as are the
warm-up steps).

Peer in the same run: a minimal plain-PyTorch loop written here, as in
Karpathy's nanoGPT (``model.py`` + ``train.py``): its own GPT class (pre-norm
blocks, ``F.scaled_dot_product_attention(is_causal=True)``, ``nn.GELU()``
(exact, as nanoGPT; ``--peer-gelu tanh`` gives it GPT-2's tanh approximation,
which ours uses), tied embeddings, GPT-2 init), ``get_batch`` by
``torch.stack`` of random slices, AdamW(betas 0.9, 0.95) with weight decay on
matrices only, the same cosine schedule, ``loss.backward();
clip_grad_norm_(1.0); opt.step()``, bf16 autocast on or off. Same token ids
(the stage's corpus and tokenizer) in the same batch order (its random starts
come from a generator seeded as the stage's), same shape, batch, learning rate
and thread count, so the two losses should track each other step by step. The
timing covers the same steps.

Configs: the Train pane's first default (2 layers, 4 heads, width 128, block
64, batch 32) and the bundled LM's shape (4 layers, 4 heads, width 256, block 256,
batch 16), each with bf16 autocast on and off. Rounds interleave the two
engines (order alternating); the figures are medians over rounds. The loss
printed is the mean of the last five steps' batch losses (first step's loss
beside it), to check both fall alike.
Both train on the bundled BPE's ids (``tokenizer="bpe"`` where the stage has
that setting: its default there is bytes).

Run: ``.venv/bin/python benchmarks/train_lm.py [--rounds N] [--threads N]
[--peer-gelu exact|tanh] [--quick]``
(``OMP_WAIT_POLICY=PASSIVE`` on a loaded machine).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402 - after the path is set
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CORPUS_BYTES = 1_000_000
PEER_GELU = {"approximate": "none"}


def _bpe_setting() -> dict[str, str]:
    """Where the stage can choose its tokenizer, the bundled BPE (the one the loop's
    ids come from; the stage's own default may be bytes)."""
    from genai_tui.service.lifecycle.pretrain import PretrainSettings

    return {"tokenizer": "bpe"} if "tokenizer" in PretrainSettings.__dataclass_fields__ else {}


BPE: dict[str, str] = {}


@dataclass(frozen=True)
class Config:
    name: str
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    batch_size: int
    steps: int


CONFIGS = [
    Config("pane default", 2, 4, 128, 64, 32, 40),
    Config("bundled shape", 4, 4, 256, 256, 16, 12),
]


# -- the peer: nanoGPT's model.py, trimmed to what training needs -------------

class NanoAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head = n_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class NanoBlock(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = NanoAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(**PEER_GELU),
                                 nn.Linear(4 * n_embd, n_embd))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    def __init__(self, vocab: int, block: int, n_layer: int, n_head: int, n_embd: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.h = nn.ModuleList([NanoBlock(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, dtype=torch.long))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                               ignore_index=-1)

    def configure_optimizers(self, weight_decay: float, lr: float) -> torch.optim.Optimizer:
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def get_lr(it: int, steps: int, peak: float, warmup: int) -> float:
    floor = peak / 10
    if it < warmup:
        return peak * (it + 1) / warmup
    ratio = min(1.0, (it - warmup) / max(1, steps - warmup))
    return floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - floor)


def nanogpt_run(cfg: Config, data: torch.Tensor, vocab: int, bf16: bool, lr: float,
                warmup_lr: int, skip: int, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    model = NanoGPT(vocab, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd)
    model.train()
    optimizer = model.configure_optimizers(0.1, lr)
    rng = torch.Generator().manual_seed(seed)  # the stage's batch order: the same windows
    losses: list[float] = []
    started = 0.0
    for it in range(cfg.steps - 1):  # the same steps ours times (its last one evaluates)
        if it == skip:
            started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, cfg.steps, lr, warmup_lr)
        ix = torch.randint(len(data) - cfg.block_size - 1, (cfg.batch_size,), generator=rng)
        x = torch.stack([data[i:i + cfg.block_size] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + cfg.block_size] for i in ix])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    tokens = (cfg.steps - 1 - skip) * cfg.batch_size * cfg.block_size
    return {"tokens_per_s": tokens / seconds, "first_loss": losses[0],
            "last_loss": statistics.fmean(losses[-5:]), "seconds": seconds}


# -- ours: the Pretrain stage's events ------------------------------------------

def ours_run(cfg: Config, bf16: bool, lr: float, warmup_lr: int, skip: int, seed: int
             ) -> dict[str, float]:
    from genai_tui.service.lifecycle.events import Metrics
    from genai_tui.service.lifecycle.pretrain import Pretrain, PretrainSettings

    settings = PretrainSettings(
        steps=cfg.steps, n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
        block_size=cfg.block_size, batch_size=cfg.batch_size, lr=lr, warmup=warmup_lr,
        eval_every=cfg.steps + 1, sample_every=cfg.steps + 1, sample_tokens=1,
        seed=seed, corpus_bytes=CORPUS_BYTES, bf16=bf16, **BPE)
    stamps: dict[int, float] = {}
    losses: list[float] = []
    reported = 0.0
    for event in Pretrain(settings).events():
        if isinstance(event, Metrics):
            stamps[event.step] = time.perf_counter()
            losses.append(event.values["loss"])
            if event.step == cfg.steps - 1:
                reported = event.values["tokens_per_s"]
    seconds = stamps[cfg.steps - 1] - stamps[skip]
    tokens = (cfg.steps - 1 - skip) * cfg.batch_size * cfg.block_size
    return {"tokens_per_s": tokens / seconds, "first_loss": losses[0],
            "last_loss": statistics.fmean(losses[-6:-1]), "seconds": seconds,
            "reported": reported}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--peer-gelu", choices=("exact", "tanh"), default="exact",
                        help="the loop's GELU: nanoGPT's exact one, or GPT-2's tanh "
                        "approximation (what ours computes)")
    parser.add_argument("--quick", action="store_true",
                        help="one round, fewer steps (a smoke run)")
    args = parser.parse_args()

    from genai_tui.service.generate import default_model_dir
    from genai_tui.service.lifecycle.pretrain import corpus_texts
    from genai_tui.service.lifecycle.trainee import encode_split
    from genai_tui.service.train_lm import TOKENIZER_FILE
    from genai_tui.tokenizers.bpe import BPETokenizer

    torch.set_num_threads(args.threads)
    BPE.update(_bpe_setting())
    PEER_GELU["approximate"] = "tanh" if args.peer_gelu == "tanh" else "none"
    configs = CONFIGS
    rounds = args.rounds
    if args.quick:
        rounds = 1
        configs = [Config(c.name, c.n_layer, c.n_head, c.n_embd, c.block_size, c.batch_size,
                          max(8, c.steps // 3)) for c in CONFIGS]
    lr, warmup_lr, skip, seed = 3e-3, 5, 3, 0
    tokenizer = BPETokenizer.load(default_model_dir() / TOKENIZER_FILE)
    train_text, val_text, description = corpus_texts(None, CORPUS_BYTES)
    data, _ = encode_split(tokenizer, train_text, val_text, 256)
    print(f"load average {os.getloadavg()[0]:.2f} at start; torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}; the loop's GELU: {args.peer_gelu}")
    print(f"{len(data):,} training tokens ({description}); lr {lr}, warm-up {warmup_lr} "
          f"steps; timing skips the first {skip} steps and the last")

    results: dict[tuple[str, bool, str], list[dict[str, float]]] = {}
    for r in range(rounds):
        for cfg in configs:
            for bf16 in (True, False):
                engines = ["ours", "nanoGPT loop"]
                if (r + (cfg is configs[1])) % 2:
                    engines.reverse()
                for engine in engines:
                    if engine == "ours":
                        out = ours_run(cfg, bf16, lr, warmup_lr, skip, seed)
                    else:
                        out = nanogpt_run(cfg, data, tokenizer.vocab_size, bf16, lr,
                                          warmup_lr, skip, seed)
                    results.setdefault((cfg.name, bf16, engine), []).append(out)
        print(f"round {r + 1}/{rounds} done, load average {os.getloadavg()[0]:.2f}",
              flush=True)

    print()
    print("| config | autocast | ours tokens/s | nanoGPT loop tokens/s | ours / loop | "
          "loss step 1 → last 5 (ours; loop) |")
    print("|---|---|---:|---:|---:|---|")
    for cfg in configs:
        for bf16 in (True, False):
            ours = results[(cfg.name, bf16, "ours")]
            peer = results[(cfg.name, bf16, "nanoGPT loop")]

            def med(rows: list[dict[str, float]], key: str) -> float:
                return statistics.median(row[key] for row in rows)

            shape = (f"{cfg.name}: {cfg.n_layer}L {cfg.n_head}H {cfg.n_embd}w, block "
                     f"{cfg.block_size}, batch {cfg.batch_size}, {cfg.steps} steps")
            print(f"| {shape} | {'bf16' if bf16 else 'float32'} | "
                  f"{med(ours, 'tokens_per_s'):,.0f} | {med(peer, 'tokens_per_s'):,.0f} | "
                  f"**{med(ours, 'tokens_per_s') / med(peer, 'tokens_per_s'):.2f}x** | "
                  f"{med(ours, 'first_loss'):.2f} → {med(ours, 'last_loss'):.2f}; "
                  f"{med(peer, 'first_loss'):.2f} → {med(peer, 'last_loss'):.2f} |")
    print()
    print("per round, ours/loop ratio: " + "; ".join(
        f"{c.name} {'bf16' if b else 'fp32'} " + ", ".join(
            f"{o['tokens_per_s'] / p['tokens_per_s']:.2f}" for o, p in zip(
                results[(c.name, b, 'ours')], results[(c.name, b, 'nanoGPT loop')],
                strict=True))
        for c in configs for b in (True, False)))
    print("ours' own Metrics tokens_per_s at the last timed step (includes the warm-up "
          "steps): " + ", ".join(
              f"{statistics.median(o['reported'] for o in results[(c.name, b, 'ours')]):,.0f}"
              for c in configs for b in (True, False)))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
