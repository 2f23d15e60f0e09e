"""What the history hands out: frozen records, and the errors a person may see."""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core import tree
from app.core.errors import ExitCode, TandemError
from app.core.messages import MessageStatus, Role

# The app closed (or crashed) while this answer was still streaming; its text is kept.
INTERRUPTED = "interrupted"
MESSAGE_STATUSES: frozenset[str] = frozenset({*(str(s) for s in MessageStatus), INTERRUPTED})
ROLES: frozenset[str] = frozenset(str(r) for r in Role)
UNTITLED = "New conversation"

logger = logging.getLogger(__name__)

# The times a conversation may carry. A moment near the edge of what `datetime` holds
# (year 1 or 9999) overflows when it is shown in a time zone a few hours away, and the
# system's local-time functions stop earlier (Windows' at the year 3000, and before the
# epoch), so the history keeps inside both.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
EARLIEST_S = 0.0
LATEST_S = (LATEST - EARLIEST).total_seconds()


class StoreError(TandemError):
    """The history could not be read or written.

    `reason` is one of: disk_full, read_only, busy, io, damaged, newer_version,
    not_found, bad_import, other, so a caller can decide what to keep on screen.
    """

    kind = "store"
    exit_code = ExitCode.HISTORY

    def __init__(self, message: str, *, reason: str = "other") -> None:
        super().__init__(message)
        self.reason = reason


class ConversationNotFound(StoreError):
    def __init__(self, conversation_id: int) -> None:
        super().__init__(
            f"Conversation {conversation_id} is no longer in the history "
            "(it may have been deleted in another window).",
            reason="not_found",
        )
        self.conversation_id = conversation_id


class HistoryImportError(StoreError):
    def __init__(self, problem: str) -> None:
        super().__init__(
            f"This file is not a Tandem conversation export Tandem can read: {problem}. "
            "Export the conversation again from Tandem, or fix the file and retry.",
            reason="bad_import",
        )


class ConversationFileError(StoreError):
    """A conversation file could not be read or written (a bad path or file, as with a
    wrong argument: the CLI's usage exit code)."""

    kind = "conversation_file"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="io")


def store_error(exc: sqlite3.Error, doing: str, path: Path) -> StoreError:
    """Turn an SQLite failure into a message that says what happened and what to do."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        return StoreError(
            f"Could not {doing}: the disk is full. Free some space and try again; "
            "everything saved before is safe.",
            reason="disk_full",
        )
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN) or (
        "readonly" in text
    ):
        return StoreError(
            f"Could not {doing}: the history folder {path.parent} cannot be written to. "
            "Check its permissions, or whether the disk is mounted read-only; "
            "everything saved before is safe.",
            reason="read_only",
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"Could not {doing}: the history is busy in another Tandem window or command. "
            "Try again in a moment.",
            reason="busy",
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(
            f"Could not {doing}: the history file {path} is damaged. Restart Tandem; it "
            "will set the damaged file aside and start a fresh history.",
            reason="damaged",
        )
    if primary == sqlite3.SQLITE_IOERR:
        return StoreError(
            f"Could not {doing}: the disk reported an error while writing {path}. "
            "Check the disk, then try again.",
            reason="io",
        )
    return StoreError(f"Could not {doing}: {exc}.", reason="other")


def time_in_range(seconds: object) -> bool:
    """Whether `seconds` (since the epoch) is a time the history can hold."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return False
    return math.isfinite(seconds) and EARLIEST_S <= seconds <= LATEST_S


def from_timestamp(seconds: object, where: str = "a stored time") -> datetime:
    """A stored time as a datetime in UTC. A value that cannot be one (of the wrong type,
    NaN, or outside EARLIEST..LATEST, as a file edited by hand may hold) is logged and
    clamped, or taken as the epoch when it is not a number at all."""
    if time_in_range(seconds):
        assert isinstance(seconds, int | float)
        return EARLIEST + timedelta(seconds=float(seconds))
    late = isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0
    shown = LATEST if late else EARLIEST
    logger.warning("history: %s is not a usable time (%.40r); shown as %s", where, seconds, shown)
    return shown


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """One line of the conversation list."""

    id: int
    title: str | None
    created_at: datetime
    updated_at: datetime
    pinned: bool
    default_model: str | None

    @property
    def display_title(self) -> str:
        return self.title or UNTITLED


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as the history keeps it; `stats` is AnswerStats.to_json()."""

    id: int
    conversation_id: int
    role: Role
    content: str
    status: str
    model: str | None
    backend: str | None
    host: str | None
    stats: dict[str, Any] | None
    run_info: dict[str, Any] | None
    error: str | None
    created_at: datetime
    parent_id: int | None = None  # None: a first message
    reasoning: str = ""  # the model's thinking, kept apart and never sent as context


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """Every message of every branch (`messages`, in the order they were written), and
    the leaf of the path the conversation shows."""

    info: ConversationInfo
    messages: tuple[StoredMessage, ...]
    current_leaf_id: int | None = None

    @property
    def parents(self) -> dict[int, int | None]:
        return {m.id: m.parent_id for m in self.messages}

    def path(self) -> tuple[StoredMessage, ...]:
        """The messages of the path shown, first to last."""
        parents = self.parents
        by_id = {m.id: m for m in self.messages}
        leaf = tree.current_leaf(parents, self.current_leaf_id)
        return tuple(by_id[i] for i in tree.path_to(parents, leaf))

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def title(self) -> str | None:
        return self.info.title


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message that matched; `snippet` has the matching words between the markers."""

    conversation_id: int
    message_id: int
    conversation_title: str | None
    role: Role
    snippet: str
    rank: float  # bm25: lower is a better match
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeletedMessages:
    """A message and its replies, taken out of a conversation (pass it to
    HistoryStore.restore_messages to undo)."""

    conversation_id: int
    messages: tuple[StoredMessage, ...]
    current_leaf_id: int | None


@dataclass(frozen=True, slots=True)
class DeletedConversation:
    """Everything needed to undo a delete (pass it to HistoryStore.restore)."""

    conversation: StoredConversation
