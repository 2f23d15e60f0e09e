"""The embedding model's process: llama.cpp with `embedding=True`, serving `embedder.py`."""

from __future__ import annotations

import contextlib
import logging
from multiprocessing.connection import Connection

import numpy as np

from app.backends.local.embedder import (
    EmbedFailure,
    EmbedLoad,
    EmbedReady,
    EmbedResult,
    EmbedStop,
    EmbedTexts,
)
from app.backends.local.protocol import FailureKind

logger = logging.getLogger(__name__)


def _setup_logging(log_file: str | None) -> None:
    from app.core.redact import RedactingFilter

    handler: logging.Handler = logging.StreamHandler()
    if log_file:
        with contextlib.suppress(OSError):
            handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s embedder %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def embedder_main(conn: Connection, load: EmbedLoad, log_file: str | None = None) -> None:
    """Entry point of the embedding process."""
    _setup_logging(log_file)
    from app.backends import netguard

    netguard.install(private=True)  # an embedding model never needs the network
    from app.backends.local import llama_adapter

    ctx = load.context_length
    try:
        llm = llama_adapter.load_embedder(load.path, ctx, load.threads)
    except (ValueError, RuntimeError, OSError) as exc:
        conn.send(
            EmbedFailure(
                FailureKind.MODEL_FILE,
                f"llama.cpp could not load the embedding model {load.path}: {exc}",
            )
        )
        return
    dimensions = int(llm.n_embd())
    conn.send(EmbedReady(dimensions, ctx))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if isinstance(request, EmbedStop):
            break
        if not isinstance(request, EmbedTexts):
            continue
        try:
            counts = tuple(
                min(len(llm.tokenize(t.encode("utf-8", "replace"), add_bos=True)), ctx)
                for t in request.texts
            )
            rows = llm.embed(list(request.texts), normalize=True, truncate=True)
            vectors = np.asarray(rows, dtype=np.float32).reshape(len(request.texts), dimensions)
            conn.send(EmbedResult(vectors.tobytes(), dimensions, counts))
        except (ValueError, RuntimeError) as exc:
            logger.exception("embedding failed")
            conn.send(EmbedFailure(FailureKind.ENGINE, f"The embedding model failed: {exc}"))
