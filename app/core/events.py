"""The stream of one answer, as every backend reports it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from app.core.errors import TandemError
from app.core.privacy import RequestRecord
from app.core.reasoning import DeltaKind
from app.core.stats import AnswerStats


@dataclass(frozen=True, slots=True)
class Started:
    """The backend accepted the request (the model is loaded, the connection is open)."""

    model: str
    backend: str


@dataclass(frozen=True, slots=True)
class Delta:
    """New visible text: the answer's, or the model's reasoning (shown apart, never sent
    back as context)."""

    text: str
    kind: DeltaKind = DeltaKind.TEXT

    @property
    def reasoning(self) -> bool:
        return self.kind is DeltaKind.REASONING


@dataclass(frozen=True, slots=True)
class Finished:
    """The answer is complete, stopped by the user, or cut at the token limit."""

    stats: AnswerStats


@dataclass(frozen=True, slots=True)
class Failed:
    """The answer could not be completed; any text already streamed stays."""

    error: TandemError


@dataclass(frozen=True, slots=True)
class Retrying:
    """The provider failed in a way worth another try; the backend waits, then retries."""

    attempt: int  # the attempt about to start, counting from 2
    max_attempts: int
    wait_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class Requested:
    """The backend made one request over the network; the service records it in the
    privacy ledger. Sizes are bytes on the wire as far as the client can tell."""

    host: str
    bytes_sent: int
    bytes_received: int
    outcome: str  # "ok", "cancelled", or the HTTP status / error kind
    provider: str
    model: str
    left_device: bool
    time: str  # ISO 8601, UTC

    def record(self) -> RequestRecord:
        return RequestRecord(
            time=self.time,
            provider=self.provider,
            host=self.host,
            model=self.model,
            bytes_sent=self.bytes_sent,
            bytes_received=self.bytes_received,
            outcome=self.outcome,
            left_device=self.left_device,
        )


Event = Started | Delta | Finished | Failed | Retrying | Requested


class CancelToken:
    """Set by whoever wants the answer to stop; checked by the backend."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` (in the cancelling thread) when cancelled; at once if already.
        Returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float) -> bool:
        return self._event.wait(timeout_s)
