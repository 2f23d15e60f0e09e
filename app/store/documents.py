"""The documents database: collections, their files, passages, keyword index and vectors.

A file of its own (never the history's). Keyword search is the standard `sqlite3`'s
FTS5 with BM25; vectors are float32 BLOBs beside each passage, searched with NumPy
(exact cosine over a matrix kept in memory until the passages change), because the
standard `sqlite3` here cannot load extensions such as sqlite-vec (`bench/vector_search.py`
measures both).

A file's passages are replaced in one transaction together with the file's fingerprint,
so a process killed mid-way leaves every file either fully indexed or still pending;
indexing again resumes with the pending ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.store.history.schema import connect, transaction

logger = logging.getLogger(__name__)


def _schema_1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE collections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE roots (
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            PRIMARY KEY (collection_id, path)
        )"""
    )
    conn.execute(
        """CREATE TABLE files (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT -1,
            mtime_ns INTEGER NOT NULL DEFAULT -1,
            sha256 TEXT,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, indexed, refused
            reason TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            pages INTEGER,
            embedding_model TEXT,  -- NULL: keywords only
            indexed_at TEXT,
            UNIQUE (collection_id, path)
        )"""
    )
    conn.execute(
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            page INTEGER,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            heading TEXT NOT NULL,
            text TEXT NOT NULL,
            vector BLOB
        )"""
    )
    conn.execute("CREATE INDEX chunks_file ON chunks(file_id)")
    conn.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(body, tokenize = 'porter unicode61')")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_schema_1]


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    name: str
    roots: tuple[str, ...]
    files: int
    indexed: int
    refused: int
    chunks: int
    with_vectors: int


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    collection_id: int
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    status: str
    reason: str
    embedding_model: str | None
    indexed_at: str | None


@dataclass(frozen=True, slots=True)
class StoredChunk:
    idx: int
    page: int | None
    start: int
    end: int
    heading: str
    text: str
    indexed_text: str
    vector: bytes | None


@dataclass(frozen=True, slots=True)
class ChunkHit:
    chunk_id: int
    path: str
    page: int | None
    start: int
    end: int
    heading: str
    text: str
    score: float


def _hit(row: Sequence[Any], score: float) -> ChunkHit:
    cid, path, page, start, end, heading, text = row[:7]
    return ChunkHit(int(cid), str(path), page, int(start), int(end), str(heading), str(text), score)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# Question words that say nothing of the topic; left out of keyword queries (unless the
# question is made of nothing else).
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "did",
    "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "should", "so", "than", "that", "the", "their", "then",
    "there", "these", "this", "to", "was", "we", "were", "what", "when", "where", "which",
    "who", "whom", "why", "will", "with", "would", "you", "your",
})  # fmt: skip


def fts_query(text: str) -> str | None:
    """A person's words as an FTS5 query that cannot be a syntax error: each word quoted,
    any of them may match (BM25 ranks those with more, and rarer, words first)."""
    words = []
    for raw in text.split():
        word = "".join(ch for ch in raw if ch.isalnum() or ch in "_-'").strip("-'")
        if word:
            words.append(word)
    meaningful = [w for w in words if w.lower() not in STOP_WORDS] or words
    quoted = ['"' + w.replace('"', "") + '"' for w in meaningful]
    return " OR ".join(dict.fromkeys(quoted)) if quoted else None


class DocumentStore:
    """One documents database file. Safe to use from several threads (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(path, check_same_thread=False)
        self._lock = threading.RLock()
        self._migrate()
        # (collection id, model) -> (chunk ids, matrix); dropped whenever chunks change
        self._matrices: dict[
            tuple[int, str], tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
        ] = {}

    def _migrate(self) -> None:
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                with transaction(self._conn) as conn:
                    step(conn)
                    conn.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ----- collections

    def collection_id(self, name: str) -> int | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM collections WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else None

    def ensure_collection(self, name: str, roots: Iterable[str]) -> int:
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO collections (name, created) VALUES (?, ?)", (name, _now())
            )
            cid = int(
                conn.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()[0]
            )
            conn.executemany(
                "INSERT OR IGNORE INTO roots (collection_id, path) VALUES (?, ?)",
                [(cid, r) for r in roots],
            )
        return cid

    def remove_collection(self, name: str) -> bool:
        with self._lock, transaction(self._conn) as conn:
            cid = self.collection_id(name)
            if cid is None:
                return False
            conn.execute(
                "DELETE FROM chunks_fts WHERE rowid IN (SELECT c.id FROM chunks c "
                "JOIN files f ON f.id = c.file_id WHERE f.collection_id = ?)",
                (cid,),
            )
            conn.execute("DELETE FROM collections WHERE id = ?", (cid,))
        self._matrices.clear()
        return True

    def roots(self, collection_id: int) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT path FROM roots WHERE collection_id = ? ORDER BY path", (collection_id,)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def collections(self) -> list[CollectionRow]:
        with self._lock:
            rows = self._conn.execute(
                """SELECT c.id, c.name,
                    (SELECT COUNT(*) FROM files f WHERE f.collection_id = c.id),
                    (SELECT COUNT(*) FROM files f WHERE f.collection_id = c.id
                        AND f.status = 'indexed'),
                    (SELECT COUNT(*) FROM files f WHERE f.collection_id = c.id
                        AND f.status = 'refused'),
                    (SELECT COUNT(*) FROM chunks k JOIN files f ON f.id = k.file_id
                        WHERE f.collection_id = c.id),
                    (SELECT COUNT(*) FROM chunks k JOIN files f ON f.id = k.file_id
                        WHERE f.collection_id = c.id AND k.vector IS NOT NULL)
                FROM collections c ORDER BY c.name"""
            ).fetchall()
        return [
            CollectionRow(int(r[0]), str(r[1]), tuple(self.roots(int(r[0]))), *map(int, r[2:]))
            for r in rows
        ]

    # ----- files

    def files(self, collection_id: int) -> list[FileRow]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, collection_id, path, size, mtime_ns, sha256, status, reason, "
                "embedding_model, indexed_at FROM files WHERE collection_id = ? ORDER BY path",
                (collection_id,),
            ).fetchall()
        return [FileRow(*r) for r in rows]

    def add_files(self, collection_id: int, paths: Iterable[str]) -> None:
        """New files, pending; files already known stay as they are."""
        with self._lock, transaction(self._conn) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO files (collection_id, path) VALUES (?, ?)",
                [(collection_id, p) for p in paths],
            )

    def mark_pending(self, file_id: int) -> None:
        with self._lock, transaction(self._conn) as conn:
            conn.execute("UPDATE files SET status = 'pending' WHERE id = ?", (file_id,))

    def touch(self, file_id: int, size: int, mtime_ns: int) -> None:
        """The file's time changed but its content did not."""
        with self._lock, transaction(self._conn) as conn:
            conn.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, file_id)
            )

    def remove_file(self, file_id: int) -> None:
        with self._lock, transaction(self._conn) as conn:
            self._delete_chunks(conn, file_id)
            conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        self._matrices.clear()

    def refuse(self, file_id: int, reason: str, size: int, mtime_ns: int) -> None:
        with self._lock, transaction(self._conn) as conn:
            self._delete_chunks(conn, file_id)
            conn.execute(
                "UPDATE files SET status = 'refused', reason = ?, size = ?, mtime_ns = ?, "
                "indexed_at = ? WHERE id = ?",
                (reason, size, mtime_ns, _now(), file_id),
            )
        self._matrices.clear()

    @staticmethod
    def _delete_chunks(conn: sqlite3.Connection, file_id: int) -> None:
        conn.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?)",
            (file_id,),
        )
        conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))

    def store_file(
        self,
        file_id: int,
        *,
        size: int,
        mtime_ns: int,
        sha256: str,
        kind: str,
        pages: int | None,
        embedding_model: str | None,
        chunks: Sequence[StoredChunk],
    ) -> None:
        """A file's passages replace its old ones, and it is marked indexed: all at once."""
        with self._lock, transaction(self._conn) as conn:
            self._delete_chunks(conn, file_id)
            for chunk in chunks:
                cursor = conn.execute(
                    "INSERT INTO chunks (file_id, idx, page, start, end, heading, text, vector) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (file_id, chunk.idx, chunk.page, chunk.start, chunk.end, chunk.heading,
                     chunk.text, chunk.vector),
                )  # fmt: skip
                conn.execute(
                    "INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)",
                    (cursor.lastrowid, chunk.indexed_text),
                )
            conn.execute(
                "UPDATE files SET status = 'indexed', reason = '', size = ?, mtime_ns = ?, "
                "sha256 = ?, kind = ?, pages = ?, embedding_model = ?, indexed_at = ? "
                "WHERE id = ?",
                (size, mtime_ns, sha256, kind, pages, embedding_model, _now(), file_id),
            )
        self._matrices.clear()

    # ----- search

    def keyword_search(self, collection_id: int, query: str, limit: int) -> list[ChunkHit]:
        """Passages by BM25 (best first; the score is BM25's, higher is better)."""
        match = fts_query(query)
        if match is None:
            return []
        with self._lock:
            rows = self._conn.execute(
                """SELECT c.id, f.path, c.page, c.start, c.end, c.heading, c.text,
                        bm25(chunks_fts) AS rank
                    FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
                    JOIN files f ON f.id = c.file_id
                    WHERE chunks_fts MATCH ? AND f.collection_id = ?
                    ORDER BY rank LIMIT ?""",
                (match, collection_id, limit),
            ).fetchall()
        return [_hit(r, -float(r[7])) for r in rows]

    def _matrix(
        self, collection_id: int, model: str
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        key = (collection_id, model)
        cached = self._matrices.get(key)
        if cached is not None:
            return cached
        with self._lock:
            rows = self._conn.execute(
                """SELECT c.id, c.vector FROM chunks c JOIN files f ON f.id = c.file_id
                    WHERE f.collection_id = ? AND f.embedding_model = ?
                    AND c.vector IS NOT NULL""",
                (collection_id, model),
            ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if rows:
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
                len(rows), -1
            )
        else:
            matrix = np.zeros((0, 0), np.float32)
        self._matrices[key] = (ids, matrix)
        return ids, matrix

    def vector_search(
        self, collection_id: int, model: str, query: np.ndarray[Any, Any], limit: int
    ) -> list[ChunkHit]:
        """Passages by cosine similarity to `query` (vectors are stored normalised)."""
        ids, matrix = self._matrix(collection_id, model)
        if not len(ids) or matrix.shape[1] != query.shape[0]:
            return []
        scores = matrix @ query.astype(np.float32)
        k = min(limit, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return self.hits([int(ids[i]) for i in top], [float(scores[i]) for i in top])

    def hits(self, chunk_ids: Sequence[int], scores: Sequence[float]) -> list[ChunkHit]:
        if not chunk_ids:
            return []
        marks = ",".join("?" * len(chunk_ids))
        with self._lock:
            rows = self._conn.execute(
                f"""SELECT c.id, f.path, c.page, c.start, c.end, c.heading, c.text
                    FROM chunks c JOIN files f ON f.id = c.file_id
                    WHERE c.id IN ({marks})""",
                tuple(chunk_ids),
            ).fetchall()
        by_id = {int(r[0]): r for r in rows}
        return [
            _hit(by_id[cid], score)
            for cid, score in zip(chunk_ids, scores, strict=True)
            if cid in by_id
        ]
