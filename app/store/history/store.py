"""Conversation history in SQLite: every message saved as it streams, searchable, never lost.

All writes go through one writer thread (`HistoryWriter`) with its own connection;
reads use a second connection. Several processes (the GUI and the CLI) may open the
same file at once: WAL and a busy timeout take care of that.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from app.core import tree
from app.core.bounds import json_safe
from app.core.files import read_regular
from app.core.messages import Role
from app.core.stats import AnswerStats
from app.store.history import export as history_export
from app.store.history import queries
from app.store.history.records import (
    INTERRUPTED,
    MESSAGE_STATUSES,
    UNTITLED,
    ConversationFileError,
    ConversationInfo,
    ConversationNotFound,
    DeletedConversation,
    DeletedMessages,
    HistoryImportError,
    SearchHit,
    StoredConversation,
    StoredMessage,
    StoreError,
    from_timestamp,
    store_error,
)
from app.store.history.schema import connect, open_database, transaction
from app.store.history.writer import STREAMING_INTERVAL_S, HistoryWriter
from app.store.paths import app_paths

__all__ = [
    "INTERRUPTED",
    "ConversationInfo",
    "ConversationNotFound",
    "DeletedConversation",
    "DeletedMessages",
    "HistoryImportError",
    "HistoryStore",
    "SearchHit",
    "StoreError",
    "StoredConversation",
    "StoredMessage",
    "fallback_title",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

TITLE_MAX_CHARS = 48

# `add_message`'s default parent: the leaf of the path the conversation shows.
AFTER_CURRENT = "current"


def fallback_title(first_user_text: str, max_chars: int = TITLE_MAX_CHARS) -> str:
    """A title from the first words of the first message, cut at a word boundary."""
    text = " ".join(first_user_text.split())
    if not text:
        return UNTITLED
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if " " in cut[max_chars // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


class HistoryStore:
    """The conversation history. Thread-safe; close it (or use `with`) when done.

    `recovered_from` is where a damaged history file was moved on open, else None.
    """

    def __init__(
        self, path: Path | None = None, *, streaming_interval_s: float = STREAMING_INTERVAL_S
    ) -> None:
        self.path = path if path is not None else app_paths().history_db
        self.recovered_from: Path | None = open_database(self.path)
        self._owner = queries.process_owner(os.getpid())
        self._writer = HistoryWriter(self.path, interval_s=streaming_interval_s)
        self._read_lock = threading.Lock()
        self._streaming_lock = threading.Lock()
        self._streaming: set[int] = set()
        try:
            self._reader = connect(self.path, check_same_thread=False)
            self._reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            self._writer.close()
            raise store_error(exc, "open the history", self.path) from exc
        try:
            self.mark_interrupted()
        except StoreError:
            self.close()
            raise

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------

    def _read(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one read transaction, so it sees one consistent moment."""
        with self._read_lock:
            try:
                self._reader.execute("BEGIN")
                try:
                    return fn(self._reader)
                finally:
                    self._reader.execute("COMMIT")
            except sqlite3.Error as exc:
                raise store_error(exc, doing, self.path) from exc

    def _write(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        def in_transaction(conn: sqlite3.Connection) -> T:
            with transaction(conn):
                return fn(conn)

        return self._writer.call(doing, in_transaction)

    # --- writing -------------------------------------------------------------------

    def create_conversation(
        self, title: str | None = None, default_model: str | None = None
    ) -> int:
        now = time.time()

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, default_model) "
                "VALUES (?, ?, ?, ?)",
                (title or None, now, now, default_model),
            )
            return int(cursor.lastrowid or 0)

        return self._write("start a new conversation", insert)

    def add_message(
        self,
        conversation_id: int,
        role: Role | str,
        content: str,
        *,
        model: str | None = None,
        backend: str | None = None,
        host: str | None = None,
        status: str = "complete",
        run_info: dict[str, Any] | None = None,
        parent_id: int | str | None = AFTER_CURRENT,
        reasoning: str = "",
    ) -> int:
        """Save one message as the child of `parent_id` (None: a first message; by
        default the leaf of the path shown); it becomes the leaf shown. A user message
        also names an untitled conversation."""
        role = Role(role)
        if status not in MESSAGE_STATUSES:
            raise ValueError(f"unknown message status {status!r}")
        now = time.time()
        owner = self._owner if status == "streaming" else None

        def insert(conn: sqlite3.Connection) -> int:
            touched = conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )
            if touched.rowcount == 0:
                raise ConversationNotFound(conversation_id)
            if role is Role.USER:
                conn.execute(
                    "UPDATE conversations SET title = ? WHERE id = ? AND title IS NULL",
                    (fallback_title(content), conversation_id),
                )
            parent = (
                queries.shown_leaf(conn, conversation_id)
                if parent_id == AFTER_CURRENT
                else parent_id
            )
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, model, backend, host, "
                "status, run_info, streaming_owner, created_at, parent_id, reasoning) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    str(role),
                    content,
                    model,
                    backend,
                    host,
                    status,
                    queries.dumps(run_info),
                    owner,
                    now,
                    parent,
                    reasoning,
                ),
            )
            new_id = int(cursor.lastrowid or 0)
            conn.execute(
                "UPDATE conversations SET current_leaf_id = ? WHERE id = ?",
                (new_id, conversation_id),
            )
            return new_id

        doing = "save your message" if role is Role.USER else "save the answer"
        message_id = self._write(doing, insert)
        if status == "streaming":
            with self._streaming_lock:
                self._streaming.add(message_id)
        return message_id

    def update_streaming(self, message_id: int, content: str, reasoning: str | None = None) -> None:
        """The whole text (and reasoning) so far of a streaming answer; never blocks,
        saved within 250 ms."""
        self._writer.update_streaming(message_id, content, reasoning)

    def finish_message(
        self,
        message_id: int,
        content: str,
        status: str,
        stats: dict[str, Any] | AnswerStats | None = None,
        error: str | None = None,
        run_info: dict[str, Any] | None = None,
        reasoning: str | None = None,
    ) -> None:
        """Save the final text, status and stats of an answer (waits until it is stored).
        `run_info`, when given, replaces what was known when the answer started (a model
        loads on the first message, and only then are its real settings known)."""
        if status not in MESSAGE_STATUSES or status == "streaming":
            raise ValueError(f"a finished message cannot have status {status!r}")
        stats_json = stats.to_json() if isinstance(stats, AnswerStats) else stats
        self._writer.forget_streaming(message_id)
        now = time.time()

        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE messages SET content = ?, status = ?, stats = ?, error = ?, "
                "streaming_owner = NULL WHERE id = ?",
                (content, status, queries.dumps(stats_json), error, message_id),
            )
            if run_info is not None:
                conn.execute(
                    "UPDATE messages SET run_info = ? WHERE id = ?",
                    (queries.dumps(run_info), message_id),
                )
            if reasoning is not None:
                conn.execute(
                    "UPDATE messages SET reasoning = ? WHERE id = ?", (reasoning, message_id)
                )
            conn.execute(
                "UPDATE conversations SET updated_at = ? "
                "WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (now, message_id),
            )

        self._write("save the answer", update)
        with self._streaming_lock:
            self._streaming.discard(message_id)

    def mark_interrupted(self) -> int:
        """Answers left 'streaming' by a process that is gone become 'interrupted'."""
        count = self._write("mark unfinished answers", queries.mark_interrupted)
        if count:
            logger.info("history: %d answer(s) were cut off by a crash and kept", count)
        return count

    def rename(self, conversation_id: int, title: str | None) -> None:
        clean = " ".join((title or "").split()) or None
        self._update_conversation(conversation_id, "rename the conversation", "title", clean)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update_conversation(conversation_id, "pin the conversation", "pinned", int(pinned))

    def set_default_model(self, conversation_id: int, model: str | None) -> None:
        self._update_conversation(conversation_id, "save the model", "default_model", model)

    def _update_conversation(
        self, conversation_id: int, doing: str, column: str, value: object
    ) -> None:
        def update(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id)
            )
            if cursor.rowcount == 0:
                raise ConversationNotFound(conversation_id)

        self._write(doing, update)

    def link_compare(self, a_id: int, b_id: int) -> None:
        """Conversation `b_id` is column B of a Compare whose column A is `a_id`."""
        if a_id == b_id:
            raise StoreError("A conversation cannot be compared with itself.")

        def link(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT COUNT(*) FROM conversations WHERE id IN (?, ?)", (a_id, b_id)
            ).fetchone()[0]
            if found != 2:
                raise ConversationNotFound(b_id if found else a_id)
            conn.execute("UPDATE conversations SET compare_with = ? WHERE id = ?", (a_id, b_id))

        self._write("link the compared conversations", link)

    def compare_pairs(self) -> dict[int, int]:
        """Column A's conversation id → column B's, for every Compare pair."""

        def read(conn: sqlite3.Connection) -> dict[int, int]:
            rows = conn.execute(
                "SELECT compare_with, id FROM conversations "
                "WHERE compare_with IS NOT NULL ORDER BY id"
            ).fetchall()
            return {int(a): int(b) for a, b in rows}

        return self._read("read the compared conversations", read)

    def compare_pair(self, conversation_id: int) -> tuple[int, int] | None:
        """(A, B) of the Compare pair `conversation_id` belongs to, if it is in one."""
        for a, b in self.compare_pairs().items():
            if conversation_id in (a, b):
                return a, b
        return None

    def set_current_leaf(self, conversation_id: int, leaf_id: int | None) -> None:
        """Remember which path the conversation shows (the leaf it ends in)."""
        self._update_conversation(
            conversation_id, "remember the version shown", "current_leaf_id", leaf_id
        )

    def delete_messages(self, conversation_id: int, message_id: int) -> DeletedMessages:
        """Delete a message and every reply below it; the path shown moves to what is
        left. Pass the result to `restore_messages` to undo."""

        def delete(conn: sqlite3.Connection) -> DeletedMessages:
            stored = queries.load_conversation(conn, conversation_id)
            parents = stored.parents
            if message_id not in parents:
                raise StoreError(
                    f"Message {message_id} is not in conversation {conversation_id} "
                    "(it may have been deleted already).",
                    reason="not_found",
                )
            gone = set(tree.subtree(parents, message_id))
            removed = tuple(m for m in stored.messages if m.id in gone)
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            conn.execute(
                "UPDATE conversations SET current_leaf_id = ? WHERE id = ?",
                (parents[message_id], conversation_id),
            )
            return DeletedMessages(conversation_id, removed, stored.current_leaf_id)

        return self._write("delete the message", delete)

    def restore_messages(self, deleted: DeletedMessages) -> None:
        """Undo `delete_messages`: the messages come back with their ids, and the path
        shown with them."""

        def restore(conn: sqlite3.Connection) -> None:
            queries.insert_messages(conn, deleted.conversation_id, deleted.messages, keep_ids=True)
            conn.execute(
                "UPDATE conversations SET current_leaf_id = ? WHERE id = ?",
                (deleted.current_leaf_id, deleted.conversation_id),
            )

        self._write("undo the delete", restore)

    def fork_conversation(self, conversation_id: int, message_id: int) -> int:
        """A new conversation holding the path from the first message to `message_id`."""
        original = self.get_conversation(conversation_id)
        parents = original.parents
        if message_id not in parents:
            raise StoreError(
                f"Message {message_id} is not in conversation {conversation_id}.",
                reason="not_found",
            )
        keep = set(tree.path_to(parents, message_id))
        now = from_timestamp(time.time())
        info = ConversationInfo(
            id=0,
            title=f"{original.info.display_title} (fork)",
            created_at=now,
            updated_at=now,
            pinned=False,
            default_model=original.info.default_model,
        )
        messages = tuple(m for m in original.messages if m.id in keep)
        copy = StoredConversation(info, messages, message_id)
        return self._insert_copy(copy, keep_ids=False, doing="fork the conversation")

    def delete_conversation(self, conversation_id: int) -> DeletedConversation:
        """Delete it and its messages; pass the result to `restore` to undo."""

        def delete(conn: sqlite3.Connection) -> DeletedConversation:
            stored = queries.load_conversation(conn, conversation_id)
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            return DeletedConversation(stored)

        return self._write("delete the conversation", delete)

    def restore(self, deleted: DeletedConversation) -> int:
        """Undo a delete: the conversation comes back with the same ids when it can."""
        return self._insert_copy(deleted.conversation, keep_ids=True, doing="undo the delete")

    def duplicate_conversation(self, conversation_id: int) -> int:
        original = self.get_conversation(conversation_id)
        now = from_timestamp(time.time())
        info = ConversationInfo(
            id=0,
            title=f"{original.info.display_title} (copy)",
            created_at=now,
            updated_at=now,
            pinned=False,
            default_model=original.info.default_model,
        )
        copy = StoredConversation(info, original.messages, original.current_leaf_id)
        return self._insert_copy(copy, keep_ids=False, doing="duplicate the conversation")

    def _insert_copy(self, stored: StoredConversation, *, keep_ids: bool, doing: str) -> int:
        return self._write(
            doing, lambda conn: queries.insert_conversation(conn, stored, keep_ids=keep_ids)
        )

    def import_json(self, data: object) -> int:
        """A conversation from `export_json` output, saved as a new conversation."""
        imported = history_export.from_json(data, time.time())
        info = ConversationInfo(
            id=0,
            title=imported.title,
            created_at=from_timestamp(imported.created_at_s),
            updated_at=from_timestamp(imported.updated_at_s),
            pinned=imported.pinned,
            default_model=imported.default_model,
        )
        messages = tuple(
            StoredMessage(
                id=m.id,
                conversation_id=0,
                role=Role(m.role),
                content=m.content,
                status=m.status,
                model=m.model,
                backend=m.backend,
                host=m.host,
                stats=m.stats,
                run_info=m.run_info,
                error=m.error,
                created_at=from_timestamp(m.created_at_s),
                parent_id=m.parent_id,
                reasoning=m.reasoning,
            )
            for m in imported.messages
        )
        stored = StoredConversation(info, messages, imported.current_id)
        return self._insert_copy(stored, keep_ids=False, doing="import the conversation")

    def flush(self) -> None:
        """Wait until every write so far, streaming text included, is stored."""
        self._writer.flush()

    def close(self) -> None:
        """Save what is pending; answers this store left streaming become 'interrupted'."""
        with self._streaming_lock:
            unfinished = [(message_id,) for message_id in self._streaming]
            self._streaming.clear()

        def interrupt(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE messages SET status = 'interrupted', streaming_owner = NULL "
                "WHERE id = ? AND status = 'streaming'",
                unfinished,
            )

        self._writer.close(last=interrupt if unfinished else None)
        with self._read_lock:
            self._reader.close()

    # --- reading -------------------------------------------------------------------

    def list_conversations(self) -> list[ConversationInfo]:
        """Pinned first, then the most recently active."""

        return self._read("read the conversation list", queries.list_conversations)

    def get_conversation(self, conversation_id: int) -> StoredConversation:
        return self._read(
            "read the conversation", lambda conn: queries.load_conversation(conn, conversation_id)
        )

    def search(
        self, text: str, limit: int = 50, *, highlight: tuple[str, str] = ("«", "»")
    ) -> list[SearchHit]:
        """Messages containing every word of `text`, best match first."""
        query = queries.fts_query(text)
        if query is None:
            return []
        return self._read(
            "search the history",
            lambda conn: queries.search_messages(conn, query, limit, highlight),
        )

    def import_file(self, path: Path) -> int:
        """A conversation exported as JSON, read from `path`, saved as a new conversation."""
        path = Path(path)
        try:
            data = json.loads(read_regular(path).decode("utf-8"))
        except OSError as exc:
            problem = exc.strerror or str(exc)
        except UnicodeDecodeError as exc:
            problem = f"it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at {exc.start})"
        except RecursionError:
            problem = "its lists or objects nest deeper than Tandem reads"
        except ValueError as exc:
            problem = f"it is not JSON ({exc})"
        else:
            return self.import_json(data)
        raise ConversationFileError(
            f"Could not read {path.name} as a conversation: {problem}. Choose a file that "
            "Tandem exported as JSON."
        )

    def export_text(self, conversation_id: int, fmt: str) -> str:
        """A conversation as a file's text: `md` (Markdown) or `json`."""
        if fmt == "md":
            return self.export_markdown(conversation_id)
        data = self.export_json(conversation_id)
        return json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False, indent=2) + "\n"

    def export_file(self, conversation_id: int, path: Path, fmt: str) -> None:
        """Write a conversation to `path` as `md` or `json`."""
        text = self.export_text(conversation_id, fmt)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConversationFileError(f"Could not write {path}: {exc.strerror or exc}.") from exc

    def export_markdown(self, conversation_id: int) -> str:
        return history_export.to_markdown(self.get_conversation(conversation_id))

    def export_json(self, conversation_id: int) -> dict[str, Any]:
        return history_export.to_json(self.get_conversation(conversation_id))
