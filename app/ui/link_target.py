"""Where a link really goes: the host a click reaches, shown apart from the address.

Pure Python (no Qt), so the rule is tested on its own. The host is worked out the way a
browser does it (WHATWG URL rules for http and https: tabs and newlines dropped,
backslashes read as slashes, a user name before "@" skipped, percent-escapes decoded,
IDNA mapping, numeric IPv4 forms), and shown in the form the network sees: ASCII, with
`xn--` labels and, beside them, the letters they stand for. Characters that print as
nothing or turn text around are shown as their code, [U+202E].
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

OPENABLE_SCHEMES = ("http", "https", "mailto")
# Printing as nothing (or as a space) while still being part of the address.
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0x180B, 0x1810))
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)


def _hidden(char: str) -> bool:
    if char in _INVISIBLE:
        return True
    category = unicodedata.category(char)
    # Cf: format (bidi controls, zero-width); Cc: controls; Z*: spaces other than " ".
    return category in ("Cf", "Cc", "Zl", "Zp") or (category == "Zs" and char != " ")


def visible(text: str) -> str:
    """`text` with every hidden or text-turning character written as [U+XXXX]."""
    return "".join(f"[U+{ord(c):04X}]" if _hidden(c) else c for c in text)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    scheme: str
    host: str  # what the network is asked for (ASCII); "" when there is none or it is bad
    shown_host: str  # the host to show: `host`, with its letters beside an xn-- form
    address: str  # the whole address, hidden characters made visible
    warnings: tuple[str, ...]
    mailbox: str = ""  # for mailto: the whole address the mail goes to

    @property
    def openable(self) -> bool:
        return self.scheme in OPENABLE_SCHEMES and bool(self.host)


def _ipv4(host: str) -> str | None:
    """The dotted form of a host a browser reads as an IPv4 address (2130706433,
    0x7f.1, 0177.0.0.1), or None when it is a name."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part[1:], 8))
            else:
                numbers.append(int(part, 10) if part.isascii() and part.isdigit() else -1)
        except ValueError:
            return None
        if numbers[-1] < 0:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(head))
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


def _letters(ascii_host: str) -> str:
    """The letters an ASCII host stands for (xn-- labels decoded as they are, so a label
    that hides a character shows it); "" when a label is not valid punycode."""
    labels = []
    for label in ascii_host.split("."):
        if label.startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode")
            except UnicodeError:
                return ""
        labels.append(label)
    return ".".join(labels)


def _ascii_host(raw: str) -> tuple[str, str, list[str]]:
    """(ASCII host, host to show, warnings) for the host part of an address."""
    warnings: list[str] = []
    decoded = unquote(raw, errors="strict") if "%" in raw else raw
    if decoded.startswith("[") and decoded.endswith("]"):
        return decoded.lower(), decoded.lower(), warnings
    if any(_hidden(c) for c in decoded):
        warnings.append(f"The host name holds hidden characters: {visible(decoded)}.")
    try:
        ascii_host = decoded.encode("idna").decode("ascii").lower()
    except UnicodeError:
        warnings.append(
            f"“{visible(decoded)}” is not a host name a browser can reach; it is not opened."
        )
        return "", visible(decoded), warnings
    if not ascii_host or any(c in ascii_host for c in " <>^|\\/@:%#?[]"):
        warnings.append(f"“{visible(decoded)}” is not a host name; it is not opened.")
        return "", visible(decoded), warnings
    number = _ipv4(ascii_host)
    if number is not None:
        if number != ascii_host:
            warnings.append(f"“{ascii_host}” is the address {number} written another way.")
        return number, number, warnings
    shown = ascii_host
    if any(label.startswith("xn--") for label in ascii_host.split(".")):
        letters = _letters(ascii_host)
        if letters and letters != ascii_host:
            shown = f"{ascii_host} (written {visible(letters)})"
            warnings.append(
                "The host name uses letters beyond a–z, which can look like others; "
                f"the network sees it as {ascii_host}."
            )
    return ascii_host, shown, warnings


def link_target(url: str) -> LinkTarget:
    """Where `url` goes, as a browser would read it."""
    address = visible(url)
    warnings: list[str] = []
    if address != url:
        warnings.append("The address holds hidden characters, shown here as [U+…].")
    text = url.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12"
                     "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")  # fmt: skip
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in OPENABLE_SCHEMES:
        return LinkTarget(scheme if colon else "", "", "", address, tuple(warnings))
    try:
        if scheme == "mailto":
            mailbox = unquote(rest.split("?", 1)[0], errors="strict")
            user, at, domain = mailbox.rpartition("@")
            host, shown, more = _ascii_host(domain) if at else ("", "", [])
            return LinkTarget(scheme, host, shown, address, tuple(warnings + more),
                              visible(f"{user}@{shown}") if at else "")  # fmt: skip
        rest = rest.replace("\\", "/").lstrip("/")
        authority = rest
        for end in "/?#":
            authority = authority.split(end, 1)[0]
        userinfo, at, hostport = authority.rpartition("@")
        if at:
            warnings.append(
                f"The part before “@” (“{visible(unquote(userinfo))}”) is a user name sent to "
                "the host, not the place the link goes to."
            )
        host_part = hostport
        if hostport.startswith("["):
            host_part = hostport.split("]", 1)[0] + "]"
        elif ":" in hostport:
            host_part, _, port = hostport.rpartition(":")
            if port and not port.isdigit():
                host_part = hostport
        host, shown, more = _ascii_host(host_part)
    except UnicodeError:
        host, shown, more = "", "", ["The address is not valid text; it is not opened."]
    return LinkTarget(scheme, host, shown, address, tuple(warnings + more))


def confirmation(target: LinkTarget) -> str:
    """The question before a link opens: the host on its own line, then the address."""
    where = (
        f"This e-mail goes to:\n\n    {target.mailbox}"
        if target.scheme == "mailto"
        else f"This link goes to:\n\n    {target.shown_host}"
    )
    notes = "".join(f"\n\n{w}" for w in target.warnings)
    return f"{where}\n\nFull address:\n{target.address}{notes}\n\nOpen it in your browser?"
