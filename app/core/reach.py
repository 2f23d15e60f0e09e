"""Whether Tandem may connect to a host: the one rule every connection goes through.

Plain http is refused for anything that is not loopback (messages and keys would cross
the network unencrypted); in private mode only loopback and the hosts the person trusts
may be reached. The backends, the downloads and fetch-default enforce it where they
connect; the front ends only ask it, to grey out what would be refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlparse

from app.core.errors import PrivacyBlocked, ProviderError, TandemError
from app.core.privacy import is_loopback_host

# The hosts the model downloads and fetch-default connect to. A download is judged by
# the host the catalog names, also when an endpoint override points at a mirror.
MODEL_HUB_URL = "https://huggingface.co"
PACKAGE_INDEX_URL = "https://pypi.org/simple"


class Refusal(StrEnum):
    NOT_A_URL = "not_a_url"
    PLAIN_HTTP = "plain_http"
    PRIVATE_MODE = "private_mode"


@dataclass(frozen=True, slots=True)
class Reach:
    """The answer for one address: allowed, or refused with a reason for the person."""

    host: str
    refusal: Refusal | None = None
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    def error(self) -> TandemError:
        """The error to raise or report when refused (PrivacyBlocked for private mode)."""
        if self.refusal is Refusal.PRIVATE_MODE:
            return PrivacyBlocked(self.reason)
        return ProviderError(self.reason)

    def enforce(self) -> None:
        if not self.allowed:
            raise self.error()


def _normal(host: str) -> str:
    return host.lower().strip("[]").rstrip(".")


def may_reach(url: str, *, private_mode: bool, trusted_hosts: Iterable[str] = ()) -> Reach:
    """Whether `url` (an http(s) address) may be connected to."""
    parsed = urlparse(url.strip())
    host = parsed.hostname or ""
    if parsed.scheme not in ("http", "https") or not host:
        return Reach(
            host,
            Refusal.NOT_A_URL,
            f"{url!r} is not a web address. Give the provider's base URL, for example "
            "https://api.openai.com/v1.",
        )
    loopback = is_loopback_host(host)
    if parsed.scheme == "http" and not loopback:
        return Reach(
            host,
            Refusal.PLAIN_HTTP,
            f"Tandem refuses plain http to {host}: your messages and API key would cross "
            "the network unencrypted. Use an https:// address.",
        )
    if private_mode and not loopback and _normal(host) not in {_normal(h) for h in trusted_hosts}:
        return Reach(
            host,
            Refusal.PRIVATE_MODE,
            f"Private mode is on, so nothing is sent to {host}. Turn private mode off to use "
            "it, or mark the host as trusted.",
        )
    return Reach(host)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Private mode and the trusted hosts, as the workspace hands them to whoever connects."""

    private_mode: bool = True
    trusted_hosts: frozenset[str] = frozenset()

    def may_reach(self, url: str) -> Reach:
        return may_reach(url, private_mode=self.private_mode, trusted_hosts=self.trusted_hosts)
