"""One warm engine: a running window or `tandem-cli serve` leaves an instance file in the
data folder, and `tandem-cli chat` / `compare` send through it instead of loading the
model again.

The file holds the port and the key (mode 0600, removed on exit; one whose process is
gone is stale and removed). The request goes over the same authenticated loopback API
any client uses; the conversation stays the caller's, so the history is written once,
by the caller's conversation service.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.backends.base import Backend, sampling
from app.core.errors import (
    ContextTooLong,
    EngineCrashed,
    EngineError,
    ModelFileError,
    PrivacyBlocked,
    TandemError,
)
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Started
from app.core.messages import ChatMessage, GenerationParams, Role
from app.core.privacy import ON_THIS_DEVICE, is_loopback_host
from app.core.reasoning import DeltaKind
from app.core.stats import AnswerStats, FinishReason
from app.library.installed import model_id_for, resolve_model
from app.services.local_api import NO_HISTORY_HEADER
from app.store.paths import AppPaths

if TYPE_CHECKING:
    from app.services.workspace import Workspace

logger = logging.getLogger(__name__)

INSTANCE_FILE = "local-api.json"
SHARED = "shared"
OWN = "own"
_PROBE_TIMEOUT_S = 2.0
_READ_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class Instance:
    pid: int
    host: str
    port: int
    key: str

    @property
    def base_path(self) -> str:
        return "/v1"


def instance_file(paths: AppPaths) -> Path:
    return paths.data_dir / INSTANCE_FILE


def write_instance(paths: AppPaths, host: str, port: int, key: str) -> None:
    """Write the file atomically, readable by this user only."""
    target = instance_file(paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    connect = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    data = json.dumps({"pid": os.getpid(), "host": connect, "port": port, "key": key})
    fd, temp = tempfile.mkstemp(prefix=".local-api-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        logger.warning("could not write the instance file", exc_info=True)


def remove_instance(paths: AppPaths) -> None:
    """Remove the file if this process wrote it."""
    found = _read(instance_file(paths))
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(OSError):
            instance_file(paths).unlink()


def _pid_alive(pid: int) -> bool:
    try:
        import psutil

        return bool(psutil.pid_exists(pid))
    except Exception:  # noqa: BLE001 - without psutil, ask the OS directly
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True


def _read(path: Path) -> Instance | None:
    try:
        info = path.stat()
        if os.name == "posix" and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            logger.warning("ignoring %s: it is not this user's alone", path)
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        found = Instance(int(data["pid"]), str(data["host"]), int(data["port"]), str(data["key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not is_loopback_host(found.host):
        return None
    return found


def find_instance(paths: AppPaths) -> Instance | None:
    """The running instance, if there is one; a file left by a dead process is removed."""
    path = instance_file(paths)
    found = _read(path)
    if found is None:
        return None
    if not _pid_alive(found.pid):
        logger.info("removing a stale instance file (process %s is gone)", found.pid)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return found


def _connection(instance: Instance, timeout_s: float) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(instance.host, instance.port, timeout=timeout_s)


def _headers(instance: Instance) -> dict[str, str]:
    return {"Authorization": f"Bearer {instance.key}", "Content-Type": "application/json",
            NO_HISTORY_HEADER: "1"}  # fmt: skip


def offered_models(instance: Instance) -> set[str] | None:
    """The model ids the instance offers, or None when it does not answer as ours."""
    connection = _connection(instance, _PROBE_TIMEOUT_S)
    try:
        connection.request("GET", "/v1/models", headers=_headers(instance))
        response = connection.getresponse()
        if response.status != 200:
            return None
        data = json.loads(response.read())
        return {str(m["id"]) for m in data["data"]}
    except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def _error_for(status: int, message: str) -> TandemError:
    if status == 400 and "context" in message.lower():
        return ContextTooLong(message)
    if status == 404:
        return ModelFileError(message)
    if status == 403:
        return PrivacyBlocked(message)
    return EngineError(message)


class SharedBackend:
    """A local model answered by the running instance's warm engine."""

    leaves_device = False
    engine_kind = SHARED

    def __init__(self, instance: Instance, model_id: str) -> None:
        self.instance = instance
        self.name = model_id

    def run_info(self, params: GenerationParams) -> dict[str, object]:
        return {"engine": SHARED, "model": self.name, "sampling": sampling(params)}

    def _body(self, messages: Sequence[ChatMessage], params: GenerationParams) -> bytes:
        wire: list[dict[str, str]] = [m.to_dict() for m in messages]
        if params.system_prompt.strip() and not any(m.role is Role.SYSTEM for m in messages):
            wire.insert(0, {"role": "system", "content": params.system_prompt})
        body: dict[str, Any] = {
            "model": self.name, "messages": wire, "stream": True,
            "stream_options": {"include_usage": True}, "temperature": params.temperature,
            "top_p": params.top_p, "max_tokens": params.max_tokens,
        }  # fmt: skip
        if params.seed is not None:
            body["seed"] = params.seed
        return json.dumps(body).encode("utf-8")

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[Event]:
        requested_at = time.perf_counter()
        connection = _connection(self.instance, _READ_TIMEOUT_S)
        # Closing the connection is how a Stop reaches the instance: it cancels the answer.
        forget = cancel.on_cancel(lambda: _shut(connection))
        try:
            try:
                connection.request(
                    "POST", "/v1/chat/completions", self._body(messages, params),
                    _headers(self.instance),
                )  # fmt: skip
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                if cancel.cancelled:
                    return
                yield Failed(EngineCrashed(f"The running Tandem stopped answering ({exc})."))
                return
            if response.status != 200:
                yield Failed(_error_for(response.status, _message(response.read())))
                return
            yield Started(model=self.name, backend="local")
            yield from self._read(response, requested_at, cancel)
        finally:
            forget()
            connection.close()

    def _read(
        self, response: http.client.HTTPResponse, requested_at: float, cancel: CancelToken
    ) -> Iterator[Event]:
        first_at: float | None = None
        finish = "stop"
        facts: dict[str, Any] = {}
        usage: dict[str, Any] = {}
        try:
            for raw in response:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    error = chunk["error"]
                    yield Failed(EngineError(str(error.get("message", "The answer failed."))))
                    return
                facts = chunk.get("tandem") or facts
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices", ()):
                    delta = choice.get("delta", {})
                    for key, kind in (
                        ("reasoning_content", DeltaKind.REASONING),
                        ("content", DeltaKind.TEXT),
                    ):
                        text = delta.get(key)
                        if text:
                            if first_at is None:
                                first_at = time.perf_counter()
                            yield Delta(text, kind)
                    finish = choice.get("finish_reason") or finish
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if not cancel.cancelled:
                yield Failed(EngineCrashed(f"The running Tandem stopped answering ({exc})."))
                return
        if cancel.cancelled:
            finish = "cancelled"
        ttft = None if first_at is None else first_at - requested_at
        yield Finished(self._stats(finish, facts, usage, ttft))

    def _stats(
        self, finish: str, facts: dict[str, Any], usage: dict[str, Any], ttft: float | None
    ) -> AnswerStats:
        reason = {"length": FinishReason.LENGTH, "cancelled": FinishReason.CANCELLED}
        return AnswerStats(
            model=self.name,
            backend="local",
            host=None,
            privacy=str(facts.get("privacy") or ON_THIS_DEVICE),
            finish_reason=reason.get(finish, FinishReason.STOP),
            time_to_first_token_s=ttft,
            tokens_per_s=float(facts.get("tokens_per_s") or 0.0),
            prompt_tokens_per_s=float(facts.get("prompt_tokens_per_s") or 0.0),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cost_usd=0.0,
            prompt_tokens_cached=int(facts.get("prompt_tokens_cached") or 0),
            energy_wh=facts.get("energy_wh"),
        )


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(2)


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
        return str(data["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace")[:300] or "The running Tandem refused the request."


def _installed_id(workspace: Workspace, spec: str) -> str | None:
    """The model id of an installed local model spec; None for a cloud or outside file."""
    kind, _, rest = spec.partition(":")
    if kind in {p.name for p in workspace.providers()} and rest:
        return None
    rest = spec.removeprefix("local:")
    candidate = Path(rest).expanduser()
    models_dir = workspace.paths.models_dir.resolve()
    if candidate.suffix.lower() == ".gguf" or "/" in rest:
        if not candidate.is_file() or candidate.absolute().parent.resolve() != models_dir:
            return None
        return model_id_for(candidate)
    try:
        path = resolve_model(rest, workspace.paths.models_dir)
    except TandemError:
        return None
    return model_id_for(path)


def chat_backend(workspace: Workspace, spec: str, *, own_engine: bool = False) -> Backend:
    """The backend `tandem-cli chat` uses: the running instance's warm engine when one
    offers this local model, else its own (workspace.backend_for, as before).
    `own_engine`: engine options were given (context, threads, layers), which the
    instance's loaded model does not follow."""
    model_id = None if own_engine else _installed_id(workspace, spec)
    if model_id is not None:
        found = find_instance(workspace.paths)
        if found is not None:
            offered = offered_models(found)
            if offered is not None and model_id in offered:
                return SharedBackend(found, model_id)
    return workspace.backend_for(spec)


def engine_kind(backend: Backend) -> str:
    """`shared` (a running instance answered) or `own`, for `chat --json`."""
    return str(getattr(backend, "engine_kind", OWN))
