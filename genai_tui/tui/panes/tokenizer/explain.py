"""Texts that explain one token or one merge, built as `rich.text.Text`.

No Textual here: these run in worker threads (a merge lookup can load a
tokenizer's whole merge table the first time) and return Text objects for
the UI thread to show. Token text is untrusted: it only ever enters a Text
as plain text, after `visible_bytes`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from rich.text import Text

from genai_tui.service import tokenize as svc
from genai_tui.textsafe import escape_controls, visible_bytes

_MAX_DEPTH = 64
_length_cache: dict[tuple[str, int], int | None] = {}
_cache_lock = threading.Lock()

CHIP = "bold #ffffff on #4b3f8a"
CHIP_RIGHT = "bold #ffffff on #2e6b43"
CHIP_NEW = "bold #000000 on #e0a452"


def ui(text: object) -> str:
    """A name, path or error message from outside, safe to show in a Text:
    control characters become visible (rich.Text would pass ESC through)."""
    return escape_controls(str(text), keep_newlines=False)


def hex_bytes(data: bytes, limit: int = 16) -> str:
    """``data`` as hex pairs, shortened after ``limit`` bytes."""
    shown = " ".join(f"{b:02x}" for b in data[:limit])
    return shown + (f" … (+{len(data) - limit})" if len(data) > limit else "")


def chip(data: bytes, style: str = CHIP) -> Text:
    """A token's bytes as a coloured, visible chip."""
    return Text(visible_bytes(data) or "∅", style=style)


def _token_length(name: str, token_id: int, depth: int = 0) -> int | None:
    """Bytes in vocabulary entry ``token_id``, walking the merge tree down to
    single bytes; None if the tree does not bottom out in bytes."""
    key = (name, token_id)
    with _cache_lock:
        if key in _length_cache:
            return _length_cache[key]
    if depth > _MAX_DEPTH:
        return None
    info = svc.merge_info(name, token_id)
    if info is None:
        length: int | None = 1
    else:
        left = _token_length(name, info.left, depth + 1)
        right = _token_length(name, info.right, depth + 1)
        length = None if left is None or right is None else left + right
    with _cache_lock:
        _length_cache[key] = length
    return length


def token_bytes(name: str, token_id: int) -> bytes | None:
    """A vocabulary entry's bytes, when the service can tell."""
    lookup = getattr(svc, "token_bytes", None)
    if lookup is None:
        return None
    try:
        return bytes(lookup(name, token_id))
    except Exception:
        return None


def merge_parts(name: str, info: svc.MergeInfo, data: bytes) -> tuple[bytes, bytes] | None:
    """The bytes of the two tokens merged into ``data``."""
    left = getattr(info, "left_bytes", None)
    right = getattr(info, "right_bytes", None)
    if isinstance(left, bytes) and isinstance(right, bytes):
        return left, right
    left, right = token_bytes(name, info.left), token_bytes(name, info.right)
    if left is not None and right is not None:
        return left, right
    left_len = _token_length(name, info.left)
    right_len = _token_length(name, info.right)
    if left_len is None or right_len is None or left_len + right_len != len(data):
        return None
    return data[:left_len], data[left_len:]


def describe_merge(
    name: str, kind: str, token_id: int, data: bytes, has_merges: bool = True
) -> Text:
    """One line: how token ``token_id`` (bytes ``data``) was formed."""
    if not has_merges and kind not in ("char", "byte"):
        return Text(
            f"A {kind} tokenizer without BPE merges here: no merge history to show.",
            style="italic",
        )
    try:
        info = svc.merge_info(name, token_id)
    except Exception as exc:  # the pane must stay alive whatever the backend does
        return Text(f"No merge information: {ui(exc)}", style="italic")
    if info is None:
        if kind in ("char", "byte"):
            unit = "character" if kind == "char" else "byte"
            return Text(f"A {kind} tokenizer: one token per {unit}, no merges.", style="italic")
        if len(data) == 1:
            return Text("A base token: one raw byte, not made by a merge.", style="italic")
        return Text("Not made by a merge (a base or special token).", style="italic")
    parts = merge_parts(name, info, data)
    out = Text()
    out.append(f"Merge rank {info.rank:,}: ", style="bold")
    if parts is not None:
        out.append_text(chip(parts[0]))
        out.append(f" ({info.left})")
        out.append(" + ")
        out.append_text(chip(parts[1], CHIP_RIGHT))
        out.append(f" ({info.right})")
    else:
        out.append(f"id {info.left} + id {info.right}")
    out.append(" → ")
    out.append_text(chip(data, CHIP_NEW))
    out.append(f" ({token_id})")
    if info.rank == 0:
        out.append("  — the first merge learned", style="italic")
    return out


def describe_token(
    tokenizer: str, position: int, count: int, token_id: int, data: bytes
) -> Text:
    """One line: which token, its id and its bytes."""
    out = Text()
    out.append(f"{ui(tokenizer)} ", style="bold")
    out.append(f"token {position + 1:,} of {count:,} · id ")
    out.append(f"{token_id}", style="bold")
    out.append(" · ")
    out.append_text(chip(data))
    out.append(f" · {len(data)} byte{'s' if len(data) != 1 else ''}: ")
    out.append(hex_bytes(data), style="italic")
    return out


def replay_bytes_map(steps: Sequence[svc.ReplayStep], text_bytes: bytes) -> dict[int, bytes]:
    """id -> bytes for every id in a replay: the raw-byte start state lines
    up with the text's bytes, and each merge joins two known entries."""
    known: dict[int, bytes] = {}
    if steps and len(steps[0].ids) == len(text_bytes):
        for token_id, byte in zip(steps[0].ids, text_bytes, strict=True):
            known[token_id] = bytes([byte])
    for step in steps[1:]:
        if step.merged is None or step.new_id is None:
            continue
        left, right = step.merged
        if left in known and right in known:
            known[step.new_id] = known[left] + known[right]
    return known


def formed_text(head: Text, name: str, kind: tuple[str, bool], token_id: int,
                data: bytes) -> Text:
    """``head`` (what the token is) over how BPE formed it; ``kind`` is the
    tokenizer's (kind, has merges). Looks merges up: call it in a worker."""
    text = Text()
    text.append_text(head)
    text.append("\n")
    text.append_text(describe_merge(name, kind[0], token_id, data, has_merges=kind[1]))
    return text
