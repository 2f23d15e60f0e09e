"""Remove secrets from text: the exact keys in use, and anything shaped like a secret.

A provider's answers and errors are written by someone else and may echo the key that
was sent (`Incorrect API key provided: …`). Every key Tandem sends is remembered here
(`remember_secret`); `without_secrets` takes each of them out of a text in the forms a
server is likely to echo (as is, JSON-escaped, URL-encoded), and `redact` adds the
pattern-based removal of well-known key shapes for text bound for a log.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import quote

REDACTED = "[redacted]"

# Shorter strings are not treated as secrets: removing them would mangle ordinary text.
_MIN_SECRET_CHARS = 8

_lock = threading.Lock()
_secrets: dict[str, tuple[str, ...]] = {}  # secret -> the forms it may come back in


def _forms(secret: str) -> tuple[str, ...]:
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        escaped.replace("/", "\\/"),
        repr(secret)[1:-1],
        quote(secret, safe=""),
    }
    return tuple(sorted(forms, key=len, reverse=True))


def remember_secret(secret: str | None) -> None:
    """Treat `secret` (an API key about to be sent) as one to remove from any text."""
    if not secret or len(secret) < _MIN_SECRET_CHARS:
        return
    with _lock:
        if secret not in _secrets:
            _secrets[secret] = _forms(secret)


def _all_forms() -> list[str]:
    with _lock:
        forms = {form for each in _secrets.values() for form in each}
    return sorted(forms, key=len, reverse=True)


def without_secrets(text: str) -> str:
    """`text` with every remembered secret, in every form it may be echoed in, removed."""
    for form in _all_forms():
        if form in text:
            text = text.replace(form, REDACTED)
    return text


class SecretStream:
    """`without_secrets` for text that arrives in pieces: a secret split across two
    pieces is held back until it is whole, then removed."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, piece: str) -> str:
        """What of the text so far can be shown now."""
        text = without_secrets(self._pending + piece)
        keep = _held_back(text)
        self._pending = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """The rest, once nothing more will arrive."""
        text, self._pending = without_secrets(self._pending), ""
        return text


def _held_back(text: str) -> int:
    """How many trailing characters of `text` could be the start of a secret."""
    longest = 0
    for form in _all_forms():
        for n in range(min(len(form) - 1, len(text)), longest, -1):
            if text.endswith(form[:n]):
                longest = n
                break
    return longest


_VALUE = r"(?:\\/|[^\s\"'\\,;&<>)}\]])"  # one character of a secret's value
_KEYWORDS = (
    r"api[_-]?key|x-api-key|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?(?:[_-]?key)?"
    r"|client[_-]?secret|passw(?:or)?d|passphrase|pwd|auth(?:orization)?|(?:access[_-]?)?token"
    r"|key"
)
_SECRET_PATTERNS = [
    # `Bearer <token>`
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # `key=…`, `password: …`, `"api_key": "…"`, and the same inside escaped JSON
    re.compile(
        rf"(?i)(\b(?:{_KEYWORDS})\\?[\"']?\s*[:=]\s*\\?[\"']?(?:(?:bearer|basic)\s+)?){_VALUE}{{8,}}"
    ),
    # Well-known key shapes
    re.compile(r"\b(sk-(?:proj-|ant-(?:api\d+-)?|or-v1-|svcacct-)?)[A-Za-z0-9_-]{16,}"),
    re.compile(r"\b(gsk_|hf_|glpat-|github_pat_|gh[pousr]_)[A-Za-z0-9_]{16,}"),
    re.compile(r"\b(xox[abposr]-)[A-Za-z0-9-]{10,}"),
    re.compile(r"\b(AIza)[A-Za-z0-9_-]{20,}"),
    re.compile(r"\b((?:AKIA|ASIA))[0-9A-Z]{16}\b"),
    re.compile(r"\b(eyJ)[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    # A bare key in prose: one long run of letters and digits mixing upper case, lower
    # case and digits (hex digests and ordinary words do not mix all three).
    re.compile(r"()\b(?=[A-Za-z0-9]{0,200}[A-Z])(?=[A-Za-z0-9]{0,200}[a-z])"
               r"(?=[A-Za-z0-9]{0,200}[0-9])[A-Za-z0-9]{24,}"),
]  # fmt: skip


def redact(text: str) -> str:
    """`text` without the remembered secrets and without anything shaped like a secret."""
    text = without_secrets(text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts the message, an attached traceback and a stack, before any handler
    formats them."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set: the traceback is formatted here,
            # once, and only its redacted form reaches a handler.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
