"""The one thread that writes the history, and the coalescing of streaming updates."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from app.store.history.records import StoreError, store_error
from app.store.history.schema import connect

logger = logging.getLogger(__name__)

T = TypeVar("T")

STREAMING_INTERVAL_S = 0.25


class HistoryWriter:
    """Runs every write on one thread with its own connection, in the order submitted.

    `update_streaming` never blocks: the newest text of each message is kept in memory
    and written at most once per `interval_s`; the last text always wins.
    """

    def __init__(self, path: Path, *, interval_s: float = STREAMING_INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-history")
        self._conn: sqlite3.Connection | None = None  # only touched on the writer thread
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[str, str | None]] = {}
        self._scheduled: set[int] = set()
        self._timers: dict[int, threading.Timer] = {}
        self._last_write: dict[int, float] = {}
        self._streaming_writes = 0
        self._background_error: StoreError | None = None
        self._closed = False

    # --- any write -----------------------------------------------------------------

    def call(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the writer thread and wait for it; SQLite errors become StoreError."""
        return self.submit(doing, fn).result()

    def submit(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        with self._lock:
            if self._closed:
                raise StoreError("The history is already closed; restart Tandem to save again.")
            return self._executor.submit(self._run, doing, fn)

    def _run(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._conn is None:
                self._conn = connect(self.path)
            return fn(self._conn)
        except sqlite3.Error as exc:
            if self._conn is not None and self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise store_error(exc, doing, self.path) from exc

    # --- streaming -----------------------------------------------------------------

    def update_streaming(self, message_id: int, content: str, reasoning: str | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending[message_id] = (content, reasoning)
            if message_id in self._scheduled:
                return
            self._scheduled.add(message_id)
            wait_s = self._last_write.get(message_id, -1e9) + self.interval_s - time.monotonic()
            if wait_s <= 0:
                self._executor.submit(self._write_streaming, message_id)
                return
            timer = threading.Timer(wait_s, self._on_timer, (message_id,))
            timer.daemon = True
            self._timers[message_id] = timer
            timer.start()

    def _on_timer(self, message_id: int) -> None:
        with self._lock:
            self._timers.pop(message_id, None)
            if not self._closed and message_id in self._scheduled:
                self._executor.submit(self._write_streaming, message_id)

    def _write_streaming(self, message_id: int) -> None:
        with self._lock:
            self._scheduled.discard(message_id)
            pending = self._pending.pop(message_id, None)
            if pending is None:
                return
            self._last_write[message_id] = time.monotonic()
        content, reasoning = pending
        try:
            self._run(
                "save the answer as it streams",
                lambda conn: conn.execute(
                    "UPDATE messages SET content = ?, reasoning = COALESCE(?, reasoning) "
                    "WHERE id = ? AND status = 'streaming'",
                    (content, reasoning, message_id),
                ),
            )
            self._streaming_writes += 1
        except StoreError as error:
            logger.warning("history: streaming update of message %d failed: %s", message_id, error)
            with self._lock:
                self._background_error = self._background_error or error

    def forget_streaming(self, message_id: int) -> None:
        """Drop the unsaved streaming text of a message (its final text is being written)."""
        with self._lock:
            self._pending.pop(message_id, None)
            self._scheduled.discard(message_id)
            self._last_write.pop(message_id, None)
            timer = self._timers.pop(message_id, None)
        if timer is not None:
            timer.cancel()

    def flush(self) -> None:
        """Write every pending streaming text now and wait for all queued writes.

        Raises the first error a background (streaming) write met since the last flush.
        """
        with self._lock:
            if self._closed:
                return
            timers = list(self._timers.values())
            self._timers.clear()
            for message_id in self._scheduled:
                self._executor.submit(self._write_streaming, message_id)
        for timer in timers:
            timer.cancel()
        self._executor.submit(lambda: None).result()
        with self._lock:
            error, self._background_error = self._background_error, None
        if error is not None:
            raise error

    def close(self, last: Callable[[sqlite3.Connection], object] | None = None) -> None:
        """Flush, run `last` (if any) on the writer thread, then close the connection."""
        try:
            self.flush()
        except StoreError as error:
            logger.warning("history: last streaming write failed at close: %s", error)
        if last is not None and not self._closed:
            try:
                self.call("finish saving the history", last)
            except StoreError as error:
                logger.warning("history: %s", error)
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._executor.submit(self._close_connection).result()
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
