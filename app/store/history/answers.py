"""Every stored answer's facts, for the usage view: chat answers and arena answers alike."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store.history.queries import json_object
from app.store.history.records import store_error
from app.store.history.schema import connect, open_database


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    created_at: float  # seconds since the epoch, UTC
    source: str  # "chat" or "arena"
    stats: dict[str, Any]


def stored_answers(path: Path, since: float | None = None) -> list[StoredAnswer]:
    """The facts of every answer in the history at `path` that has them, oldest first;
    with `since`, only those created at or after it."""
    open_database(path)
    start = -1e300 if since is None else since
    try:
        conn = connect(path)
    except sqlite3.Error as exc:
        raise store_error(exc, "read the stored answers", path) from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        rows = conn.execute(
            "SELECT created_at, 'chat', stats FROM messages "
            "WHERE role = 'assistant' AND stats IS NOT NULL AND created_at >= ? "
            "UNION ALL SELECT r.created_at, 'arena', s.stats FROM arena_sides s "
            "JOIN arena_rounds r ON r.id = s.round_id "
            "WHERE s.stats IS NOT NULL AND r.created_at >= ? ORDER BY 1",
            (start, start),
        ).fetchall()
    except sqlite3.Error as exc:
        raise store_error(exc, "read the stored answers", path) from exc
    finally:
        conn.close()
    found = []
    for created_at, source, text in rows:
        stats = json_object(text)
        if stats is not None and isinstance(created_at, int | float):
            found.append(StoredAnswer(float(created_at), str(source), stats))
    return found
