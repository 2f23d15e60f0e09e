"""The SQL behind the history, each query a function over a connection."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import psutil

from app.core import tree
from app.core.bounds import json_safe
from app.core.messages import Role
from app.store.history.records import (
    INTERRUPTED,
    MESSAGE_STATUSES,
    ConversationInfo,
    ConversationNotFound,
    SearchHit,
    StoredConversation,
    StoredMessage,
    from_timestamp,
)

_INFO_COLUMNS = "id, title, created_at, updated_at, pinned, default_model"
_MESSAGE_COLUMNS = (
    "id, conversation_id, role, content, model, backend, host, stats, run_info, status, "
    "error, created_at, parent_id, reasoning"
)
_WORD = re.compile(r"\w+")

logger = logging.getLogger(__name__)


def dumps(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False)


def json_object(text: object) -> dict[str, Any] | None:
    """A stored JSON object, or None for anything else (a bad row never raises)."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# Reading never trusts a row: the file may have been written by an older Tandem, another
# tool or a person, and SQLite keeps whatever type it is given. A value that cannot be
# what it should is logged and read as unknown, so the conversation still lists and opens.


def _text(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    logger.warning("history: %s is not text (%.40r); shown as text", where, value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _role(value: object, where: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        logger.warning("history: %s has an unknown role (%.40r); shown as an answer", where, value)
        return Role.ASSISTANT


def _status(value: object, where: str) -> str:
    if isinstance(value, str) and value in MESSAGE_STATUSES:
        return value
    logger.warning("history: %s has an unknown status (%.40r); shown as incomplete", where, value)
    return "incomplete"


def _message(row: Sequence[Any]) -> StoredMessage:
    where = f"message {row[0]}"
    return StoredMessage(
        id=row[0],
        conversation_id=row[1],
        role=_role(row[2], where),
        content=_text(row[3], where) or "",
        model=_text(row[4], where),
        backend=_text(row[5], where),
        host=_text(row[6], where),
        stats=json_object(row[7]),
        run_info=json_object(row[8]),
        status=_status(row[9], where),
        error=_text(row[10], where),
        created_at=from_timestamp(row[11], f"the time of {where}"),
        parent_id=row[12] if isinstance(row[12], int) and not isinstance(row[12], bool) else None,
        reasoning=_text(row[13], where) or "",
    )


def _info(row: Sequence[Any]) -> ConversationInfo:
    where = f"conversation {row[0]}"
    return ConversationInfo(
        id=row[0],
        title=_text(row[1], where),
        created_at=from_timestamp(row[2], f"the start of {where}"),
        updated_at=from_timestamp(row[3], f"the last change of {where}"),
        pinned=row[4] == 1,
        default_model=_text(row[5], where),
    )


def list_conversations(conn: sqlite3.Connection) -> list[ConversationInfo]:
    rows = conn.execute(
        f"SELECT {_INFO_COLUMNS} FROM conversations ORDER BY pinned DESC, updated_at DESC, id DESC"
    ).fetchall()
    return [_info(row) for row in rows]


def load_conversation(conn: sqlite3.Connection, conversation_id: int) -> StoredConversation:
    row = conn.execute(
        f"SELECT {_INFO_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    if row is None:
        raise ConversationNotFound(conversation_id)
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id",
        (conversation_id,),
    ).fetchall()
    leaf = conn.execute(
        "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()[0]
    return StoredConversation(
        _info(row),
        tuple(_message(r) for r in rows),
        leaf if isinstance(leaf, int) and not isinstance(leaf, bool) else None,
    )


def shown_leaf(conn: sqlite3.Connection, conversation_id: int) -> int | None:
    """The leaf of the path a conversation shows now (the newest message when none is
    remembered, or the remembered one is gone)."""
    rows = conn.execute(
        "SELECT id, parent_id FROM messages WHERE conversation_id = ?", (conversation_id,)
    ).fetchall()
    parents = {r[0]: r[1] for r in rows}
    remembered = conn.execute(
        "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    return tree.current_leaf(parents, remembered[0] if remembered else None)


def insert_messages(
    conn: sqlite3.Connection,
    conversation_id: int,
    messages: Sequence[StoredMessage],
    *,
    keep_ids: bool,
    ids: dict[int, int] | None = None,
) -> dict[int, int]:
    """Insert messages, parents before children; returns old id -> new id. Without
    `keep_ids` each gets a new id and its parent link follows; a parent that is not
    among them (nor in `ids`) makes it a first message."""
    mapping = dict(ids or {})
    for m in messages:
        parent = mapping.get(m.parent_id) if m.parent_id is not None else None
        if keep_ids and m.parent_id is not None and parent is None:
            parent = m.parent_id
        cursor = conn.execute(
            "INSERT INTO messages (id, conversation_id, role, content, model, backend, host, "
            "stats, run_info, status, error, created_at, parent_id, reasoning) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.id if keep_ids else None,
                conversation_id,
                str(m.role),
                m.content,
                m.model,
                m.backend,
                m.host,
                dumps(m.stats),
                dumps(m.run_info),
                INTERRUPTED if m.status == "streaming" else m.status,  # nobody writes it now
                m.error,
                m.created_at.timestamp(),
                parent,
                m.reasoning,
            ),
        )
        mapping[m.id] = int(cursor.lastrowid or 0)
    return mapping


def insert_conversation(
    conn: sqlite3.Connection, stored: StoredConversation, *, keep_ids: bool
) -> int:
    """Insert a whole conversation (undo, duplicate, import); returns its id.

    With `keep_ids` the original ids come back unless one is taken meanwhile (ids are
    AUTOINCREMENT, so a deleted id is never handed out again).
    """
    info = stored.info
    taken = conn.execute("SELECT 1 FROM conversations WHERE id = ?", (info.id,)).fetchone()
    same_ids = keep_ids and taken is None
    cursor = conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at, pinned, default_model) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            info.id if same_ids else None,
            info.title,
            info.created_at.timestamp(),
            info.updated_at.timestamp(),
            int(info.pinned),
            info.default_model,
        ),
    )
    new_id = int(cursor.lastrowid or 0)
    taken_ids = same_ids and any(
        conn.execute("SELECT 1 FROM messages WHERE id = ?", (m.id,)).fetchone()
        for m in stored.messages
    )
    mapping = insert_messages(conn, new_id, stored.messages, keep_ids=same_ids and not taken_ids)
    leaf = mapping.get(stored.current_leaf_id) if stored.current_leaf_id is not None else None
    conn.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, new_id))
    return new_id


def fts_query(text: str) -> str | None:
    """The user's words as an FTS5 query: every word must appear, the last as a prefix.

    Quoting each word keeps FTS5 operators and punctuation typed by the user inert.
    """
    words = _WORD.findall(text)
    if not words:
        return None
    terms = [f'"{word}"' for word in words]
    if text[-1:].isalnum():
        terms[-1] += "*"  # the user may still be typing it
    return " ".join(terms)


def search_messages(
    conn: sqlite3.Connection, query: str, limit: int, highlight: tuple[str, str]
) -> list[SearchHit]:
    rows = conn.execute(
        "SELECT m.conversation_id, m.id, c.title, m.role, "
        "snippet(messages_fts, 0, ?, ?, '…', 16), bm25(messages_fts) AS rank, m.created_at "
        "FROM messages_fts "
        "JOIN messages m ON m.id = messages_fts.rowid "
        "JOIN conversations c ON c.id = m.conversation_id "
        "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
        (highlight[0], highlight[1], query, limit),
    ).fetchall()
    return [
        SearchHit(
            conversation_id=row[0],
            message_id=row[1],
            conversation_title=_text(row[2], f"conversation {row[0]}"),
            role=_role(row[3], f"message {row[1]}"),
            snippet=_text(row[4], f"message {row[1]}") or "",
            rank=row[5],
            created_at=from_timestamp(row[6], f"the time of message {row[1]}"),
        )
        for row in rows
    ]


def process_owner(pid: int) -> str | None:
    """'pid:start-time' of a process: with the start time, a reused pid is not mistaken."""
    try:
        return f"{pid}:{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return None


def owner_alive(owner: str | None) -> bool:
    """Whether the process that started streaming an answer is still running."""
    if not owner or ":" not in owner:
        return False
    pid_text, _, started = owner.partition(":")
    try:
        pid, started_s = int(pid_text), float(started)
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return bool(abs(process.create_time() - started_s) < 0.5)
    except (ValueError, psutil.NoSuchProcess):
        return False
    except psutil.Error:
        return True  # cannot tell: never take a live answer away from its writer


def mark_interrupted(conn: sqlite3.Connection) -> int:
    rows = conn.execute(
        "SELECT id, streaming_owner FROM messages WHERE status = 'streaming'"
    ).fetchall()
    dead = [(row[0],) for row in rows if not owner_alive(row[1])]
    conn.executemany(
        "UPDATE messages SET status = 'interrupted', streaming_owner = NULL WHERE id = ?", dead
    )
    return len(dead)
