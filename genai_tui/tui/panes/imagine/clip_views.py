"""The Imagine pane's two CLIP views: the search (the prompt as a query over
held-out digits, with the similarity matrix of held-out pairs; its widget is
`views.SearchView`) and the map (`MapView`: captions and images of held-out
pairs on one PCA plane, where each digit's captions should land by its images).

`ClipViews` is a mixin of `ImaginePane`: it starts both computations through the
kit's `compute` (a worker; a newer request supersedes an older one) and draws
their results. Both need only CLIP, not the text-to-image model.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from genai_tui.tui.panes.imagine import work as wk
from genai_tui.tui.panes.imagine.views import SearchView
from genai_tui.tui.text import truncate

SEARCH_K = 8
"""Gallery images the search view shows."""


class MapView(Static):
    """Two scatter panels on the same axes, captions and images, each point drawn as
    its digit (`images.plots.scatter_text`), sized to the widget."""

    DEFAULT_CSS = """
    MapView { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.joint: wk.JointView | None = None
        self.message: Text | None = Text("The map appears once CLIP has loaded.", style="dim")

    def show_message(self, text: Text) -> None:
        self.message = text
        self.refresh()

    def show_map(self, joint: wk.JointView) -> None:
        self.joint, self.message = joint, None
        self.refresh()

    def render(self) -> Text:
        if self.message is not None or self.joint is None:
            return self.message or Text("")
        return map_text(self.joint, self.size.width, self.size.height)


def map_text(joint: wk.JointView, width: int, height: int) -> Text:
    """Titles, the two panels side by side, and three lines saying what to look for."""
    from genai_tui.images.plots import scatter_text

    panel_w = max(8, (width - 3) // 2)
    panel_h = max(4, height - 3)
    left = scatter_text(joint.texts, joint.text_digits, panel_w, panel_h, joint.span)
    right = scatter_text(joint.images, joint.image_digits, panel_w, panel_h, joint.span)
    out = Text(no_wrap=True, overflow="crop")
    out.append(f"{f'captions ({len(joint.texts)})':<{panel_w}}   ", style="bold")
    out.append(f"images ({len(joint.images)})\n", style="bold")
    for a, b in zip(left.split("\n"), right.split("\n"), strict=False):
        out.append_text(a)
        out.append(" " * max(0, panel_w - a.cell_len) + " │ ", style="dim")
        out.append_text(b)
        out.append("\n")
    x, y = joint.explained
    out.append(truncate(f"One PCA of both kinds ({x:.0%} and {y:.0%} of the variance); a "
                        "point is its digit.", width) + "\n", style="dim")
    out.append(truncate(f"Caption to its digit's images {joint.same_digit:.2f}, to others' "
                        f"{joint.other_digit:.2f} (gap {joint.gap:.2f} taken out).",
                        width), style="dim")
    return out


class ClipViews:
    """The search and map views of `ImaginePane` (a mixin: it uses the pane's state)."""

    models: wk.Models
    view: str
    prompt: str
    found: wk.Found | None
    joint: wk.JointView | None = None

    def start_search(self) -> None:
        clip = self.models.clip
        view = self.query_one(SearchView)
        if clip is None:
            view.show_message(Text(f"CLIP search n/a: {self.clip_reason()}", style="yellow"))
            return
        prompt, pairs = self.prompt, self.models.pairs
        view.show_message(Text(f"Searching {len(clip.gallery)} held-out digits…", style="dim"))
        self.compute("search", lambda: wk.search(clip, pairs, prompt, SEARCH_K),
                     description="CLIP search")

    def start_map(self) -> None:
        clip = self.models.clip
        view = self.query_one(MapView)
        if clip is None:
            view.show_message(Text(f"CLIP map n/a: {self.clip_reason()}", style="yellow"))
        elif self.joint is not None:  # the map does not depend on the prompt
            view.show_map(self.joint)
        else:
            view.show_message(Text(f"Projecting {wk.MAP_PAIRS} held-out captions and images…",
                                   style="dim"))
            self.compute("map", lambda: wk.joint_map(clip), description="CLIP map")

    def computed(self, kind: str, result: Any, error: str) -> None:
        if error:
            self.report_error(error)
            return
        if kind == "search":
            self.found = result
            if self.view == "search":
                self.query_one(SearchView).show_found(result)
        elif kind == "map":
            self.joint = result
            if self.view == "map":
                self.query_one(MapView).show_map(result)
