"""The text-generation contract: what the generate pane and `genai-tui generate` hold.

A `TextGenerator` is a back end: the local PyTorch model (`LocalGenerator`) or
an OpenAI-compatible server (`genai_tui.service.remote.RemoteGenerator`). Each
declares its `Capabilities` (which knobs it honours, which probabilities it
returns, whether it has a sampler X-ray, token ids, how it branches), and the
UI asks those instead of guessing. Generation returns a `TokenStream`: an
iterator of `TokenStep`s that also says which seed it used, what it noticed
about the prompt (cut to the context, empty) and can be aborted from another
thread.

No Textual, no torch at import time.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import KNOBS, Knobs, is_active, replace, validate
from genai_tui.service import generate as _local
from genai_tui.service.beam import BeamSettings, BeamUpdate, beam_updates
from genai_tui.service.generate import PROMPT_SEPARATOR, LanguageModel, TokenStep
from genai_tui.textsafe import escape_controls


@dataclass(frozen=True)
class Capabilities:
    """What a back end can do; the UI hides or explains what it cannot."""

    knobs: frozenset[str]
    """`Knobs` fields the back end honours (others are reported, never dropped silently)."""
    raw_probs: bool
    """Per token, the model's probability before the knobs (colours, candidates)."""
    processed_probs: bool
    """Per token, the distribution after the knobs (the candidates' "knobs" column)."""
    stage_xray: bool
    """What each sampler stage leaves (the sampler X-ray)."""
    token_ids: bool
    """Real token ids (a server names tokens by text only)."""
    branching: str
    """How a branch continues: "ids" (prompt ids + chosen ids) or "text" (prompt + prefix text)."""
    tokenizer: str
    """"local" (we tokenize) or "server-side"."""
    probs_note: str = ""
    """What the probabilities are, or why there are none (shown when they are missing)."""
    beam_search: bool = False
    """`TextGenerator.beam_search` works (it needs every live beam's distribution,
    which no OpenAI-compatible server returns)."""


@dataclass(frozen=True)
class Prefix:
    """Tokens already chosen after the prompt (a branch continues from them)."""

    ids: list[int] = field(default_factory=list)
    text: str = ""


class TokenStream:
    """The tokens of one generation, plus what was settled before the first.

    Iterate it for `TokenStep`s; `abort` (safe from any thread) ends the
    iteration at the next token and closes a network stream at once.
    """

    def __init__(self, steps: Iterator[TokenStep], *, seed: int | None,
                 notes: list[str] | None = None, prompt_tokens: int | None = None) -> None:
        self._steps = steps
        self.seed = seed
        """The seed this generation used (drawn here when the knobs said random)."""
        self.notes = list(notes or [])
        """Things the user should know: prompt cut, empty prompt, random seed, ignored knobs."""
        self.prompt_tokens = prompt_tokens
        """Tokens the prompt became (None: the back end does not say)."""
        self._aborted = threading.Event()

    def __iter__(self) -> TokenStream:
        return self

    def __next__(self) -> TokenStep:
        if self._aborted.is_set():
            raise StopIteration
        step = next(self._steps)
        if self._aborted.is_set():
            raise StopIteration
        return step

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    def abort(self) -> None:
        self._aborted.set()


@runtime_checkable
class TextGenerator(Protocol):
    """A back end the pane and the CLI generate with."""

    @property
    def name(self) -> str:
        """The model's name (a folder's card name, or the server's model id)."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def vocab_size(self) -> int | None:
        """Tokens in the vocabulary (None: server-side, unknown)."""
        ...

    @property
    def context_size(self) -> int | None: ...

    @property
    def where(self) -> str:
        """``local`` or the server's base URL (never with a key)."""
        ...

    def describe(self) -> str:
        """One short line for a status bar."""
        ...

    def unsupported(self, knobs: Knobs) -> list[str]:
        """Knobs set away from neutral that this back end cannot honour (their names)."""
        ...

    def generate(self, prompt: str, knobs: Knobs, *, prefix: Prefix | None = None,
                 top_n: int = 10) -> TokenStream:
        """Validate, then stream tokens (`UserError` for bad knobs or a bad prefix)."""
        ...

    def beam_search(self, prompt: str, settings: BeamSettings) -> Iterator[BeamUpdate]:
        """Validate, then yield one `BeamUpdate` per step (`UserError` for bad settings,
        or where ``capabilities.beam_search`` is False)."""
        ...

    def close(self) -> None: ...


def unsupported_knobs(knobs: Knobs, honoured: frozenset[str]) -> list[str]:
    """The active knobs of ``knobs`` outside ``honoured``, by name."""
    return [k.name for k in KNOBS if k.field not in honoured and is_active(knobs, k)]


def resolve_seed(knobs: Knobs) -> tuple[Knobs, list[str]]:
    """A random seed made concrete (so it can be shown and reused), with a note."""
    if knobs.seed is not None or knobs.greedy or knobs.temperature == 0:
        return knobs, []
    seed = secrets.randbits(31)
    return replace(knobs, seed=seed), [f"random seed {seed} (set seed {seed} to repeat this run)"]


LOCAL_CAPABILITIES = Capabilities(
    knobs=frozenset(k.field for k in KNOBS), raw_probs=True, processed_probs=True,
    stage_xray=True, token_ids=True, branching="ids", tokenizer="local",
    probs_note="the model's probabilities, before and after each knob", beam_search=True)


class LocalGenerator:
    """The local PyTorch model behind the contract."""

    def __init__(self, lm: LanguageModel, *, speculative: bool = True) -> None:
        self.lm = lm
        self.speculative = speculative

    @property
    def name(self) -> str:
        return self.lm.name

    @property
    def capabilities(self) -> Capabilities:
        return LOCAL_CAPABILITIES

    @property
    def vocab_size(self) -> int | None:
        return self.lm.vocab_size

    @property
    def context_size(self) -> int | None:
        return self.lm.block_size

    @property
    def where(self) -> str:
        return "local"

    def describe(self) -> str:
        return self.lm.describe()

    def unsupported(self, knobs: Knobs) -> list[str]:
        return []

    def prompt_notes(self, prompt: str) -> tuple[int, list[str]]:
        """How many tokens ``prompt`` is, and notes on an empty or too-long prompt."""
        ids = self.lm.encode(prompt)
        notes = []
        if not ids:
            notes.append("empty prompt: the model starts from a blank line "
                         "(its document separator)")
            ids = self.lm.encode(PROMPT_SEPARATOR)
        block = self.lm.block_size
        if len(ids) > block:
            keep = max(1, min(block - 1, block * 3 // 4))
            notes.append(f"the prompt is {len(ids)} tokens, longer than the model's "
                         f"{block}-token context: only its last {keep} are used")
        return len(ids), notes

    def generate(self, prompt: str, knobs: Knobs, *, prefix: Prefix | None = None,
                 top_n: int = 10) -> TokenStream:
        validate(knobs)
        knobs, notes = resolve_seed(knobs)
        count, prompt_notes = self.prompt_notes(prompt)
        steps = _local.generate(prompt, knobs, self.lm,
                                prefix_ids=(prefix.ids if prefix is not None else None) or None,
                                top_n=top_n, speculative=self.speculative)
        return TokenStream(steps, seed=knobs.seed, notes=prompt_notes + notes,
                           prompt_tokens=count)

    def beam_search(self, prompt: str, settings: BeamSettings) -> Iterator[BeamUpdate]:
        return beam_updates(prompt, settings, self.lm)

    def close(self) -> None:
        pass


def load_local(path: str | None = None, *, speculative: bool = True) -> LocalGenerator:
    """The local back end on a model folder (None: the bundled model)."""
    from genai_tui.service.generate import load_model

    return LocalGenerator(load_model(path), speculative=speculative)


@dataclass(frozen=True)
class BackendSpec:
    """Which back end to open: the local model (``url`` None) or a server's model.

    The CLI's ``--backend/--model/--api-key/--api/--extras`` and the generate
    pane's back-end dialog both come down to one of these.
    """

    url: str | None = None
    """None: local. Otherwise the server's base URL (``OPENAI_BASE_URL`` when "remote")."""
    model: str | None = None
    """Local: a model folder (None: the bundled one). Remote: the server's model id
    (None: the server's only model)."""
    api_key: str | None = field(default=None, repr=False)
    api: str = "completions"
    extras: bool = True
    """Remote: send the extra knobs llama.cpp and vLLM accept (False for Ollama, OpenAI)."""

    @property
    def local(self) -> bool:
        return self.url is None or self.url.strip().lower() == "local"

    def server_config(self):  # -> remote.ServerConfig
        """The server's connection settings ("remote": ``OPENAI_BASE_URL``; the key
        defaults to ``OPENAI_API_KEY``). `UserError` when no URL can be found."""
        from genai_tui.service import remote

        url = None if self.url is None or self.url.strip().lower() == "remote" else self.url
        return remote.ServerConfig.resolve(url, self.api_key, api=self.api)

    def open(self, *, speculative: bool = True, check: bool = False) -> TextGenerator:
        """Load the model or reach the server (`UserError` with one clear line if not).

        ``check``: ask a server for its models even when one is named, so an
        unreachable server or an unknown model is said now, not at the first token.
        """
        if self.local:
            if self.api_key:
                raise UserError("an API key is for a remote back end")
            return load_local(self.model, speculative=speculative)
        from genai_tui.service import remote

        config = self.server_config()
        model = self.model
        if not model or check:
            names = remote.list_models(config)
            listed = ", ".join(escape_controls(n, False) for n in names[:8]) or "none"
            if not model:
                if len(names) != 1:
                    raise UserError(f"name the model (the server lists {listed})")
                model = names[0]
            elif model not in names:
                raise UserError(f"the server has no model {escape_controls(model, False)!r} "
                                f"(it lists {listed})")
        return remote.RemoteGenerator(config, model, extras=self.extras)
