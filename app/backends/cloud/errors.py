"""Provider failures turned into errors written for the person at the keyboard."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

import openai

from app.core import bounds
from app.core.errors import AuthError, PrivacyBlocked, ProviderError, RateLimited, TandemError
from app.core.providers import ProviderConfig


class Dropped(Exception):
    """The connection closed before the server said the answer was complete."""


def retry_after_s(error: openai.APIStatusError) -> float | None:
    """The wait a `Retry-After` header asks for (seconds or an HTTP date); None when
    there is none or it is not a sane one (`inf`, negative, days away, garbage)."""
    value = error.response.headers.get("retry-after")
    if not value:
        return None
    try:
        return bounds.wait_s(float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return bounds.wait_s(max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()))


def root_cause(error: BaseException) -> BaseException:
    seen = error
    while True:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            return seen
        if isinstance(nxt, PrivacyBlocked):
            return nxt
        seen = nxt


def short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for(
    error: Exception, provider: ProviderConfig, model: str, first_token_s: float
) -> TandemError:
    """What a failed request means for the person, and what to do about it."""
    host = provider.host
    who = provider.display_name
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return AuthError(
            f"{who} refused the API key ({error.status_code}). Set a new key in "
            f"Providers, or run `tandem-cli providers add {provider.name} --key-stdin`."
        )
    if isinstance(error, openai.RateLimitError):
        wait = retry_after_s(error)
        when = f"in {wait:.0f} s" if wait is not None else "in a minute"
        return RateLimited(
            f"{who} is limiting requests (429). Try again {when}, or use another model."
        )
    if isinstance(error, openai.NotFoundError):
        return ProviderError(
            f"{who} does not know the model {model!r} (404). Check its name in the "
            "provider's model list."
        )
    if isinstance(error, openai.APIStatusError):
        return ProviderError(
            f"{who} answered with an error ({error.status_code}): "
            f"{short(error.message)}. Try again in a moment."
        )
    if isinstance(error, openai.APITimeoutError):
        return ProviderError(
            f"{host} did not answer within {first_token_s:g} s. "
            "Try again, or raise the timeout in Providers."
        )
    if isinstance(error, openai.APIConnectionError):
        cause = root_cause(error)
        if isinstance(cause, PrivacyBlocked):
            return cause
        text = str(cause).lower()
        if (
            "name or service not known" in text
            or "nodename nor servname" in text
            or "temporary failure in name resolution" in text
            or "getaddrinfo" in text
        ):
            return ProviderError(
                f"Could not look up {host}: there is no network, or the address is "
                "wrong. Check the connection and the provider's base URL."
            )
        if "refused" in text:
            return ProviderError(f"{host} refused the connection. Is the server running?")
        return ProviderError(f"Could not reach {host} ({short(str(cause))}).")
    if isinstance(error, TandemError):
        return error
    return ProviderError(f"{who}: {short(str(error))}")
