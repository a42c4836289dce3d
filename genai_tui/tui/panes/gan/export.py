"""The GAN pane's training curves as CSV rows (plain Python, no Textual); the
pane saves them with the kit's `csv_export`."""

from __future__ import annotations

from collections.abc import Iterator

from genai_tui.service.gan import GanEvent

COLUMNS = ("step", "kind", "d_updates", "g_updates", "d_loss", "g_loss", "d_real", "d_fake",
           "js_bits", "modes_covered", "modes_total", "on_modes", "mode_collapse")
"""One row per training event; ``js_bits``/``modes_*``/``on_modes`` only at the
events that estimated them (empty elsewhere)."""


def _cell(value: object) -> object:
    return "" if value is None else value


def curve_rows(events: list[GanEvent]) -> Iterator[list[object]]:
    """One CSV row per event (see `COLUMNS`), in training order."""
    for ev in events:
        evaluated = ev.js is not None or ev.modes_covered is not None
        yield [ev.step, ev.kind, ev.d_updates, ev.g_updates, ev.d_loss, ev.g_loss,
               ev.d_real, ev.d_fake, _cell(ev.js), _cell(ev.modes_covered),
               ev.modes_total if evaluated else "", _cell(ev.on_modes),
               int(ev.mode_collapse)]
