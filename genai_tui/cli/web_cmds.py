"""`genai-tui web`: serve the app to a browser (textual-serve)."""

from __future__ import annotations

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app
from genai_tui.cli.output import say
from genai_tui.errors import UserError


@app.command("web")
def web_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this "
                             "machine only)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    max_sessions: int = typer.Option(4, "--max-sessions", min=1, max=64,
                                     help="Browser sessions at once (each is a process "
                                     "with its own models)."),
    fps: float | None = opt.fps_option("Cap repaints per second in each session."),
) -> None:
    """Serve the app in a web browser: open the printed address."""
    from genai_tui.web import LOCAL_HOSTS, make_server

    try:
        import textual_serve  # noqa: F401
    except ImportError:
        raise UserError("textual-serve is not installed: pip install textual-serve") from None
    if host not in LOCAL_HOSTS:
        say(f"genai-tui: warning: serving on {host}: anyone who can reach this address can "
            "use the app and its CPU; there is no login", err=True)
    say(f"genai-tui web: http://{host}:{port}/ (at most {max_sessions} sessions; Ctrl+C stops)",
        err=True)
    try:
        make_server(host, port, max_sessions, fps).serve()
    except OSError as e:
        raise UserError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
