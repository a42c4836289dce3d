"""The pane kit (`tui/pane.py`): loading in a worker, stale results dropped,
the failure shown with its rebuild command, PNG/JSON exports."""

from __future__ import annotations

import json
import threading

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from genai_tui.errors import UserError
from genai_tui.tui.pane import Pane, csv_export, describe_error, json_export


class KitPane(Pane):
    PANE_ID = "kit"
    TITLE = "Kit"
    LOADING = "the test model"
    REBUILD = "genai-tui train kit --bundled"

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.results: list = []
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="body")

    def load(self):
        if self.fail:
            raise UserError("model folder 'x' does not exist")
        return "model"

    def loaded(self, result) -> None:
        self.results.append(("loaded", result))

    def show_load_state(self, text: Text) -> None:
        self.shown.append(text.plain)

    def computed(self, kind, result, error) -> None:
        self.results.append((kind, result, error))


class Host(App):
    def __init__(self, pane: KitPane) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield self.pane


async def test_load_runs_in_a_worker_and_hands_over_its_result() -> None:
    pane = KitPane()
    async with Host(pane).run_test() as pilot:
        pane.start_loading()
        assert pane.load_state == "loading" and pane.shown == ["⏳ Loading the test model…"]
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.load_state == "ready" and pane.results == [("loaded", "model")]


async def test_a_failed_load_says_why_and_how_to_rebuild() -> None:
    pane = KitPane(fail=True)
    async with Host(pane).run_test() as pilot:
        pane.start_loading()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.load_state == "failed" and pane.results == []
        assert "does not exist" in pane.shown[-1]
        assert "Rebuild it with: genai-tui train kit --bundled" in pane.shown[-1]
        assert pilot.app.is_running


async def test_a_superseded_result_is_dropped() -> None:
    pane = KitPane()
    release = threading.Event()
    async with Host(pane).run_test() as pilot:
        pane.compute("view", lambda: release.wait(5) and "old")
        pane.new_request("view")  # a newer request of the same kind
        release.set()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.results == []
        pane.compute("view", lambda: 1 / 0)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.results == [("view", None, "ZeroDivisionError: division by zero")]


async def test_computing_says_whether_the_latest_request_has_answered() -> None:
    pane = KitPane()
    release = threading.Event()
    async with Host(pane).run_test() as pilot:
        assert not pane.computing()
        pane.compute("view", lambda: release.wait(5) and "done")
        assert pane.computing("view") and pane.computing() and not pane.computing("other")
        release.set()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert not pane.computing("view") and not pane.computing()
        assert pane.results == [("view", "done", "")]
        pane.new_request("run")  # numbered by the pane's own worker: never answers here
        assert not pane.computing()


def test_describe_error_is_one_line() -> None:
    assert describe_error(UserError("bad input")) == "bad input"
    assert describe_error(ValueError("first\nsecond")) == "ValueError: first"
    assert describe_error(KeyError()) == "KeyError"


def test_json_export_writes_utf8(tmp_path) -> None:
    export = json_export("kit", {"token": "é"})
    export.write(tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == {"token": "é"}
    assert export.suffix == ".json"


def test_csv_export_writes_a_header_and_rows(tmp_path) -> None:
    export = csv_export("kit", ["step", "token"], [[1, "é"], [2, "a,b"]])
    export.write(tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").splitlines() == [
        "step,token", "1,é", '2,"a,b"']
    assert export.suffix == ".csv"


def test_one_truncation_helper_counts_cells() -> None:
    from rich.cells import cell_len

    from genai_tui.tui.text import fit, truncate

    assert truncate("abcdef", 4) == "abc…" and truncate("ab", 4) == "ab"
    assert truncate("日本語", 4) == "日…" and truncate("x", 0) == ""
    assert fit("日本語テキスト", 6) == "日本… " and cell_len(fit("日本語", 4)) == 4
    assert fit("ab", 4) == "ab  "
