"""Where the words of an answer went, in the words we show the user."""

from __future__ import annotations

import ipaddress

ON_THIS_DEVICE = "on this device"


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
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
