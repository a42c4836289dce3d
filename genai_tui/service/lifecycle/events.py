"""The events every lifecycle stage yields (one stream for the pane, the
CLI's progress bar and its ``--json`` lines)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    """Something to say: set-up progress, or a warning such as overfitting."""

    stage: str
    message: str
    level: str = "info"
    """"info" or "warn" (for example: held-out loss rising)."""


@dataclass(frozen=True)
class Metrics:
    """Figures after an optimizer step (or an evaluation) of a stage.

    ``values`` holds what the stage measures, by name: ``loss`` (this step's
    batch), ``val_loss`` (held-out, on evaluation steps), ``tokens_per_s``,
    ``lr``; preference tuning adds ``reward``, ``kl``, ``accuracy``...
    """

    stage: str
    step: int
    """Steps done so far (1-based)."""
    steps: int
    """Steps planned."""
    values: dict[str, float]
    elapsed: float
    """Seconds since the stage started."""

    def get(self, name: str) -> float | None:
        value = self.values.get(name)
        return None if value is None or math.isnan(value) else value


@dataclass(frozen=True)
class Sample:
    """Text the current weights wrote for ``prompt`` (the same seed each time)."""

    stage: str
    step: int
    prompt: str
    text: str
    label: str = "step"
    """"before" (the starting weights), "step" (during training) or "after"."""


@dataclass(frozen=True)
class Finished:
    """The stage ended (all steps done, or stopped early: ``stopped``)."""

    stage: str
    step: int
    summary: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False


Event = Notice | Metrics | Sample | Finished


def to_json(event: Event) -> dict[str, Any]:
    """A JSON-ready dict: the event's fields plus ``"event"`` (its kind, lower case).
    NaN figures become null."""
    data = asdict(event)
    if isinstance(event, Metrics):
        data["values"] = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                          for k, v in event.values.items()}
    return {"event": type(event).__name__.lower(), **data}
