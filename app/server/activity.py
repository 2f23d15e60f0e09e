"""What the local API has served: the live request list the window shows."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from time import monotonic

_KEPT = 200


@dataclass(slots=True)
class ApiRequest:
    """One request, filled in as it goes (the server's threads write, readers copy)."""

    id: int
    time: str  # local clock, HH:MM:SS
    client: str
    endpoint: str
    model: str = ""
    status: str = "running"  # running, ok, cancelled, or the HTTP status of a refusal
    prompt_tokens: int = 0
    completion_tokens: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    started_at: float = field(default_factory=monotonic)
    generation_ended_at: float | None = None  # when the engine stopped for it


class Activity:
    """The last requests, newest last, and how many were served since the start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: deque[ApiRequest] = deque(maxlen=_KEPT)
        self._ids = itertools.count(1)
        self.served = 0

    def begin(self, client: str, endpoint: str) -> ApiRequest:
        entry = ApiRequest(next(self._ids), time.strftime("%H:%M:%S"), client, endpoint)
        with self._lock:
            self._requests.append(entry)
        return entry

    def end(self, entry: ApiRequest, status: str) -> None:
        with self._lock:
            if entry.status == "running":
                entry.status = status
            self.served += 1

    def recent(self) -> list[ApiRequest]:
        """Copies, safe to read on another thread."""
        with self._lock:
            return [replace(r) for r in self._requests]
