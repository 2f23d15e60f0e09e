"""The bridge between plain-Python work and the GUI thread.

Backends and the engine supervisor know nothing of Qt; they run in worker threads
and their results, errors and events arrive here as queued signals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from PySide6.QtCore import QObject, Signal

logger = logging.getLogger(__name__)


class Bridge(QObject):
    """Cross-widget signals, declared in one place.

    Signals:
        engine_state(str): the engine process changed state (an EngineState value).
        load_progress(float): model loading progress, 0..1.
    """

    engine_state = Signal(str)
    load_progress = Signal(float)


class Task(QObject):
    """Runs `func` in a worker thread; `succeeded(result)` or `failed(exception)` follow
    on the GUI thread. The worker never touches a widget."""

    succeeded = Signal(object)
    failed = Signal(object)

    _running: ClassVar[set[Task]] = set()

    def __init__(self, func: Callable[[], Any]) -> None:
        super().__init__()
        self._func = func

    def start(self) -> Task:
        Task._running.add(self)
        threading.Thread(target=self._run, name="tandem-task", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            result = self._func()
        except Exception as exc:  # noqa: BLE001 - handed to the GUI's error presenter
            logger.info("task failed: %r", exc)
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            Task._running.discard(self)


class StreamTask(QObject):
    """Iterates an event stream in a worker thread.

    Signals:
        arrived(object): one backend event, in order.
        done(): the stream ended (after its last event).
    """

    arrived = Signal(object)
    done = Signal()

    _running: ClassVar[set[StreamTask]] = set()

    def __init__(self, events: Callable[[], Iterator[object]]) -> None:
        super().__init__()
        self._events = events

    def start(self) -> StreamTask:
        StreamTask._running.add(self)
        threading.Thread(target=self._run, name="tandem-stream", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            for item in self._events():
                self.arrived.emit(item)
        except Exception:  # a bug here must not kill the window
            logger.exception("stream worker failed")
        finally:
            self.done.emit()
            StreamTask._running.discard(self)
