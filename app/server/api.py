"""The local API's routes: OpenAI's chat and completions, Anthropic's messages, the models.

Every answer goes through the conversation service (services/chat.py) on a worker
thread, exactly as the window's and the CLI's do, so its figures, its cost and its
ledger entries are the same. The engine takes one request at a time, in the fair queue's
order; a client that goes away mid-stream cancels its answer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sse_starlette import EventSourceResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.backends.local.supervisor import LocalBackend
from app.core.errors import (
    AuthError,
    ContextTooLong,
    EngineCrashed,
    EngineError,
    NotEnoughMemory,
    PrivacyBlocked,
    ProviderError,
    RateLimited,
    TandemError,
    UsageError,
)
from app.core.events import CancelToken, Delta, Event, Failed, Finished
from app.core.messages import Role
from app.core.privacy import RequestRecord, is_loopback_host
from app.core.stats import AnswerStats
from app.server import wire
from app.server.activity import Activity, ApiRequest
from app.server.fair_queue import FairQueue, QueueFull
from app.services.chat import ChatService, ConversationMessage
from app.services.documents import NoEmbeddingModel
from app.services.local_api import (
    NO_HISTORY_HEADER,
    UnknownModel,
    api_models,
    backend_for_api,
    embedding_model_id,
    keys_match,
)

if TYPE_CHECKING:
    from app.services.workspace import Workspace

logger = logging.getLogger(__name__)
_M = TypeVar("_M", bound=BaseModel)

BODY_LIMIT_BYTES = 8 * 2**20
_DRAIN_LIMIT_BYTES = 64 * 2**20  # an oversized body is read this far, so the 413 arrives
RETRY_AFTER_S = 2
LEDGER_PROVIDER = "local API"


@dataclass
class ServerState:
    workspace: Workspace
    key: str
    default_model: str | None = None
    body_limit: int = BODY_LIMIT_BYTES
    queue: FairQueue = field(default_factory=FairQueue)
    activity: Activity = field(default_factory=Activity)
    jobs: set[CancelToken] = field(default_factory=set)

    def cancel_all(self) -> None:
        for token in list(self.jobs):
            token.cancel()


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _status_of(error: TandemError) -> tuple[int, str]:
    """The HTTP status and code a Tandem error becomes."""
    if isinstance(error, UnknownModel):
        return 404, "model_not_found"
    if isinstance(error, PrivacyBlocked):
        return 403, "private_mode"
    if isinstance(error, ContextTooLong):
        return 400, "context_length_exceeded"
    if isinstance(error, UsageError):
        return 400, error.kind
    if isinstance(error, RateLimited):
        return 429, error.kind
    if isinstance(error, AuthError | ProviderError):
        return 502, error.kind
    if isinstance(error, NotEnoughMemory):
        return 503, error.kind
    if isinstance(error, EngineCrashed | EngineError):
        return 500, error.kind
    return 500, error.kind


def _anthropic(path: str) -> bool:
    return path.startswith("/v1/messages")


def _error_body(path: str, status: int, message: str, code: str | None) -> dict[str, Any]:
    if _anthropic(path):
        return wire.anthropic_error(status, message)
    return wire.openai_error(status, message, code)


def _error_response(path: str, error: ApiError) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if error.status == 503 else None
    return JSONResponse(
        _error_body(path, error.status, error.message, error.code), error.status, headers
    )


class _Guard:
    """Outside every route: the key, the live request list, and the privacy ledger
    (client address, model, bytes in and out) for every request to /v1."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1"):
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        client = (scope.get("client") or ("unknown", 0))[0]
        entry = self.state.activity.begin(client, f"{scope.get('method', '')} {path}")
        scope.setdefault("state", {})["entry"] = entry
        status = [0]

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                entry.bytes_in += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            elif message["type"] == "http.response.body":
                entry.bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            if not self._authorised(scope):
                response = _error_response(
                    path,
                    ApiError(
                        401,
                        "A valid API key is needed: send it as `Authorization: Bearer KEY` "
                        "(or `x-api-key: KEY`). `tandem-cli serve` prints it; the window shows "
                        "it under View > Local API.",
                        "invalid_api_key",
                    ),
                )
                await response(scope, counting_receive, counting_send)
            else:
                await self.app(scope, counting_receive, counting_send)
        finally:
            outcome = entry.status if entry.status != "running" else None
            if outcome is None:
                outcome = "ok" if 0 < status[0] < 400 else str(status[0] or "cancelled")
            self.state.activity.end(entry, outcome)
            self._record(entry, client, outcome)

    def _authorised(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-api-key", "")
        bearer = headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = bearer[7:].strip()
        return bool(given) and keys_match(given, self.state.key)

    def _record(self, entry: ApiRequest, client: str, outcome: str) -> None:
        self.state.workspace.ledger.append(
            RequestRecord(
                time=datetime.now(UTC).isoformat(timespec="seconds"),
                provider=LEDGER_PROVIDER,
                host=client,
                model=entry.model or "-",
                bytes_sent=entry.bytes_out,
                bytes_received=entry.bytes_in,
                outcome=outcome,
                left_device=not is_loopback_host(client),
            )
        )


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; 413 past `limit` bytes, 400 for anything not JSON."""
    length = request.headers.get("content-length", "")
    too_big = length.isdigit() and int(length) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            too_big = True
        if too_big:
            if size > _DRAIN_LIMIT_BYTES:
                break
            continue
        chunks.append(chunk)
    if too_big:
        raise ApiError(
            413,
            f"The request body is larger than the limit of {limit // 2**20} MiB. Send a "
            "shorter prompt.",
            "request_too_large",
        )
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, f"The request body is not valid JSON ({exc}).", "invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", "invalid_json")
    return data


def _parse(model: type[_M], data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, wire.validation_message(exc), "invalid_request") from None


class _Job:
    """One answer, run by the conversation service on its own thread; its events come
    back on the server's event loop."""

    def __init__(self, service: ChatService, text: str, entry: ApiRequest) -> None:
        self.service = service
        self.text = text
        self.entry = entry
        self.cancel = CancelToken()
        self.done = False
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._watcher: asyncio.Task[None] | None = None

    def watch(self, request: Request) -> None:
        """Cancel the answer if the client leaves before its response starts (a stream's
        response then watches for itself)."""
        self._watcher = asyncio.create_task(_watch_disconnect(request, self))

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    def start(self, on_end: Callable[[], None]) -> None:
        threading.Thread(target=self._work, args=(on_end,), name="api-answer", daemon=True).start()

    def _put(self, item: Event | None) -> None:
        with contextlib.suppress(RuntimeError):  # the server stopped; nobody listens
            self._loop.call_soon_threadsafe(self._events.put_nowait, item)

    def _work(self, on_end: Callable[[], None]) -> None:
        try:
            for event in self.service.send(self.text, self.cancel):
                self._put(event)
        except Exception as exc:
            logger.exception("an API answer failed")
            self._put(Failed(TandemError(f"The answer failed ({type(exc).__name__}).")))
        finally:
            self.entry.generation_ended_at = time.monotonic()
            self._put(None)
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(on_end)

    async def next(self) -> Event | None:
        item = await self._events.get()
        if item is None:
            self.done = True
        return item

    async def first(self) -> Event | None:
        """The first event that says something: text, the end, or a failure."""
        while True:
            event = await self.next()
            if event is None or isinstance(event, Delta | Finished | Failed):
                return event


@dataclass
class _Ask:
    """One request, as the conversation service needs it."""

    model: str | None
    system: str
    history: list[tuple[Role, str]]
    text: str
    changes: dict[str, object]
    stop: list[str]
    prompt: str | None = None  # a raw completion prompt


def _chat_ask(request: wire.ChatRequest) -> _Ask:
    system = "\n\n".join(m.text() for m in request.messages if m.role in ("system", "developer"))
    turns = [m for m in request.messages if m.role not in ("system", "developer")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "The last message must be the user's.", "invalid_request")
    history = [(Role(m.role), m.text()) for m in turns[:-1]]
    max_tokens = request.max_completion_tokens or request.max_tokens
    return _Ask(request.model, system, history, turns[-1].text(),
                _changes(request.temperature, request.top_p, max_tokens, request.seed),
                request.stops)  # fmt: skip


def _changes(
    temperature: float | None, top_p: float | None, max_tokens: int | None, seed: int | None
) -> dict[str, object]:
    given = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "seed": seed}
    return {k: v for k, v in given.items() if v is not None}


def build_app(state: ServerState, cors_origins: tuple[str, ...] = ()) -> FastAPI:
    app = FastAPI(title="Tandem local API", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_Guard, state=state)
    if cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-api-key", "anthropic-version"],
        )

    @app.exception_handler(ApiError)
    async def _on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(request.url.path, exc)

    @app.exception_handler(Exception)
    async def _on_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.error("local API: %s failed", request.url.path, exc_info=exc)
        error = ApiError(500, f"The server failed ({type(exc).__name__}); see Tandem's log.")
        return _error_response(request.url.path, error)

    @app.get("/v1/models")
    async def _models() -> dict[str, Any]:
        found = await asyncio.to_thread(api_models, state.workspace)
        return {"object": "list", "data": [m.to_json() for m in found]}

    @app.post("/v1/chat/completions", response_model=None)
    async def _chat(request: Request) -> Any:
        body = _parse(wire.ChatRequest, await _json_body(request, state.body_limit))
        ask = _chat_ask(body)
        job, model, first = await _begin(state, request, ask)
        answer_id = wire.new_id("chatcmpl")
        if not body.stream:
            text, stats = await _collect(job, first, request)
            return wire.chat_completion(answer_id, model, text, stats)
        job.stop_watching()
        return EventSourceResponse(
            _chat_stream(job, first, answer_id, model, body.include_usage), sep="\n"
        )

    @app.post("/v1/completions", response_model=None)
    async def _completions(request: Request) -> Any:
        body = _parse(wire.CompletionRequest, await _json_body(request, state.body_limit))
        changes = _changes(body.temperature, body.top_p, body.max_tokens, body.seed)
        ask = _Ask(body.model, "", [], body.text, changes, body.stops, prompt=body.text)
        job, model, first = await _begin(state, request, ask)
        answer_id = wire.new_id("cmpl")
        if not body.stream:
            text, stats = await _collect(job, first, request)
            return wire.completion(answer_id, model, text, stats)
        job.stop_watching()
        return EventSourceResponse(
            _completion_stream(job, first, answer_id, model, body.include_usage), sep="\n"
        )

    @app.post("/v1/messages", response_model=None)
    async def _messages(request: Request) -> Any:
        body = _parse(wire.AnthropicRequest, await _json_body(request, state.body_limit))
        if body.messages[-1].role != "user":
            raise ApiError(400, "The last message must be the user's.", "invalid_request")
        history = [(Role(m.role), m.text()) for m in body.messages[:-1]]
        changes = _changes(body.temperature, body.top_p, body.max_tokens, None)
        ask = _Ask(body.model, body.system_text, history, body.messages[-1].text(), changes,
                   [s for s in body.stop_sequences or () if s])  # fmt: skip
        job, model, first = await _begin(state, request, ask)
        answer_id = wire.new_id("msg")
        if not body.stream:
            text, stats = await _collect(job, first, request)
            return wire.anthropic_message(answer_id, model, text, stats)
        job.stop_watching()
        return EventSourceResponse(_anthropic_stream(job, first, answer_id, model), sep="\n")

    @app.post("/v1/embeddings", response_model=None)
    async def _embeddings(request: Request) -> Any:
        body = _parse(wire.EmbeddingsRequest, await _json_body(request, state.body_limit))
        entry: ApiRequest = request.scope["state"]["entry"]
        entry.model = body.model or "embeddings"
        documents = state.workspace.documents
        started = time.perf_counter()
        try:
            await asyncio.to_thread(embedding_model_id, state.workspace, body.model)
            result = await asyncio.to_thread(documents.embed, body.texts)
        except NoEmbeddingModel as exc:
            raise ApiError(404, exc.message, "no_embedding_model") from None
        except TandemError as exc:
            status, code = _status_of(exc)
            raise ApiError(status, exc.message, code) from None
        entry.model = result.model
        entry.prompt_tokens = result.prompt_tokens
        seconds = time.perf_counter() - started
        return wire.embeddings(result.vectors, result.model, result.prompt_tokens,
                               body.encoding_format == "base64", seconds)  # fmt: skip

    return app


async def _begin(state: ServerState, request: Request, ask: _Ask) -> tuple[_Job, str, Event | None]:
    """Find the model, wait for the engine's turn, and start the answer; its first event,
    so that a failure before any text is an HTTP error rather than a broken stream."""
    entry: ApiRequest = request.scope["state"]["entry"]
    model = ask.model or state.default_model
    if not model:
        raise ApiError(400, "Say which model to use (GET /v1/models lists them).", "model_missing")
    entry.model = model
    workspace = state.workspace
    try:
        backend = await asyncio.to_thread(backend_for_api, workspace, model)
    except TandemError as exc:
        status, code = _status_of(exc)
        raise ApiError(status, exc.message, code) from None
    local = isinstance(backend, LocalBackend)
    if isinstance(backend, LocalBackend) and (ask.stop or ask.prompt is not None):
        backend = backend.with_request(stop=ask.stop, prompt=ask.prompt)
    save = workspace.settings.api_save_chats and request.headers.get(NO_HISTORY_HEADER) != "1"
    service = workspace.chat_service(backend, save=save)
    service.params = service.params.with_(system_prompt=ask.system, **ask.changes)
    for role, text in ask.history:  # the client's messages, as one path
        past = service.conversation
        past.add(ConversationMessage(role, text, parent_id=past.leaf_id))
    client = request.client.host if request.client else "unknown"
    if local:
        try:
            await state.queue.acquire(client)
        except QueueFull:
            raise ApiError(
                503,
                f"The local engine is busy and {state.queue.capacity} requests are already "
                f"waiting. Try again in {RETRY_AFTER_S} s.",
                "queue_full",
            ) from None
    job = _Job(service, ask.text, entry)
    state.jobs.add(job.cancel)

    def on_end() -> None:
        state.jobs.discard(job.cancel)
        if local:
            state.queue.release()

    job.start(on_end)
    job.watch(request)
    try:
        first = await job.first()
    except BaseException:
        job.stop_watching()
        job.cancel.cancel()
        raise
    if isinstance(first, Failed):
        job.stop_watching()
        status, code = _status_of(first.error)
        raise ApiError(status, first.error.message, code)
    return job, model, first


def _note(job: _Job, stats: AnswerStats | None, status: str | None = None) -> None:
    if stats is not None:
        job.entry.prompt_tokens = stats.prompt_tokens
        job.entry.completion_tokens = stats.completion_tokens
    if status is not None:
        job.entry.status = status


async def _events(job: _Job, first: Event | None) -> AsyncIterator[Event]:
    """The answer's events from `first` on; the answer is cancelled if the reader leaves."""
    try:
        event = first
        while event is not None:
            yield event
            event = await job.next()
    finally:
        if not job.done:
            job.cancel.cancel()
            _note(job, None, "cancelled")


async def _watch_disconnect(request: Request, job: _Job) -> None:
    """A client that leaves before a whole answer is ready cancels it."""
    while not job.done:  # the body is read: what arrives now is the client leaving
        message = await request.receive()
        if message["type"] == "http.disconnect":
            if not job.done:
                job.cancel.cancel()
                _note(job, None, "cancelled")
            return


async def _collect(
    job: _Job, first: Event | None, request: Request
) -> tuple[str, AnswerStats | None]:
    try:
        return await _gather(job, first)
    finally:
        job.stop_watching()


async def _gather(job: _Job, first: Event | None) -> tuple[str, AnswerStats | None]:
    text: list[str] = []
    stats: AnswerStats | None = None
    async for event in _events(job, first):
        if isinstance(event, Delta) and not event.reasoning:  # the thinking is not the answer
            text.append(event.text)
        elif isinstance(event, Finished):
            stats = event.stats
        elif isinstance(event, Failed):
            status, code = _status_of(event.error)
            raise ApiError(status, event.error.message, code)
    _note(job, stats)
    return "".join(text), stats


def _data(payload: dict[str, Any]) -> dict[str, str]:
    return {"data": json.dumps(payload, ensure_ascii=False)}


def _stream_error(event: Failed) -> dict[str, str]:
    status, code = _status_of(event.error)
    return _data(wire.openai_error(status, event.error.message, code))


async def _chat_stream(
    job: _Job, first: Event | None, answer_id: str, model: str, include_usage: bool
) -> AsyncIterator[dict[str, str]]:
    yield _data(wire.chat_chunk(answer_id, model, {"role": "assistant", "content": ""}))
    async for event in _events(job, first):
        if isinstance(event, Delta):
            key = "reasoning_content" if event.reasoning else "content"  # as DeepSeek's API
            yield _data(wire.chat_chunk(answer_id, model, {key: event.text}))
        elif isinstance(event, Finished):
            _note(job, event.stats)
            final = wire.chat_chunk(answer_id, model, {}, wire.finish_reason(event.stats))
            final["tandem"] = wire.tandem_facts(event.stats)
            yield _data(final)
            if include_usage:
                last = {**wire.chat_chunk(answer_id, model, {}), "choices": []}
                last["usage"] = wire.usage(event.stats)
                last["tandem"] = wire.tandem_facts(event.stats)
                yield _data(last)
        elif isinstance(event, Failed):
            _note(job, None, "failed")
            yield _stream_error(event)
    yield {"data": "[DONE]"}


async def _completion_stream(
    job: _Job, first: Event | None, answer_id: str, model: str, include_usage: bool
) -> AsyncIterator[dict[str, str]]:
    async for event in _events(job, first):
        if isinstance(event, Delta) and not event.reasoning:
            yield _data(wire.completion_chunk(answer_id, model, event.text))
        elif isinstance(event, Finished):
            _note(job, event.stats)
            final = wire.completion_chunk(answer_id, model, "", wire.finish_reason(event.stats))
            final["tandem"] = wire.tandem_facts(event.stats)
            if include_usage:
                final["usage"] = wire.usage(event.stats)
            yield _data(final)
        elif isinstance(event, Failed):
            _note(job, None, "failed")
            yield _stream_error(event)
    yield {"data": "[DONE]"}


def _event(name: str, payload: dict[str, Any]) -> dict[str, str]:
    return {"event": name, "data": json.dumps({"type": name, **payload}, ensure_ascii=False)}


async def _anthropic_stream(
    job: _Job, first: Event | None, answer_id: str, model: str
) -> AsyncIterator[dict[str, str]]:
    message: dict[str, Any] = {
        "id": answer_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }  # fmt: skip
    yield _event("message_start", {"message": message})
    yield _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    async for event in _events(job, first):
        if isinstance(event, Delta) and not event.reasoning:
            delta = {"type": "text_delta", "text": event.text}
            yield _event("content_block_delta", {"index": 0, "delta": delta})
        elif isinstance(event, Finished):
            _note(job, event.stats)
            yield _event("content_block_stop", {"index": 0})
            stop = wire.anthropic_stop_reason(event.stats, None)
            yield _event(
                "message_delta",
                {"delta": {"stop_reason": stop, "stop_sequence": None},
                 "usage": wire.anthropic_usage(event.stats),
                 "tandem": wire.tandem_facts(event.stats)},
            )  # fmt: skip
            yield _event("message_stop", {})
        elif isinstance(event, Failed):
            _note(job, None, "failed")
            status, _ = _status_of(event.error)
            yield _event(
                "error", {"error": wire.anthropic_error(status, event.error.message)["error"]}
            )
