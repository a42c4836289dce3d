"""The generate pane on a server (issue 11), through the app as a user drives it:
our own `genai-tui serve` app (the same text as the local back end, what the
server cannot show said so), a slow stub server without logprobs (no token
coloured "unlikely", Stop closes the stream, Continue goes on by text), and
the back-end dialog (F9: keys, the model list, a failed switch keeps the old
back end, the key never on screen). Each server runs on 127.0.0.1 and stops
with its test."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from genai_tui.service.backend import BackendSpec, LocalGenerator
from genai_tui.tui.app import GenaiApp
from genai_tui.tui.panes.generate import GeneratePane
from genai_tui.tui.panes.generate.backend_screen import BackendScreen
from genai_tui.tui.panes.generate.render import BINS, NO_PROB_STYLE, token_style
from tests.fixtures.lm import make_model_dir
from tests.fixtures.server import LiveServer, free_port
from tests.tui.panes.test_generate_pane import SIZE, settle, start

KEY = "sk-pane-secret-5550123"


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", seed=0, block_size=64)


@pytest.fixture(scope="module")
def ours(lm_dir: Path):  # noqa: ANN201
    from genai_tui.server.openai_api import ServerSettings
    from genai_tui.service import generate as gen

    lm = gen.load_model(lm_dir)
    with LiveServer(lm, ServerSettings(api_key=KEY, max_concurrent=4, max_tokens_limit=64,
                                       max_prompt_tokens=200)) as server:
        server.lm = lm
        yield server


class SlowStub:
    """An OpenAI-like server with one model that streams ``w0 w1 …`` every 50 ms,
    without logprobs, and records each request and when its stream closed."""

    GAP = 0.05

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, StreamingResponse
        from starlette.routing import Route

        self.requests: list[dict] = []
        self.closed: list[float] = []

        async def models(request):  # noqa: ANN001, ANN202
            return JSONResponse({"object": "list", "data": [
                {"id": "slow-model", "object": "model"}, {"id": "broken", "object": "model"}]})

        async def completions(request):  # noqa: ANN001, ANN202
            body = await request.json()
            self.requests.append(body)
            if body["model"] == "broken":
                return JSONResponse({"error": {"message": "the GPU caught fire [/x]",
                                               "type": "server_error"}}, status_code=500)
            start = sum(1 for _ in self.requests[:-1])

            async def events():  # noqa: ANN202
                try:
                    for i in range(body["max_tokens"]):
                        await asyncio.sleep(self.GAP)
                        last = i == body["max_tokens"] - 1
                        chunk = {"id": "c", "object": "text_completion", "model": "slow-model",
                                 "choices": [{"index": 0, "text": f"w{start}.{i} ",
                                              "logprobs": None,
                                              "finish_reason": "length" if last else None}]}
                        yield f"data: {json.dumps(chunk)}\n\n"
                    yield "data: [DONE]\n\n"
                finally:
                    self.closed.append(time.monotonic())

            return StreamingResponse(events(), media_type="text/event-stream")

        self.app = Starlette(routes=[Route("/v1/models", models),
                                     Route("/v1/completions", completions, methods=["POST"])])


def app_on(spec: BackendSpec) -> GenaiApp:
    return GenaiApp(initial_pane="generate", panes=[GeneratePane], backend=spec)


async def wait_for(pilot, condition, seconds: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.01)


async def test_pane_on_our_server_shows_the_local_text_and_what_it_cannot_show(ours) -> None:
    async with app_on(BackendSpec(ours.url, api_key=KEY)).run_test(size=SIZE) as pilot:
        pane = await start(pilot, max_tokens=8, seed=5)
        assert pane.generator is not None and pane.generator.where == ours.url
        status = pane.query_one("#gen-status").render().plain  # type: ignore[attr-defined]
        assert "@ 127.0.0.1" in status and "no X-ray" in status and KEY not in status
        # the knobs a server cannot take are struck and said so; the others are not
        assert pane.knob_panel.ignores("order") and not pane.knob_panel.ignores("top_k")
        await pilot.press("f5")
        await settle(pilot, pane)
        run = pane.runs[0]
        local = LocalGenerator(ours.lm).generate(run.prompt, run.knobs)
        assert "".join(s.token for s in run.steps) == "".join(s.token for s in local)
        assert run.status == "done" and all(s.has_probs for s in run.steps)
        pane.left.move_cursor(2)
        await pilot.pause()
        shown = pane.inspector.content_text().plain
        assert "no sampler X-ray" in shown and "—" in shown  # no "after the knobs" column
        assert "%" in shown  # the server's probabilities are shown
        # branch by text: another candidate, then the server continues after it
        pane.left.focus()
        await pilot.pause()
        pane.alt = 1
        await pilot.press("b")
        await settle(pilot, pane)
        branch = pane.runs[-1]
        assert branch.fork_at == 2 and branch.status == "done", branch.error
        assert branch.prefix_text.endswith(branch.steps[2].token)
        assert len(branch.steps) > 3


async def test_no_logprobs_stop_closes_the_stream_and_continue_goes_on_by_text() -> None:
    stub = SlowStub()
    with LiveServer(app=stub.app) as server:
        spec = BackendSpec(server.url, "slow-model", extras=False)
        async with app_on(spec).run_test(size=SIZE) as pilot:
            pane = await start(pilot, max_tokens=40)
            await pilot.press("f5")
            await wait_for(pilot, lambda: pane.runs and len(pane.runs[0].steps) >= 3)
            stopped = time.monotonic()
            await pilot.press("escape")
            await wait_for(pilot, lambda: stub.closed, seconds=2.0)
            # the stream is closed now, not after its remaining ~2 s of tokens
            assert stub.closed[0] - stopped < 1.0
            await settle(pilot, pane)
            run = pane.runs[0]
            have = len(run.steps)
            assert run.status == "stopped" and 3 <= have < 40
            # no probability: plain tokens, never the "<1%" band; the inspector says why
            assert all(not s.has_probs for s in run.steps)
            assert all(token_style(s) == NO_PROB_STYLE for s in run.steps)
            colours = {str(seg.style.color.name) for y in range(pane.left.size.height)
                       for seg in pane.left.render_line(y)
                       if seg.style is not None and seg.style.color is not None}
            assert not colours & {b.colour for b in BINS}
            pane.left.move_cursor(1)
            await pilot.pause()
            assert "No probabilities" in pane.inspector.content_text().plain
            # Continue: a new request whose prompt is the prompt plus the text so far
            await pilot.press("f7")
            await settle(pilot, pane)
            again = stub.requests[-1]
            assert again["prompt"] == run.prompt + "".join(s.token for s in run.steps[:have])
            assert again["max_tokens"] == 40 - have
            assert run.status == "done" and len(run.steps) == 40
            assert [s.index for s in run.steps] == list(range(40))


async def test_backend_dialog_keys_models_failed_switch_and_no_key_on_screen() -> None:
    stub = SlowStub()
    with LiveServer(app=stub.app) as server:
        async with app_on(BackendSpec()).run_test(size=SIZE) as pilot:
            pane = pilot.app.query_one(GeneratePane)
            await settle(pilot, pane)
            assert pane.generator is not None and pane.generator.where == "local"
            await pilot.press("f9")
            await pilot.pause()
            screen = pilot.app.screen
            assert isinstance(screen, BackendScreen)
            url = screen.query_one("#be-url")
            assert url.has_focus
            # letters the pane binds (g p x n s c a v b [ ] /) type into the box
            await pilot.press(*"gpxnscavb[]/")
            assert url.value == "gpxnscavb[]/" and isinstance(pilot.app.screen, BackendScreen)
            url.value = server.url
            await pilot.press("tab", "tab", *KEY)  # the key box (after the model box)
            assert screen.query_one("#be-key").value == KEY
            assert KEY not in pilot.app.export_screenshot()
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: screen.query_one("#be-models").option_count == 2)
            await pilot.press("enter")  # pick slow-model
            assert screen.query_one("#be-model").value == "slow-model"
            await pilot.press("enter")  # connect
            await wait_for(pilot, lambda: pane.generator.name == "slow-model")
            assert pane.backend is not None and pane.backend.api_key == KEY
            assert KEY not in pilot.app.export_screenshot()
            # a server that is not there: said, and the working back end stays
            await pilot.press("f9")
            await pilot.pause()
            pilot.app.screen.query_one("#be-url").value = f"http://127.0.0.1:{free_port()}/v1"
            await pilot.press("enter")
            await wait_for(pilot, lambda: not pane.model_loading)
            assert pane.generator.name == "slow-model"
            said = [n.message for n in pilot.app._notifications]
            assert any("Still generating with slow-model" in m for m in said), said
            assert all(KEY not in m for m in said)
            # Esc leaves a text box, a second Esc closes the dialog unchanged
            await pilot.press("f9")
            await pilot.pause()
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert not isinstance(pilot.app.screen, BackendScreen)
            assert pane.generator.name == "slow-model"


def test_cli_opens_the_app_on_the_back_end_it_names(monkeypatch) -> None:
    import subprocess
    import sys

    from typer.testing import CliRunner

    from genai_tui.cli import app

    seen: list = []
    monkeypatch.setattr(GenaiApp, "run", lambda self: seen.append(self.backend))
    runner = CliRunner()
    result = runner.invoke(app, ["--backend", "http://127.0.0.1:9/v1", "--model", "m",
                                 "--api-key", KEY, "--api", "chat", "--no-extras"])
    assert result.exit_code == 0, result.output
    spec = seen[-1]
    assert (spec.url, spec.model, spec.api, spec.extras) == ("http://127.0.0.1:9/v1", "m",
                                                              "chat", False)
    assert spec.api_key == KEY and KEY not in repr(spec)
    assert runner.invoke(app, []).exit_code == 0 and seen[-1] is None  # the bundled model
    for args, fragment in ((["--api-key", KEY], "remote --backend"),
                           (["--backend", "x", "--api", "soap"], "completions or chat")):
        r = subprocess.run([sys.executable, "-m", "genai_tui", *args], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2 and fragment in r.stderr and KEY not in r.stderr
        assert r.stderr.count("\n") == 1


async def test_a_server_error_is_a_notification_and_the_app_keeps_running() -> None:
    stub = SlowStub()
    with LiveServer(app=stub.app) as server:
        async with app_on(BackendSpec(server.url, "broken")).run_test(size=SIZE) as pilot:
            pane = await start(pilot, max_tokens=5)
            await pilot.press("f5")
            await settle(pilot, pane)
            run = pane.runs[0]
            assert run.status == "error" and "500" in run.error
            said = [n.message for n in pilot.app._notifications]
            assert any("500" in m and "[/x]" in m for m in said), said
            assert pilot.app.is_running
            server_url = server.url
        # the server is gone: the next run says so in one line, the app stays up
    async with app_on(BackendSpec(server_url, "broken")).run_test(size=SIZE) as pilot:
        pane = pilot.app.query_one(GeneratePane)
        await settle(pilot, pane)
        assert pane.generator is None and "127.0.0.1" in pane.model_error
        assert "\n" not in pane.model_error and pilot.app.is_running
