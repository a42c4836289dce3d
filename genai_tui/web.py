"""`genai-tui web`: the app in a browser, served by textual-serve.

Each browser tab is its own `genai-tui` process with its own models (a few
hundred MB once its panes have loaded), so the number of sessions at once is
capped; one more gets a plain "busy" answer (HTTP 503), never a crash. The
server binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def app_command(fps: float | None = None) -> str:
    """The shell command each session runs: this Python's genai-tui."""
    parts = [sys.executable, "-m", "genai_tui"]
    if fps is not None:
        parts += ["--fps", f"{fps:g}"]
    return shlex.join(parts)


def make_server(host: str = "127.0.0.1", port: int = 8000, max_sessions: int = 4,
                fps: float | None = None) -> Any:
    """A textual-serve `Server` for the app, with a cap on concurrent sessions."""
    from aiohttp import web
    from textual_serve.server import Server

    class CappedServer(Server):
        sessions = 0

        def _busy(self) -> web.Response:
            return web.Response(
                status=503, content_type="text/plain", headers={"Retry-After": "30"},
                text=f"genai-tui: {max_sessions} sessions are running, the most this server "
                     "allows (each is a process with its own models). Close one, or "
                     "restart 'genai-tui web' with a larger --max-sessions.\n")

        async def handle_index(self, request: web.Request) -> Any:
            if self.sessions >= max_sessions:
                return self._busy()
            return await super().handle_index(request)

        async def handle_websocket(self, request: web.Request) -> Any:
            if self.sessions >= max_sessions:
                return self._busy()
            self.sessions += 1
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions -= 1

    return CappedServer(app_command(fps), host=host, port=port, title="genai-tui")
