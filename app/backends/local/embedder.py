"""Embeddings from a llama.cpp embedding model, in a process of its own.

Like the chat engine (`supervisor.py`), the model runs in a child process started
with the spawn method, so a crash or an out-of-memory kill of the embedding model never
takes the app, or the chat model, with it: the request fails with EngineCrashed and
the next one starts a fresh process. A process that does not answer in time is killed
(EngineHung). The messages below are the whole protocol; only plain values travel.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from app.backends.local.protocol import FailureKind, end_process
from app.core.errors import EngineCrashed, EngineError, EngineHung, ModelFileError

logger = logging.getLogger(__name__)

_LOAD_TIMEOUT_S = 120.0
# A batch is given this long, plus a little per text: a passage of 512 tokens takes
# tens of milliseconds on a laptop's CPU.
_BATCH_TIMEOUT_S = 60.0
_PER_TEXT_S = 1.0


# ----- the protocol (supervisor <-> embedding process)


@dataclass(frozen=True, slots=True)
class EmbedLoad:
    path: str
    context_length: int = 512
    threads: int | None = None


@dataclass(frozen=True, slots=True)
class EmbedTexts:
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EmbedReady:
    dimensions: int
    context_length: int


@dataclass(frozen=True, slots=True)
class EmbedResult:
    vectors: bytes  # float32, row after row, each L2-normalised
    dimensions: int
    token_counts: tuple[int, ...]  # llama.cpp's own count, [CLS] and [SEP] included


@dataclass(frozen=True, slots=True)
class EmbedFailure:
    kind: FailureKind
    message: str


@dataclass(frozen=True, slots=True)
class EmbedStop:
    pass


@dataclass(frozen=True, slots=True)
class Embedded:
    """What one call gives back: one row per text, and the tokens each took."""

    vectors: np.ndarray[Any, np.dtype[np.float32]]
    token_counts: tuple[int, ...]

    @property
    def prompt_tokens(self) -> int:
        return sum(self.token_counts)


class Embedder:
    """Owns one embedding process and the model in it. One request at a time."""

    def __init__(
        self,
        path: Path,
        *,
        log_file: Path | None = None,
        threads: int | None = None,
        context_length: int = 512,
        timeout_s: float = _BATCH_TIMEOUT_S,
    ) -> None:
        self.path = path
        self._log_file = log_file
        self._load = EmbedLoad(str(path), context_length, threads)
        self._timeout_s = timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.dimensions: int | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def embed(self, texts: Sequence[str]) -> Embedded:
        """One L2-normalised float32 vector per text (a text longer than the model's
        context is cut to it)."""
        if not texts:
            return Embedded(np.zeros((0, self.dimensions or 0), np.float32), ())
        with self._lock:
            conn = self._ensure_started()
            try:
                conn.send(EmbedTexts(tuple(texts)))
            except (OSError, BrokenPipeError):
                raise self._crashed() from None
            reply = self._recv(self._timeout_s + _PER_TEXT_S * len(texts))
            if isinstance(reply, EmbedFailure):
                raise self._error(reply)
            assert isinstance(reply, EmbedResult)
            vectors = np.frombuffer(reply.vectors, dtype=np.float32).reshape(
                len(texts), reply.dimensions
            )
            return Embedded(vectors, reply.token_counts)

    def shutdown(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError, BrokenPipeError):
                    self._conn.send(EmbedStop())
            if self._process is not None:
                self._process.join(timeout=2)
            self._discard()

    # ----- process

    def _ensure_started(self) -> Connection:
        if self.alive and self._conn is not None:
            return self._conn
        self._discard()
        from app.backends.local.embed_engine import embedder_main

        parent, child = self._ctx.Pipe()
        log_file = None if self._log_file is None else str(self._log_file)
        process = self._ctx.Process(
            target=embedder_main,
            args=(child, self._load, log_file),
            name="tandem-embedder",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        logger.info("embedding process started (pid %s) for %s", process.pid, self.path.name)
        reply = self._recv(_LOAD_TIMEOUT_S)
        if isinstance(reply, EmbedFailure):
            self._discard()
            raise self._error(reply)
        assert isinstance(reply, EmbedReady)
        self.dimensions = reply.dimensions
        return parent

    def _recv(self, timeout_s: float) -> object:
        conn = self._conn
        if conn is None:
            raise self._crashed()
        deadline = time.monotonic() + timeout_s
        try:
            while not conn.poll(0.25):
                if not self.alive:
                    raise self._crashed()
                if time.monotonic() > deadline:
                    pid = self.pid
                    self._discard()
                    logger.error("embedding process %s did not answer in %.0f s", pid, timeout_s)
                    raise EngineHung(
                        f"The embedding model did not answer within {timeout_s:.0f} s and was "
                        "stopped. Try again; it starts afresh."
                    )
            return conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise self._crashed() from None

    def _crashed(self) -> EngineCrashed:
        exitcode = None
        if self._process is not None:
            self._process.join(timeout=1)
            exitcode = self._process.exitcode
        logger.error("embedding process died (exit code %s)", exitcode)
        self._discard()
        how = f"killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exit {exitcode}"
        return EngineCrashed(
            f"The embedding model's process stopped unexpectedly ({how}). Nothing is lost; "
            "try again to start it afresh."
        )

    def _error(self, failure: EmbedFailure) -> Exception:
        if failure.kind is FailureKind.MODEL_FILE:
            return ModelFileError(failure.message)
        return EngineError(failure.message)

    def _discard(self) -> None:
        end_process(self._process, self._conn)
        self._process = self._conn = None
