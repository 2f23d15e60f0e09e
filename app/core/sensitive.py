"""Find what a person would not want to send to a cloud host, and redact it."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # what it is, in words: "API key", "e-mail address", ...
    start: int
    end: int


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private key", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
    )),
    ("API key", re.compile(r"\bsk-(?:proj-|ant-(?:api\d+-)?|or-v1-)?[A-Za-z0-9_-]{20,}")),
    ("API key", re.compile(
        r"\b(?:gsk|hf|ghp|gho|ghs|github_pat|xox[abpr]|glpat)[-_][A-Za-z0-9_-]{16,}"
    )),
    ("API key", re.compile(r"\bAIza[0-9A-Za-z_-]{30,}")),
    ("API key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]+@[^\s]+", re.I)),
    ("e-mail address", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("card number", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("phone number", re.compile(r"(?<![\w+])\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}\b")),
    ("phone number", re.compile(r"(?<![\w+])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")),
]  # fmt: skip


def scan(text: str) -> list[Finding]:
    """Sensitive spans in `text`, in order, without overlaps (the first kind listed wins)."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            if kind == "card number":
                digits = re.sub(r"\D", "", match.group())
                if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
                    taken.append((start, end))  # a long number, but not a card
                    continue
            if kind == "phone number" and len(re.sub(r"\D", "", match.group())) < 9:
                continue
            found.append(Finding(kind, start, end))
            taken.append((start, end))
    return sorted(found, key=lambda f: f.start)


def redact(text: str, findings: list[Finding] | None = None) -> str:
    findings = scan(text) if findings is None else findings
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        text = text[: finding.start] + f"[{finding.kind} removed]" + text[finding.end :]
    return text


def describe(findings: list[Finding]) -> str:
    """`2 e-mail addresses and an API key`."""
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    parts = [f"{n} {kind}{'es' if kind.endswith('s') and n > 1 else 's' if n > 1 else ''}"
             if n > 1 else f"a{'n' if kind[0] in 'aeiouAEIOU' else ''} {kind}"
             for kind, n in counts.items()]  # fmt: skip
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
