"""The remote back end: any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ours).

`RemoteGenerator` implements the `TextGenerator` contract over HTTP with httpx
and server-sent events (httpx-sse): ``/v1/models``, ``/v1/completions`` and
``/v1/chat/completions``, streaming. Knobs map to request fields through the
knob registry: the OpenAI fields everywhere, top-k, min-p, typical-p,
repetition penalty and the penalty window as the extra JSON fields llama.cpp's
server and vLLM accept (Ollama's OpenAI layer ignores them; the knob's help
and `unsupported` say so). Per-token probabilities come from ``logprobs``, in
the chat shape (``logprobs.content[]``) or the legacy completions shape
(``tokens``/``token_logprobs``/``top_logprobs``).

Faults become one clear `RemoteError` each (a `UserError`): refused
connection, no connection within 5 s, no bytes for ``gap`` seconds, 401, 404,
429 with Retry-After, 5xx, a stream cut mid-way, malformed JSON. The API key
goes in the Authorization header only and is scrubbed from anything shown.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from genai_tui.errors import UserError
from genai_tui.sampling.knobs import (
    KNOBS,
    REMOTE_EXTRA,
    REMOTE_STANDARD,
    Knobs,
    is_active,
    validate,
)
from genai_tui.service.backend import (
    Capabilities,
    Prefix,
    TokenStream,
    resolve_seed,
    unsupported_knobs,
)
from genai_tui.service.generate import Candidate, TokenStep
from genai_tui.textsafe import escape_controls

if TYPE_CHECKING:
    import httpx

ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
CONNECT_TIMEOUT = 5.0
"""Seconds to open the connection."""
GAP_TIMEOUT = 30.0
"""Longest silence between two chunks of an answer (a model's first token may take a while)."""
APIS = ("completions", "chat")
"""``/v1/completions`` continues text (the default: branching by text needs it);
``/v1/chat/completions`` sends the prompt as one user message."""
COMPLETIONS_LOGPROBS_MAX = 5
CHAT_LOGPROBS_MAX = 20
"""OpenAI's limits on ``logprobs`` (legacy) and ``top_logprobs`` (chat)."""
SERVER_DIALECTS = {
    "standard": "OpenAI fields (every server)",
    "extra": "extra field llama.cpp and vLLM honour (Ollama ignores it)",
    "none": "local only",
}


class RemoteError(UserError):
    """A server fault or refusal, as one line (never holding the API key)."""

    exit_code = 2

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ServerFault(RemoteError):
    """The server (not the user's input) failed: 5xx, a cut stream, bad JSON, silence."""

    exit_code = 1


def normalise_base_url(url: str) -> str:
    """``localhost:8000`` -> ``http://localhost:8000/v1``; a path other than ``/`` is kept.

    Raises `UserError` for a URL that is not http(s). Credentials in the URL are refused
    (a key belongs in ``--api-key`` or ``OPENAI_API_KEY``, never in a shown URL).
    """
    text = url.strip()
    if not text:
        raise UserError("the back-end URL is empty")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"back-end URL {escape_controls(url, False)!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise UserError("put the API key in --api-key or OPENAI_API_KEY, not in the URL")
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class ServerConfig:
    """Where a server is and how to talk to it (the key is never in ``repr``)."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    api: str = "completions"
    connect_timeout: float = CONNECT_TIMEOUT
    gap_timeout: float = GAP_TIMEOUT

    @staticmethod
    def resolve(base_url: str | None = None, api_key: str | None = None, *,
                api: str = "completions", gap_timeout: float = GAP_TIMEOUT) -> ServerConfig:
        """Options first, then ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (as the openai client)."""
        url = base_url or os.environ.get(ENV_BASE_URL)
        if not url:
            raise UserError(f"no server URL: give --backend URL or set {ENV_BASE_URL}")
        if api not in APIS:
            raise UserError(f"api must be one of {', '.join(APIS)}, got {api!r}")
        key = api_key if api_key is not None else os.environ.get(ENV_API_KEY)
        return ServerConfig(normalise_base_url(url), key or None, api,
                            gap_timeout=gap_timeout)

    def scrub(self, text: str) -> str:
        """``text`` with the key (if any) replaced, control characters made visible."""
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return escape_controls(text, keep_newlines=False)


def _client(config: ServerConfig) -> httpx.Client:
    import httpx

    headers = {"Accept": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    timeout = httpx.Timeout(connect=config.connect_timeout, read=config.gap_timeout,
                            write=10.0, pool=config.connect_timeout)
    return httpx.Client(base_url=config.base_url, headers=headers, timeout=timeout,
                        trust_env=False, follow_redirects=False)


def _transport_error(config: ServerConfig, exc: Exception, during: str) -> RemoteError:
    """One line for an httpx exception (no key: httpx messages hold no headers)."""
    import httpx

    where = config.base_url
    if isinstance(exc, httpx.ConnectTimeout):
        return ServerFault(f"no connection to {where} within {config.connect_timeout:g} s")
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc) or "connection failed"
        if "refused" in reason.lower():
            reason = "connection refused (is the server running?)"
        return RemoteError(f"cannot connect to {where}: {config.scrub(reason)}")
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return ServerFault(f"the server at {where} sent nothing for "
                           f"{config.gap_timeout:g} s {during}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ServerFault(f"the stream from {where} was cut {during} "
                           f"({config.scrub(str(exc) or type(exc).__name__)})")
    return ServerFault(f"talking to {where} failed {during}: "
                       f"{config.scrub(str(exc) or type(exc).__name__)}")


def _status_error(config: ServerConfig, status: int, body: bytes, headers: dict[str, str],
                  model: str | None) -> RemoteError:
    """One line for an HTTP error status, with the server's own message when it gives one."""
    detail = ""
    try:
        obj = json.loads(body.decode("utf-8", errors="replace") or "null")
        if isinstance(obj, dict):
            err = obj.get("error", obj.get("detail", obj.get("message")))
            if isinstance(err, dict):
                err = err.get("message") or err.get("type")
            if err is not None:
                detail = str(err)
    except ValueError:
        detail = body[:200].decode("utf-8", errors="replace").strip()
    detail = config.scrub(detail)[:200]
    tail = f": {detail}" if detail else ""
    where = config.base_url
    if status in (401, 403):
        hint = "" if config.api_key else f" (no key given: set --api-key or {ENV_API_KEY})"
        return RemoteError(f"the server at {where} refused the request ({status}, "
                           f"API key {'missing' if not config.api_key else 'rejected'}){hint}"
                           f"{tail}", status=status)
    if status == 404:
        what = f"model {model!r} or the endpoint" if model else "the endpoint"
        return RemoteError(f"{what} was not found at {where} (404; see 'genai-tui models "
                           f"--backend {where}'){tail}", status=status)
    if status == 429:
        retry = _retry_after(headers.get("retry-after"))
        when = f"; retry after {retry:g} s" if retry is not None else ""
        return ServerFault(f"the server at {where} is busy (429){when}{tail}", status=status,
                           retry_after=retry)
    if status >= 500:
        return ServerFault(f"the server at {where} failed ({status}){tail}", status=status)
    return RemoteError(f"the server at {where} rejected the request ({status}){tail}",
                       status=status)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def list_models(config: ServerConfig) -> list[str]:
    """The model ids ``/v1/models`` lists."""
    import httpx

    try:
        with _client(config) as client:
            response = client.get("/models")
    except httpx.HTTPError as exc:
        raise _transport_error(config, exc, "listing models") from None
    if response.status_code != 200:
        raise _status_error(config, response.status_code, response.content,
                            dict(response.headers), None)
    try:
        data = response.json()
        ids = [str(m["id"]) for m in data["data"]]
    except (ValueError, KeyError, TypeError):
        raise ServerFault(f"the server at {config.base_url} sent a model list that is not "
                          "OpenAI's shape ({\"data\": [{\"id\": ...}]})") from None
    return ids


# -- the request --------------------------------------------------------------


def request_body(knobs: Knobs, model: str, prompt: str, api: str, top_n: int) -> dict:
    """The JSON body for ``knobs``: standard fields always, extra fields only when on."""
    body: dict[str, object] = {"model": model, "stream": True, "max_tokens": knobs.max_tokens}
    if api == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
        if top_n:
            body["logprobs"] = True
            body["top_logprobs"] = min(top_n, CHAT_LOGPROBS_MAX)
    else:
        body["prompt"] = prompt
        if top_n:
            body["logprobs"] = min(top_n, COMPLETIONS_LOGPROBS_MAX)
    greedy = knobs.greedy or knobs.temperature == 0
    for knob in KNOBS:
        if knob.remote not in (REMOTE_STANDARD, REMOTE_EXTRA) or knob.kind not in ("float",
                                                                                   "int"):
            continue
        if knob.field == "max_tokens":
            continue
        if greedy and knob.field in ("top_k", "top_p", "min_p", "typical_p"):
            continue
        value = getattr(knobs, knob.field)
        if knob.remote == REMOTE_EXTRA and not is_active(knobs, knob):
            continue
        if knob.remote == REMOTE_STANDARD and knob.field != "temperature" \
                and not is_active(knobs, knob):
            continue
        body[knob.request_field or knob.field] = value
    if greedy:
        body["temperature"] = 0.0
    if knobs.seed is not None:
        body["seed"] = knobs.seed
    if knobs.stop:
        body["stop"] = list(knobs.stop)
    return body


REMOTE_KNOBS = frozenset(
    k.field for k in KNOBS if k.remote in (REMOTE_STANDARD, REMOTE_EXTRA)
) | {"seed", "stop", "greedy", "max_tokens"}
"""Knobs a server that accepts llama.cpp's / vLLM's extra fields honours."""
STANDARD_KNOBS = frozenset(k.field for k in KNOBS if k.remote == REMOTE_STANDARD) | {
    "seed", "stop", "greedy", "max_tokens"}
"""Knobs every OpenAI-compatible server honours."""


# -- the stream -----------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One token (or a chunk of text without token detail) from an event."""

    text: str
    logprob: float | None
    top: list[tuple[str, float]]
    finish: str | None = None


def pieces_of(event: dict, api: str) -> list[Piece]:
    """The tokens one streamed JSON event carries, in either logprobs shape.

    A chunk whose logprobs tokens do not add up to its text becomes one piece
    of text (the server's token detail does not describe it); a chunk without
    logprobs becomes one piece without probabilities.
    """
    if not isinstance(event, dict):
        raise ValueError("an event is not a JSON object")
    if "error" in event:
        err = event["error"]
        raise ServerStreamError(str(err.get("message") if isinstance(err, dict) else err))
    choices = event.get("choices") or []
    if not choices:
        return []
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ValueError("choices[0] is not an object")
    finish = choice.get("finish_reason")
    if api == "chat":
        delta = choice.get("delta") or choice.get("message") or {}
        text = delta.get("content") or ""
    else:
        text = choice.get("text") or ""
    if not isinstance(text, str):
        raise ValueError("the text of a choice is not a string")
    logprobs = choice.get("logprobs")
    tokens: list[Piece] = []
    if isinstance(logprobs, dict):
        content = logprobs.get("content")
        if isinstance(content, list):  # chat shape
            for item in content:
                top = [(str(t["token"]), float(t["logprob"]))
                       for t in item.get("top_logprobs") or []]
                tokens.append(Piece(str(item["token"]), _float(item.get("logprob")), top))
        elif isinstance(logprobs.get("tokens"), list):  # legacy completions shape
            lps = logprobs.get("token_logprobs") or []
            tops = logprobs.get("top_logprobs") or []
            for i, tok in enumerate(logprobs["tokens"]):
                top_map = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
                top = sorted(((str(t), float(lp)) for t, lp in top_map.items()),
                             key=lambda kv: -kv[1])
                tokens.append(Piece(str(tok), _float(lps[i] if i < len(lps) else None), top))
    if tokens and "".join(p.text for p in tokens) == text:
        out = tokens
    elif len(tokens) == 1 and text:
        out = [Piece(text, tokens[0].logprob, tokens[0].top)]
    else:
        out = [Piece(text, None, [])] if text else []
    if finish:
        if out:
            out[-1] = Piece(out[-1].text, out[-1].logprob, out[-1].top, str(finish))
        else:
            out = [Piece("", None, [], str(finish))]
    return out


class ServerStreamError(Exception):
    """The server put an error object in the stream."""


def _float(value: object) -> float | None:
    if value is None:
        return None
    x = float(value)  # type: ignore[arg-type]
    return x if math.isfinite(x) or x == -math.inf else None


def iter_events(response: httpx.Response) -> Iterator[str]:
    """The ``data`` of each server-sent event of ``response`` (UTF-8 split anywhere)."""
    from httpx_sse import EventSource

    for sse in EventSource(response).iter_sse():
        if sse.event in ("", "message", "completion", "chunk") and sse.data != "":
            yield sse.data


class _Ids:
    """Numbers for token texts (a server names tokens by text): the same text, the same id."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, text: str) -> int:
        with self._lock:
            return self._ids.setdefault(text, len(self._ids))


class RemoteStream(TokenStream):
    """A token stream over one HTTP response; `abort` shuts its socket at once."""

    def __init__(self, config: ServerConfig, body: dict, knobs: Knobs, ids: _Ids,
                 notes: list[str], start_index: int) -> None:
        self.config = config
        self._body = body
        self._knobs = knobs
        self._ids = ids
        self._start_index = start_index
        self._sock: socket.socket | None = None
        self._sock_lock = threading.Lock()
        super().__init__(self._run(), seed=knobs.seed, notes=notes, prompt_tokens=None)

    def abort(self) -> None:
        super().abort()
        with self._sock_lock:
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread
            except OSError:
                pass

    def _remember_socket(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._sock_lock:
            self._sock = sock if isinstance(sock, socket.socket) else None
        if self.aborted:
            self.abort()

    def _run(self) -> Iterator[TokenStep]:
        import httpx

        config = self.config
        path = "/chat/completions" if config.api == "chat" else "/completions"
        started = time.perf_counter()
        index = self._start_index
        pending: TokenStep | None = None
        finished = False
        try:
            with _client(config) as client, client.stream(
                    "POST", path, json=self._body,
                    headers={"Accept": "text/event-stream"}) as response:
                self._remember_socket(response)
                if response.status_code != 200:
                    body = response.read()
                    raise _status_error(config, response.status_code, body,
                                        dict(response.headers), str(self._body["model"]))
                kind = response.headers.get("content-type", "").partition(";")[0].strip()
                if kind != "text/event-stream":
                    raise ServerFault(f"the server at {config.base_url} did not stream "
                                      f"(content type {config.scrub(kind)!r}, expected "
                                      "text/event-stream)")
                for data in iter_events(response):
                    if self.aborted:
                        return
                    if data.strip() == "[DONE]":
                        finished = True
                        break
                    try:
                        pieces = pieces_of(json.loads(data), config.api)
                    except ServerStreamError as exc:
                        raise ServerFault(f"the server at {config.base_url} reported an "
                                          f"error mid-stream: {config.scrub(str(exc))[:200]}"
                                          ) from None
                    except (ValueError, KeyError, TypeError) as exc:
                        raise ServerFault(f"the server at {config.base_url} sent malformed "
                                          f"JSON in an event ({config.scrub(str(exc))[:80]})"
                                          ) from None
                    for piece in pieces:
                        if piece.finish is not None:
                            finished = True
                        if not piece.text and pending is not None:
                            if piece.finish is not None:
                                pending = _with_finish(pending, piece.finish)
                            continue
                        if not piece.text:
                            continue
                        if pending is not None:
                            yield pending
                        pending = self._step(piece, index, started)
                        index += 1
        except httpx.HTTPError as exc:
            if self.aborted:
                return
            raise _transport_error(config, exc, "while streaming") from None
        except OSError as exc:
            if self.aborted:
                return
            raise ServerFault(f"the stream from {config.base_url} failed: "
                              f"{config.scrub(str(exc))}") from None
        if self.aborted:
            return
        if not finished:
            raise ServerFault(f"the stream from {config.base_url} was cut before the server "
                              "finished (no [DONE] and no finish reason)")
        if pending is not None:
            if pending.finish is None:
                pending = _with_finish(pending, "stop")
            yield pending

    def _step(self, piece: Piece, index: int, started: float) -> TokenStep:
        top = [Candidate(self._ids(t), t, math.exp(lp)) for t, lp in piece.top]
        has = piece.logprob is not None
        prob = math.exp(piece.logprob) if piece.logprob is not None else 0.0
        chosen = self._ids(piece.text)
        if has and top and all(c.id != chosen for c in top):
            top.append(Candidate(chosen, piece.text, prob))
            top.sort(key=lambda c: -c.prob)
        finish = piece.finish
        if finish not in (None, "stop", "length"):
            finish = "stop"
        return TokenStep(index=index, id=chosen, token=piece.text, prob=prob,
                         top_before=top, top_after=top, stages=[], entropy=math.nan,
                         elapsed=time.perf_counter() - started, raw_prob=prob,
                         finish=finish, has_probs=has)


def _with_finish(step: TokenStep, finish: str) -> TokenStep:
    from dataclasses import replace

    return replace(step, finish=finish if finish in ("stop", "length") else "stop")


class RemoteGenerator:
    """An OpenAI-compatible server's model behind the `TextGenerator` contract."""

    def __init__(self, config: ServerConfig, model: str, *, extras: bool = True) -> None:
        """``extras``: the server accepts llama.cpp's / vLLM's extra fields
        (top_k, min_p, typical_p, repetition_penalty, repeat_last_n); say False
        for Ollama's OpenAI layer or OpenAI itself."""
        if not model:
            raise UserError("name the server's model (--model NAME; 'genai-tui models "
                            "--backend URL' lists them)")
        self.config = config
        self.model = model
        self.extras = extras
        self._ids = _Ids()

    @property
    def name(self) -> str:
        return self.model

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            knobs=REMOTE_KNOBS if self.extras else STANDARD_KNOBS,
            raw_probs=True, processed_probs=False, stage_xray=False, token_ids=False,
            branching="text", tokenizer="server-side",
            probs_note="the server's logprobs (one distribution; servers differ on whether "
            "it is before or after the knobs)")

    @property
    def vocab_size(self) -> int | None:
        return None

    @property
    def context_size(self) -> int | None:
        return None

    @property
    def where(self) -> str:
        return self.config.base_url

    def describe(self) -> str:
        return (f"{self.model} at {self.config.base_url} ({self.config.api}, "
                "server-side tokenizer)")

    def unsupported(self, knobs: Knobs) -> list[str]:
        return unsupported_knobs(knobs, self.capabilities.knobs)

    def generate(self, prompt: str, knobs: Knobs, *, prefix: Prefix | None = None,
                 top_n: int = 10) -> TokenStream:
        validate(knobs)
        if not isinstance(top_n, int) or top_n < 0:
            raise UserError(f"top_n must be >= 0, got {top_n!r}")
        knobs, notes = resolve_seed(knobs)
        if not prompt and (prefix is None or not prefix.text):
            notes.insert(0, "empty prompt: the server continues from nothing")
        ignored = self.unsupported(knobs)
        if ignored:
            notes.append(f"{self.model} at {self.config.base_url} does not honour: "
                         + ", ".join(ignored))
        text = prompt + (prefix.text if prefix is not None else "")
        start = len(prefix.ids) if prefix is not None else 0
        body = request_body(knobs, self.model, text, self.config.api, top_n)
        if not self.extras:
            for knob in KNOBS:
                if knob.remote == REMOTE_EXTRA:
                    body.pop(knob.request_field or knob.field, None)
        return RemoteStream(self.config, body, knobs, self._ids, notes, start)

    def beam_search(self, prompt: str, settings: object) -> Iterator[object]:
        raise UserError("beam search runs on the local model only: an OpenAI-compatible "
                        "server returns one sequence, not every live beam's distribution")

    def close(self) -> None:
        pass
