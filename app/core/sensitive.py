"""Find what a person would not want to send to a cloud host, and redact it."""

from __future__ import annotations

import bisect
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


# Every pattern runs in time linear in the text: a token starts only where the run of
# its characters starts (a look-behind, not `\b`, which holds inside `a.a.a…` at every
# letter), and every repeat that could be retried from many places is bounded.
_TOKEN = r"(?<![A-Za-z0-9_-])"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("API key", re.compile(_TOKEN + r"sk-(?:proj-|ant-(?:api\d+-)?|or-v1-)?[A-Za-z0-9_-]{20,}")),
    ("API key", re.compile(
        _TOKEN + r"(?:gsk|hf|ghp|gho|ghs|github_pat|xox[abpr]|glpat)[-_][A-Za-z0-9_-]{16,}"
    )),
    ("API key", re.compile(_TOKEN + r"AIza[0-9A-Za-z_-]{30,}")),
    ("API key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("token", re.compile(
        _TOKEN + r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
    )),
    ("password in a URL", re.compile(
        r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}://[^\s:/@]{1,256}:[^\s@/]{1,256}@\S{1,2048}",
        re.I,
    )),
    ("e-mail address", re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}\.[A-Za-z]{2,63}\b"
    )),
    ("card number", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("phone number", re.compile(r"(?<![\w+])\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}\b")),
    ("phone number", re.compile(r"(?<![\w+])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")),
]  # fmt: skip

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z ]{0,64}PRIVATE KEY-----")
_KEY_END = re.compile(r"-----END [A-Z ]{0,64}PRIVATE KEY-----")


def _private_keys(text: str) -> list[tuple[int, int]]:
    """Each BEGIN … PRIVATE KEY block through the first END after it, in one pass."""
    ends = [m.end() for m in _KEY_END.finditer(text)]
    starts = [m.start() for m in _KEY_BEGIN.finditer(text)]
    spans: list[tuple[int, int]] = []
    for start in starts:
        if spans and start < spans[-1][1]:
            continue  # inside the block before
        i = bisect.bisect_right(ends, start)
        if i < len(ends):
            spans.append((start, ends[i]))
    return spans


def _accepted(kind: str, text: str, start: int, end: int) -> bool | None:
    """True to report the match, False to skip it, None to skip it and keep its place."""
    if kind == "card number":
        digits = re.sub(r"\D", "", text[start:end])
        if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
            return None  # a long number, but not a card
    # A phone number has at least nine digits.
    return kind != "phone number" or len(re.sub(r"\D", "", text[start:end])) >= 9


def _merge(taken: list[tuple[int, int]], new: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted(taken + new)  # both sorted and disjoint: Timsort merges them in linear time


def scan(text: str) -> list[Finding]:
    """Sensitive spans in `text`, in order, without overlaps (the first kind listed wins).

    Linear in the length of `text`, whatever it holds."""
    found = [Finding("private key", start, end) for start, end in _private_keys(text)]
    taken = [(f.start, f.end) for f in found]
    for kind, pattern in _PATTERNS:
        new: list[tuple[int, int]] = []
        i = 0  # the first taken span that may overlap what comes next (matches come in order)
        for match in pattern.finditer(text):
            start, end = match.span()
            while i < len(taken) and taken[i][1] <= start:
                i += 1
            if i < len(taken) and taken[i][0] < end:
                continue  # overlaps what an earlier kind found
            verdict = _accepted(kind, text, start, end)
            if verdict is False:
                continue
            new.append((start, end))
            if verdict:
                found.append(Finding(kind, start, end))
        taken = _merge(taken, new)
    return sorted(found, key=lambda f: f.start)


def redact(text: str, findings: list[Finding] | None = None) -> str:
    findings = scan(text) if findings is None else findings
    parts: list[str] = []
    at = 0
    for finding in sorted(findings, key=lambda f: f.start):
        parts += [text[at : finding.start], f"[{finding.kind} removed]"]
        at = finding.end
    parts.append(text[at:])
    return "".join(parts)


def describe(findings: list[Finding]) -> str:
    """`2 e-mail addresses and an API key`."""
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    parts = [f"{n} {kind}{'es' if kind.endswith('s') and n > 1 else 's' if n > 1 else ''}"
             if n > 1 else f"a{'n' if kind[0] in 'aeiouAEIOU' else ''} {kind}"
             for kind, n in counts.items()]  # fmt: skip
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
