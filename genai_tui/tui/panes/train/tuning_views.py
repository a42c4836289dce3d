"""The Train pane's tuning stages: supervised fine-tuning (SFT) on question and
answer pairs, and preference tuning (a reward model, then DPO).

Each is a `StageView` (see `views.py`): inputs, chart specs and a text panel
that shows what the stage changes: the same questions answered before and
after (SFT), and the phases, an example pair and the same prompt before and
after (preference tuning).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from genai_tui.textsafe import escape_controls
from genai_tui.tui.panes.train.runner import RunLog
from genai_tui.tui.panes.train.views import (
    EVAL_COLOUR,
    HELD_COLOUR,
    PROMPT_STYLE,
    SAMPLE_STYLE,
    TRAIN_COLOUR,
    StageView,
    number,
)
from genai_tui.tui.textbox import SafeInput

REWARD_COLOUR = "#d787ff"
KL_COLOUR = "#ffd75f"


def answers_text(log: RunLog | None) -> Text:
    """Each question once, with its answer before and (when done) after."""
    if log is None or not log.samples:
        return Text("Held-out questions are answered here before and after tuning "
                    "(greedy, so any change is the weights').", "dim")
    by_prompt: dict[str, dict[str, Any]] = {}
    for s in list(log.samples):
        by_prompt.setdefault(s.prompt, {})[s.label] = s
    out = Text()
    for prompt, seen in by_prompt.items():
        out.append(escape_controls(prompt.rstrip(), keep_newlines=True) + "\n", PROMPT_STYLE)
        for label in ("before", "after"):
            sample = seen.get(label)
            answer = ("…" if log.finished is None else "—") if sample is None else sample.text
            out.append(f"  {label}: ", "dim")
            out.append(escape_controls(answer.strip(), keep_newlines=False) + "\n", SAMPLE_STYLE)
        out.append("\n")
    return out


class SftView(StageView):
    STAGE = "sft"
    TITLE = "SFT"
    CHARTS = [("answer loss", [("loss", TRAIN_COLOUR, "train", False, 0.8),
                               ("val_loss", HELD_COLOUR, "held-out", True, 0.0)])]
    ABOUT = ("Supervised fine-tuning on Q/A pairs from the standard library's docstrings; "
             "the loss counts the answer tokens only.")
    SETTINGS: ClassVar[dict[str, Any]] = {}
    """Further `SftSettings` fields for the runs this view starts (tests: tiny ones)."""

    def compose_inputs(self) -> ComposeResult:
        yield Label("steps")
        yield SafeInput("150", compact=True, id="sft-steps", classes="-num")
        yield Label("  Q: What does json.dumps do?  A: <its docstring's first sentence>")

    def make_run(self) -> Any:
        from genai_tui.service.lifecycle.sft import Sft, SftSettings

        steps = number(self.query_one("#sft-steps", SafeInput), "steps", 1, 100_000)
        return Sft(SftSettings(**{"steps": steps, **self.SETTINGS}))

    def redraw_panel(self, log: RunLog | None) -> None:
        self.query_one("#sft-samples", Static).update(answers_text(log))


RULE_NAMES = ("shorter", "no-repeat", "mentions")


class PreferView(StageView):
    STAGE = "prefer"
    TITLE = "Prefer"
    CHARTS = [
        ("reward model", [("accuracy", EVAL_COLOUR, "held-out acc", True, 0.0),
                          ("train_accuracy", TRAIN_COLOUR, "train acc", True, 0.0)]),
        ("DPO", [("reward", REWARD_COLOUR, "reward", True, 0.0),
                 ("kl", KL_COLOUR, "KL", True, 0.0)]),
    ]
    ABOUT = ("Pairs of the model's own answers ranked by a rule, a reward model learned from "
             "them, then DPO against a frozen copy.")
    SETTINGS: ClassVar[dict[str, Any]] = {}
    """Further `PreferSettings` fields for the runs this view starts (tests: tiny ones)."""

    rule = "shorter"

    def compose_inputs(self) -> ComposeResult:
        yield Label(self.rule_label(), id="prefer-rule")
        yield Label(" word")
        yield SafeInput("file", compact=True, id="prefer-word", max_length=40,
                        placeholder="for 'mentions'")
        yield Label(" DPO steps")
        yield SafeInput("60", compact=True, id="prefer-steps", classes="-num")

    def rule_label(self) -> Text:
        return Text.assemble("prefer ", (self.rule, "bold"), (" F8", "dim"))

    def switch_option(self) -> str:
        self.rule = RULE_NAMES[(RULE_NAMES.index(self.rule) + 1) % len(RULE_NAMES)]
        self.query_one("#prefer-rule", Label).update(self.rule_label())
        from genai_tui.service.lifecycle.prefer import RULES

        return f"The next preference run prefers {RULES[self.rule]}."

    def make_run(self) -> Any:
        from genai_tui.service.lifecycle.prefer import Prefer, PreferSettings

        word = self.query_one("#prefer-word", SafeInput).value.strip()
        steps = number(self.query_one("#prefer-steps", SafeInput), "DPO steps", 1, 100_000)
        fields = {"rule": self.rule, "word": word if self.rule == "mentions" else "",
                  "steps": steps}
        return Prefer(PreferSettings(**{**fields, **self.SETTINGS}))

    def redraw_panel(self, log: RunLog | None) -> None:
        self.query_one("#prefer-samples", Static).update(prefer_text(log))


def prefer_text(log: RunLog | None) -> Text:
    if log is None:
        return Text("The phases, an example pair and the same prompt answered before and "
                    "after DPO appear here.", "dim")
    # What changed first (it fits at 80x24), then how the run got there.
    out = Text()
    if log.finished is not None:
        f = log.finished.summary
        out.append(f"rule score {f['rule_score_before']:.2f} → {f['rule_score_after']:.2f}, "
                   f"reward {f['reward_before']:.2f} → {f['reward_after']:.2f}, "
                   f"KL {f['kl']:.2f} nats\n", "bold")
    for s in list(log.samples):
        out.append(f"{s.label} DPO: ", "bold")
        out.append(escape_controls(s.prompt.rstrip(), keep_newlines=False) + " ", PROMPT_STYLE)
        out.append(escape_controls(s.text.strip(), keep_newlines=False) + "\n", SAMPLE_STYLE)
    if log.samples or log.finished is not None:
        out.append("\n")
    for notice in list(log.notices):
        out.append(escape_controls(notice.message, keep_newlines=False) + "\n",
                   "bold #ffaf00" if notice.level == "warn" else "dim")
    return out
