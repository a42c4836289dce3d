"""Servers a test starts on 127.0.0.1 and stops: an ASGI app under uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``LiveServer(lm, settings)``: `genai-tui serve`'s app on the model ``lm``;
    ``LiveServer(app=...)``: any ASGI app (a stub)."""

    def __init__(self, lm=None, settings=None, *, app=None) -> None:  # noqa: ANN001
        import uvicorn

        if app is None:
            from genai_tui.server.openai_api import create_app

            app = create_app(lm, settings)
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                log_level="error", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
