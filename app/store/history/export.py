"""A conversation as Markdown for people and as JSON for Tandem, and JSON read back."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core import tree
from app.core.bounds import json_safe
from app.core.messages import Role
from app.core.privacy import privacy_label
from app.core.stats import AnswerStats, FinishReason
from app.store.history.records import (
    EARLIEST,
    INTERRUPTED,
    LATEST,
    MESSAGE_STATUSES,
    ROLES,
    HistoryImportError,
    StoredConversation,
    StoredMessage,
    time_in_range,
)

EXPORT_FORMAT = "tandem.conversation"
# 2: messages carry their id, parent and reasoning (a conversation is a tree), and the
# export names the path shown. Version 1 files (one straight path) still import.
EXPORT_FORMAT_VERSION = 2

_ROLE_HEADINGS = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System prompt"}
_STATUS_NOTES = {
    "stopped": "Stopped by the user; the answer is partial.",
    "incomplete": "The answer broke off midway; the text is what arrived.",
    "error": "No answer came back.",
    INTERRUPTED: "Tandem closed before this answer finished; the text is what arrived.",
    "streaming": "Still being written when exported.",
}


def message_privacy(message: StoredMessage) -> str | None:
    """Where the words of this message went, in the words we show the user."""
    if message.stats and isinstance(message.stats.get("privacy"), str):
        return str(message.stats["privacy"])
    if message.backend is None and message.host is None:
        return None
    return privacy_label(message.host)


def _summary(stats: dict[str, Any]) -> str | None:
    try:
        values = dict(stats)
        values["finish_reason"] = FinishReason(values["finish_reason"])
        return AnswerStats(**values).summary_line()
    except (KeyError, TypeError, ValueError):
        return None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def to_markdown(conversation: StoredConversation) -> str:
    """The path the conversation shows, for people to read."""
    info = conversation.info
    shown = conversation.path()
    count = len(shown)
    lines = [
        f"# {info.display_title}",
        "",
        f"*Exported from Tandem · started {_utc(info.created_at)} · "
        f"{count} message{'s' if count != 1 else ''}*",
    ]
    parents = conversation.parents
    for message in shown:
        heading = _ROLE_HEADINGS.get(message.role, str(message.role))
        if message.role is Role.ASSISTANT and message.model:
            heading += f" · {message.model}"
        versions = tree.versions(parents, message.id)
        if len(versions) > 1:
            heading += f" · version {versions.index(message.id) + 1} of {len(versions)}"
        lines += ["", f"## {heading}"]
        if message.content.strip():
            lines += ["", message.content.rstrip("\n")]
        notes: list[str] = []
        summary = _summary(message.stats) if message.stats else None
        if summary:
            notes.append(summary)
        elif privacy := message_privacy(message):
            notes.append(privacy)
        if message.status in _STATUS_NOTES:
            notes.append(_STATUS_NOTES[message.status])
        if message.error:
            notes.append(f"Error: {message.error}")
        if notes:
            lines += ["", "*" + " · ".join(notes) + "*"]
    return "\n".join(lines) + "\n"


def to_json(conversation: StoredConversation) -> dict[str, Any]:
    """Every message of every branch, with its parent, and the path shown."""
    info = conversation.info
    parents = conversation.parents
    shown = [m.id for m in conversation.path()]

    def version(message_id: int) -> tuple[int, int]:
        siblings = tree.versions(parents, message_id)
        return siblings.index(message_id) + 1, len(siblings)

    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "title": info.title,
        "created_at": info.created_at.isoformat(),
        "updated_at": info.updated_at.isoformat(),
        "pinned": info.pinned,
        "default_model": info.default_model,
        "models": sorted({m.model for m in conversation.messages if m.model}),
        "current_path": shown,
        "current_id": shown[-1] if shown else None,
        "messages": [
            {
                "id": m.id,
                "parent_id": m.parent_id if m.parent_id in parents else None,
                "version": version(m.id)[0],
                "versions": version(m.id)[1],
                "role": str(m.role),
                "content": m.content,
                "reasoning": m.reasoning,
                "status": m.status,
                "model": m.model,
                "backend": m.backend,
                "host": m.host,
                "privacy": message_privacy(m),
                "stats": m.stats,
                "run_info": m.run_info,
                "error": m.error,
                "created_at": m.created_at.isoformat(),
            }
            for m in conversation.messages
        ],
    }


@dataclass(frozen=True, slots=True)
class ImportedMessage:
    role: str
    content: str
    status: str
    model: str | None
    backend: str | None
    host: str | None
    stats: dict[str, Any] | None
    run_info: dict[str, Any] | None
    error: str | None
    created_at_s: float
    id: int = 0  # the file's own id, only to link parents
    parent_id: int | None = None
    reasoning: str = ""


@dataclass(frozen=True, slots=True)
class ImportedConversation:
    title: str | None
    default_model: str | None
    pinned: bool
    created_at_s: float
    updated_at_s: float
    messages: tuple[ImportedMessage, ...]
    current_id: int | None = None


# Bounds on what an import may hold: past these a file is not an export Tandem wrote.
MAX_NAME_CHARS = 1_000  # a title, a model, a backend or a host
MAX_NESTING = 32  # levels inside 'stats' or 'run_info'


def _valid_text(value: str, field: str, where: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise HistoryImportError(f"{where}: '{field}' is not valid Unicode text") from None
    return value


def _optional(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise HistoryImportError(f"{where}: '{key}' should be a {kind.__name__}")
    return value


def _name(data: dict[str, Any], key: str, where: str) -> str | None:
    value = _optional(data, key, str, where)
    if value is None:
        return None
    if len(value) > MAX_NAME_CHARS:
        raise HistoryImportError(f"{where}: '{key}' is longer than {MAX_NAME_CHARS} characters")
    return _valid_text(value, key, where)


def _depth(value: object) -> int:
    """How deeply lists and objects nest in `value`, without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest


def _figures(data: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = _optional(data, key, dict, where)
    if value is None:
        return None
    if _depth(value) > MAX_NESTING:
        raise HistoryImportError(f"{where}: '{key}' nests deeper than {MAX_NESTING} levels")
    try:
        json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise HistoryImportError(f"{where}: '{key}' holds text that is not valid Unicode") from None
    return value


def _time(data: dict[str, Any], key: str, fallback: float, where: str) -> float:
    value = data.get(key)
    if value is None:
        return fallback
    if not isinstance(value, str):
        raise HistoryImportError(f"{where}: '{key}' should be an ISO 8601 date and time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HistoryImportError(
            f"{where}: '{key}' ({value[:40]!r}) is not a date and time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        seconds = moment.timestamp()
    except (OverflowError, ValueError):
        seconds = math.nan
    if not time_in_range(seconds):
        raise HistoryImportError(
            f"{where}: '{key}' ({value[:40]}) is not between {EARLIEST.year} and {LATEST.year}"
        )
    return seconds


def from_json(data: object, now_s: float) -> ImportedConversation:
    """Validate an export, every field's type and range; raises HistoryImportError naming
    the first field that fails."""
    if not isinstance(data, dict):
        raise HistoryImportError("it is not a JSON object")
    if data.get("format") != EXPORT_FORMAT:
        raise HistoryImportError(f"'format' is not '{EXPORT_FORMAT}'")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise HistoryImportError("'format_version' should be a whole number from 1")
    if version > EXPORT_FORMAT_VERSION:
        raise HistoryImportError("it was written by a newer Tandem (update Tandem to read it)")
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list):
        raise HistoryImportError("'messages' is not a list")
    pinned = data.get("pinned", False)
    if not isinstance(pinned, bool):
        raise HistoryImportError("conversation: 'pinned' should be true or false")
    created = _time(data, "created_at", now_s, "conversation")
    messages = _linked(
        tuple(
            _message(raw, f"message {n}", created) for n, raw in enumerate(raw_messages, start=1)
        ),
        raw_messages,
    )
    current = data.get("current_id")
    known = {m.id for m in messages}
    if current is not None and (not _whole(current) or current not in known):
        raise HistoryImportError("'current_id' is not the id of one of its messages")
    return ImportedConversation(
        title=_name(data, "title", "conversation"),
        default_model=_name(data, "default_model", "conversation"),
        pinned=pinned,
        created_at_s=created,
        updated_at_s=_time(data, "updated_at", created, "conversation"),
        messages=messages,
        current_id=current if current is not None else (messages[-1].id if messages else None),
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _linked(messages: tuple[ImportedMessage, ...], raw: list[Any]) -> tuple[ImportedMessage, ...]:
    """Each message with its id and parent: as the file links them, or (a version 1 file,
    or one without ids) one straight path in file order. A parent must come earlier."""
    has_ids = any(isinstance(r, dict) and "id" in r for r in raw)
    if not has_ids:
        return tuple(
            dataclasses.replace(m, id=n, parent_id=n - 1 if n > 1 else None)
            for n, m in enumerate(messages, start=1)
        )
    seen: set[int] = set()
    linked: list[ImportedMessage] = []
    for n, (m, r) in enumerate(zip(messages, raw, strict=True), start=1):
        where = f"message {n}"
        own, parent = r.get("id"), r.get("parent_id")
        if not _whole(own) or own in seen:
            raise HistoryImportError(f"{where}: 'id' should be a whole number, once per message")
        if parent is not None and (not _whole(parent) or parent not in seen):
            raise HistoryImportError(f"{where}: 'parent_id' is not the id of an earlier message")
        seen.add(own)
        linked.append(dataclasses.replace(m, id=own, parent_id=parent))
    return tuple(linked)


def _message(raw: object, where: str, created: float) -> ImportedMessage:
    if not isinstance(raw, dict):
        raise HistoryImportError(f"{where} is not an object")
    role = raw.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise HistoryImportError(f"{where}: unknown role {_short(role)}")
    content = raw.get("content")
    if not isinstance(content, str):
        raise HistoryImportError(f"{where}: 'content' is not text")
    status = raw.get("status", "complete")
    if not isinstance(status, str) or status not in MESSAGE_STATUSES:
        raise HistoryImportError(f"{where}: unknown status {_short(status)}")
    stats = _figures(raw, "stats", where)
    if stats is not None and AnswerStats.from_json(stats) is None:
        raise HistoryImportError(f"{where}: 'stats' are not figures Tandem can read")
    error = _optional(raw, "error", str, where)
    reasoning = _optional(raw, "reasoning", str, where) or ""
    return ImportedMessage(
        role=role,
        content=_valid_text(content, "content", where),
        # Nobody is writing an imported answer any more.
        status=INTERRUPTED if status == "streaming" else status,
        model=_name(raw, "model", where),
        backend=_name(raw, "backend", where),
        host=_name(raw, "host", where),
        stats=stats,
        run_info=_figures(raw, "run_info", where),
        error=None if error is None else _valid_text(error, "error", where),
        created_at_s=_time(raw, "created_at", created, where),
        reasoning=_valid_text(reasoning, "reasoning", where),
    )


def _short(value: object) -> str:
    """A value from the file, cut short enough to name in a one-line error."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"  # repr may nest deep
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
