"""Output helpers for commands: untrusted text is escaped, never parsed as markup."""

from __future__ import annotations

import json
import sys
from typing import Any

from genai_tui.textsafe import escape_controls


def say(text: str = "", end: str = "\n", err: bool = False) -> None:
    """Print untrusted text with control characters made visible."""
    stream = sys.stderr if err else sys.stdout
    stream.write(escape_controls(text) + end)
    stream.flush()


def emit_json(obj: Any) -> None:
    """One JSON value on one line (JSON escapes control characters itself)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
