"""`genai-tui serve`: the OpenAI-compatible HTTP server (uvicorn + FastAPI).

Only Typer and the standard library are imported at module level; torch, the
model, FastAPI and uvicorn load inside the command (`genai-tui --help` stays fast).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app
from genai_tui.errors import UserError

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def resolve_key(api_key: str | None, api_key_env: str | None) -> str | None:
    """The key the server demands, from --api-key or the variable --api-key-env names."""
    if api_key and api_key_env:
        raise UserError("give --api-key or --api-key-env, not both")
    if api_key_env:
        value = os.environ.get(api_key_env, "")
        if not value:
            raise UserError(f"environment variable {api_key_env} is not set or empty")
        return value
    return api_key or None


@app.command("serve")
def serve_cmd(
    model: str | None = opt.model_option("Model folder (default: the bundled LM)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", help="TCP port (0: any free port)."),
    api_key: str = typer.Option(None, "--api-key", help="Key clients must send as 'Bearer'."),
    api_key_env: str = typer.Option(None, "--api-key-env",
                                    help="Read the key from this environment variable."),
    max_concurrent: int = typer.Option(8, "--max-concurrent",
                                       help="Generations at once; more get 429."),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="Largest max_tokens per request."),
    max_prompt_tokens: int = typer.Option(4096, "--max-prompt-tokens",
                                          help="Longest prompt accepted, in tokens."),
) -> None:
    """Serve a language model over an OpenAI-compatible API
    (/v1/models, /v1/completions, /v1/chat/completions)."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be 0..65535, got {port}")
    if max_concurrent < 1:
        raise UserError(f"--max-concurrent must be at least 1, got {max_concurrent}")
    if max_tokens < 1 or max_prompt_tokens < 1:
        raise UserError("--max-tokens and --max-prompt-tokens must be at least 1")
    key = resolve_key(api_key, api_key_env)
    if host not in _LOOPBACK and key is None:
        print(f"genai-tui: warning: serving on {host} without an API key; anyone who can "
              "reach this address can use the model (give --api-key-env)", file=sys.stderr)

    import uvicorn

    from genai_tui.server.openai_api import ServerSettings, create_app
    from genai_tui.service import generate as gen

    lm = gen.load_model(Path(model) if model else None)
    settings = ServerSettings(api_key=key, max_concurrent=max_concurrent,
                              max_tokens_limit=max_tokens, max_prompt_tokens=max_prompt_tokens)
    where = f"[{host}]" if ":" in host else host
    print(f"genai-tui: serving {lm.name} on http://{where}:{port}/v1 "
          f"(auth: {'on' if key else 'off'}; Ctrl+C stops)", file=sys.stderr, flush=True)
    # uvicorn installs SIGINT/SIGTERM handlers, shuts down gracefully (open streams
    # end, the port is released) and then re-raises the signal to the handler that
    # was there before it: a quiet one for SIGTERM, KeyboardInterrupt for SIGINT.
    # Both end here, with exit status 0 and one line, never a traceback.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(create_app(lm, settings), host=host, port=port, log_level="warning",
                    access_log=False)
    except KeyboardInterrupt:
        pass
    print("genai-tui: server stopped", file=sys.stderr)
