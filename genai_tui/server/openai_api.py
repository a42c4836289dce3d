"""The OpenAI-compatible routes: /v1/models, /v1/completions, /v1/chat/completions.

Every generation goes through `start_generation` (the one call into the
service), runs token by token in a worker thread (torch never blocks the
event loop) and is consumed by the same async loop for streaming and
non-streaming answers, so both give the same tokens for the same seed.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genai_tui.errors import UserError

if TYPE_CHECKING:
    from genai_tui.service.generate import Knobs, LanguageModel, TokenStep

MIN_LOGPROB = -9999.0
"""What OpenAI reports for a probability that underflowed to 0 (JSON has no -inf)."""

CHAT_TEMPLATE_NAME = "genai-plain"
CHAT_STOP = "\nUser:"
"""A chat answer ends where the model starts the user's next turn."""


@dataclass
class ServerSettings:
    """What `genai-tui serve` was started with (limits included)."""

    api_key: str | None = None
    """Bearer key every /v1 request must send (None: no authentication)."""
    max_concurrent: int = 8
    """Generations running at once; one more gets 429 with Retry-After."""
    max_prompt_tokens: int = 4096
    """Longest prompt accepted, in tokens (the model slides a window over longer context)."""
    max_tokens_limit: int = 2048
    """Largest ``max_tokens`` a request may ask for."""
    max_body_bytes: int = 1_000_000
    """Largest request body (413 beyond)."""
    retry_after: int = 1
    """Seconds a 429 tells the client to wait."""
    speculative: bool = True
    """Prompt-lookup speculative decoding (same tokens, faster)."""


# -- request bodies ------------------------------------------------------------


class _Body(BaseModel):
    """Fields common to both endpoints (OpenAI's names; unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float = Field(default=1.0, ge=0.0, le=100.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    n: int = 1
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    presence_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    # Extra knobs (llama.cpp's and vLLM's names).
    top_k: int = Field(default=0, ge=-1)
    min_p: float = Field(default=0.0, ge=0.0, le=1.0)
    typical_p: float = Field(default=1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=10.0)


class CompletionBody(_Body):
    prompt: str | list[str]
    logprobs: int | None = Field(default=None, ge=0, le=20)
    echo: bool = False
    suffix: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]] | None = None


class ChatBody(_Body):
    messages: list[ChatMessage] = Field(min_length=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    max_completion_tokens: int | None = Field(default=None, ge=0)


# -- errors --------------------------------------------------------------------


class ApiError(Exception):
    """An OpenAI-style error answer."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def _validation_error(e: ValidationError) -> ApiError:
    first = e.errors()[0]
    param = ".".join(str(p) for p in first.get("loc", ())) or None
    return ApiError(400, f"{param}: {first.get('msg', 'invalid value')}" if param
                    else str(first.get("msg")), param=param)


# -- the one call into the generation service ---------------------------------


def knobs_from_body(body: _Body, max_tokens: int, stops: tuple[str, ...]) -> Knobs:
    """Request fields -> the service's `Knobs` (the same knobs the CLI and pane set).

    OpenAI's defaults are the neutral knobs (plain sampling); no seed means a
    fresh random seed per request, as OpenAI does.
    """
    from genai_tui.service.generate import Knobs

    return Knobs(
        temperature=body.temperature, top_k=max(0, body.top_k), top_p=body.top_p,
        min_p=body.min_p, typical_p=body.typical_p,
        repetition_penalty=body.repetition_penalty, presence_penalty=body.presence_penalty,
        frequency_penalty=body.frequency_penalty, max_tokens=max_tokens, stop=stops,
        seed=body.seed, greedy=body.temperature == 0)


def start_generation(lm: LanguageModel, prompt: str, knobs: Knobs, top_n: int,
                     speculative: bool) -> Iterator[TokenStep]:
    """The server's only call into the generation service: validate, then a lazy
    iterator of `TokenStep`s (pulling one computes one token)."""
    from genai_tui.service import generate as gen

    return gen.generate(prompt, knobs, lm, top_n=top_n, speculative=speculative)


# -- concurrency ---------------------------------------------------------------


class Slots:
    """A cap on generations running at once (thread-safe: a worker thread frees its slot)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._active = 0
        self.served = 0

    def try_acquire(self) -> bool:
        with self._lock:
            if self._active >= self.cap:
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._active -= 1
            self.served += 1

    @property
    def active(self) -> int:
        return self._active


@dataclass
class ServerState:
    lm: LanguageModel
    settings: ServerSettings
    slots: Slots
    pool: ThreadPoolExecutor
    stopping: threading.Event = field(default_factory=threading.Event)
    created: int = field(default_factory=lambda: int(time.time()))


class _Aborted(Exception):
    """The server is shutting down: the generation ends early."""


async def _steps(state: ServerState, steps: Iterator[TokenStep],
                 request: Request | None) -> AsyncIterator[TokenStep]:
    """Pull ``steps`` one token at a time in a worker thread.

    The slot is released and the generator closed once no thread is inside it
    any more, also when the consumer is cancelled (the client went away: for a
    streaming answer Starlette cancels the response) or the server stops.
    ``request`` (non-streaming answers): checked between tokens for a disconnect.
    """
    pending: Future | None = None

    def finish(_: object = None) -> None:
        steps.close()
        state.slots.release()

    try:
        while True:
            if state.stopping.is_set():
                raise _Aborted
            if request is not None and await request.is_disconnected():
                return
            pending = state.pool.submit(next, steps, None)
            step = await asyncio.wrap_future(pending)
            if step is None:
                return
            yield step
    finally:
        if pending is not None:
            pending.add_done_callback(finish)  # runs now if the thread is done
        else:
            finish()


# -- stop strings are cut from the answer, as OpenAI does ---------------------


class StopTrimmer:
    """Holds back text that may begin a stop string; cuts the answer before it.

    The service ends a generation when a stop string appears and includes it;
    OpenAI's API leaves it out. Tokens are released (with their logprobs) once
    their text can no longer be the start of a stop string.
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self._held: list[tuple[str, Any]] = []

    def feed(self, text: str, entry: Any) -> list[tuple[str, Any]]:
        self._held.append((text, entry))
        if not self.stops:
            return self._release(len(self._held))
        held_text = "".join(t for t, _ in self._held)
        hold = max((k for s in self.stops for k in range(1, len(s))
                    if held_text.endswith(s[:k])), default=0)
        safe = len(held_text) - hold
        n, upto = 0, 0
        for t, _ in self._held:
            if upto + len(t) > safe:
                break
            upto += len(t)
            n += 1
        return self._release(n)

    def end(self, stopped: bool) -> list[tuple[str, Any]]:
        if not stopped or not self.stops:
            return self._release(len(self._held))
        held_text = "".join(t for t, _ in self._held)
        cut = min((i for i in (held_text.find(s) for s in self.stops) if i >= 0),
                  default=len(held_text))
        out, upto = [], 0
        for t, entry in self._held:
            if upto >= cut and t:
                break
            out.append((t[:max(0, cut - upto)], entry))
            upto += len(t)
        self._held = []
        return out

    def _release(self, n: int) -> list[tuple[str, Any]]:
        out, self._held = self._held[:n], self._held[n:]
        return out


# -- logprobs ------------------------------------------------------------------


def _logprob(p: float) -> float:
    return math.log(p) if p > 0.0 else MIN_LOGPROB


def token_logprobs(lm: LanguageModel, step: TokenStep, top: int) -> dict:
    """One token's logprobs (chat shape). The model's raw distribution, before
    the knobs (vLLM's default, "raw logprobs"); ``top`` alternatives."""
    def entry(token_id: int, p: float) -> dict:
        data = lm.token_bytes(token_id)
        return {"token": data.decode("utf-8", errors="replace"), "logprob": _logprob(p),
                "bytes": list(data)}

    out = entry(step.id, step.raw_prob)
    out["top_logprobs"] = [entry(c.id, c.prob) for c in step.top_before[:top]]
    return out


def legacy_logprobs(entries: list[dict], start_offset: int = 0) -> dict:
    """The completions endpoint's shape from chat-shaped entries."""
    offsets, at = [], start_offset
    for e in entries:
        offsets.append(at)
        at += len(e["token"])
    return {"tokens": [e["token"] for e in entries],
            "token_logprobs": [e["logprob"] for e in entries],
            "top_logprobs": [{t["token"]: t["logprob"] for t in e["top_logprobs"]}
                             for e in entries],
            "text_offset": offsets}


# -- the application -------------------------------------------------------------


def chat_prompt(messages: list[ChatMessage]) -> str:
    """Our chat template ("genai-plain"): system text, then ``User:`` /
    ``Assistant:`` lines, ending with ``Assistant:`` for the model to continue.
    The model was not trained on chats; the template only makes the shape plain."""
    parts = []
    for m in messages:
        content = m.content
        if isinstance(content, list):
            texts = []
            for part in content:
                if part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise ApiError(400, "only text message parts are supported",
                                   param="messages")
                texts.append(part["text"])
            content = "".join(texts)
        content = content or ""
        if m.role in ("system", "developer"):
            parts.append(content + "\n\n")
        else:
            parts.append(("User: " if m.role == "user" else "Assistant: ") + content + "\n")
    parts.append("Assistant:")
    return "".join(parts)


def create_app(lm: LanguageModel, settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI app serving ``lm``."""
    from contextlib import asynccontextmanager

    settings = settings or ServerSettings()
    state = ServerState(
        lm=lm, settings=settings, slots=Slots(settings.max_concurrent),
        pool=ThreadPoolExecutor(max_workers=settings.max_concurrent,
                                thread_name_prefix="genai-serve"))

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202
        yield
        state.stopping.set()
        state.pool.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(title="genai-tui", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.genai = state

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return e.response()

    @app.exception_handler(404)
    async def _not_found(request: Request, _: Exception) -> JSONResponse:
        return ApiError(404, f"no route {request.url.path}", code="not_found").response()

    @app.exception_handler(405)
    async def _bad_method(request: Request, _: Exception) -> JSONResponse:
        return ApiError(405, f"{request.method} is not allowed on {request.url.path}").response()

    @app.exception_handler(Exception)
    async def _crash(_: Request, e: Exception) -> JSONResponse:
        return ApiError(500, f"internal error: {type(e).__name__}", type="server_error").response()

    def authorize(request: Request) -> None:
        key = settings.api_key
        if key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
                given.strip().encode(), key.encode()):
            raise ApiError(401, "missing or wrong API key (send 'Authorization: Bearer <key>')",
                           code="invalid_api_key")

    def model_card() -> dict:
        return {"id": lm.name, "object": "model", "created": state.created,
                "owned_by": "genai-tui", "context_length": lm.block_size,
                "vocab_size": lm.vocab_size}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "stopping" if state.stopping.is_set() else "ok",
                "active_generations": state.slots.active,
                "max_concurrent": settings.max_concurrent}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        authorize(request)
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str, request: Request) -> dict:
        authorize(request)
        if model_id != lm.name:
            raise ApiError(404, f"model {model_id!r} does not exist (this server has "
                           f"{lm.name!r})", param="model", code="model_not_found")
        return model_card()

    async def read_body(request: Request, kind: type[_Body]) -> Any:
        authorize(request)
        if state.stopping.is_set():
            raise ApiError(503, "the server is shutting down", type="server_error")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and \
                int(declared) > settings.max_body_bytes:
            raise ApiError(413, f"request body over {settings.max_body_bytes} bytes",
                           code="request_too_large")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > settings.max_body_bytes:
                raise ApiError(413, f"request body over {settings.max_body_bytes} bytes",
                               code="request_too_large")
        try:
            json.loads(raw)
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        try:
            body = kind.model_validate_json(raw)
        except ValidationError as e:
            raise _validation_error(e) from None
        if body.model != lm.name:
            raise ApiError(404, f"model {body.model!r} does not exist (this server has "
                           f"{lm.name!r})", param="model", code="model_not_found")
        if body.n != 1:
            raise ApiError(400, "only n=1 is supported", param="n")
        if body.logit_bias:
            raise ApiError(400, "logit_bias is not supported", param="logit_bias")
        return body

    def stops_of(body: _Body, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        stop = body.stop
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if len(stops) > 4:
            raise ApiError(400, "at most 4 stop sequences", param="stop")
        if any(not s for s in stops):
            raise ApiError(400, "stop sequences must be non-empty", param="stop")
        return tuple(dict.fromkeys([*stops, *extra]))

    async def begin(body: _Body, prompt: str, max_tokens: int | None, stops: tuple[str, ...],
                    top_n: int) -> tuple[Iterator[TokenStep], int, Knobs]:
        """Check the limits, take a slot, start the service's generator (in a thread)."""
        max_tokens = 16 if max_tokens is None else max_tokens
        if max_tokens > settings.max_tokens_limit:
            raise ApiError(400, f"max_tokens is {max_tokens}; this server allows at most "
                           f"{settings.max_tokens_limit}", param="max_tokens")
        knobs = knobs_from_body(body, max_tokens, stops)
        if not state.slots.try_acquire():
            raise ApiError(429, f"the server is running {settings.max_concurrent} generations "
                           "(its cap); retry shortly", type="rate_limit_error",
                           code="rate_limit_exceeded",
                           headers={"Retry-After": str(settings.retry_after)})
        try:
            def prepare() -> tuple[Iterator[TokenStep], int]:
                from genai_tui.service.generate import prompt_ids

                count = len(prompt_ids(prompt, lm))
                if count > settings.max_prompt_tokens:
                    raise ApiError(400, f"the prompt is {count} tokens; this server accepts "
                                   f"at most {settings.max_prompt_tokens}", param="prompt",
                                   code="context_length_exceeded")
                return start_generation(lm, prompt, knobs, top_n, settings.speculative), count

            steps, count = await asyncio.wrap_future(state.pool.submit(prepare))
        except UserError as e:
            state.slots.release()
            raise ApiError(400, str(e)) from None
        except BaseException:
            state.slots.release()
            raise
        return steps, count, knobs

    def ids() -> tuple[str, int]:
        return uuid.uuid4().hex[:24], int(time.time())

    async def run(steps: Iterator[TokenStep], stops: tuple[str, ...], top: int | None,
                  request: Request | None) -> AsyncIterator[tuple[str, list[dict], str | None]]:
        """(text, logprob entries, finish reason) pieces, stop strings cut."""
        trimmer = StopTrimmer(stops)
        finish: str | None = None
        try:
            async for step in _steps(state, steps, request):
                entry = token_logprobs(lm, step, top) if top is not None else None
                out = trimmer.feed(step.token, entry)
                if step.finish:
                    finish = step.finish
                    out += trimmer.end(step.finish == "stop")
                if out:
                    yield ("".join(t for t, _ in out), [e for _, e in out if e is not None],
                           None)
        except _Aborted:
            out = trimmer.end(False)
            yield "".join(t for t, _ in out), [e for _, e in out if e is not None], "abort"
            return
        out = trimmer.end(False)
        yield ("".join(t for t, _ in out), [e for _, e in out if e is not None],
               finish or "length")

    def sse(obj: Any) -> str:
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

    def usage(prompt_tokens: int, completion: int) -> dict:
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion}

    def include_usage(body: _Body) -> bool:
        return bool((body.stream_options or {}).get("include_usage"))

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        body: CompletionBody = await read_body(request, CompletionBody)
        if body.echo:
            raise ApiError(400, "echo is not supported", param="echo")
        if body.suffix:
            raise ApiError(400, "suffix is not supported", param="suffix")
        prompt = body.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ApiError(400, "give one prompt (a batch of prompts is not supported)",
                               param="prompt")
            prompt = prompt[0]
        stops = stops_of(body)
        top = body.logprobs
        steps, prompt_count, _ = await begin(body, prompt, body.max_tokens, stops, top or 0)
        rid, created = ids()
        rid = "cmpl-" + rid

        def choice(text: str, entries: list[dict], finish: str | None, offset: int) -> dict:
            return {"index": 0, "text": text,
                    "logprobs": legacy_logprobs(entries, offset) if top is not None else None,
                    "finish_reason": finish}

        base = {"id": rid, "object": "text_completion", "created": created, "model": lm.name}
        if body.stream:
            async def events() -> AsyncIterator[str]:
                count, offset = 0, 0
                async for text, entries, finish in run(steps, stops, top, None):
                    count += len(entries) if top is not None else 0
                    yield sse({**base, "choices": [choice(text, entries, finish, offset)]})
                    offset += len(text)
                if include_usage(body):
                    yield sse({**base, "choices": [], "usage": usage(prompt_count, count)})
                yield "data: [DONE]\n\n"

            return _stream(events(), steps_counter=None)
        texts, all_entries, finish, tokens = [], [], None, 0
        async for text, entries, fin in _counting(run(steps, stops, 0 if top is None else top,
                                                      request)):
            texts.append(text)
            all_entries += entries
            finish = fin or finish
        tokens = len(all_entries)
        return JSONResponse({**base, "choices": [
            {"index": 0, "text": "".join(texts),
             "logprobs": legacy_logprobs(all_entries) if top is not None else None,
             "finish_reason": finish}], "usage": usage(prompt_count, tokens)})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body: ChatBody = await read_body(request, ChatBody)
        prompt = chat_prompt(body.messages)
        stops = stops_of(body, (CHAT_STOP,))
        top = (body.top_logprobs or 0) if body.logprobs else None
        max_tokens = body.max_completion_tokens if body.max_completion_tokens is not None \
            else body.max_tokens
        steps, prompt_count, _ = await begin(body, prompt, max_tokens, stops, top or 0)
        rid, created = ids()
        rid = "chatcmpl-" + rid
        base = {"id": rid, "object": "chat.completion.chunk", "created": created,
                "model": lm.name, "system_fingerprint": CHAT_TEMPLATE_NAME}
        if body.stream:
            async def events() -> AsyncIterator[str]:
                count = 0
                yield sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                      "content": ""},
                                                "logprobs": None, "finish_reason": None}]})
                async for text, entries, finish in run(steps, stops, top, None):
                    count += len(entries)
                    delta = {"content": text} if text or finish is None else {}
                    yield sse({**base, "choices": [{
                        "index": 0, "delta": delta,
                        "logprobs": {"content": entries} if top is not None else None,
                        "finish_reason": finish}]})
                if include_usage(body):
                    yield sse({**base, "choices": [], "usage": usage(prompt_count, count)})
                yield "data: [DONE]\n\n"

            return _stream(events(), steps_counter=None)
        texts, all_entries, finish = [], [], None
        async for text, entries, fin in run(steps, stops, 0 if top is None else top, request):
            texts.append(text)
            all_entries += entries
            finish = fin or finish
        return JSONResponse({
            "id": rid, "object": "chat.completion", "created": created, "model": lm.name,
            "system_fingerprint": CHAT_TEMPLATE_NAME,
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": "".join(texts)},
                         "logprobs": {"content": all_entries} if top is not None else None,
                         "finish_reason": finish}],
            "usage": usage(prompt_count, len(all_entries))})

    return app


async def _counting(pieces: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for piece in pieces:
        yield piece


def _stream(events: AsyncIterator[str], steps_counter: Any) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
