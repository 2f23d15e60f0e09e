"""The one contract every backend keeps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from app.core.events import CancelToken, Event
from app.core.messages import ChatMessage, GenerationParams


def hardware_summary() -> str:
    """One line: CPU, cores, RAM, OS."""
    import os
    import platform

    try:
        import psutil

        ram = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except Exception:  # noqa: BLE001 - the summary is best effort
        ram = ""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} threads{ram}, {platform.system()} {platform.release()}"


def sampling(params: GenerationParams) -> dict[str, object]:
    return {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "seed": params.seed,
    }


class Backend(Protocol):
    """Streams one answer as plain events: Started, Delta*, then Finished or Failed.

    `stream` never raises for a failure a person should see; it yields Failed instead.
    It knows nothing of threads or Qt; the caller decides where it runs.
    """

    name: str
    leaves_device: bool  # True when answers are written on another machine

    def run_info(self, params: GenerationParams) -> dict[str, object]:
        """How an answer is run (model file, context, threads, sampling, hardware), so a
        figure seen next month can be compared and reproduced."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[Event]: ...
