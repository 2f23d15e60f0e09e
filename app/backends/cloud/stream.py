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
