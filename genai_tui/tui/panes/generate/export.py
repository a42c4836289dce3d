"""The generate pane's runs as JSON documents (the pane saves them with
`json_export`), and lesson knobs checked against the knob table.

Plain Python (no Textual): the pane's export hook and the lesson loader call these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from genai_tui.errors import UserError
from genai_tui.service import generate as svc
from genai_tui.tui.panes.generate.runs import BeamRun, Run

FORMAT = "genai-tui-generate 1"
BEAM_FORMAT = "genai-tui-beam 1"


def _candidates(cands: list[svc.Candidate]) -> list[dict[str, Any]]:
    return [{"id": c.id, "token": c.token, "prob": c.prob} for c in cands]


def run_record(run: Run) -> dict[str, Any]:
    """One run: prompt, knobs, the text and every token with its probabilities."""
    return {
        "name": run.name,
        "prompt": run.prompt,
        "knobs": dataclasses.asdict(run.knobs),
        "status": run.status,
        "fork_at": run.fork_at,
        "parent": run.parent.name if run.parent is not None else None,
        "text": "".join(step.token for step in run.steps),
        "tokens": [
            {
                "index": step.index, "id": step.id, "token": step.token,
                "prob": step.prob, "raw_prob": step.raw_prob, "entropy": step.entropy,
                "speculated": step.speculated,
                "top_before": _candidates(step.top_before),
                "top_after": _candidates(step.top_after),
            }
            for step in run.steps
        ],
    }


def runs_document(runs: list[Run], current: Run | None, model: str) -> dict[str, Any]:
    """The runs (the current one first) as one JSON document."""
    ordered = ([current] if current in runs else []) + [r for r in runs if r is not current]
    return {"format": FORMAT, "model": model, "runs": [run_record(r) for r in ordered]}


def beams_document(run: BeamRun, model: str) -> dict[str, Any]:
    """A beam search: settings and every step as ``generate --beam --json`` prints it."""
    from genai_tui.service.beam import update_json

    return {"format": BEAM_FORMAT, "model": model, "prompt": run.prompt,
            "settings": dataclasses.asdict(run.settings), "status": run.status,
            "steps": [update_json(step) for step in run.steps]}


def knobs_with(base: svc.Knobs, knobs: Mapping[str, Any]) -> svc.Knobs:
    """``base`` with a lesson's knob values, checked by the service's `validate`.

    Raises:
        UserError: an unknown knob name or a value the service refuses.
    """
    fields = {f.name: f for f in dataclasses.fields(svc.Knobs)}
    values: dict[str, Any] = {}
    for name, value in knobs.items():
        if name not in fields:
            raise UserError(f"unknown knob {name!r} (knobs: {', '.join(fields)})")
        default = getattr(svc.Knobs(), name)
        if isinstance(default, tuple) or name in ("stop", "order"):
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, str) for v in value):
                raise UserError(f"knob {name} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise UserError(f"knob {name} must be true or false")
        elif isinstance(default, (int, float)) or default is None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"knob {name} must be a number")
            if isinstance(default, int) and not isinstance(default, bool) and (
                    name != "temperature" and not float(value).is_integer()):
                raise UserError(f"knob {name} must be a whole number")
            value = int(value) if isinstance(default, int) or default is None else float(value)
        values[name] = value
    out = dataclasses.replace(base, **values)
    svc.validate(out)
    return out
