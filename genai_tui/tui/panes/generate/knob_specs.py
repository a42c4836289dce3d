"""The knob grid's specs: how each decoding knob is shown, stepped and parsed.

Plain Python (no Textual). Names, ranges, steps, neutral values, hints, stage
names and order presets are the registry's (`genai_tui.sampling.knobs`);
`KnobSpec` only formats, steps and parses them for `knobs.KnobPanel`.
`KNOBS` is the sampling grid, `BEAM_SPECS` beam mode's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import (
    BEAM_KNOB_BY_FIELD,
    BEAM_KNOBS,
    DEFAULT_ORDER,
    KNOB_BY_FIELD,
    ORDER_PRESETS,
    SHARED_KNOBS,
    KnobDef,
    Knobs,
    format_value,
    parse_order,
)


@dataclass(frozen=True)
class KnobSpec:
    """How one field of `Knobs` is shown, stepped and parsed."""

    field: str
    label: str
    kind: str
    """float, int, seed, bool, stop, order or choice."""
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.1
    neutral: object = None
    """The value that switches the stage off (shown as ``off``)."""
    help: str = ""
    span: int = 1
    """Grid columns the cell takes."""
    choices: tuple[tuple[object, str], ...] = ()
    """A choice knob's values and their names (←/→ cycle through them)."""

    def _choice(self, value: object) -> int:
        for i, (v, _) in enumerate(self.choices):
            if v is value or (type(v) is type(value) and v == value):
                return i
        return 0

    def format(self, value: object) -> str:
        # the registry's formatting reads only kind, choices and neutral, which a
        # spec carries under the same names
        return format_value(self, value)  # type: ignore[arg-type]

    def is_neutral(self, value: object) -> bool:
        if self.kind in ("stop",):
            return not value
        if self.kind == "order":
            return tuple(value) == DEFAULT_ORDER  # type: ignore[arg-type]
        if self.kind == "bool":
            return not value
        return self.neutral is not None and value == self.neutral

    def stepped(self, value: object, steps: int) -> object:
        """``value`` moved ``steps`` steps (clamped to the knob's range)."""
        if self.kind == "bool":
            return not value if steps else value
        if self.kind == "choice":
            return self.choices[(self._choice(value) + steps) % len(self.choices)][0]
        if self.kind == "order":
            orders = [o for _, o in ORDER_PRESETS]
            try:
                i = orders.index(tuple(value))  # type: ignore[arg-type]
            except ValueError:
                i = -1 if steps > 0 else 0
            return orders[(i + steps) % len(orders)]
        if self.kind == "stop":
            return value
        if self.kind == "seed":
            current = -1 if value is None else int(value)  # type: ignore[arg-type]
            new = current + steps
            return None if new < 0 else min(int(self.hi), new)
        if self.kind == "int":
            new = int(value) + steps * int(self.step)  # type: ignore[arg-type]
            return int(min(self.hi, max(self.lo, new)))
        new = float(value) + steps * self.step  # type: ignore[arg-type]
        new = round(round(new / self.step) * self.step, 6)
        return float(min(self.hi, max(self.lo, new)))

    def parse(self, text: str) -> object:
        """A typed value; raises `UserError` with a clear message."""
        text = text.strip()
        if self.kind == "choice":
            for value, name in self.choices:
                if name == text.lower():
                    return value
            raise UserError(f"{self.label}: type one of {', '.join(n for _, n in self.choices)}")
        if self.kind == "bool":
            low = text.lower()
            if low in ("on", "true", "yes", "1"):
                return True
            if low in ("off", "false", "no", "0"):
                return False
            raise UserError(f"{self.label}: type on or off")
        if self.kind == "stop":
            return parse_stop(text)
        if self.kind == "order":
            return parse_order(text)
        if self.kind == "seed":
            if text.lower() in ("", "random", "none"):
                return None
            try:
                seed = int(text)
            except ValueError:
                raise UserError(f"seed: {text!r} is not a whole number (or 'random')") from None
            if seed < 0:
                raise UserError("seed must be >= 0 (or 'random')")
            return seed
        if text.lower() == "off" and self.neutral is not None:
            return self.neutral
        try:
            value: float = int(text) if self.kind == "int" else float(text)
        except ValueError:
            what = "whole number" if self.kind == "int" else "number"
            raise UserError(f"{self.label}: {text!r} is not a {what}") from None
        if self.kind == "float" and not math.isfinite(value):
            raise UserError(f"{self.label}: {text!r} is not a finite number")
        return value


def spec_from_registry(knob: KnobDef, span: int = 1) -> KnobSpec:
    """A knob of the registry (`genai_tui.sampling.knobs`) as the grid shows it."""
    return KnobSpec(knob.field, knob.label, knob.kind,
                    knob.ui_lo if knob.ui_lo is not None else knob.lo,
                    knob.ui_hi if knob.ui_hi is not None else knob.hi,
                    knob.step, knob.neutral, knob.hint or knob.help, span=span,
                    choices=knob.choices)


GRID_FIELDS: tuple[str, ...] = (
    "temperature", "top_k", "top_p", "min_p", "typical_p", "repetition_penalty",
    "presence_penalty", "frequency_penalty", "max_tokens", "seed", "greedy", "stop", "order",
)
"""The sampling grid's knobs, in the registry's order (``penalty_last_n`` is CLI-only)."""
KNOBS: tuple[KnobSpec, ...] = tuple(
    spec_from_registry(KNOB_BY_FIELD[name], span=2 if name == "order" else 1)
    for name in GRID_FIELDS)
SPEC_BY_FIELD = {spec.field: spec for spec in KNOBS}


BEAM_SPECS: tuple[KnobSpec, ...] = (
    *(spec_from_registry(k) for k in BEAM_KNOBS if k.field != "end_at_paragraph"),
    SPEC_BY_FIELD["max_tokens"],
    spec_from_registry(BEAM_KNOB_BY_FIELD["end_at_paragraph"]),
)
"""Beam mode's grid: width, length penalty, early stopping (the names, ranges and
help of ``genai-tui generate --beam``), the shared max-tokens, and where hypotheses end."""


def parse_stop(text: str) -> tuple[str, ...]:
    """``a|b\\n`` -> ``("a", "b\\n")``: ``|`` separates, ``\\n \\t \\\\ \\|`` escape."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    escapes = {"n": "\n", "t": "\t", "\\": "\\", "|": "|", "r": "\r"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in escapes:
            current.append(escapes[text[i + 1]])
            i += 2
            continue
        if ch == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    stops = tuple(p for p in (s.strip(" ") if s.strip(" ") else s for s in parts) if p)
    return stops


def unparse_stop(stops: tuple[str, ...]) -> str:
    """The inverse of `parse_stop` (what the edit box starts with)."""
    def esc(s: str) -> str:
        return (s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "\\n")
                .replace("\t", "\\t").replace("\r", "\\r"))
    return " | ".join(esc(s) for s in stops)


def with_value(knobs: Knobs, field_name: str, value: object) -> Knobs:
    return dataclasses.replace(knobs, **{field_name: value})


def with_shared(knobs: Knobs, source: Knobs) -> Knobs:
    """``knobs`` with the shared knobs (the registry's: seed and length, so that an
    A/B run compares decoding from the same start) taken from ``source``."""
    return dataclasses.replace(knobs, **{name: getattr(source, name) for name in SHARED_KNOBS})
