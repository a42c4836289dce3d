"""The tokenizer pane's menu of tokenizers: every registry entry, the
unavailable ones listed but disabled (the tokenizer list, ctrl+l, says why)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Select

from genai_tui.service import tokenize as svc
from genai_tui.tui.panes.tokenizer.explain import ui

LOADING = ""
"""Select value while the registry loads."""

PREFERRED = ("genai-bpe", "cl100k_base", "o200k_base", "char", "byte")
"""The first choices for the two menus, in order, when available."""


def first_two(available: list[str]) -> tuple[str, str]:
    """What menus A and B start on: the preferred available tokenizers (B = A
    when only one is available)."""
    ranked = [name for name in PREFERRED if name in available] + available
    first = ranked[0]
    return first, next((name for name in ranked if name != first), first)


class TokenizerSelect(Select[str]):
    """A Select of the registry; unavailable tokenizers are listed but
    disabled (their reasons are in the tokenizer list, `ctrl+l`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            [(Text("loading…", style="dim"), LOADING)], allow_blank=False, compact=True, id=id
        )
        self.disabled_indices: list[int] = []

    def set_tokenizers(self, infos: list[svc.TokenizerInfo]) -> None:
        options: list[tuple[Text, str]] = []
        self.disabled_indices = []
        for n, info in enumerate(infos):
            if info.available:
                options.append((Text(ui(info.name)), info.name))
            else:
                options.append((Text(f"{ui(info.name)} (n/a)", style="dim strike"), info.name))
                self.disabled_indices.append(n)
        self.set_options(options)

    def _setup_options_renderables(self) -> None:
        super()._setup_options_renderables()
        try:
            from textual.widgets._select import SelectOverlay

            overlay = self.query_one(SelectOverlay)
            for index in self.disabled_indices:
                overlay.disable_option_at_index(index)
        except Exception:  # private API moved: the pane refuses them on change
            pass
