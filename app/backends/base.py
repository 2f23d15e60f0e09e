"""The one contract every backend keeps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from app.core.events import CancelToken, Event
from app.core.messages import ChatMessage, GenerationParams


class Backend(Protocol):
    """Streams one answer as plain events: Started, Delta*, then Finished or Failed.

    `stream` never raises for a failure a person should see; it yields Failed instead.
    It knows nothing of threads or Qt; the caller decides where it runs.
    """

    name: str
    leaves_device: bool  # True when answers are written on another machine

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[Event]: ...
