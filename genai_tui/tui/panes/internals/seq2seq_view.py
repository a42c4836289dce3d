"""The Transformer pane's encoder-decoder view (dates -> ISO).

Type a date; the output appears one character at a time, with the
cross-attention map (output characters x input characters) of the chosen
layer and head, and beside it the encoder's bidirectional self-attention and
the decoder's causal one (the masked triangle is grey). ``b`` switches greedy
decoding / beam search. A beam search runs in a worker one step at a time: the
view shows the live beams with their cumulative log-probabilities, the
candidates pruned and the hypotheses finished at each step (the Generate
pane's `beam_render`), then the final ranking above the maps of the best one.
The beam width and length penalty are knobs of the registry
(`genai_tui.sampling.knobs.BEAM_KNOBS`, as `genai-tui seq2seq --beam`):
F10/F11 narrow/widen the beam, F12/shift+F12 raise/lower the length penalty.

Self-contained: its own input, worker and keys; the pane only hosts it. The
model loads in a worker the first time the view is shown. Keys follow the
keyboard model: Enter, F-keys and Esc work while typing; `[` `]` `←` `→` `m`
`b` `/` only when the input is not focused. Esc outside the input stops a
running decoding.
"""

from __future__ import annotations

import time
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import BEAM_KNOB_BY_FIELD
from genai_tui.service import seq2seq as svc
from genai_tui.service.beam import BeamSettings
from genai_tui.service.runtime import settle_heap
from genai_tui.tui.pane import describe_error
from genai_tui.tui.panes.generate import beam_render as BR
from genai_tui.tui.panes.internals import seq2seq_render as R
from genai_tui.tui.panes.internals.widgets import Board
from genai_tui.tui.textbox import SafeInput

DEFAULT_INPUT = "the 3rd of March, 2021"
REVEAL_DELAY = 0.04
"""Seconds between output characters, so a person sees them appear one by one
(the model itself needs about a millisecond per character)."""
_WIDTH = BEAM_KNOB_BY_FIELD["num_beams"]
_PENALTY = BEAM_KNOB_BY_FIELD["length_penalty"]
PENALTY_STEP = 0.5
"""One F12 press on the length penalty (five of the registry's steps)."""

_INFO = Style(color="grey85")
_HINT = Style(color="grey50")
_ERROR = Style(color="red", bold=True)


class Seq2SeqView(Vertical):
    """Encoder-decoder attention: cross, encoder self and decoder self maps."""

    BINDINGS = [
        Binding("left_square_bracket", "layer(-1)", "Previous layer", show=False),
        Binding("right_square_bracket", "layer(1)", "Next layer", show=False),
        Binding("left", "head(-1)", "Previous head", show=False),
        Binding("right", "head(1)", "Next head", show=False),
        Binding("up", "row(-1)", "Previous output character", show=False),
        Binding("down", "row(1)", "Next output character", show=False),
        Binding("m", "mean", "Mean/head", tooltip="one head / mean of the heads"),
        Binding("b", "beam", "Beam", tooltip="greedy decoding / beam search"),
        Binding("f10", "width(-1)", "Fewer beams", show=False),
        Binding("f11", "width(1)", "More beams", show=False),
        Binding("f12", "penalty(1)", "Length penalty +", show=False),
        Binding("shift+f12", "penalty(-1)", "Length penalty −", show=False),
        Binding("slash", "focus_input", "Edit the input", show=False),
        Binding("escape", "escape", "Leave the input / stop", show=False),
    ]
    DEFAULT_CSS = """
    Seq2SeqView { height: 1fr; }
    Seq2SeqView #s2s-inrow { height: 1; }
    Seq2SeqView #s2s-inlabel { width: auto; color: $text-muted; padding-right: 1; }
    Seq2SeqView #s2s-input { width: 1fr; }
    Seq2SeqView #s2s-out { height: 1; }
    Seq2SeqView #s2s-status { height: 1; background: $boost; }
    Seq2SeqView #s2s-board { height: 1fr; }
    Seq2SeqView #s2s-maps { height: auto; width: auto; }
    Seq2SeqView #s2s-maps Static { width: auto; padding-right: 2; }
    Seq2SeqView #s2s-beams { height: auto; }
    """

    class Loaded(Message):
        def __init__(self, model: Any, error: str = "") -> None:
            super().__init__()
            self.model = model
            self.error = error

    class Stepped(Message):
        """One output character, one beam-search step (`svc.BeamEvent`), or an error."""

        def __init__(self, serial: int, step: Any = None, error: str = "",
                     beam: Any = None) -> None:
            super().__init__()
            self.serial = serial
            self.step = step
            self.error = error
            self.beam = beam

    def __init__(self, *, id: str | None = None, model_path: str | None = None) -> None:
        super().__init__(id=id)
        self.model_path = model_path
        self.model: Any = None
        self.error = ""
        self.model_loading = False
        self.text = DEFAULT_INPUT
        self.result: Any = None
        """The latest `svc.Translation` (partial while decoding)."""
        self.done = False
        self.att_layer = -1
        self.head = 0
        self.mean = False
        self.row = -1
        """Selected output character (-1: the last one)."""
        self.beam_on = False
        self.beam = int(_WIDTH.default)  # type: ignore[call-overload]
        """The beam width (the registry's default; used while `beam_on`)."""
        self.length_penalty = float(_PENALTY.default)  # type: ignore[arg-type]
        self.beam_steps: list[Any] = []
        """The `BeamUpdate`s of the running (or last) beam search."""
        self.stopped = False
        self._serial = 0
        self._finished = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="s2s-inrow"):
            yield Static("Date›", id="s2s-inlabel")
            yield SafeInput(DEFAULT_INPUT, placeholder="a date in words, e.g. March the 3rd, 2021",
                            id="s2s-input", compact=True)
        yield Static(id="s2s-out")
        yield Static(id="s2s-status")
        with Board(id="s2s-board"):
            yield Static(id="s2s-beams")
            with Horizontal(id="s2s-maps"):
                yield Static(id="s2s-cross")
                yield Static(id="s2s-enc")
                yield Static(id="s2s-dec")

    # lifecycle -----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the model loads or a decoding runs (tests wait on it)."""
        return self.model_loading or self._finished != self._serial

    def shown(self) -> None:
        """Called by the pane each time the view is shown: load the model once."""
        if self.model is None and not self.model_loading and not self.error:
            self.model_loading = True
            self._message(Text("⏳ Loading the encoder-decoder…"))
            self._load()
        self._draw()

    @work(thread=True, exclusive=True, group="seq2seq-load", exit_on_error=False,
          description="loading the encoder-decoder")
    def _load(self) -> None:
        try:
            model = svc.load(self.model_path)
            settle_heap()  # the model lives as long as the app: no full collection walks it
            self.post_message(self.Loaded(model))
        except Exception as exc:  # noqa: BLE001 - shown in the view, the app stays up
            self.post_message(self.Loaded(None, describe_error(exc)))

    def on_seq2seq_view_loaded(self, message: Loaded) -> None:
        self.model_loading = False
        self.model, self.error = message.model, message.error
        if self.error:
            self._message(Text("✗ " + self.error, style=_ERROR))
            self.notify(self.error, title="Encoder-decoder", severity="error", markup=False)
        else:
            self._start()
        self._update_status()

    # decoding ------------------------------------------------------------------

    def _start(self) -> None:
        if self.model is None:
            return
        self._serial += 1
        self.done = False
        self.stopped = False
        self.row = -1
        self.beam_steps = []
        if self.beam_on:
            self.result = None
        self._decode(self._serial, self.text, self.beam if self.beam_on else 1,
                     self.length_penalty, self.model)
        self._draw()

    @work(thread=True, exclusive=True, group="seq2seq-decode", exit_on_error=False,
          description="decoding")
    def _decode(self, serial: int, text: str, beam: int, length_penalty: float,
                model: Any) -> None:
        worker = get_current_worker()
        try:
            if not self.beam_on:
                for step in svc.decode_steps(text, model):
                    if worker.is_cancelled:
                        return
                    self.post_message(self.Stepped(serial, step=step))
                    if not step.done:
                        time.sleep(REVEAL_DELAY)
            else:
                for event in svc.beam_events(text, model, beam=beam,
                                             length_penalty=length_penalty):
                    if worker.is_cancelled:
                        return
                    self.post_message(self.Stepped(serial, beam=event))
                    if event.translation is None:
                        time.sleep(REVEAL_DELAY)
        except UserError as exc:
            self.post_message(self.Stepped(serial, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown in the view, the app stays up
            self.post_message(self.Stepped(serial, error=describe_error(exc)))

    def on_seq2seq_view_stepped(self, message: Stepped) -> None:
        if message.serial != self._serial:
            return  # an older input's decoding
        if message.error:
            self._finished = message.serial
            self.result, self.done = None, True
            self._message(Text("✗ " + message.error, style=_ERROR))
        else:
            if message.beam is not None:
                self.beam_steps.append(message.beam.update)
                if message.beam.translation is not None:
                    self.result, self.done = message.beam.translation, True
            else:
                self.result, self.done = message.step.translation, message.step.done
            if self.done:
                self._finished = message.serial
            self._draw()
        self._update_status()

    # inputs and keys -----------------------------------------------------------

    @property
    def input(self) -> SafeInput:
        return self.query_one("#s2s-input", SafeInput)

    @on(Input.Submitted, "#s2s-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.text = event.value
        self._start()
        self.focus_board()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "escape":
            return self.input.has_focus or self.running
        return True

    @property
    def running(self) -> bool:
        """A decoding (greedy or beam) is under way."""
        return self.model is not None and self._finished != self._serial

    def action_layer(self, step: int) -> None:
        if self.result is None:
            return
        n = len(self.result.cross)
        self.att_layer = (self.att_layer % n + step) % n
        self._draw()

    def action_head(self, step: int) -> None:
        if self.result is None:
            return
        n = self.result.cross[0].shape[0]
        self.mean = False
        self.head = (self.head + step) % n
        self._draw()

    def action_row(self, step: int) -> None:
        if self.result is None or not self.result.output_tokens:
            return
        n = len(self.result.output_tokens)
        row = self.row % n
        self.row = max(0, min(n - 1, row + step))
        self._draw()

    def action_mean(self) -> None:
        self.mean = not self.mean
        self._draw()

    def action_beam(self) -> None:
        self.beam_on = not self.beam_on
        self._start()
        self._update_status()

    def action_width(self, step: int) -> None:
        """Narrow/widen the beam within the registry's pane range; turns beam search on."""
        hi = int(_WIDTH.ui_hi if _WIDTH.ui_hi is not None else _WIDTH.hi)
        self.beam = max(int(_WIDTH.lo), min(hi, self.beam + step))
        self.beam_on = True
        self._start()

    def action_penalty(self, step: int) -> None:
        """Raise/lower the length penalty within the registry's pane range."""
        lo = _PENALTY.ui_lo if _PENALTY.ui_lo is not None else _PENALTY.lo
        hi = _PENALTY.ui_hi if _PENALTY.ui_hi is not None else _PENALTY.hi
        self.length_penalty = round(max(lo, min(hi, self.length_penalty + step * PENALTY_STEP)), 3)
        self.beam_on = True
        self._start()

    def action_escape(self) -> None:
        if self.input.has_focus:
            self.focus_board()
        elif self.running:
            self.stop()

    def stop(self) -> None:
        """Stop the running decoding (its worker checks once per step)."""
        self.workers.cancel_group(self, "seq2seq-decode")
        self._finished = self._serial
        self.done = self.stopped = True
        self._update_status()

    def action_focus_input(self) -> None:
        self.input.focus()

    def focus_board(self) -> None:
        self.query_one("#s2s-board", Board).focus()

    # drawing -------------------------------------------------------------------

    def _message(self, text: Text) -> None:
        self.query_one("#s2s-cross", Static).update(text)
        for part in ("#s2s-enc", "#s2s-dec", "#s2s-beams"):
            self.query_one(part, Static).update("")

    def _draw(self) -> None:
        r = self.result
        out = self.query_one("#s2s-out", Static)
        self._draw_beams()
        if r is None:
            out.update("")
            if self.beam_on and self.model is not None:
                for part in ("#s2s-cross", "#s2s-enc", "#s2s-dec"):
                    self.query_one(part, Static).update("")
            self._update_status()
            return
        out.update(R.output_line(r.output_tokens, r.probs, self.done))
        row = self.row % len(r.output_tokens) if r.output_tokens else None
        maps = R.attention_maps(r, self.att_layer, self.head, self.mean, row)
        for part, text in zip(("#s2s-cross", "#s2s-enc", "#s2s-dec"), maps, strict=True):
            self.query_one(part, Static).update(text)
        self._update_status()

    def _draw_beams(self) -> None:
        """Live beams while the search runs (`beam_render.step_view`), then the final
        ranking above the best hypothesis's maps; greedy: a one-line hint."""
        beams = self.query_one("#s2s-beams", Static)
        width = max(20, self.size.width - 2)
        settings = BeamSettings(num_beams=self.beam, length_penalty=self.length_penalty)
        steps = self.beam_steps
        if not self.beam_on:
            beams.update(Text(f"beams› greedy (b: beam search, {self.beam} beams)", style=_HINT))
        elif not steps:
            beams.update(BR.waiting_text("⏳ beam search: scoring the first step…"))
        elif steps[-1].done:
            beams.update(BR.join_lines(BR.ranking_section(steps[-1], width, settings)))
        else:
            beams.update(BR.step_view(steps, len(steps) - 1, settings, width))

    def _mode(self) -> str:
        if not self.beam_on:
            return "greedy"
        return f"beam {self.beam} len pen {self.length_penalty:g}"

    def _update_status(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.model_loading:
            t.append(" loading the encoder-decoder…", _INFO)
        elif self.error:
            t.append(" no encoder-decoder", _ERROR)
        elif self.result is not None:
            r = self.result
            n_layer, n_head = len(r.cross), r.cross[0].shape[0]
            head = "mean" if self.mean else f"{self.head % n_head}/{n_head - 1}"
            t.append(f" layer {self.att_layer % n_layer}/{n_layer - 1}  head {head}  "
                     f"{self._mode()}", _INFO)
            t.append("  [ ] layer ←→ head ↑↓ row m mean b beam F10/F11 width / edit", _HINT)
        elif self.beam_on and self.model is not None:
            what = "stopped" if self.stopped else f"step {len(self.beam_steps)}"
            t.append(f" {self._mode()}  {what}", _INFO)
            t.append("  Esc stop  F10/F11 width  F12 length penalty  b greedy", _HINT)
        self.query_one("#s2s-status", Static).update(t)
