"""Generation service: what the generate pane and `genai-tui generate` call.

CONTRACT (shared by the pane and the CLI; implementations may add fields, not
rename them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    token: str
    """Text this token adds (complete UTF-8 only; see StreamDecoder)."""
    prob: float
    """Probability of the chosen token after the knobs."""
    top_before: list[Candidate]
    top_after: list[Candidate]
    stages: list[StageTrace]
    entropy: float
    """Entropy (nats) of the model's raw distribution at this step."""
    elapsed: float
    """Seconds since generation started."""


DEFAULT_ORDER: tuple[str, ...] = (
    "penalties", "temperature", "top-k", "top-p", "min-p", "typical-p",
)
"""Default sampler chain (like llama.cpp's): each stage sees the previous one's output."""


@dataclass
class Knobs:
    """Decoding settings. Neutral values switch a stage off."""

    temperature: float = 1.0
    top_k: int = 0
    """0 = off."""
    top_p: float = 1.0
    min_p: float = 0.0
    typical_p: float = 1.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    seed: int | None = 0
    greedy: bool = False
    order: tuple[str, ...] = field(default=DEFAULT_ORDER)

# Functions (implemented below by the language-model work):
#   load_model(path: str | None = None) -> LanguageModel   (service handle; torch imported inside)
#   generate(prompt: str, knobs: Knobs, model: LanguageModel | None = None, *,
#            prefix_ids: list[int] | None = None, top_n: int = 10) -> Iterator[TokenStep]
#       prefix_ids: token ids already emitted after the prompt (counterfactual branches
#       continue from prompt + prefix_ids). Pulling one item = one token (step mode).
#   validate(knobs) raises UserError for out-of-range knobs.
