"""The encoder-decoder service: what the Transformer pane's seq2seq view and
`genai-tui seq2seq` call.

`translate` rewrites a date as ISO (greedy or beam search) and returns the
output with every attention map of the model on it: encoder self-attention
(bidirectional), decoder self-attention (causal) and cross-attention (output
characters by input characters), per layer and head. `decode_steps` yields
the same one output character at a time (with the maps so far), for a view
that shows the output appear. Arrays are NumPy; torch is imported inside
functions only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genai_tui.errors import AssetError, UserError
from genai_tui.service.beam import parse_early_stopping  # noqa: F401  (re-exported for callers)

MAX_INPUT_CHARS = 64
CARD_FILE = "card.json"
EXAMPLES = ("the 3rd of March, 2021", "March the 3rd, 2021", "Wednesday 3 March 2021",
            "03.03.2021", "Mar. 3rd 2021", "12 DECEMBER 1999", "July 4, 1776")
"""Inputs offered in the pane (the last is out of the training range: 1900-2099)."""


class Seq2SeqModel:
    """A loaded encoder-decoder with its card."""

    def __init__(self, model: Any, card: dict, path: Path | None = None) -> None:
        self.model = model
        self.card = card
        self.path = path

    @property
    def name(self) -> str:
        return str(self.card.get("name") or (self.path.name if self.path else "seq2seq"))

    def describe(self) -> str:
        c = self.model.config
        return (f"encoder-decoder {self.model.num_params() / 1e6:.2f}M params, "
                f"{c.n_enc_layer}+{c.n_dec_layer} layers x {c.n_head} heads, d {c.d_model}")

    def accuracy_note(self) -> str:
        m = self.card.get("metrics") or {}
        try:
            return (f"exact match {float(m['exact_match_seen_templates']):.1%} held-out dates, "
                    f"{float(m['exact_match_unseen_templates']):.1%} unseen templates")
        except (KeyError, TypeError, ValueError):
            return "no accuracy on the card"


_lock = threading.Lock()
_default: Seq2SeqModel | None = None


def default_dir() -> Path:
    from genai_tui.paths import asset

    return asset("seq2seq")


def load(path: str | None = None) -> Seq2SeqModel:
    """The bundled model (loaded once, shared) or a model folder. `AssetError` when
    files are missing or corrupt."""
    global _default
    if path is None:
        with _lock:
            if _default is None:
                _default = _load_dir(default_dir())
            return _default
    return _load_dir(Path(path))


def _load_dir(directory: Path) -> Seq2SeqModel:
    import json

    from genai_tui.models import seq2seq as s2s

    rebuild = " (rebuild it with 'genai-tui train seq2seq --bundled')" \
        if directory == default_dir() else ""
    if not directory.is_dir():
        raise AssetError(f"seq2seq model folder {str(directory)!r} does not exist{rebuild}")
    try:
        card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
        if not isinstance(card, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        raise AssetError(f"model card {str(directory / CARD_FILE)!r} is missing{rebuild}") from None
    except (OSError, ValueError) as e:
        raise AssetError(f"model card in {str(directory)!r} is unreadable: {e}{rebuild}") from None
    try:
        model = s2s.load_model(directory)
    except FileNotFoundError as e:
        raise AssetError(f"model file {str(e.filename)!r} is missing{rebuild}") from None
    except Exception as e:  # safetensors / JSON errors of corrupt files
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AssetError(f"seq2seq model in {str(directory)!r} is corrupt: {why}{rebuild}") \
            from None
    return Seq2SeqModel(model, card, directory)


def check_input(text: str) -> None:
    if not text.strip():
        raise UserError("type a date, e.g. 'the 3rd of March, 2021'")
    if len(text) > MAX_INPUT_CHARS:
        raise UserError(f"input is {len(text)} characters; the model reads at most "
                        f"{MAX_INPUT_CHARS}")


def check_beam(width: int, length_penalty: float) -> None:
    from genai_tui.sampling.beam import validate

    try:
        validate(width, length_penalty, False, 1)
    except ValueError as e:
        raise UserError(str(e)) from None


@dataclass(frozen=True)
class Translation:
    """One input rewritten, with the model's attention on it."""

    input: str
    input_tokens: list[str]
    """One per input position: the character, or ``<unk>`` for one outside printable ASCII."""
    output: str
    output_tokens: list[str]
    """One per generated position: characters, then ``<eos>`` if the model ended."""
    output_ids: list[int]
    probs: list[float]
    """Probability the model gave each output token."""
    encoder: list[Any]
    """Per encoder layer: (nh, S, S) NumPy array, rows = queries."""
    decoder: list[Any]
    """Per decoder layer: (nh, T, T); row t = the decoder input at t (BOS, out[:t])."""
    cross: list[Any]
    """Per decoder layer: (nh, T, S); row t = attention while predicting output token t."""
    beams: Any = None
    """The last `sampling.beam.BeamStep` when beam search was used (``ranking``), else None."""
    beam_steps: list[Any] = field(default_factory=list)
    """Every `BeamStep` of the search (live, pruned, finished per step)."""


def _ids(text: str) -> list[int]:
    from genai_tui.models.seq2seq import CharVocab

    return CharVocab.encode(text)


def _trace(m: Seq2SeqModel, text: str, out_ids: list[int], **extra: Any) -> Translation:
    """Teacher-forced traced pass over ``out_ids`` (the ends included)."""
    import torch

    from genai_tui.models.seq2seq import BOS, EOS, CharVocab

    src = torch.tensor([_ids(text)], dtype=torch.long)
    tgt = torch.tensor([[BOS] + out_ids], dtype=torch.long)
    with torch.inference_mode():
        logits, tr = m.model(src, tgt, trace=True)
    probs_all = torch.softmax(logits[0].float(), dim=-1)  # (T + 1, V)
    n = len(out_ids)
    probs = [float(probs_all[t, out_ids[t]]) for t in range(n)]
    chars = [i for i in out_ids if i != EOS]
    return Translation(
        input=text, input_tokens=[CharVocab.token(i) for i in _ids(text)],
        output=CharVocab.decode(chars),
        output_tokens=[CharVocab.token(i) for i in out_ids], output_ids=list(out_ids),
        probs=probs,
        encoder=[a[0].numpy() for a in tr.encoder],
        decoder=[a[0, :, :n, :n].numpy() for a in tr.decoder],
        cross=[a[0, :, :n].numpy() for a in tr.cross], **extra)


@dataclass(frozen=True)
class DecodeStep:
    """One output token, with the model's attention for everything produced so far."""

    index: int
    token: str
    prob: float
    translation: Translation
    done: bool


def decode_steps(text: str, model: Seq2SeqModel | None = None) -> Iterator[DecodeStep]:
    """Greedy decoding one token per item (validated before this returns)."""
    check_input(text)
    m = model if model is not None else load()
    return _decode_steps(text, m)


def _decode_steps(text: str, m: Seq2SeqModel) -> Iterator[DecodeStep]:
    import torch

    from genai_tui.models.seq2seq import BOS, EOS

    src = torch.tensor([_ids(text)], dtype=torch.long)
    out: list[int] = []
    with torch.inference_mode():
        memory = m.model.encode(src)
    for t in range(m.model.config.max_tgt_len):
        with torch.inference_mode():
            logits = m.model.decode(torch.tensor([[BOS] + out]), memory, src)[0, -1]
        nxt = int(logits.argmax())
        out.append(nxt)
        done = nxt == EOS or t == m.model.config.max_tgt_len - 1
        tr = _trace(m, text, out)
        yield DecodeStep(t, tr.output_tokens[-1], tr.probs[-1], tr, done)
        if done:
            return


class _Seq2SeqBeams:
    """`advance` for beam search: the decoder recomputes each live prefix (outputs are
    at most ``max_tgt_len`` tokens, so there is no cache to manage)."""

    def __init__(self, m: Seq2SeqModel, text: str) -> None:
        import torch

        from genai_tui.models.seq2seq import BOS

        self.model = m.model
        self.src = torch.tensor([_ids(text)], dtype=torch.long)
        with torch.inference_mode():
            self.memory = self.model.encode(self.src)  # (1, S, C)
            logits = self.model.decode(torch.tensor([[BOS]]), self.memory, self.src)[0, -1]
        self.first = torch.log_softmax(logits.float(), dim=-1)
        self.prefixes: list[list[int]] = [[BOS]]

    def advance(self, parents: list[int], tokens: list[int]) -> Any:
        import torch

        self.prefixes = [self.prefixes[p] + [t] for p, t in zip(parents, tokens, strict=False)]
        n = len(self.prefixes)
        with torch.inference_mode():
            logits = self.model.decode(torch.tensor(self.prefixes), self.memory.expand(n, -1, -1),
                                       self.src.expand(n, -1))[:, -1]  # (n, V)
        return torch.log_softmax(logits.float(), dim=-1)


def translate(text: str, model: Seq2SeqModel | None = None, *, beam: int = 1,
              length_penalty: float = 1.0, early_stopping: bool | str = False) -> Translation:
    """Rewrite ``text``: greedy (``beam=1``) or beam search of that width, with its maps."""
    check_input(text)
    check_beam(beam, length_penalty)
    m = model if model is not None else load()
    if beam == 1:
        *_, last = _decode_steps(text, m)
        return last.translation
    from genai_tui.models.seq2seq import EOS
    from genai_tui.sampling.beam import beam_search

    beams = _Seq2SeqBeams(m, text)
    steps = list(beam_search(beams.first, beams.advance, num_beams=beam,
                             max_new_tokens=m.model.config.max_tgt_len, eos_ids=(EOS,),
                             length_penalty=length_penalty, early_stopping=early_stopping))
    best = steps[-1].ranking[0]
    return _trace(m, text, list(best.tokens), beams=steps[-1], beam_steps=steps)


@dataclass(frozen=True)
class BeamEvent:
    """One step of the encoder-decoder's beam search, in text (what the view shows live)."""

    update: Any
    """The step as a `service.beam.BeamUpdate` (the Generate pane's beam renderer reads it)."""
    translation: Translation | None = None
    """On the last step: the best hypothesis with its attention maps."""


def beam_events(text: str, model: Seq2SeqModel | None = None, *, beam: int = 4,
                length_penalty: float = 1.0,
                early_stopping: bool | str = False) -> Iterator[BeamEvent]:
    """Beam search one `BeamEvent` per step; the last carries the `Translation` of the
    best hypothesis. Validated before this returns."""
    check_input(text)
    check_beam(beam, length_penalty)
    m = model if model is not None else load()
    return _beam_events(text, m, beam, length_penalty, early_stopping)


def _beam_events(text: str, m: Seq2SeqModel, beam: int, length_penalty: float,
                 early_stopping: bool | str) -> Iterator[BeamEvent]:
    from genai_tui.models.seq2seq import EOS, CharVocab
    from genai_tui.sampling.beam import beam_search
    from genai_tui.service.beam import BeamText, BeamUpdate

    def one(b: Any) -> BeamText:
        token = CharVocab.token(b.tokens[-1]) if b.tokens else ""
        return BeamText(tokens_text(list(b.tokens)), token, tuple(b.tokens), b.logprob, b.score,
                        b.parent)

    beams = _Seq2SeqBeams(m, text)
    steps: list[Any] = []
    for step in beam_search(beams.first, beams.advance, num_beams=beam,
                            max_new_tokens=m.model.config.max_tgt_len, eos_ids=(EOS,),
                            length_penalty=length_penalty, early_stopping=early_stopping):
        steps.append(step)
        update = BeamUpdate(step.index, [one(b) for b in step.live],
                            [one(b) for b in step.finished], [one(b) for b in step.pruned],
                            [one(b) for b in step.kept], step.done, step.stop_reason,
                            [one(b) for b in step.ranking])
        final = None
        if step.done:
            final = _trace(m, text, list(step.ranking[0].tokens), beams=step, beam_steps=steps)
        yield BeamEvent(update, final)


def tokens_text(ids: list[int]) -> str:
    """Beam tokens as text (``<eos>`` dropped)."""
    from genai_tui.models.seq2seq import CharVocab

    return CharVocab.decode(ids)


def result_json(t: Translation, digits: int = 4) -> dict:
    """The translation as plain JSON (attention maps as nested lists, rounded)."""
    from genai_tui.service.beam import beam_json

    def maps(arrays: list[Any]) -> list:
        return [a.round(digits).tolist() for a in arrays]

    data = {
        "input": t.input, "output": t.output, "input_tokens": t.input_tokens,
        "tokens": [{"token": tok, "id": i, "prob": round(p, 6)}
                   for tok, i, p in zip(t.output_tokens, t.output_ids, t.probs, strict=False)],
        "attention": {
            "layout": "encoder[layer][head][query][key] over input positions; "
                      "decoder[layer][head][t][t'] over the decoder input (BOS, outputs); "
                      "cross[layer][head][output token][input position]",
            "encoder": maps(t.encoder), "decoder": maps(t.decoder), "cross": maps(t.cross)},
    }
    if t.beams is not None:
        data["beam"] = {"steps": [beam_json(s, tokens_text) for s in t.beam_steps]}
        data["ranking"] = beam_json(t.beams, tokens_text)["ranking"]
    return data
