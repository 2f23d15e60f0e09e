"""A conversation as Markdown for people and as JSON for Tandem, and JSON read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.messages import Role
from app.core.privacy import privacy_label
from app.core.stats import AnswerStats, FinishReason
from app.store.history.records import (
    INTERRUPTED,
    MESSAGE_STATUSES,
    ROLES,
    HistoryImportError,
    StoredConversation,
    StoredMessage,
)

EXPORT_FORMAT = "tandem.conversation"
EXPORT_FORMAT_VERSION = 1

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
    info = conversation.info
    count = len(conversation.messages)
    lines = [
        f"# {info.display_title}",
        "",
        f"*Exported from Tandem · started {_utc(info.created_at)} · "
        f"{count} message{'s' if count != 1 else ''}*",
    ]
    for message in conversation.messages:
        heading = _ROLE_HEADINGS.get(message.role, str(message.role))
        if message.role is Role.ASSISTANT and message.model:
            heading += f" · {message.model}"
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
    info = conversation.info
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "title": info.title,
        "created_at": info.created_at.isoformat(),
        "updated_at": info.updated_at.isoformat(),
        "pinned": info.pinned,
        "default_model": info.default_model,
        "models": sorted({m.model for m in conversation.messages if m.model}),
        "messages": [
            {
                "role": str(m.role),
                "content": m.content,
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


@dataclass(frozen=True, slots=True)
class ImportedConversation:
    title: str | None
    default_model: str | None
    pinned: bool
    created_at_s: float
    updated_at_s: float
    messages: tuple[ImportedMessage, ...]


def _optional(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise HistoryImportError(f"{where}: '{key}' should be a {kind.__name__}")
    return value


def _time(value: object, fallback: float, where: str) -> float:
    if value is None:
        return fallback
    if not isinstance(value, str):
        raise HistoryImportError(f"{where}: the time should be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HistoryImportError(f"{where}: '{value}' is not a date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def from_json(data: object, now_s: float) -> ImportedConversation:
    """Validate an export; raises HistoryImportError naming the first problem."""
    if not isinstance(data, dict):
        raise HistoryImportError("it is not a JSON object")
    if data.get("format") != EXPORT_FORMAT:
        raise HistoryImportError(f"'format' is not '{EXPORT_FORMAT}'")
    version = data.get("format_version")
    if not isinstance(version, int) or version > EXPORT_FORMAT_VERSION:
        raise HistoryImportError("it was written by a newer Tandem (update Tandem to read it)")
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list):
        raise HistoryImportError("'messages' is not a list")
    created = _time(data.get("created_at"), now_s, "conversation")
    messages: list[ImportedMessage] = []
    for n, raw in enumerate(raw_messages, start=1):
        where = f"message {n}"
        if not isinstance(raw, dict):
            raise HistoryImportError(f"{where} is not an object")
        role = raw.get("role")
        if role not in ROLES:
            raise HistoryImportError(f"{where}: unknown role {role!r}")
        content = raw.get("content")
        if not isinstance(content, str):
            raise HistoryImportError(f"{where}: 'content' is not text")
        status = raw.get("status", "complete")
        if status not in MESSAGE_STATUSES:
            raise HistoryImportError(f"{where}: unknown status {status!r}")
        messages.append(
            ImportedMessage(
                role=str(role),
                content=content,
                # Nobody is writing an imported answer any more.
                status=INTERRUPTED if status == "streaming" else str(status),
                model=_optional(raw, "model", str, where),
                backend=_optional(raw, "backend", str, where),
                host=_optional(raw, "host", str, where),
                stats=_optional(raw, "stats", dict, where),
                run_info=_optional(raw, "run_info", dict, where),
                error=_optional(raw, "error", str, where),
                created_at_s=_time(raw.get("created_at"), created, where),
            )
        )
    return ImportedConversation(
        title=_optional(data, "title", str, "conversation"),
        default_model=_optional(data, "default_model", str, "conversation"),
        pinned=bool(data.get("pinned", False)),
        created_at_s=created,
        updated_at_s=_time(data.get("updated_at"), created, "conversation"),
        messages=tuple(messages),
    )
