"""Where the words of an answer went, in the words we show the user."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

ON_THIS_DEVICE = "on this device"


def is_localhost_name(host: object) -> bool:
    """`localhost` or a name in the `.localhost` zone (any case, a trailing dot or not).

    Such names are loopback only because Tandem's resolver (backends/netguard) answers
    them with the loopback addresses itself and never asks a DNS server.
    """
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if is_localhost_name(name):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def privacy_label(host: str | None, *, trusted: bool = False) -> str:
    """`on this device` when nothing left the machine, else `sent to HOST`."""
    if host is None or is_loopback_host(host):
        return ON_THIS_DEVICE
    return f"sent to {host} (trusted)" if trusted else f"sent to {host}"


@dataclass(frozen=True, slots=True)
class SentPassage:
    """A passage of a document that went out with a request: which, and how much."""

    file: str  # the file's name
    page: int | None
    bytes: int


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request a backend made over HTTP: a line of the privacy ledger."""

    time: str  # ISO 8601, UTC
    provider: str
    host: str
    model: str
    bytes_sent: int
    bytes_received: int
    outcome: str  # "ok", "cancelled", or the HTTP status / error kind
    left_device: bool
    passages: tuple[SentPassage, ...] = ()  # document passages the request carried
