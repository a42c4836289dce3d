"""The knob registry: every decoding knob once, with its range, default and help.

Plain Python (no torch, no Textual): the CLI builds its options from this table
at import time, the pane its grid, labels and stepping, the service its
validation, the sampler chain its stage names, and the remote back end its
request fields. Nothing about a knob is written a second time elsewhere.

Two values per knob: ``neutral`` switches its stage off (``Knobs()`` is all
neutral: plain sampling from the model, what an OpenAI server does when a
request names no knob), and ``default`` is what the CLI and the pane start
with (`default_knobs`), one set for both.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from genai_tui.errors import UserError

STAGE_NAMES: tuple[str, ...] = (
    "penalties", "temperature", "top-k", "top-p", "min-p", "typical-p",
)
"""Every stage a chain may hold (besides the final "greedy")."""
DEFAULT_ORDER: tuple[str, ...] = STAGE_NAMES
"""Default sampler chain (like llama.cpp's): each stage sees the previous one's output."""

STAGE_SHORT: dict[str, str] = {
    "penalties": "pen", "temperature": "tmp", "top-k": "k", "top-p": "p",
    "min-p": "min", "typical-p": "typ",
}
"""Abbreviations shown in the order knob and accepted by the order parser."""

_STAGE_ALIASES: dict[str, str] = {
    **{name: name for name in STAGE_NAMES},
    **{short: name for name, short in STAGE_SHORT.items()},
    "temp": "temperature", "t": "temperature", "topk": "top-k", "topp": "top-p",
    "minp": "min-p", "typical": "typical-p", "typ-p": "typical-p", "penalty": "penalties",
    "top_k": "top-k", "top_p": "top-p", "min_p": "min-p", "typical_p": "typical-p",
}

ORDER_PRESETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default", DEFAULT_ORDER),
    ("llama.cpp", ("penalties", "top-k", "typical-p", "top-p", "min-p", "temperature")),
    ("temp last", ("penalties", "top-k", "top-p", "min-p", "typical-p", "temperature")),
)
"""Named stage orders (the pane's ←/→ cycle through them)."""


@dataclass
class Knobs:
    """Decoding settings. The field defaults are the neutral values (every stage off)."""

    temperature: float = 1.0
    top_k: int = 0
    """0 = off."""
    top_p: float = 1.0
    min_p: float = 0.0
    typical_p: float = 1.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    penalty_last_n: int = 0
    """Which tokens the penalties count: 0 = only generated tokens (OpenAI, vLLM);
    N > 0 = the last N tokens of the context, prompt included (llama.cpp's
    ``repeat_last_n``, 64 there)."""
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    seed: int | None = 0
    """None: a fresh random seed per generation (the service reports it)."""
    greedy: bool = False
    order: tuple[str, ...] = field(default=DEFAULT_ORDER)


REMOTE_STANDARD = "standard"
"""An OpenAI request field every compatible server honours."""
REMOTE_EXTRA = "extra"
"""An extra JSON field llama.cpp's server and vLLM honour (Ollama's OpenAI layer ignores it)."""
REMOTE_NONE = "none"
"""No OpenAI-compatible server takes it: honoured by the local back end only."""


@dataclass(frozen=True)
class KnobDef:
    """One knob: what `Knobs` field it is, how it is named, bounded, shown and sent."""

    field: str
    """The `Knobs` attribute."""
    label: str
    """Short label (the pane's grid cell)."""
    kind: str
    """float, int, seed, bool, stop, order or choice."""
    help: str
    default: object
    """What the CLI and the pane start with."""
    neutral: object = None
    """The value that switches the stage off (None: the knob has no off)."""
    lo: float = 0.0
    hi: float = 1.0
    lo_open: bool = False
    """The range excludes ``lo`` (e.g. top-p in (0, 1])."""
    step: float = 0.1
    """One ←/→ press in the pane."""
    ui_lo: float | None = None
    ui_hi: float | None = None
    """The pane's stepping range when narrower than the valid range."""
    stage: str | None = None
    """The sampler stage the knob drives."""
    remote: str = REMOTE_STANDARD
    """How an OpenAI-compatible server takes it
    (`REMOTE_STANDARD`, `REMOTE_EXTRA`, `REMOTE_NONE`)."""
    request_field: str | None = None
    """The request's JSON field (default: the field name)."""
    flag: str = ""
    """The CLI option (default: ``--`` + the field with dashes)."""
    short_flag: str | None = None
    abbrev: str = ""
    """Prefix in a one-line summary (``T0.80 k40``); empty: the label."""
    shared: bool = False
    """A and B of an A/B pair always share it (same prompt, seed and length)."""
    choices: tuple[tuple[object, str], ...] = ()
    """A choice knob's values and how they are written (``(False, "false")``)."""
    hint: str = ""
    """The pane's one-line hint under the grid (fits 80 columns; default: ``help``)."""

    @property
    def name(self) -> str:
        """The knob as messages spell it (``top-p``)."""
        return self.field.replace("_", "-")

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name

    def range_text(self) -> str:
        lo = "(" if self.lo_open else "["
        return f"{lo}{_num(self.lo)}, {_num(self.hi)}]"

    def off_text(self) -> str:
        return f" ({_num(self.neutral)} = off)" if self.kind in ("float", "int") \
            and self.neutral is not None and self.field != "penalty_last_n" else ""

    def check(self, value: object) -> None:
        """Raise `UserError` if ``value`` is out of this knob's range."""
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or math.isnan(value) or math.isinf(value):
                raise UserError(f"{self.name} must be a finite number, got {value!r}")
        elif self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise UserError(f"{self.name} must be a whole number in {self.range_text()}"
                                f"{self.off_text()}, got {value!r}")
        elif self.kind == "seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value < 2**63):
                raise UserError(f"seed must be a whole number in [0, 2**63) or random, "
                                f"got {value!r}")
            return
        elif self.kind == "stop":
            if not isinstance(value, tuple) or any(not isinstance(s, str) or not s
                                                   for s in value):
                raise UserError("stop strings must be non-empty text")
            return
        elif self.kind == "order":
            check_order(value)  # type: ignore[arg-type]
            return
        elif self.kind == "choice":
            if choice_index(self, value) is None:
                raise UserError(f"{self.name} must be one of "
                                f"{', '.join(t for _, t in self.choices)}, got {value!r}")
            return
        else:
            return
        low_ok = value > self.lo if self.lo_open else value >= self.lo  # type: ignore[operator]
        if not low_ok or value > self.hi:  # type: ignore[operator]
            raise UserError(f"{self.name} must be in {self.range_text()}{self.off_text()}, "
                            f"got {_num(value)}")


def choice_index(knob: KnobDef, value: object) -> int | None:
    """Where ``value`` is among a choice knob's values (``True`` is not ``1``)."""
    for i, (v, _) in enumerate(knob.choices):
        if v is value or (type(v) is type(value) and v == value):
            return i
    return None


def parse_choice(knob: KnobDef, text: str | object) -> object:
    """A choice as written (``"never"``, case-insensitive) -> its value; `UserError` if none."""
    if not isinstance(text, str):
        knob.check(text)
        return text
    written = text.strip().lower()
    for value, name in knob.choices:
        if name == written:
            return value
    raise UserError(f"{knob.name} must be one of {', '.join(t for _, t in knob.choices)}, "
                    f"got {text!r}")


def _num(x: object) -> str:
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


PENALTY_SCOPE_HELP = ("penalties count only generated tokens (OpenAI, vLLM) unless "
                      "--penalty-last-n N: the last N tokens, prompt included (llama.cpp)")

KNOBS: tuple[KnobDef, ...] = (
    KnobDef("temperature", "temp", "float",
            "Divide logits by this: below 1 sharper, above 1 flatter, 0 greedy.",
            default=0.8, neutral=1.0, lo=0.0, hi=100.0, step=0.05, ui_hi=5.0,
            stage="temperature", short_flag="-t", abbrev="T",
            hint="0 = greedy; below 1 sharpens, above 1 flattens"),
    KnobDef("top_k", "top-k", "int", "Keep the k most likely tokens.",
            default=40, neutral=0, lo=0, hi=1_000_000, step=1, ui_hi=4096, stage="top-k",
            remote=REMOTE_EXTRA, short_flag="-k", abbrev="k",
            hint="keep the k most likely tokens; 0 = off"),
    KnobDef("top_p", "top-p", "float", "Keep the smallest top set reaching this mass.",
            default=0.95, neutral=1.0, lo=0.0, lo_open=True, hi=1.0, step=0.01, ui_lo=0.01,
            stage="top-p", short_flag="-p", abbrev="p",
            hint="keep the smallest set reaching this mass; 1 = off"),
    KnobDef("min_p", "min-p", "float", "Drop tokens below min-p x the top probability.",
            default=0.0, neutral=0.0, lo=0.0, hi=1.0, step=0.01, stage="min-p",
            remote=REMOTE_EXTRA, abbrev="min",
            hint="drop tokens below min-p × the top probability; 0 = off"),
    KnobDef("typical_p", "typical", "float", "Keep tokens of typical surprise up to this mass.",
            default=1.0, neutral=1.0, lo=0.0, lo_open=True, hi=1.0, step=0.01, ui_lo=0.01,
            stage="typical-p", remote=REMOTE_EXTRA, abbrev="typ",
            hint="keep tokens of typical surprise up to this mass; 1 = off"),
    KnobDef("repetition_penalty", "repeat", "float",
            "Divide seen tokens' positive logits by this (CTRL).",
            default=1.0, neutral=1.0, lo=0.0, lo_open=True, hi=10.0, step=0.05, ui_lo=0.5,
            ui_hi=3.0, stage="penalties", remote=REMOTE_EXTRA, abbrev="rep",
            hint="divide the logits of tokens already seen; 1 = off"),
    KnobDef("presence_penalty", "presence", "float",
            "Subtract from every seen token's logit (OpenAI).",
            default=0.0, neutral=0.0, lo=-10.0, hi=10.0, step=0.1, ui_lo=-2.0, ui_hi=2.0,
            stage="penalties", abbrev="pres",
            hint="subtract from tokens already seen; 0 = off"),
    KnobDef("frequency_penalty", "freq", "float",
            "Subtract this x the token's count (OpenAI).",
            default=0.0, neutral=0.0, lo=-10.0, hi=10.0, step=0.1, ui_lo=-2.0, ui_hi=2.0,
            stage="penalties", abbrev="freq",
            hint="subtract per occurrence; 0 = off"),
    KnobDef("penalty_last_n", "pen last", "int",
            "Tokens the penalties count: 0 = generated only (OpenAI, vLLM); "
            "N = last N, prompt too (llama.cpp 64).",
            default=0, neutral=0, lo=0, hi=100_000, step=8, ui_hi=1024, stage="penalties",
            remote=REMOTE_EXTRA, request_field="repeat_last_n", abbrev="last"),
    KnobDef("max_tokens", "max tok", "int", "New tokens to generate.",
            default=64, lo=0, hi=100_000, step=8, ui_lo=1, ui_hi=2048, short_flag="-n",
            shared=True,
            hint="tokens to generate (shared by A and B)"),
    KnobDef("seed", "seed", "seed", "Random seed (A and B share it).",
            default=0, lo=0, hi=2**31 - 1, step=1, short_flag="-s", shared=True,
            hint="random seed (shared by A and B); 'random' = new each run"),
    KnobDef("greedy", "greedy", "bool", "Always take the most likely token.",
            default=False, neutral=False, remote=REMOTE_STANDARD,
            hint="always take the most likely token"),
    KnobDef("stop", "stop", "stop", "Stop once this text appears (kept in the output).",
            default=(), neutral=(),
            hint="stop strings, separated by |  (\\n newline, \\| bar)"),
    KnobDef("order", "order", "order",
            "Sampler stages in order (e.g. pen,k,p,tmp); stages not named follow.",
            default=DEFAULT_ORDER, neutral=DEFAULT_ORDER, remote=REMOTE_NONE,
            hint="sampler chain order: ←/→ presets, Enter to type (e.g. pen,k,p,tmp)"),
)
"""Every knob, in the order the pane's grid shows them."""

KNOB_BY_FIELD: dict[str, KnobDef] = {k.field: k for k in KNOBS}

BEAM_KNOBS: tuple[KnobDef, ...] = (
    KnobDef("num_beams", "beams", "int",
            "Beams kept per step: every beam grows by every token, the best survive "
            "(1 = greedy).",
            default=4, lo=1, hi=64, step=1, ui_hi=16, flag="--beam"),
    KnobDef("length_penalty", "len pen", "float",
            "A finished hypothesis scores log-prob / length ** this: above 0 favours longer "
            "ones, below 0 shorter.",
            default=1.0, lo=-10.0, hi=10.0, step=0.1, ui_lo=-3.0, ui_hi=3.0),
    KnobDef("early_stopping", "early", "choice",
            "true: stop when as many hypotheses as beams are done; false: when no live beam "
            "can beat them; never: the exact test.",
            default=False, choices=((False, "false"), (True, "true"), ("never", "never"))),
    KnobDef("end_at_paragraph", "para end", "bool",
            "A hypothesis ends at a token holding a blank line (a document break); off: all "
            "run max-tokens.",
            default=True),
)
"""Beam search's knobs (`genai_tui.service.beam.BeamSettings` fields, Hugging Face's
``num_beams``, ``length_penalty``, ``early_stopping``): the CLI's ``generate --beam``
options and the Generate pane's beam-mode grid (which adds the shared max-tokens)."""
BEAM_KNOB_BY_FIELD: dict[str, KnobDef] = {k.field: k for k in BEAM_KNOBS}
SAMPLING_ONLY = frozenset(k.field for k in KNOBS
                          if k.stage in ("temperature", "top-k", "top-p", "min-p", "typical-p"))
"""Knobs that greedy decoding makes irrelevant."""
SHARED_KNOBS: tuple[str, ...] = tuple(k.field for k in KNOBS if k.shared)


def default_knobs(**overrides: object) -> Knobs:
    """The knob set the CLI and the pane start with (``default`` of every knob)."""
    values = {k.field: k.default for k in KNOBS}
    values.update(overrides)
    return Knobs(**values)  # type: ignore[arg-type]


def neutral_value(knob: KnobDef) -> object:
    return knob.neutral if knob.neutral is not None else knob.default


def is_active(knobs: Knobs, knob: KnobDef) -> bool:
    """The knob is set away from its neutral value (it changes the computation)."""
    if knob.neutral is None:
        return False
    value = getattr(knobs, knob.field)
    if knob.kind == "order":
        return tuple(value) != tuple(knob.neutral)  # type: ignore[arg-type]
    return value != knob.neutral


def validate(knobs: Knobs) -> None:
    """Raise `UserError` naming the first out-of-range knob."""
    for knob in KNOBS:
        knob.check(getattr(knobs, knob.field))


def check_order(order: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for name in order:
        if name not in STAGE_NAMES:
            raise UserError(f"unknown sampler stage {name!r} in order "
                            f"(choose from {', '.join(STAGE_NAMES)})")
        if name in seen:
            raise UserError(f"sampler stage {name!r} appears twice in order")
        seen.add(name)


def parse_order(text: str) -> tuple[str, ...]:
    """The one order grammar (CLI and pane): ``pen, k, p, tmp`` or
    ``top-k,temperature`` or ``k>p>tmp`` -> a full stage order. Names, their
    short forms (``tmp``, ``k``, ``p``, ``min``, ``typ``, ``pen``) and a few
    aliases are accepted, separated by commas, spaces, ``>`` or ``›``. Stages
    not named follow in their default order (to switch a stage off, set its
    knob to its neutral value). Unknown or repeated names raise `UserError`."""
    names = [n for n in text.replace("›", ",").replace(">", ",").replace(" ", ",").split(",")
             if n]
    order: list[str] = []
    for name in names:
        stage = _STAGE_ALIASES.get(name.lower())
        if stage is None:
            raise UserError(f"order: unknown sampler stage {name!r} "
                            f"(choose from {', '.join(STAGE_NAMES)} or "
                            f"{', '.join(STAGE_SHORT.values())})")
        if stage in order:
            raise UserError(f"order: sampler stage {stage} is named twice")
        order.append(stage)
    if not order:
        raise UserError("order: name at least one stage")
    order += [s for s in DEFAULT_ORDER if s not in order]
    return tuple(order)


def format_order(order: tuple[str, ...]) -> str:
    """``("penalties", "top-k", ...)`` -> ``pen›k›…`` (parses back with `parse_order`)."""
    return "›".join(STAGE_SHORT.get(s, s) for s in order)


def summary(knobs: Knobs) -> str:
    """The knobs that are on, compactly: ``T0.80 k40 p.95``, or ``greedy``."""
    parts = ["greedy"] if knobs.greedy else [f"T{knobs.temperature:.2f}"]
    for knob in KNOBS:
        if knob.field == "temperature" or knob.kind not in ("float", "int") \
                or not is_active(knobs, knob):
            continue
        if knobs.greedy and knob.field in SAMPLING_ONLY:
            continue
        value = getattr(knobs, knob.field)
        if knob.stage == "penalties" and knob.kind == "float" and knob.field != \
                "repetition_penalty":
            shown = f"{value:+.1f}"
        elif knob.kind == "float":
            shown = f"{value:.2f}".replace("0.", ".") if 0 < value < 1 else f"{value:.2f}"
        else:
            shown = str(value)
        parts.append(f"{knob.abbrev or knob.label}{shown}")
    return " ".join(parts)


def differing(a: Knobs, b: Knobs) -> list[KnobDef]:
    """The knobs whose values differ between two knob sets, in registry order."""
    return [knob for knob in KNOBS if getattr(a, knob.field) != getattr(b, knob.field)]


def differences(a: Knobs, b: Knobs) -> list[str]:
    """What differs between two knob sets, ``temp 0.8→1.3``, in registry order."""
    return [f"{knob.label} {format_value(knob, getattr(a, knob.field))}→"
            f"{format_value(knob, getattr(b, knob.field))}" for knob in differing(a, b)]


def format_value(knob: KnobDef, value: object) -> str:
    """A value as the pane shows it (``off`` at the neutral value)."""
    from genai_tui.textsafe import visible

    if knob.kind == "bool":
        return "on" if value else "off"
    if knob.kind == "seed":
        return "random" if value is None else str(value)
    if knob.kind == "stop":
        return " | ".join(visible(s) for s in value) if value else "none"  # type: ignore[union-attr]
    if knob.kind == "order":
        return format_order(tuple(value))  # type: ignore[arg-type]
    if knob.kind == "choice":
        index = choice_index(knob, value)
        return knob.choices[index][1] if index is not None else str(value)
    if knob.neutral is not None and value == knob.neutral:
        return "off"
    if knob.kind == "int":
        return str(value)
    return f"{value:.2f}"


def replace(knobs: Knobs, **changes: object) -> Knobs:
    return dataclasses.replace(knobs, **changes)  # type: ignore[arg-type]


def parse_seed(text: str) -> int | None:
    """``"42"`` -> 42, ``"random"`` -> None (a fresh seed, reported when drawn)."""
    text = text.strip()
    if text.lower() in ("random", "none", ""):
        return None
    try:
        seed = int(text)
    except ValueError:
        raise UserError(f"seed: {text!r} is not a whole number (or 'random')") from None
    if not 0 <= seed < 2**63:
        raise UserError(f"seed must be a whole number in [0, 2**63) or random, got {seed}")
    return seed


REMOTE_HELP = {
    REMOTE_STANDARD: "",
    REMOTE_EXTRA: " Remote: an extra field llama.cpp and vLLM honour (Ollama ignores it).",
    REMOTE_NONE: " Local back end only.",
}


def option_help(knob: KnobDef) -> str:
    """The knob's CLI help: what it does, its range, its off value, who honours it."""
    text = knob.help
    if knob.kind in ("float", "int") and knob.field != "max_tokens":
        text += f" In {knob.range_text()}{knob.off_text()}."
    if knob.stage == "penalties" and knob.field != "penalty_last_n":
        text += " Counts generated tokens only (OpenAI's way) unless --penalty-last-n."
    return text + REMOTE_HELP[knob.remote]


def knobs_from_values(values: dict[str, object]) -> Knobs:
    """A `Knobs` from CLI option values (seed and order as typed; stop as a list)."""
    fields: dict[str, object] = {}
    for knob in KNOBS:
        value = values[knob.field]
        if knob.kind == "seed":
            value = parse_seed(str(value))
        elif knob.kind == "order":
            value = parse_order(str(value))
        elif knob.kind == "stop":
            value = tuple(value)  # type: ignore[arg-type]
        fields[knob.field] = value
    return Knobs(**fields)  # type: ignore[arg-type]
