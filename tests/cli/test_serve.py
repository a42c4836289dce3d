"""`genai-tui serve`: the OpenAI-compatible server against the official client,
RemoteGenerator, the CLI, and the concurrency cap. Each server runs in a thread
on 127.0.0.1 on a free port and is stopped after its test module."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests import ROOT
from tests.fixtures.lm import make_model_dir
from tests.fixtures.server import LiveServer as _Server
from tests.fixtures.server import free_port as _free_port

KEY = "sk-test-secret-0123456789"


@pytest.fixture(scope="module")
def lm(tmp_path_factory):  # noqa: ANN001, ANN201
    from genai_tui.service import generate as gen

    return gen.load_model(make_model_dir(tmp_path_factory.mktemp("lm") / "tiny"))


@pytest.fixture(scope="module")
def server(lm):  # noqa: ANN001, ANN201
    from genai_tui.server.openai_api import ServerSettings

    with _Server(lm, ServerSettings(api_key=KEY, max_concurrent=16, max_tokens_limit=64,
                                    max_prompt_tokens=200)) as s:
        yield s


def _client(server: _Server):  # noqa: ANN202
    import openai

    return openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=30)


def test_openai_client_same_seed_same_text_stream_equals_nonstream(server, lm) -> None:  # noqa: ANN001
    client = _client(server)
    args = dict(model=lm.name, prompt="Once upon", max_tokens=8, temperature=1.0, seed=7,
                logprobs=2)
    a = client.completions.create(**args)
    b = client.completions.create(**args)
    assert a.choices[0].text == b.choices[0].text
    streamed = "".join(c.choices[0].text for c in client.completions.create(stream=True, **args)
                       if c.choices)
    assert streamed == a.choices[0].text
    assert len(a.choices[0].logprobs.token_logprobs) >= 1


def test_text_and_logprobs_equal_local_generator(server, lm) -> None:  # noqa: ANN001
    import math

    from genai_tui.sampling.knobs import Knobs
    from genai_tui.service.backend import LocalGenerator

    knobs = Knobs(max_tokens=8, seed=3, temperature=0.8)
    steps = list(LocalGenerator(lm).generate("Hello there", knobs))
    local_text = "".join(s.token for s in steps)
    r = _client(server).completions.create(model=lm.name, prompt="Hello there", max_tokens=8,
                                           seed=3, temperature=0.8, logprobs=1)
    assert r.choices[0].text == local_text
    remote_lp = r.choices[0].logprobs.token_logprobs
    # raw, before the knobs
    local_lp = [math.log(s.raw_prob) if s.raw_prob > 0 else -9999.0 for s in steps]
    assert len(remote_lp) == len(local_lp)
    for x, y in zip(remote_lp, local_lp, strict=True):
        assert x == pytest.approx(y, abs=1e-4)


def test_chat_completion_streams(server, lm) -> None:  # noqa: ANN001
    client = _client(server)
    r = client.chat.completions.create(model=lm.name, messages=[{"role": "user", "content": "hi"}],
                                       max_tokens=5, seed=1)
    assert r.choices[0].message.role == "assistant"
    chunks = client.chat.completions.create(model=lm.name, stream=True, max_tokens=5, seed=1,
                                            messages=[{"role": "user", "content": "hi"}])
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    assert text == r.choices[0].message.content


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), [
    ("POST", "/completions", {"model": "x", "prompt": "a"}, {}, 401),
    ("POST", "/completions", {"model": "x", "prompt": "a"}, {"Authorization": "Bearer nope"}, 401),
    ("GET", "/nowhere", None, {"Authorization": f"Bearer {KEY}"}, 404),
    ("GET", "/completions", None, {"Authorization": f"Bearer {KEY}"}, 405),
    ("POST", "/completions", {"prompt": "a", "max_tokens": "lots"},
     {"Authorization": f"Bearer {KEY}"}, 400),  # OpenAI answers a wrongly typed field with 400
    ("POST", "/completions", {"prompt": "a", "max_tokens": 10_000},
     {"Authorization": f"Bearer {KEY}"}, 400),
    ("POST", "/completions", {"prompt": "word " * 2000, "max_tokens": 1},
     {"Authorization": f"Bearer {KEY}"}, 400),  # OpenAI: context_length_exceeded
    ("POST", "/completions", {"prompt": "w" * 1_100_000, "max_tokens": 1},
     {"Authorization": f"Bearer {KEY}"}, 413),  # beyond the body limit
])
def test_errors_are_openai_json_with_status(server, lm, method, path, body, headers,  # noqa: ANN001
                                            status) -> None:
    if body is not None and "model" not in body:
        body = {"model": lm.name, **body}
    r = httpx.request(method, server.url + path, json=body, headers=headers, timeout=10)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert KEY not in r.text


def test_remote_generator_end_to_end_equals_local(server, lm) -> None:  # noqa: ANN001
    from genai_tui.sampling.knobs import Knobs
    from genai_tui.service.backend import LocalGenerator
    from genai_tui.service.remote import RemoteGenerator, ServerConfig

    knobs = Knobs(max_tokens=6, seed=11)
    remote = RemoteGenerator(ServerConfig.resolve(server.url, KEY), lm.name)
    try:
        text = "".join(s.token for s in remote.generate("The cat", knobs))
    finally:
        remote.close()
    assert text == "".join(s.token for s in LocalGenerator(lm).generate("The cat", knobs))


def test_remote_generator_wrong_key_is_user_error_without_key(server, lm) -> None:  # noqa: ANN001
    from genai_tui.errors import UserError
    from genai_tui.sampling.knobs import Knobs
    from genai_tui.service.remote import RemoteGenerator, ServerConfig

    secret = "sk-wrong-should-never-show-42"
    remote = RemoteGenerator(ServerConfig.resolve(server.url, secret), lm.name)
    with pytest.raises(UserError) as info:
        list(remote.generate("x", Knobs(max_tokens=2)))
    assert "401" in str(info.value) or "key" in str(info.value).lower()
    assert secret not in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {"GENAI_TEST_KEY": KEY, "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "genai_tui", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_cli_generate_and_models_against_live_server(server, lm) -> None:  # noqa: ANN001
    r = _cli("models", "--backend", server.url, "--api-key", KEY)
    assert r.returncode == 0, r.stderr
    assert lm.name in r.stdout
    r = _cli("generate", "Hi", "--backend", server.url, "--model", lm.name, "--api-key", KEY,
             "--max-tokens", "4", "--seed", "5", "--json")
    assert r.returncode == 0, r.stderr
    assert KEY not in r.stdout + r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    summary = lines[-1]
    assert summary["done"] and summary["tokens"] == 4 and summary["backend"] != "local"
    assert summary["text"] == "".join(line["token"] for line in lines[:-1])
    # the same knobs on the local back end give the same text
    local = _cli("generate", "Hi", "--model", str(lm.path), "--max-tokens", "4",
                 "--seed", "5", "--json")
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout.splitlines()[-1])["text"] == summary["text"]


def _stream_text(url: str, model: str, seed: int) -> str:
    body = {"model": model, "prompt": f"story {seed}", "max_tokens": 12, "seed": seed,
            "stream": True}
    text = []
    with httpx.stream("POST", url + "/completions", json=body, timeout=60,
                      headers={"Authorization": f"Bearer {KEY}"}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                event = json.loads(line[6:])
                if event.get("choices"):
                    text.append(event["choices"][0]["text"])
    return "".join(text)


def test_sixteen_concurrent_streams_match_solo_runs(server, lm) -> None:  # noqa: ANN001
    solo = {seed: _stream_text(server.url, lm.name, seed) for seed in range(16)}
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            results[seed] = _stream_text(server.url, lm.name, seed)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert results == solo


def test_beyond_cap_gives_429_and_server_survives(lm) -> None:  # noqa: ANN001
    from genai_tui.server.openai_api import ServerSettings

    with _Server(lm, ServerSettings(max_concurrent=1, max_tokens_limit=64)) as s:
        statuses: list[int] = []
        retry: list[str | None] = []

        def hit() -> None:
            r = httpx.post(s.url + "/completions", timeout=60,
                           json={"model": lm.name, "prompt": "a", "max_tokens": 64, "seed": 1})
            statuses.append(r.status_code)
            retry.append(r.headers.get("retry-after"))

        threads = [threading.Thread(target=hit) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert 429 in statuses and 200 in statuses
        assert all(r for st, r in zip(statuses, retry, strict=True) if st == 429)
        after = httpx.post(s.url + "/completions", timeout=60,
                           json={"model": lm.name, "prompt": "a", "max_tokens": 2})
        assert after.status_code == 200


def test_serve_help_does_not_import_torch() -> None:
    code = ("import sys; from genai_tui.cli import app\n"
            "try:\n app(['serve','--help'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'uvicorn' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={"PYTHONPATH": str(ROOT),
                            "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "--max-concurrent" in r.stdout


def test_serve_cli_rejects_bad_values_and_missing_env() -> None:
    r = _cli("serve", "--port", "70000")
    assert r.returncode == 2 and "port" in r.stderr and "Traceback" not in r.stderr
    r = _cli("serve", "--api-key-env", "NO_SUCH_VAR_XYZ")
    assert r.returncode == 2 and "NO_SUCH_VAR_XYZ" in r.stderr


def test_backend_spec_opens_local_and_remote_the_same_way(server, lm) -> None:  # noqa: ANN001
    from genai_tui.errors import UserError
    from genai_tui.sampling.knobs import Knobs
    from genai_tui.service.backend import BackendSpec

    knobs = Knobs(max_tokens=5, seed=3)
    local = BackendSpec(model=str(lm.path)).open()
    remote = BackendSpec(server.url, api_key=KEY).open()  # the server's only model
    assert local.capabilities.branching and remote.describe() != local.describe()
    assert ("".join(s.token for s in remote.generate("Hi", knobs))
            == "".join(s.token for s in local.generate("Hi", knobs)))
    assert KEY not in repr(BackendSpec(server.url, api_key=KEY))
    with pytest.raises(UserError, match="remote"):
        BackendSpec(None, api_key=KEY).open()
    with pytest.raises(UserError) as info:
        BackendSpec(server.url, "no-such-model", api_key=KEY).open().generate("x", knobs).__next__()
    assert KEY not in str(info.value)


def test_serve_stops_cleanly_on_sigterm_and_sigint(tmp_path) -> None:
    import signal

    model = make_model_dir(tmp_path / "tiny")
    for sig in (signal.SIGTERM, signal.SIGINT):
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "genai_tui", "serve", "--port", str(port),
             "--model", str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).is_success:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
            proc.send_signal(sig)
            start = time.monotonic()
            _, err = proc.communicate(timeout=15)
            assert time.monotonic() - start < 10
            assert proc.returncode == 0, err
            assert "Traceback" not in err and "server stopped" in err
        finally:
            proc.kill() if proc.poll() is None else None
