"""The Train pane's stage views: what each stage asks for, builds and draws.

A `StageView` is one stage of the model's life: a row of inputs, a chart of
its figures (one or two `ChartView`s, legends from `CHARTS`) and a text
panel (samples as they come, or before and after side by side). It builds
its run from its inputs (`make_run`, on the UI thread: cheap, validates and
raises `UserError`) and redraws from the run's `RunLog` (`redraw`). The
pane owns the runners, the keys and the status line.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static

from genai_tui.errors import UserError
from genai_tui.textsafe import escape_controls
from genai_tui.tui.charts import ChartView, TextLine
from genai_tui.tui.panes.train.runner import RunLog
from genai_tui.tui.textbox import SafeInput, SafeTextArea

TRAIN_COLOUR = "#5fafff"
HELD_COLOUR = "#ff875f"
EVAL_COLOUR = "#87d787"
PROMPT_STYLE = "bold #d7d7ff"
SAMPLE_STYLE = "#e4e4e4"

Series = tuple[str, str, str, bool, float]
"""(metric name, colour, legend label, hold between reports, smoothing)."""


def number(box: SafeInput, what: str, low: float, high: float, kind: type = int) -> Any:
    """The box's value as ``kind`` within [low, high], else a `UserError` naming ``what``."""
    raw = box.value.strip()
    try:
        value = kind(raw)
    except ValueError:
        raise UserError(f"{what}: {escape_controls(raw, False)!r} is not a number") from None
    if not low <= value <= high:
        raise UserError(f"{what} must be in {low:g}..{high:g}, got {value:g}")
    return value


def legend(series: list[Series], log: RunLog | None, title: str) -> Text:
    text = Text(title + "  ", "bold")
    for name, colour, label, _, _ in series:
        value = None if log is None else log.latest.get(name)
        text.append("━ ", colour)
        text.append(f"{label} {value:.3f}  " if value is not None else f"{label}  ")
    return text


def sample_text(log: RunLog | None, *, limit: int = 12) -> Text:
    """The samples so far: a heading per sample, its prompt in bold, the text as written."""
    if log is None or not log.samples:
        return Text("Samples of the model's text appear here as it trains.", "dim")
    samples = list(log.samples)[-limit:]
    out = Text()
    for s in samples:
        out.append(sample_heading(s) + "\n", "dim")
        out.append(escape_controls(s.prompt, keep_newlines=True), PROMPT_STYLE)
        out.append(escape_controls(s.text, keep_newlines=True) + "\n\n", SAMPLE_STYLE)
    return out


def sample_heading(sample: Any) -> str:
    if sample.label == "before":
        return "before training (step 0)"
    return f"after step {sample.step}" + (" (the end)" if sample.label == "after" else "")


def trim_leading_gaps(series: list[tuple[list[float], str]]) -> list[tuple[list[float], str]]:
    """Drop the steps before any series of a chart has a value (a later phase's
    chart then fills its width instead of its last part)."""
    lengths = [next((i for i, v in enumerate(values) if v == v), len(values))
               for values, _ in series]
    start = min(lengths, default=0)
    return [(values[start:], colour) for values, colour in series]


class StageView(Vertical):
    """One stage: inputs, chart(s), text panel. Subclasses fill the class attributes."""

    STAGE: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    CHARTS: ClassVar[list[tuple[str, list[Series]]]] = []
    """(title, series) per chart, top to bottom."""
    ABOUT: ClassVar[str] = ""
    """One line under the inputs: what this stage does."""

    DEFAULT_CSS = """
    StageView { height: 1fr; }
    StageView .tr-inputs { height: auto; }
    StageView .tr-inputs Label { padding: 0 1 0 0; color: $text-muted; }
    StageView .tr-inputs SafeInput { width: 1fr; }
    StageView .tr-inputs SafeInput.-num { width: 8; }
    StageView .tr-about { height: 1; color: $text-muted; text-wrap: nowrap;
                          text-overflow: ellipsis; }
    StageView .tr-main { height: 1fr; }
    StageView .tr-charts { width: 1fr; min-width: 30; }
    StageView .tr-legend { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    StageView .tr-panel { width: 1fr; padding-left: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._panel_key: tuple | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="tr-inputs"):
            yield from self.compose_inputs()
        yield Static(self.ABOUT, classes="tr-about")
        with Horizontal(classes="tr-main"):
            with Vertical(classes="tr-charts"):
                for i, (title, series) in enumerate(self.CHARTS):
                    yield TextLine(legend(series, None, title), id=f"{self.STAGE}-legend-{i}",
                                   classes="tr-legend")
                    yield ChartView(id=f"{self.STAGE}-chart-{i}")
            yield from self.compose_panel()

    def compose_inputs(self) -> ComposeResult:
        yield from ()

    def compose_panel(self) -> ComposeResult:
        with VerticalScroll(classes="tr-panel", id=f"{self.STAGE}-scroll"):
            yield Static(sample_text(None), id=f"{self.STAGE}-samples")

    def make_run(self) -> Any:
        """A new run from the inputs (`UserError` for bad ones)."""
        raise NotImplementedError

    def switch_option(self) -> str | None:
        """F8: switch this stage's option (returns what it now does), if it has one."""
        return None

    def redraw(self, log: RunLog | None) -> None:
        for i, (title, series) in enumerate(self.CHARTS):
            self.query_one(f"#{self.STAGE}-legend-{i}", TextLine).set_text(
                legend(series, log, title))
            data = [] if log is None else trim_leading_gaps([
                (log.series(name, hold=hold, smooth=smooth), colour)
                for name, colour, _, hold, smooth in series])
            self.query_one(f"#{self.STAGE}-chart-{i}", ChartView).set_series(data)
        # The text panel changes only with a sample, a notice or the end: re-laying
        # out its text on every step would take the CPU from training.
        key = None if log is None else (id(log), len(log.samples), len(log.notices),
                                        log.finished is not None)
        if key is None or key != self._panel_key:
            self._panel_key = key
            self.redraw_panel(log)

    def redraw_panel(self, log: RunLog | None) -> None:
        scroll = self.query_one(f"#{self.STAGE}-scroll", VerticalScroll)
        at_end = scroll.scroll_y >= scroll.max_scroll_y - 1
        self.query_one(f"#{self.STAGE}-samples", Static).update(sample_text(log))
        if at_end:
            scroll.call_after_refresh(scroll.scroll_end, animate=False)


LOSS_SERIES: list[Series] = [
    ("loss", TRAIN_COLOUR, "train", False, 0.9),
    ("val_loss", HELD_COLOUR, "held-out", True, 0.0),
]


class PretrainView(StageView):
    STAGE = "pretrain"
    TITLE = "Pretrain"
    CHARTS = [("loss", LOSS_SERIES)]
    ABOUT = ("A small GPT from random weights learns next-token prediction on the standard "
             "library's source files (held out: whole files).")
    SETTINGS: ClassVar[dict[str, Any]] = {}
    """Further `PretrainSettings` fields for the runs this view starts (tests: tiny ones)."""

    def compose_inputs(self) -> ComposeResult:
        yield Label("prompt")
        yield SafeInput("def ", compact=True, id="pretrain-prompt", max_length=200)
        yield Label(" steps")
        yield SafeInput("600", compact=True, id="pretrain-steps", classes="-num")
        yield Label(" layers")
        yield SafeInput("2", compact=True, id="pretrain-layers", classes="-num")
        yield Label(" width")
        yield SafeInput("128", compact=True, id="pretrain-width", classes="-num")
        yield Label(self.tokenizer_label(), id="pretrain-tokenizer")

    tokenizer = "byte"
    """"byte" or "bpe" (F8 switches)."""

    def tokenizer_label(self) -> Text:
        return Text.assemble(" tokens ", (self.tokenizer, "bold"), (" F8", "dim"))

    def switch_option(self) -> str:
        self.tokenizer = "bpe" if self.tokenizer == "byte" else "byte"
        self.query_one("#pretrain-tokenizer", Label).update(self.tokenizer_label())
        return ("The next pretraining run reads " + (
            "bytes (256 ids: words and indentation show up within a few hundred steps)."
            if self.tokenizer == "byte" else
            "BPE tokens (4096 ids, the bundled model's tokenizer)."))

    def make_run(self) -> Any:
        from genai_tui.service.lifecycle.pretrain import Pretrain, PretrainSettings

        box = lambda name: self.query_one(f"#pretrain-{name}", SafeInput)  # noqa: E731
        width = number(box("width"), "width", 8, 1024)
        heads = 4 if width % 4 == 0 else 1
        fields = dict(prompt=box("prompt").text, steps=number(box("steps"), "steps", 1, 100_000),
                      n_layer=number(box("layers"), "layers", 1, 12), n_embd=width,
                      n_head=heads, tokenizer=self.tokenizer)
        return Pretrain(PretrainSettings(**{**fields, **self.SETTINGS}))


class FinetuneView(StageView):
    STAGE = "finetune"
    TITLE = "Fine-tune"
    CHARTS = [("loss", [("loss", TRAIN_COLOUR, "batch", False, 0.8),
                        ("train_loss", EVAL_COLOUR, "train", True, 0.0),
                        ("val_loss", HELD_COLOUR, "held-out", True, 0.0)])]
    ABOUT = ("Fine-tune the bundled model on your text (a file, or paste below); its tail "
             "is held out to catch overfitting.")
    SETTINGS: ClassVar[dict[str, Any]] = {}
    """Further `FinetuneSettings` fields for the runs this view starts (tests: tiny ones)."""

    DEFAULT_CSS = """
    FinetuneView #finetune-text { height: 4; }
    FinetuneView .tr-compare { width: 1fr; padding-left: 1; }
    FinetuneView .tr-compare VerticalScroll { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield SafeTextArea(id="finetune-text", soft_wrap=True,
                           placeholder="…or paste text here (Esc leaves the box)")

    def compose_inputs(self) -> ComposeResult:
        yield Label("file")
        yield SafeInput("", compact=True, id="finetune-file",
                        placeholder="a UTF-8 text file (empty: the pasted text below)")
        yield Label(" steps")
        yield SafeInput("120", compact=True, id="finetune-steps", classes="-num")

    def compose_panel(self) -> ComposeResult:
        with Horizontal(classes="tr-compare"):
            with VerticalScroll(id="finetune-before-scroll"):
                yield Static(Text("before", "dim"), id="finetune-before")
            with VerticalScroll(id="finetune-after-scroll"):
                yield Static(Text("after", "dim"), id="finetune-after")

    def text_and_source(self) -> tuple[str, str]:
        path = self.query_one("#finetune-file", SafeInput).value.strip()
        if path:
            from genai_tui.corpus import load_text_corpus

            return load_text_corpus(path, "text file"), path.rsplit("/", 1)[-1]
        text = self.query_one("#finetune-text", SafeTextArea).text
        if not text.strip():
            raise UserError("give a text file, or paste some text into the box below")
        return text, "pasted text"

    def make_run(self) -> Any:
        from genai_tui.service.lifecycle.finetune import Finetune, FinetuneSettings

        text, source = self.text_and_source()
        steps = number(self.query_one("#finetune-steps", SafeInput), "steps", 1, 100_000)
        return Finetune(FinetuneSettings(text=text, source=source, steps=steps, **self.SETTINGS))

    def redraw_panel(self, log: RunLog | None) -> None:
        before = after = None
        for s in (log.samples if log is not None else []):
            if s.label == "before":
                before = s
            elif s.label == "after":
                after = s
        self.query_one("#finetune-before", Static).update(compare_text("before", before))
        waiting = "after: training…" if log is not None else "after"
        self.query_one("#finetune-after", Static).update(compare_text("after", after, waiting))


def compare_text(title: str, sample: Any, waiting: str = "") -> Text:
    out = Text(f"{title}", "bold")
    if sample is None:
        return Text(waiting or title, "dim")
    out.append(f" (step {sample.step}, same prompt and seed)\n", "dim")
    out.append(escape_controls(sample.prompt, keep_newlines=True), PROMPT_STYLE)
    out.append(escape_controls(sample.text, keep_newlines=True), SAMPLE_STYLE)
    return out
