"""Generation service: the local back end's model and its token-by-token generator.

`generate` yields one `TokenStep` per token; the pane and the CLI reach it
through `genai_tui.service.backend.LocalGenerator` (the `TextGenerator`
contract, shared with the remote OpenAI-compatible back end). The knobs, their
ranges and `validate` live in the knob registry (`genai_tui.sampling.knobs`);
they are re-exported here. torch is imported inside functions only, so
importing this module stays cheap (the app paints before any model loads).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genai_tui.errors import AssetError, UserError
from genai_tui.paths import rebuild_hint
from genai_tui.sampling.knobs import (
    DEFAULT_ORDER,
    STAGE_NAMES,
    Knobs,
    default_knobs,
    parse_order,
    validate,
)
from genai_tui.textsafe import bytes_text

if TYPE_CHECKING:
    from genai_tui.models.gpt import GPT
    from genai_tui.tokenizers.base import Tokenizer

__all__ = [
    "DEFAULT_ORDER", "STAGE_NAMES", "Candidate", "Knobs", "LanguageModel", "StageTrace",
    "TokenStep", "default_knobs", "generate", "load_model", "parse_order", "prompt_ids",
    "validate",
]


@dataclass(frozen=True)
class Candidate:
    id: int
    token: str
    prob: float


@dataclass(frozen=True)
class StageTrace:
    """The distribution one sampler stage leaves (the "sampler X-ray")."""

    name: str
    """e.g. "temperature", "top-k", "top-p"."""
    label: str
    """Human text with the setting, e.g. "top-p 0.9"."""
    kept: int
    """How many tokens still have non-zero probability after this stage."""
    top: list[Candidate]


@dataclass(frozen=True)
class TokenStep:
    """One generated token, with everything needed to explain the choice."""

    index: int
    id: int
    """The token id (a remote back end without ids numbers token texts itself)."""
    token: str
    """Text this token adds (complete UTF-8 only; see StreamDecoder)."""
    prob: float
    """Probability of the chosen token after the knobs."""
    top_before: list[Candidate]
    top_after: list[Candidate]
    stages: list[StageTrace]
    entropy: float
    """Entropy (nats) of the model's raw distribution at this step (NaN: unknown)."""
    elapsed: float
    """Seconds since generation started."""
    raw_prob: float = 0.0
    """Probability of the chosen token under the model's raw distribution (before the knobs)."""
    finish: str | None = None
    """Set on the last step: "stop" (a stop string appeared) or "length" (max_tokens)."""
    speculated: bool = False
    """Chosen from logits a speculative pass computed ahead (the previous token
    was a guess that came true): this token cost no forward pass of its own.
    A generation of n tokens ran n - (speculated tokens) passes."""
    cut: frozenset[int] = frozenset()
    """Ids among ``top_before`` that the knobs removed (probability 0 after them)."""
    has_probs: bool = True
    """False when the back end returned no probability for this token (a server
    without logprobs): ``prob``/``raw_prob`` are then meaningless, not "unlikely"."""


CARD_FILE = "card.json"
"""The model card beside the weights (corpus, steps, seed, metrics, command, tokenizer)."""
PROMPT_SEPARATOR = "\n\n"
"""What an empty prompt starts from: the corpus's document separator (a blank line)."""


class LanguageModel:
    """A loaded language model: the network, its tokenizer and its card.

    Not thread-safe for concurrent generations (they share nothing but the
    weights, so two threads may generate at once; each `generate` call has its
    own KV cache).
    """

    def __init__(self, model: GPT, tokenizer: Tokenizer, card: dict | None = None,
                 path: Path | None = None) -> None:
        self.model = model
        """The `genai_tui.models.gpt.GPT` network (eval mode, float32)."""
        self.tokenizer = tokenizer
        """A `genai_tui.tokenizers.base.Tokenizer` (byte-level)."""
        self.card = card or {}
        self.path = path
        self._token_bytes = [tokenizer.token_bytes(i) for i in range(tokenizer.vocab_size)]
        self.token_texts: list[str] = [bytes_text(b) for b in self._token_bytes]
        """Per id: the token's text; bytes that are only part of a character show as ⟨xx⟩."""

    @property
    def name(self) -> str:
        return str(self.card.get("name") or (self.path.name if self.path else "lm"))

    @property
    def vocab_size(self) -> int:
        return self.model.config.vocab_size

    @property
    def block_size(self) -> int:
        return self.model.config.block_size

    def num_params(self) -> int:
        return self.model.num_params()

    def describe(self) -> str:
        """Short text for a status bar, e.g. "GPT 4.3M params, vocab 4096, ctx 256"."""
        c = self.model.config
        return (f"GPT {self.num_params() / 1e6:.1f}M params, {c.n_layer} layers, "
                f"vocab {c.vocab_size}, ctx {c.block_size}")

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def token_bytes(self, token_id: int) -> bytes:
        return self._token_bytes[token_id]

    def decode(self, ids: list[int]) -> str:
        return b"".join(self._token_bytes[i] for i in ids).decode("utf-8", errors="replace")



# -- loading -----------------------------------------------------------------

_default_lock = threading.Lock()
_default_model: LanguageModel | None = None


def default_model_dir() -> Path:
    """The bundled model: ``assets/lm/``."""
    from genai_tui.paths import asset

    return asset("lm")


def load_model(path: str | os.PathLike[str] | None = None) -> LanguageModel:
    """Load a model folder (``config.json``, ``model.safetensors``, ``card.json``
    and the tokenizer file the card names). ``None``: the bundled model,
    loaded once per process and shared.

    Raises `AssetError` (a `UserError`) naming the file when anything is
    missing or corrupt.
    """
    global _default_model
    if path is None:
        with _default_lock:
            if _default_model is None:
                _default_model = _load_dir(default_model_dir())
            return _default_model
    return _load_dir(Path(path))


def _load_dir(directory: Path) -> LanguageModel:

    from genai_tui.models import gpt

    if not directory.is_dir():
        if directory.is_file():
            raise AssetError(f"model path {str(directory)!r} is a file; give the model's folder "
                             f"(with {gpt.CONFIG_FILE}, {gpt.WEIGHTS_FILE}, {CARD_FILE})")
        raise AssetError(f"model folder {str(directory)!r} does not exist; "
                         + rebuild_hint(directory))
    hint = rebuild_hint(directory)
    card_path = directory / CARD_FILE
    card = _read_json(card_path, "model card", hint)
    config = _read_json(directory / gpt.CONFIG_FILE, "model config", hint)
    weights = directory / gpt.WEIGHTS_FILE
    if not weights.is_file():
        raise AssetError(f"model weights {str(weights)!r} are missing; {hint}")
    try:
        gpt_config = gpt.GPTConfig.from_dict(config)
    except (TypeError, ValueError, KeyError) as e:
        raise AssetError(f"model config {str(directory / gpt.CONFIG_FILE)!r} is not a valid "
                         f"GPT config ({e}); {hint}") from None
    tokenizer = _load_tokenizer(directory, card, hint)
    try:
        model = gpt.load_model(directory, config=gpt_config)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AssetError(f"model weights {str(weights)!r} are corrupt or do not match "
                         f"{gpt.CONFIG_FILE}: {why}; {hint}") from None
    if model.config.vocab_size != tokenizer.vocab_size:
        raise AssetError(f"{str(directory)!r}: the model has {model.config.vocab_size} token ids "
                         f"but its tokenizer has {tokenizer.vocab_size}")
    return LanguageModel(model, tokenizer, card, directory)


def _read_json(path: Path, what: str, hint: str) -> dict:
    """A JSON object from ``path``, or an `AssetError` that names the file and the fix."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetError(f"{what} {str(path)!r} is missing; {hint}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        why = type(e).__name__ if isinstance(e, UnicodeDecodeError) else str(e)
        raise AssetError(f"{what} {str(path)!r} is not valid JSON ({why}); {hint}") from None
    if not isinstance(data, dict):
        raise AssetError(f"{what} {str(path)!r} is not a JSON object; {hint}")
    return data


def _load_tokenizer(directory: Path, card: dict, hint: str) -> Tokenizer:
    spec = card.get("tokenizer") or {}
    kind = spec.get("kind", "bpe") if isinstance(spec, dict) else None
    if kind == "byte":
        from genai_tui.tokenizers.simple import ByteTokenizer

        return ByteTokenizer()
    if kind != "bpe" or not isinstance(spec.get("file"), str):
        raise AssetError(f"model card in {str(directory)!r} names no usable tokenizer "
                         "(expected {\"kind\": \"bpe\", \"file\": ...} or {\"kind\": \"byte\"}); "
                         + hint)
    from genai_tui.tokenizers.bpe import BPETokenizer

    file = directory / Path(spec["file"]).name  # the file lives beside the weights
    try:
        return BPETokenizer.load(file, name=spec.get("name") or None)
    except AssetError as e:
        raise AssetError(f"{e}; {hint}") from None


# -- generation ----------------------------------------------------------------


def generate(prompt: str, knobs: Knobs, model: LanguageModel | None = None, *,
             prefix_ids: list[int] | None = None, top_n: int = 10,
             speculative: bool = True) -> Iterator[TokenStep]:
    """Generate token by token; each item is one `TokenStep` (pulling one item
    computes one token, so a consumer can step, pause or stop at any moment).

    The knobs are validated before this returns (`UserError`). ``prefix_ids``
    are tokens already chosen after the prompt (a counterfactual branch
    continues from prompt + prefix); they are not yielded again, and
    ``TokenStep.index`` counts from the end of the prompt, so the first new
    token has index ``len(prefix_ids)``. ``max_tokens`` counts new tokens.
    The step that ends the generation has ``finish`` set ("stop": a stop
    string appeared, included in the output; "length": ``max_tokens``).

    An empty prompt starts from the corpus's document separator (a blank
    line). When the context fills ``block_size`` positions, the oldest quarter
    is dropped and the rest re-encoded (a sliding window).

    ``speculative`` (default) guesses upcoming tokens by prompt lookup and
    verifies them in the same forward pass (`SpeculativeDecoder`): every
    choice is still made from the logits plain decoding gives, so the tokens
    are the same (same seed, same text); only the speed differs.
    """
    validate(knobs)
    if not isinstance(top_n, int) or top_n < 0:
        raise UserError(f"top_n must be >= 0, got {top_n!r}")
    lm = model if model is not None else load_model()
    if prefix_ids is not None:
        bad = [i for i in prefix_ids if not 0 <= i < lm.vocab_size]
        if bad:
            raise UserError(f"prefix token id {bad[0]} is not in the vocabulary")
    prompt_ids = lm.encode(prompt) or lm.encode(PROMPT_SEPARATOR)
    return _generate(lm, prompt_ids, list(prefix_ids or []), knobs, top_n, speculative)


def prompt_ids(prompt: str, model: LanguageModel | None = None) -> list[int]:
    """The token ids `generate` feeds for ``prompt``."""
    lm = model if model is not None else load_model()
    return lm.encode(prompt) or lm.encode(PROMPT_SEPARATOR)


def _generate(lm: LanguageModel, prompt_ids: list[int], prefix: list[int], knobs: Knobs,
              top_n: int, speculative: bool) -> Iterator[TokenStep]:
    import torch

    from genai_tui.models.gpt import IncrementalDecoder
    from genai_tui.models.speculative import SpeculativeDecoder
    from genai_tui.sampling.chain import build_chain
    from genai_tui.tokenizers.streaming import StreamDecoder

    started = time.perf_counter()
    chain = build_chain(knobs)
    is_greedy = bool(chain) and chain[-1].name == "greedy"
    needs_counts = any(s.name == "penalties" for s in chain)
    generator = None
    if not is_greedy:
        generator = torch.Generator()
        generator.manual_seed(knobs.seed if knobs.seed is not None
                              else int.from_bytes(os.urandom(8), "little") >> 1)
    texts = lm.token_texts
    stream = StreamDecoder(lm.tokenizer)
    for i in prefix:  # prime the decoder: a prefix may end inside a character
        stream.feed_token(i)
    stops = tuple(knobs.stop)
    longest_stop = max((len(s) for s in stops), default=0)
    tail = ""  # recent output text, long enough to find a stop string

    with torch.inference_mode():
        decoder = (SpeculativeDecoder(lm.model) if speculative
                   else IncrementalDecoder(lm.model))
        context = prompt_ids + prefix
        counts = torch.zeros(lm.vocab_size) if needs_counts else None
        # The penalties count generated tokens only (OpenAI's and vLLM's
        # semantics; a branch's prefix was generated too), or with
        # ``penalty_last_n`` the last N tokens of the context, prompt included
        # (llama.cpp's repeat_last_n window).
        window: deque[int] | None = None
        if counts is not None:
            seen = prefix
            if knobs.penalty_last_n:
                window = deque(context[-knobs.penalty_last_n:])
                seen = list(window)
            if seen:
                counts.index_add_(0, torch.tensor(seen), torch.ones(len(seen)))
        logits = decoder.prefill(context)  # (vocab,)
    speculated = False

    # A greedy stage leaves one token with probability 1: its row is known
    # without computing it, so only the stages before it are run.
    soft_chain = chain[:-1] if is_greedy else chain
    native = _NativeSampler.create(soft_chain, knobs, lm, top_n)
    for n in range(knobs.max_tokens):
        if native is not None and native.prepare(logits):
            # the same chain and X-ray in C (_native/sampler.c); one uniform per
            # sampled token, drawn from the same generator as `draw` does
            u = 0.0 if is_greedy else float(torch.rand(1, generator=generator,
                                                       dtype=torch.float32))
            token, probs_of_token, entropy_value, kept, tops, cut = native.finish(
                is_greedy, u, texts)
        else:
            token, probs_of_token, entropy_value, kept, tops, cut = _torch_step(
                lm, logits, soft_chain, counts, is_greedy, generator, top_n, texts)
        if is_greedy:
            cut = frozenset(c.id for c in tops[0] if c.id != token)
            probs_of_token.append(1.0)
            kept.append(1)
            tops.append([Candidate(token, texts[token], 1.0)] if top_n else [])
        stage_traces = [StageTrace(s.name, s.label, kept[j], tops[j + 1])
                        for j, s in enumerate(chain)]
        text = stream.feed_token(token)
        finish = None
        if stops:
            tail = (tail + text)[-(longest_stop + len(text) + 1):]
            if any(s in tail for s in stops):
                finish = "stop"
        if finish is None and n == knobs.max_tokens - 1:
            finish = "length"
        if finish is not None:
            text += stream.flush()
        yield TokenStep(
            index=len(prefix) + n, id=token, token=text, prob=probs_of_token[-1],
            top_before=tops[0], top_after=tops[-1], stages=stage_traces,
            entropy=entropy_value, elapsed=time.perf_counter() - started,
            raw_prob=probs_of_token[0], finish=finish, speculated=speculated, cut=cut)
        if finish is not None:
            return
        with torch.inference_mode():
            if counts is not None:
                counts[token] += 1
                if window is not None:
                    window.append(token)
                    if len(window) > knobs.penalty_last_n:
                        counts[window.popleft()] -= 1
            logits = decoder.step(token)
            speculated = speculative and decoder.last_from_guess


def _torch_step(lm: LanguageModel, logits, soft_chain, counts, is_greedy: bool,  # noqa: ANN001
                generator, top_n: int, texts: list[str]) -> tuple:
    """One token's chain, choice and X-ray with PyTorch: (token, probability of
    it per row, raw entropy, survivors per stage row, top candidates per row, cut)."""
    import torch

    from genai_tui.sampling.chain import draw, run_chain

    with torch.inference_mode():
        stage_logits = run_chain(soft_chain, logits, counts) if soft_chain else []
        # Row 0: the raw model; row j: what stage j leaves. One softmax for all.
        scores = torch.stack([logits, *stage_logits]) if stage_logits else logits.view(1, -1)
        every = torch.softmax(scores, dim=-1)  # (R, vocab)
        if is_greedy:  # the first maximum (max() is cheaper than argmax() on CPU)
            token = int(scores[-1].max(dim=-1).indices)
        else:
            token = draw(every[-1], generator)
        # Entropy of the raw distribution, -sum p log p (raw logits are finite;
        # exp of a log-softmax with -inf rows is ~3x slower than a softmax).
        logp = torch.log_softmax(logits, dim=-1)
        parts = [every[:, token], torch.dot(every[0], logp).view(1)]
        if stage_logits:  # survivors per stage row
            parts.append(torch.count_nonzero(every[1:], dim=-1).to(every.dtype))
        numbers = torch.cat(parts).tolist()
        if top_n:
            top_vals, top_ids = torch.topk(every, min(top_n, lm.vocab_size), dim=-1)
            # Which of the model's top-N the knobs removed (typical-p can cut the
            # most likely tokens, so "not in the after list" is not enough).
            cut_flags = (every[-1].index_select(0, top_ids[0]) == 0).tolist()
            top_vals, top_ids = top_vals.tolist(), top_ids.tolist()

    rows = len(stage_logits) + 1
    probs_of_token, entropy_value = numbers[:rows], max(0.0, -numbers[rows])
    kept = [int(k) for k in numbers[rows + 1:]]
    if top_n:
        tops = [[Candidate(i, texts[i], p) for i, p in
                 zip(top_ids[row], top_vals[row], strict=True) if p > 0.0]
                for row in range(rows)]
    else:
        tops = [[] for _ in range(rows)]
    cut = (frozenset(i for i, c in zip(top_ids[0], cut_flags, strict=True) if c)
           if top_n else frozenset())
    return token, probs_of_token, entropy_value, kept, tops, cut


_NATIVE_STAGES = {"temperature": 1, "top-k": 2, "top-p": 3, "min-p": 4}
"""Stages `_native/sampler.c` implements (its kinds); a chain with any other
(penalties, typical-p) runs on PyTorch."""


class _NativeSampler:
    """One generation's sampler chain and X-ray in C (`_native/sampler.c`):
    the same rules as `sampling.stages`, the same draw as `sampling.chain.draw`."""

    def __init__(self, lib, chain: list, knobs: Knobs, vocab: int, top_n: int) -> None:  # noqa: ANN001
        import ctypes

        values = {"temperature": knobs.temperature, "top-k": knobs.top_k,
                  "top-p": knobs.top_p, "min-p": knobs.min_p}
        self.lib, self.vocab, self.top_n = lib, vocab, min(top_n, vocab)
        self.stages = len(chain)
        rows = self.rows = self.stages + 1
        n = max(1, self.stages)
        self.kinds = (ctypes.c_int * n)(*[_NATIVE_STAGES[s.name] for s in chain])
        self.params = (ctypes.c_double * n)(*[float(values[s.name]) for s in chain])
        self.work = (ctypes.c_float * ((2 * rows + 1) * vocab))()
        self.idx = (ctypes.c_int * vocab)()
        width = max(1, rows * self.top_n)
        self.token_probs = (ctypes.c_float * rows)()
        self.kept = (ctypes.c_int * rows)()
        self.top_probs = (ctypes.c_float * width)()
        self.top_ids = (ctypes.c_int64 * width)()
        self.cut = (ctypes.c_int * max(1, self.top_n))()
        self.p_log_p = ctypes.c_double()
        self._p_log_p_ref = ctypes.byref(self.p_log_p)

    @classmethod
    def create(cls, chain: list, knobs: Knobs, lm: LanguageModel,
               top_n: int) -> _NativeSampler | None:
        """The native sampler for ``chain``, or None (no kernel, the model kept
        on PyTorch, or a stage only PyTorch has)."""
        from genai_tui._native import kernel

        lib = kernel()
        if (lib is None or not getattr(lm.model, "native_kernels", False)
                or lm.vocab_size % 8 or any(s.name not in _NATIVE_STAGES for s in chain)):
            return None
        return cls(lib, chain, knobs, lm.vocab_size, top_n)

    def prepare(self, logits) -> bool:  # noqa: ANN001 - (vocab,) float32 tensor
        """Run the stages on ``logits``; False where PyTorch must do this token."""
        import torch

        if logits.dtype != torch.float32 or logits.device.type != "cpu":
            return False
        logits = logits.contiguous()
        return self.lib.smp_prepare(logits.data_ptr(), self.vocab, self.stages, self.kinds,
                                    self.params, self.work, self.idx) == 0

    def finish(self, greedy: bool, u: float, texts: list[str]) -> tuple:
        """The token and its X-ray, as `_torch_step` returns them."""
        n, rows = self.top_n, self.rows
        token = self.lib.smp_finish(self.vocab, self.stages, int(greedy), u, n, self.work,
                                    self.token_probs, self.kept, self.top_probs, self.top_ids,
                                    self.cut, self._p_log_p_ref)
        probs_of_token = self.token_probs[:rows]
        kept = self.kept[1:rows]
        entropy_value = max(0.0, -self.p_log_p.value)
        if n:
            ids, probs = self.top_ids[:rows * n], self.top_probs[:rows * n]
            tops = [[Candidate(i, texts[i], p) for i, p in
                     zip(ids[r * n:(r + 1) * n], probs[r * n:(r + 1) * n], strict=True) if p > 0.0]
                    for r in range(rows)]
            cut = frozenset(i for i, c in zip(ids[:n], self.cut[:n], strict=True) if c)
        else:
            tops = [[] for _ in range(rows)]
            cut = frozenset()
        return token, probs_of_token, entropy_value, kept, tops, cut
