"""A file name proposed from a conversation's title, which anyone may have written."""

from __future__ import annotations

import re
import unicodedata

FALLBACK = "conversation"
MAX_CHARS = 60
MAX_BYTES = 120  # well under every file system's 255-byte limit, with room for the suffix
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", "clock$", "conin$", "conout$"]
    + [f"{base}{n}" for base in ("com", "lpt") for n in [*"123456789", "¹", "²", "³"]]
)
_UNSAFE = re.compile(r'[/\\:*?"<>|]+')


def export_file_name(title: str | None, suffix: str) -> str:
    """`title` as a safe file name ending in `.suffix`: no folders, no `..`, no control
    or hidden characters, no name Windows reserves, bounded; else "conversation"."""
    text = unicodedata.normalize("NFC", title or "")
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Zs") else c
        for c in text
        if unicodedata.category(c) not in ("Cf", "Co", "Cs", "Cn")
    )
    text = _UNSAFE.sub("-", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = " ".join(text.split()).strip(" .-")
    text = text[:MAX_CHARS]
    while len(text.encode("utf-8")) > MAX_BYTES:
        text = text[:-1]
    text = text.strip(" .-")
    if not text or text.split(".")[0].strip().lower() in _RESERVED:
        text = FALLBACK
    return f"{text}.{suffix}"
