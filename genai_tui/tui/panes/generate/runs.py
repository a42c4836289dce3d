"""The generate pane's record of what it generated: runs, branches and A/B pairs.

Plain Python (no Textual). The UI thread owns every `Run`; the worker thread
only pulls from `Run.gen` (in `driver.RunDriver`, under its lock) and sets
`Run.exhausted`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from genai_tui.sampling.knobs import differences, differing, format_value
from genai_tui.service.backend import TokenStream
from genai_tui.service.beam import BeamSettings, BeamUpdate
from genai_tui.service.generate import Knobs, TokenStep


def knob_summary(knobs: Knobs) -> str:
    """The knobs that are on, compactly: ``T0.80 k40 p.95``, or ``greedy``."""
    if knobs.greedy:
        parts = ["greedy"]
    else:
        parts = [f"T{knobs.temperature:.2f}"]
        if knobs.top_k:
            parts.append(f"k{knobs.top_k}")
        if knobs.top_p < 1:
            parts.append(f"p{knobs.top_p:.2f}".replace("0.", "."))
        if knobs.min_p > 0:
            parts.append(f"min{knobs.min_p:.2f}".replace("0.", "."))
        if knobs.typical_p < 1:
            parts.append(f"typ{knobs.typical_p:.2f}".replace("0.", "."))
    if knobs.repetition_penalty != 1:
        parts.append(f"rep{knobs.repetition_penalty:.2f}")
    if knobs.presence_penalty:
        parts.append(f"pres{knobs.presence_penalty:+.1f}")
    if knobs.frequency_penalty:
        parts.append(f"freq{knobs.frequency_penalty:+.1f}")
    return " ".join(parts)


def own_side(run: Run) -> str | None:
    """For one run of an A/B pair, its values of the knobs that differ from its
    partner's (``temp 1.30 top-p off``), ``same knobs`` if none; None if unpaired."""
    partner = run.partner
    if partner is None:
        return None
    shown = [f"{k.label} {format_value(k, getattr(run.knobs, k.field))}"
             for k in differing(run.knobs, partner.knobs)]
    return " ".join(shown) or "same knobs"


def pair_difference(run: Run) -> str | None:
    """What differs between an A/B pair, A's value → B's: ``A→B temp 0.80→1.30``."""
    partner = run.partner
    if partner is None:
        return None
    a, b = sorted((run, partner), key=lambda r: r.name)
    changed = differences(a.knobs, b.knobs)
    return (f"{a.name}→{b.name} " + ", ".join(changed) if changed
            else f"{a.name} and {b.name}: same knobs")


@dataclass(eq=False)
class Run:
    """One generated continuation, shown in a run view."""

    name: str
    """``main``, ``A``, ``B`` or ``⑂1``, ``⑂2``… for branches."""
    prompt: str
    knobs: Knobs
    prefix_ids: list[int] = field(default_factory=list)
    """Token ids fed after the prompt before generating (a branch's fork)."""
    prefix_text: str = ""
    """The same tokens as text (a server continues from text, not ids)."""
    steps: list[TokenStep] = field(default_factory=list)
    """What the view shows: inherited steps (branches) then generated ones."""
    parent: Run | None = None
    fork_at: int | None = None
    """Position where this branch swapped in another token."""
    partner: Run | None = None
    """The other half of an A/B pair."""
    status: str = "waiting"
    """waiting, running, paused, stopped, done or error."""
    gen: TokenStream | None = None
    exhausted: bool = False
    """The generator has finished (set by the worker thread)."""
    generated: int = 0
    """Tokens this run generated itself (not inherited)."""
    started: float | None = None
    """perf_counter when generation (or the current streaming burst) started."""
    active_seconds: float = 0.0
    """Wall time spent streaming to the screen, summed over bursts."""
    burst_tokens: int = 0
    rate: float | None = None
    """On-screen tokens per second (tokens painted / time from start to paint)."""
    error: str = ""
    stepping: bool = False
    """The current burst pulls a fixed number of tokens (step mode): no rate."""
    drive: int = 0
    """Which worker drive last ran this run (stale drives are ignored)."""

    def restart_from_text(self) -> None:
        """After a remote stream was closed (Stop): continue later with a new
        request whose prefix is everything generated so far."""
        left = self.knobs.max_tokens - (len(self.steps) - len(self.prefix_ids))
        self.prefix_ids = [s.id for s in self.steps]
        self.prefix_text = "".join(s.token for s in self.steps)
        self.knobs = dataclasses.replace(self.knobs, max_tokens=max(1, left))
        self.gen = None

    @property
    def inherited(self) -> int:
        """Steps copied from the parent (the fork token included)."""
        return 0 if self.fork_at is None else self.fork_at + 1

    @property
    def label(self) -> str:
        if self.fork_at is not None:
            return f"{self.name} @{self.fork_at}"
        return self.name

    def branch(self, position: int, alt_id: int, alt_token: str, alt_prob: float,
               name: str) -> Run:
        """A new run that keeps ``steps[:position]``, takes ``alt_id`` at
        ``position`` and continues from there with the same knobs."""
        base = self.steps[position]
        fork_step = dataclasses.replace(base, id=alt_id, token=alt_token, prob=alt_prob)
        prefix = [s.id for s in self.steps[:position]] + [alt_id]
        text = "".join(s.token for s in self.steps[:position]) + alt_token
        total = max(self.knobs.max_tokens, len(self.steps))
        knobs = dataclasses.replace(self.knobs, max_tokens=max(1, total - len(prefix)))
        return Run(
            name=name, prompt=self.prompt, knobs=knobs, prefix_ids=prefix, prefix_text=text,
            steps=[*self.steps[:position], fork_step], parent=self, fork_at=position,
        )


@dataclass(eq=False)
class BeamRun:
    """One beam search in the pane: its settings and every step seen so far.

    The worker pulls `BeamUpdate`s from ``gen`` (`TextGenerator.beam_search`,
    the iterator ``genai-tui generate --beam`` prints) and sets ``exhausted``;
    the UI thread owns the rest.
    """

    prompt: str
    settings: BeamSettings
    steps: list[BeamUpdate] = field(default_factory=list)
    gen: Iterator[BeamUpdate] | None = None
    status: str = "idle"
    """idle, running, paused (after a step), stopped, done or error."""
    exhausted: bool = False
    error: str = ""
    drive: int = 0

    @property
    def result(self) -> BeamUpdate | None:
        """The last step once the search has ended (its ``ranking`` is the answer)."""
        return self.steps[-1] if self.steps and self.steps[-1].done else None
