"""The history's file: connections, the schema as an append-only list of migrations,
and the check that sets a damaged file aside."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from app.store.history.records import StoreError, store_error

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )
    # Text that is not valid UTF-8 (written by another tool) reads with U+FFFD in place of
    # the bad bytes, instead of failing the whole query.
    conn.text_factory = _decode
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a committed message survives a power cut too, not only an app crash.
    conn.execute("PRAGMA synchronous = FULL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE so another process's writer makes us wait, never fail midway."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _schema_1(conn: sqlite3.Connection) -> None:
    """Conversations and their messages."""
    conn.execute(
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            default_model TEXT
        )"""
    )
    conn.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            model TEXT,
            backend TEXT,
            host TEXT,
            stats TEXT,
            status TEXT NOT NULL DEFAULT 'complete',
            error TEXT,
            created_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX messages_by_conversation ON messages(conversation_id, id)")
    conn.execute(
        "CREATE INDEX conversations_by_order ON conversations(pinned DESC, updated_at DESC)"
    )
    conn.execute("CREATE INDEX messages_by_status ON messages(status)")


def _full_text_search(conn: sqlite3.Connection) -> None:
    """FTS5 over message text, an external-content index kept in sync by triggers."""
    conn.execute(
        """CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )"""
    )
    conn.execute(
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END"""
    )
    conn.execute(
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END"""
    )
    conn.execute(
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END"""
    )
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


def _run_info_and_streaming_owner(conn: sqlite3.Connection) -> None:
    """How each answer was produced, and which process is still streaming it."""
    conn.execute("ALTER TABLE messages ADD COLUMN run_info TEXT")
    # "pid:start-time" of the process writing a streaming answer, so that opening the
    # history from a second process never marks a live answer as interrupted.
    conn.execute("ALTER TABLE messages ADD COLUMN streaming_owner TEXT")


def _message_tree(conn: sqlite3.Connection) -> None:
    """A conversation becomes a tree: each message names its parent (regenerated and
    edited turns are siblings), answers keep their reasoning apart from their text, and
    each conversation remembers the leaf of the path it shows. Existing conversations
    become one straight path, each message the child of the one before it."""
    conn.execute(
        "ALTER TABLE messages ADD COLUMN parent_id INTEGER "
        "REFERENCES messages(id) ON DELETE CASCADE"
    )
    conn.execute("ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE conversations ADD COLUMN current_leaf_id INTEGER")
    conn.execute(
        """UPDATE messages SET parent_id = (
            SELECT MAX(p.id) FROM messages p
            WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
        )"""
    )
    conn.execute(
        """UPDATE conversations SET current_leaf_id = (
            SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id
        )"""
    )
    conn.execute("CREATE INDEX messages_by_parent ON messages(parent_id)")


def _arena_rounds(conn: sqlite3.Connection) -> None:
    """Blind arena rounds; which model answered on which side is kept in its own table,
    joined to the round only once the person has voted."""
    conn.execute(
        """CREATE TABLE arena_rounds (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            prompt TEXT NOT NULL,
            left_text TEXT NOT NULL DEFAULT '',
            right_text TEXT NOT NULL DEFAULT '',
            left_failed INTEGER NOT NULL DEFAULT 0,
            right_failed INTEGER NOT NULL DEFAULT 0,
            vote TEXT,
            created_at REAL NOT NULL,
            voted_at REAL
        )"""
    )
    conn.execute(
        """CREATE TABLE arena_sides (
            round_id INTEGER NOT NULL REFERENCES arena_rounds(id) ON DELETE CASCADE,
            side TEXT NOT NULL,
            model TEXT NOT NULL,
            backend TEXT NOT NULL,
            host TEXT,
            stats TEXT,
            error TEXT,
            PRIMARY KEY (round_id, side)
        )"""
    )


def _compare_pairs(conn: sqlite3.Connection) -> None:
    """The two conversations of a Compare exchange: column B's names column A's, so that
    the list shows them as one entry and opening it fills both columns."""
    conn.execute(
        "ALTER TABLE conversations ADD COLUMN compare_with INTEGER "
        "REFERENCES conversations(id) ON DELETE SET NULL"
    )
    conn.execute("CREATE INDEX conversations_by_pair ON conversations(compare_with)")


# Append only: the position in this list (1-based) is the schema version it produces.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _schema_1,
    _full_text_search,
    _run_info_and_streaming_owner,
    _message_tree,
    _arena_rounds,
    _compare_pairs,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, *, up_to: int = SCHEMA_VERSION) -> int:
    """Bring the schema to `up_to`, one transaction per step; returns the version reached."""
    while True:
        with transaction(conn):
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"This history was written by a newer version of Tandem (schema {version}, "
                    f"this one knows {SCHEMA_VERSION}). Update Tandem to open it.",
                    reason="newer_version",
                )
            if version >= up_to:
                return version
            step = MIGRATIONS[version]
            logger.info(
                "history: migrating schema %d -> %d (%s)", version, version + 1, step.__name__
            )
            step(conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")


def _problem(path: Path) -> str | None:
    """Why the file is not a usable history, or None when it is fine (or absent)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return str(exc)
        raise
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if [r[0] for r in rows] != ["ok"]:
        report = " ".join(str(r[0]) for r in rows).split()
        return " ".join(report)[:300]
    return None


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
        n += 1
    path.replace(target)
    # A journal left beside a damaged file belongs to it, never to the fresh one.
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    return target


def open_database(path: Path) -> Path | None:
    """Make `path` a healthy, current history; returns where a damaged one was moved."""
    recovered_from: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        problem = _problem(path)
        if problem is not None:
            recovered_from = _move_aside(path)
            logger.warning(
                "history: %s was damaged (%s); moved it to %s and started a new one",
                path,
                problem,
                recovered_from,
            )
        with closing(connect(path)) as conn:
            migrate(conn)
    except sqlite3.Error as exc:
        raise store_error(exc, "open the history", path) from exc
    except OSError as exc:
        raise StoreError(
            f"Could not open the history in {path.parent}: {exc.strerror or exc}. "
            "Check that the folder exists and can be written to.",
            reason="read_only",
        ) from exc
    return recovered_from
