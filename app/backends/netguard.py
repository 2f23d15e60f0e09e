"""Private mode's backstop: a process-wide guard on every socket.

An audit hook (PEP 578) sees each name lookup, connect and datagram before the
operating system does; in private mode it refuses anything that is not loopback
(or a host the user trusts) by raising PrivacyBlocked, so no packet leaves. The
hook cannot be removed once installed; turning private mode off only relaxes it.

Names go through the guard's resolver too. `localhost` and every name in the
`.localhost` zone are answered here with the loopback addresses (RFC 6761), never sent
to the system resolver, which could ask the network's DNS server: a provider on
`models.localhost` counts as on this device because it can only ever be reached on it.
Whether an address is loopback is then decided by the address connected to.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import threading
from collections.abc import Iterable
from typing import Any

from app.core.errors import PrivacyBlocked
from app.core.privacy import is_localhost_name, is_loopback_host

logger = logging.getLogger(__name__)

_LOOKUPS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"}
_LOOPBACK_ADDRESSES = (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6))
_ADDRESSED = {"socket.connect", "socket.sendto", "socket.sendmsg"}


class _Guard:
    def __init__(self) -> None:
        self.installed = False
        self.private = False
        self.trusted: frozenset[str] = frozenset()
        self.trusted_ips: set[str] = set()
        self.blocked: list[str] = []
        self.local = threading.local()


_guard = _Guard()


def install(private: bool, trusted_hosts: Iterable[str] = ()) -> None:
    """Install the guard (once per process) and set its mode."""
    install_resolver()
    if not _guard.installed:
        sys.addaudithook(_hook)
        _guard.installed = True
    set_private(private, trusted_hosts)


# ----- the resolver

_system_getaddrinfo = socket.getaddrinfo
_system_gethostbyname = socket.gethostbyname
_system_gethostbyname_ex = socket.gethostbyname_ex
_resolver_lock = threading.Lock()


def getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[Any]:
    """socket.getaddrinfo, except that localhost names get the loopback addresses
    without any lookup (the system resolver is asked only to parse the port)."""
    if not is_localhost_name(host):
        return _system_getaddrinfo(host, port, family, type, proto, flags)
    found: list[Any] = []
    error: OSError | None = None
    for address, address_family in _LOOPBACK_ADDRESSES:
        if family not in (0, socket.AF_UNSPEC, address_family):
            continue
        try:
            found += _system_getaddrinfo(
                address, port, address_family, type, proto, flags | socket.AI_NUMERICHOST
            )
        except OSError as exc:  # no IPv6 on this machine, say: the other family may do
            error = exc
    if not found:
        raise error or socket.gaierror(socket.EAI_NONAME, "no loopback address for that family")
    return found


def gethostbyname(host: Any) -> str:
    return "127.0.0.1" if is_localhost_name(host) else _system_gethostbyname(host)


def gethostbyname_ex(host: Any) -> tuple[str, list[str], list[str]]:
    if is_localhost_name(host):
        return str(host), [], ["127.0.0.1"]
    return _system_gethostbyname_ex(host)


def install_resolver() -> None:
    """Make every name lookup in this process go through the guard's resolver (once)."""
    with _resolver_lock:
        if socket.getaddrinfo is not getaddrinfo:
            socket.getaddrinfo = getaddrinfo
            socket.gethostbyname = gethostbyname
            socket.gethostbyname_ex = gethostbyname_ex


def set_private(private: bool, trusted_hosts: Iterable[str] = ()) -> None:
    _guard.private = private
    _guard.trusted = frozenset(h.lower().strip("[]") for h in trusted_hosts if h)
    _guard.trusted_ips = set()


def is_private() -> bool:
    return _guard.installed and _guard.private


def blocked_attempts() -> list[str]:
    """What the guard refused in this process, most recent last."""
    return list(_guard.blocked)


def _refuse(target: str) -> None:
    _guard.blocked.append(target)
    logger.warning("private mode refused a connection to %s", target)
    raise PrivacyBlocked(
        f"Private mode blocked a connection to {target}: nothing leaves this device "
        "while it is on. Turn private mode off, or mark the host as trusted, to use it."
    )


def _host_allowed(host: str) -> bool:
    name = host.lower().strip("[]").rstrip(".")
    return is_loopback_host(name) or name in _guard.trusted


def _lookup_allowed(host: str) -> bool:
    """A lookup the system resolver may see: a `.localhost` name reaching it went
    around the guard's resolver and would be asked of the network's DNS server."""
    if is_localhost_name(host) and host.lower().rstrip(".") != "localhost":
        return False
    return _host_allowed(host)


def _ip_allowed(ip: str) -> bool:
    if is_loopback_host(ip) or ip in _guard.trusted:
        return True
    if not _guard.trusted:
        return False
    if not _guard.trusted_ips:
        _guard.local.inside = True  # our own lookups of trusted names pass the hook
        try:
            for host in _guard.trusted:
                try:
                    for info in socket.getaddrinfo(host, None):
                        _guard.trusted_ips.add(str(info[4][0]))
                except OSError:
                    continue
        finally:
            _guard.local.inside = False
    return ip in _guard.trusted_ips


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _guard.private or getattr(_guard.local, "inside", False):
        return
    if event in _LOOKUPS:
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host is None or _lookup_allowed(str(host)):
            return
        _refuse(str(host))
    elif event in _ADDRESSED:
        sock, address = args[0], args[-1]
        family = getattr(sock, "family", None)
        if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            return
        ip = str(address[0])
        try:
            ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            if _host_allowed(ip):
                return
            _refuse(ip)
        if not _ip_allowed(ip):
            _refuse(ip)


class _Escaped(Exception):
    """Raised by the self-test's tripwire: the attempt got past the guard."""


_tripwire = threading.local()
_tripwire_installed = False

# Addresses the self-test tries; the tripwire stops each one before the OS sees it.
_SELF_TEST_TARGETS: tuple[tuple[str, Any], ...] = (
    ("lookup of example.com", lambda: socket.getaddrinfo("example.com", 443)),
    ("connect to 203.0.113.7", lambda: socket.create_connection(("203.0.113.7", 443), 1)),
    ("connect to 2001:db8::1", lambda: socket.create_connection(("2001:db8::1", 443), 1)),
    ("datagram to 198.51.100.1", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
     .sendto(b"x", ("198.51.100.1", 53))),
)  # fmt: skip


def _tripwire_hook(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_tripwire, "armed", False) and (event in _LOOKUPS or event in _ADDRESSED):
        raise _Escaped(event)


def self_test() -> dict[str, str]:
    """Try to reach the outside in several ways and report what stopped each attempt.

    `guard` means private mode refused it; `escaped` means it got past the guard (a
    second hook, installed after the guard, stops it there, so nothing is ever sent).
    """
    global _tripwire_installed
    if not _tripwire_installed:
        sys.addaudithook(_tripwire_hook)
        _tripwire_installed = True
    results: dict[str, str] = {}
    blocked_before = len(_guard.blocked)
    _tripwire.armed = True
    try:
        for name, attempt in _SELF_TEST_TARGETS:
            try:
                attempt()
                results[name] = "escaped"
            except PrivacyBlocked:
                results[name] = "guard"
            except _Escaped:
                results[name] = "escaped"
            except OSError as exc:
                results[name] = f"error: {exc}"
    finally:
        _tripwire.armed = False
        del _guard.blocked[blocked_before:]
    return results
