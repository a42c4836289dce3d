"""`genai-tui`: the command-line interface. Entry point: ``genai_tui.cli:app``.

Each feature registers its commands in its own module; importing them here
must stay cheap (no torch, no Textual at import time).
"""

from genai_tui.cli import (
    clip_cmds,  # noqa: F401  (registers commands)
    demo_cmds,  # noqa: F401  (registers commands)
    diffusion_cmds,  # noqa: F401  (registers commands)
    export_cmds,  # noqa: F401  (registers commands)
    gan_cmds,  # noqa: F401  (registers commands)
    generate_cmds,  # noqa: F401  (registers commands)
    imagine_cmds,  # noqa: F401  (registers commands)
    internals_cmds,  # noqa: F401  (registers commands)
    lifecycle_cmds,  # noqa: F401  (registers commands)
    seq2seq_cmds,  # noqa: F401  (registers commands)
    serve_cmds,  # noqa: F401  (registers commands)
    tokenizer_cmds,  # noqa: F401  (registers commands)
    tuning_cmds,  # noqa: F401  (registers commands)
    vae_cmds,  # noqa: F401  (registers commands)
    web_cmds,  # noqa: F401  (registers commands)
)
from genai_tui.cli._app import app, train_app

__all__ = ["app", "train_app"]
