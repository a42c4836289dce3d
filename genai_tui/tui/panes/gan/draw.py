"""What the GAN pane writes (no Textual): its help, the legend over the map,
the chart titles with their latest values, and the two status lines."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.text import Text

from genai_tui import display
from genai_tui.images.charts import BOTH_GLYPH, FAKE_GLYPH, REAL_GLYPH, REAL_SIDE_GLYPH
from genai_tui.service.gan import GanEvent, GanSettings

if TYPE_CHECKING:
    from genai_tui.tui.panes.gan.pane import GanPane

D_COLOUR = "#ff9e3d"
G_COLOUR = "#5fb4ff"
REAL_COLOUR = "#7ee787"
FAKE_COLOUR = "#f778ba"
JS_COLOUR = "#e3d26f"

HELP = """\
A **generative adversarial network** is two networks in a game. The
**generator** G turns random noise z into samples; the **discriminator** D
scores how *real* a sample looks. D learns to tell real data from G's output;
G learns to fool D. At the ideal end, G's samples match the data and D says
0.5 everywhere (D loss 2 ln 2 ≈ 1.39, G loss ln 2 ≈ 0.69 with the
non-saturating loss; 0.25 and 0.125 with least squares).

- **2-D mode**: real points `•`, generated points `×` (`⊕` where both) over
  D's **decision map**: green where D says "real", purple where it says
  "generated". G's points follow the map's gradient towards green.
- **Image mode**: a small DCGAN (batch norm in G, least-squares loss by
  default) on the digit data; the grid shows G's samples for a fixed z, so
  you see the same "latent points" sharpen into digits. Expect blobs for the
  first few hundred steps and about half of the samples read as digits by
  step 2,000 (a couple of minutes).
- **JS divergence** (2-D): how different the histograms of real and generated
  points are, in bits (0 = same, 1 = disjoint). **Modes covered**: modes that
  get their share of sharp samples. **Mode collapse**: G gathers its samples
  around at most half of the modes and a warning appears (to see it: settings,
  D learning rate 0.0001).

`space` plays and pauses; pause and take one D step (`d`) or one G step (`g`)
to see each player's move. `m` switches between 2-D points and images.
Settings: data set (ring, grid, spiral, moons, line, or your CSV of x,y
points), loss (non-saturating or least squares), optimiser, learning rates,
D steps per G step, noise size, batch size, seed. Same seed, same run.
"""
"""The pane's F1 help (Markdown)."""


def num(v: float | None) -> str:
    """A value for a title: three decimals, "—" for none (or not finite)."""
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.3f}"


def short_data(data: str) -> str:
    """A data set's name or CSV path, cut to 24 characters from its end."""
    return data if len(data) <= 24 else "…" + data[-23:]


def building_text(settings: GanSettings) -> str:
    """What the map says while a run with ``settings`` is built."""
    if settings.mode == "images":
        return "Drawing digits and building the DCGAN…"
    return f"Building the GAN on {short_data(settings.data)}…"


def legend(mode: str) -> Text:
    """The line above the map: the glyphs and shades (points), or what the grid is."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if mode == "points":
        t.append(REAL_GLYPH, style=f"bold {REAL_COLOUR}")
        t.append(" real  ")
        t.append(FAKE_GLYPH, style=f"bold {FAKE_COLOUR}")
        t.append(" generated  ")
        t.append(BOTH_GLYPH, style="bold")
        t.append(" both  D: ")
        if display.current().glyph_cues:  # the shade alone cannot say it
            t.append(f"{REAL_SIDE_GLYPH}real", style="on #19552d")
        else:
            t.append("real", style="on #19552d")
        t.append(" ")
        t.append("fake", style="on #461e5a")
    else:
        t.append("G(z) for a fixed z: the same noise, sharpening into digits")
    return t


def _pair(first: str, first_colour: str, a: float | None,
          second: str, second_colour: str, b: float | None, prefix: str = "") -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(prefix)
    t.append(f"━ {first} ", style=first_colour)
    t.append(num(a))
    t.append("  ")
    t.append(f"━ {second} ", style=second_colour)
    t.append(num(b))
    return t


def loss_title(ev: GanEvent | None) -> Text:
    return _pair("D", D_COLOUR, ev.d_loss if ev else None,
                 "G", G_COLOUR, ev.g_loss if ev else None, prefix="loss ")


def dx_title(ev: GanEvent | None) -> Text:
    return _pair("D(x)", REAL_COLOUR, ev.d_real if ev else None,
                 "D(G(z))", FAKE_COLOUR, ev.d_fake if ev else None)


def js_title(pane: GanPane) -> Text:
    """JS divergence (points) or the share read as digits (images)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if pane.mode == "points":
        t.append("━ JS divergence ", style=JS_COLOUR)
        t.append(num(pane.js))
        t.append(" bits")
    else:
        t.append("━ read as digits ", style=JS_COLOUR)
        t.append("—" if pane.on_modes is None else f"{pane.on_modes:.0%}")
        if pane.modes is not None:
            t.append(f" · {pane.modes[0]}/10 digits")
    return t


def status(pane: GanPane) -> Text:
    """Line 1: building / training / paused, step, rate, modes; line 2: the mode
    collapse warning, else the run's settings."""
    s = pane.settings[pane.mode]
    line1 = Text()
    if pane.busy:
        line1.append("⏳ building ", style="bold")
    elif pane.playing:
        line1.append("▶ training ", style="bold green")
    else:
        line1.append("⏸ paused ", style="bold yellow")
    line1.append(f" step {pane.step}")
    line1.append(f" (D {pane.d_updates}, G {pane.g_updates})", style="dim")
    if pane.playing and pane.rate is not None:
        line1.append(f"  {pane.rate:.0f} steps/s")
    if pane.modes is not None:
        line1.append(f"  {'modes' if pane.mode == 'points' else 'digits'} covered "
                     f"{pane.modes[0]}/{pane.modes[1]}")
    line2 = Text()
    if pane.collapse and pane.modes is not None:
        what = "modes" if pane.mode == "points" else "digits"
        line2.append(f" ⚠ MODE COLLAPSE: G covers only {pane.modes[0]} of "
                     f"{pane.modes[1]} {what} ", style="bold white on red")
        line2.append(" try r (reset), a lower G lr, or least squares")
    else:
        data = s.data if s.mode == "images" else short_data(s.data)
        line2.append(f"{'2-D' if s.mode == 'points' else 'images'} · ", style="dim")
        line2.append(Text(data, style="dim"))
        line2.append(f" · {s.loss} · {s.optimizer} · lr D {s.lr_d:g} G {s.lr_g:g}"
                     f" · D steps {s.d_steps} · seed {s.seed}", style="dim")
    return Text("\n").join([line1, line2])
