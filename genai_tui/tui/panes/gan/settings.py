"""The GAN settings dialog: data set, loss, optimiser, learning rates, D steps, seed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from genai_tui.errors import UserError
from genai_tui.images.points import DATASETS, DESCRIPTIONS
from genai_tui.service.gan import LOSSES, OPTIMIZERS, GanSettings
from genai_tui.textsafe import escape_controls
from genai_tui.tui.textbox import SafeInput

_NUMBER_FIELDS = (
    ("lr_d", "D learning rate", float),
    ("lr_g", "G learning rate", float),
    ("d_steps", "D steps per G step", int),
    ("noise_dim", "noise dimension", int),
    ("batch_size", "batch size", int),
    ("seed", "seed", int),
)


class GanSettingsScreen(ModalScreen[GanSettings | None]):
    """Edit the run's settings; Apply restarts training with them."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply", show=False),
    ]
    DEFAULT_CSS = """
    GanSettingsScreen { align: center middle; }
    GanSettingsScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    GanSettingsScreen Grid {
        grid-size: 2; grid-columns: 20 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto;
    }
    GanSettingsScreen Label { width: 100%; text-align: right; color: $text-muted; }
    GanSettingsScreen #gan-set-error { color: $text-error; height: auto; }
    GanSettingsScreen #gan-set-buttons { height: 1; align-horizontal: right; margin-top: 1; }
    GanSettingsScreen #gan-set-buttons Button { margin-left: 1; }
    """

    def __init__(self, settings: GanSettings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        s = self.settings
        points = s.mode == "points"
        with Vertical():
            yield Static(Text(f"GAN settings ({'2-D points' if points else 'images'})",
                              style="bold"))
            with Grid():
                if points:
                    builtin = s.data in DATASETS
                    yield Label("data set")
                    yield Select([(f"{n} — {DESCRIPTIONS[n]}", n) for n in DATASETS],
                                 value=s.data if builtin else "ring", allow_blank=False,
                                 compact=True, id="gan-set-data")
                    yield Label("or CSV file")
                    yield SafeInput("" if builtin else s.data, placeholder="path of x,y points",
                                compact=True, id="gan-set-csv")
                yield Label("loss")
                yield Select([(n, n) for n in LOSSES], value=s.loss, allow_blank=False,
                             compact=True, id="gan-set-loss")
                yield Label("optimiser")
                yield Select([(n, n) for n in OPTIMIZERS], value=s.optimizer,
                             allow_blank=False, compact=True, id="gan-set-optimizer")
                for name, label, kind in _NUMBER_FIELDS:
                    yield Label(label)
                    yield SafeInput(str(getattr(s, name)), compact=True, id=f"gan-set-{name}",
                                type="number" if kind is float else "integer")
            yield Static("", id="gan-set-error")
            with Horizontal(id="gan-set-buttons"):
                yield Button("Apply", variant="primary", compact=True, id="gan-set-apply")
                yield Button("Cancel", compact=True, id="gan-set-cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "gan-set-apply":
            self.action_apply()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_apply(self) -> None:
        try:
            settings = self.read()
        except UserError as e:
            self.query_one("#gan-set-error", Static).update(Text(escape_controls(str(e))))
            return
        self.dismiss(settings)

    def read(self) -> GanSettings:
        """The settings the form shows (validated).

        Raises:
            UserError: a field does not parse or is out of range.
        """
        changes: dict = {
            "loss": self.query_one("#gan-set-loss", Select).value,
            "optimizer": self.query_one("#gan-set-optimizer", Select).value,
        }
        if self.settings.mode == "points":
            csv = self.query_one("#gan-set-csv", Input).value.strip()
            if csv:
                if not Path(csv).expanduser().is_file():
                    raise UserError(f"no such file: {csv}")
                changes["data"] = csv
            else:
                changes["data"] = self.query_one("#gan-set-data", Select).value
        for name, label, kind in _NUMBER_FIELDS:
            raw = self.query_one(f"#gan-set-{name}", Input).value.strip()
            try:
                changes[name] = kind(raw)
            except ValueError:
                raise UserError(f"{label}: not a number: {raw!r}") from None
        settings = replace(self.settings, **changes)
        settings.validate()
        return settings
