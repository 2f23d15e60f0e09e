"""One streamed request in a worker thread, and what arrives from it, as typed values.

The worker feeds a queue so the consumer can give up at any moment (Stop) even while
the socket waits; `Arrival` is what it puts there, `Attempt` what one request came to.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Opened:
    """The server accepted the request; the response is streaming."""

    stream: Any


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of the streamed answer."""

    chunk: Any


@dataclass(frozen=True, slots=True)
class Ended:
    """The stream closed (whether or not the server said the answer was complete)."""


@dataclass(frozen=True, slots=True)
class Broke:
    """The request failed."""

    error: BaseException


Arrival = Opened | Chunk | Ended | Broke


@dataclass(frozen=True, slots=True)
class Answered:
    """The attempt ended the answer: finished, stopped, or failed for good."""


@dataclass(frozen=True, slots=True)
class TryAgain:
    """Another attempt may help, after `wait_s` seconds."""

    error: Exception
    wait_s: float | None


@dataclass(frozen=True, slots=True)
class AskWithoutUsage:
    """The provider rejected stream_options: ask again at once without it."""


Attempt = Answered | TryAgain | AskWithoutUsage


class Producer:
    """Runs `open_stream()` in a daemon thread and hands what arrives to `next(timeout)`."""

    def __init__(self, open_stream: Callable[[], Any], close: Callable[[], None]) -> None:
        self._items: queue.Queue[Arrival] = queue.Queue()
        self._stop = threading.Event()
        self._open = open_stream
        self._close = close
        threading.Thread(target=self._run, name="tandem-cloud", daemon=True).start()

    def _run(self) -> None:
        try:
            stream = self._open()
            self._items.put(Opened(stream))
            for chunk in stream:
                if self._stop.is_set():
                    break
                self._items.put(Chunk(chunk))
            self._items.put(Ended())
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._items.put(Broke(exc))
        finally:
            self._close()

    def next(self, timeout_s: float) -> Arrival | None:
        """What arrived next, or None when nothing did within `timeout_s`."""
        try:
            return self._items.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def stop(self) -> None:
        self._stop.set()


@dataclass(frozen=True, slots=True)
class ChoiceParts:
    """What one streamed choice carried: answer text, reasoning, and the finish reason."""

    text: str
    reasoning: str
    finish_reason: str | None


def _field(value: Any, name: str) -> Any:
    """A field of a response object or of a plain dict (providers' extra fields arrive
    either way)."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def choice_parts(choice: Any) -> ChoiceParts:
    """One choice of a chunk. Reasoning comes as `reasoning_content` (DeepSeek, vLLM,
    llama.cpp's server) or `reasoning` (OpenRouter, Ollama); text that is not a string
    is ignored."""
    delta = _field(choice, "delta")
    text = _field(delta, "content")
    reasoning = _field(delta, "reasoning_content")
    if not isinstance(reasoning, str) or not reasoning:
        reasoning = _field(delta, "reasoning")
    reason = _field(choice, "finish_reason")
    return ChoiceParts(
        text if isinstance(text, str) else "",
        reasoning if isinstance(reasoning, str) else "",
        reason if isinstance(reason, str) else None,
    )


def reported_reasoning_tokens(usage: Any) -> object:
    """`usage.completion_tokens_details.reasoning_tokens`, as the provider sent it (the
    caller checks it is a count)."""
    if usage is None:
        return None
    return _field(_field(usage, "completion_tokens_details"), "reasoning_tokens")
