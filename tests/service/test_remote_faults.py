"""The remote back end against servers that misbehave (issue 11): a stub
server on 127.0.0.1 that never answers, cuts the stream, sends malformed
events or each error status; each gives one clear `UserError` within its time
bound, without the API key in it. And the SSE reader fuzzed with random split
points, inside UTF-8 characters too: the same events come out."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import default_knobs
from genai_tui.service.remote import RemoteGenerator, ServerConfig, iter_events

KEY = "sk-fault-secret-987654321"


class Stub:
    """A one-behaviour HTTP server: ``reply(conn)`` answers each connection."""

    def __init__(self, reply) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.reply(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.closing = True
        self.sock.close()

    def generator(self, gap: float = 1.0) -> RemoteGenerator:
        config = ServerConfig(f"http://127.0.0.1:{self.port}/v1", KEY, "completions",
                              connect_timeout=1.0, gap_timeout=gap)
        return RemoteGenerator(config, "stub-model")


def sse_head() -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n")


def event(text: str) -> bytes:
    body = {"id": "c", "object": "text_completion", "model": "stub-model",
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": None}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def status_reply(code: int, body: dict, extra: str = ""):
    def reply(conn: socket.socket) -> None:
        data = json.dumps(body).encode()
        conn.sendall(f"HTTP/1.1 {code} X\r\nContent-Type: application/json\r\n{extra}"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    return reply


def run(gen: RemoteGenerator) -> str:
    knobs = default_knobs()
    return "".join(step.token for step in gen.generate("hello", knobs))


def fails_within(gen: RemoteGenerator, seconds: float) -> str:
    started = time.monotonic()
    with pytest.raises(UserError) as e:
        run(gen)
    assert time.monotonic() - started < seconds
    message = str(e.value)
    assert KEY not in message and "\n" not in message
    return message


def test_a_server_that_never_answers_times_out() -> None:
    def silent(conn: socket.socket) -> None:
        time.sleep(4)

    with Stub(silent) as stub:
        message = fails_within(stub.generator(gap=0.5), 3.5)
    assert "sent nothing for 0.5 s" in message


def test_a_slow_server_within_the_gap_still_works() -> None:
    def slow(conn: socket.socket) -> None:
        conn.sendall(sse_head())
        for piece in ("a", "b", "c"):
            time.sleep(0.3)
            conn.sendall(event(piece))
        conn.sendall(b"data: [DONE]\n\n")

    with Stub(slow) as stub:
        assert run(stub.generator(gap=2.0)) == "abc"


def test_killed_mid_stream_is_a_cut_stream() -> None:
    def cut(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        data = event("partial")
        conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        conn.shutdown(socket.SHUT_RDWR)  # no last chunk: the server died

    with Stub(cut) as stub:
        message = fails_within(stub.generator(), 5)
    assert "cut" in message or "ended" in message


@pytest.mark.parametrize("payload", [
    b"data: {not json\n\n",
    b"data: [1, 2, 3]\n\n",
    b'data: {"choices": "nope"}\n\n',
    b"data: " + b"\x1b]52;c;UFdORUQ=\x07" + b"\n\n",
], ids=["broken-json", "a-list", "wrong-shape", "escape-sequence"])
def test_malformed_events_are_one_clear_error(payload) -> None:
    def bad(conn: socket.socket) -> None:
        conn.sendall(sse_head() + event("ok") + payload + b"data: [DONE]\n\n")

    with Stub(bad) as stub:
        message = fails_within(stub.generator(), 5)
    assert "\x1b" not in message


@pytest.mark.parametrize("code,body,expect", [
    (401, {"error": {"message": "bad key"}}, "refused the request (401"),
    (404, {"error": {"message": "no such model"}}, "was not found"),
    (429, {"error": {"message": "slow down"}}, "busy (429); retry after 7 s"),
    (500, {"error": {"message": "boom"}}, "failed (500): boom"),
    (503, {"detail": "overloaded"}, "failed (503): overloaded"),
    (400, {"error": {"message": f"echo {KEY}"}}, "rejected the request (400)"),
])
def test_each_error_status_gives_its_message(code, body, expect) -> None:
    extra = "Retry-After: 7\r\n" if code == 429 else ""
    with Stub(status_reply(code, body, extra)) as stub:
        message = fails_within(stub.generator(), 5)
    assert expect in message


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ServerConfig(f"http://127.0.0.1:{port}/v1", KEY, connect_timeout=1.0,
                          gap_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(UserError, match="cannot connect"):
        run(RemoteGenerator(config, "m"))
    assert time.monotonic() - started < 3


# -- the SSE reader, fuzzed --------------------------------------------------------

class Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self):
        yield from self.chunks


def events_of(chunks: list[bytes]) -> list[str]:
    response = httpx.Response(200, headers={"content-type": "text/event-stream"},
                              stream=Chunks(chunks))
    return list(iter_events(response))


TEXTS = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                blacklist_characters="\r\n"),
                         min_size=1, max_size=12), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(texts=TEXTS, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
       crlf=st.booleans())
def test_sse_events_survive_any_split_points(texts, cuts, crlf) -> None:
    sep = b"\r\n" if crlf else b"\n"
    stream = b"".join(b": keep-alive" + sep + b"data: " + json.dumps(t).encode() + sep + sep
                      for t in ["é€😀"] + texts)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    chunks = [stream[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]
    assert b"".join(chunks) == stream
    assert [json.loads(e) for e in events_of(chunks)] == ["é€😀"] + texts
