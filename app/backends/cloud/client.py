"""Cloud models through any OpenAI-compatible endpoint, on the `openai` client.

Timeouts a chat user can live with (connect ~5 s, first token ~60 s), retries that
show themselves (429 and 5xx, twice), Stop that works at any moment (the response
or the whole client is closed under the waiting read), and errors written for a
person. Every HTTP request is reported to `on_request` for the privacy ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import openai

from app.core.errors import (
    AuthError,
    PrivacyBlocked,
    ProviderError,
    RateLimited,
    TandemError,
)
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Retrying, Started
from app.core.messages import ChatMessage, GenerationParams, Role
from app.core.pricing import PriceTable
from app.core.privacy import RequestRecord, privacy_label
from app.core.providers import ProviderConfig
from app.core.reach import Reach, may_reach
from app.core.stats import AnswerStats, FinishReason

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
_LONGEST_RETRY_WAIT_S = 20.0

_AGAIN_WITHOUT_USAGE = "again without stream_options"
_Outcome = tuple[Exception, float | None] | str | None

# Providers that rejected stream_options, by base URL; asked once per run.
_no_usage_option: set[str] = set()


@dataclass(frozen=True, slots=True)
class CloudTimeouts:
    connect_s: float = 5.0
    first_token_s: float = 60.0


def estimate_tokens(text: str) -> int:
    """About four characters a token, the usual rule for English with BPE tokenizers."""
    return max(1, round(len(text) / 4)) if text else 0


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _retry_after_s(error: openai.APIStatusError) -> float | None:
    value = error.response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _root_cause(error: BaseException) -> BaseException:
    seen = error
    while True:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            return seen
        if isinstance(nxt, PrivacyBlocked):
            return nxt
        seen = nxt


class CloudBackend:
    """One provider's model as a Backend."""

    def __init__(
        self,
        provider: ProviderConfig,
        model: str,
        api_key: str | None,
        prices: PriceTable,
        *,
        private_mode: bool = False,
        timeouts: CloudTimeouts | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.name = f"{provider.name}:{model}"
        self.leaves_device = not provider.on_device
        self._api_key = api_key
        self._prices = prices
        self.private_mode = private_mode
        self._timeouts = timeouts or CloudTimeouts()
        self._on_request = on_request

    # ----- the client

    def _reach(self) -> Reach:
        trusted = (self.provider.host,) if self.provider.trusted else ()
        return may_reach(
            self.provider.base_url, private_mode=self.private_mode, trusted_hosts=trusted
        )

    def _client(self) -> openai.OpenAI:
        timeout = openai.Timeout(
            self._timeouts.first_token_s,
            connect=self._timeouts.connect_s,
        )
        return openai.OpenAI(
            base_url=self.provider.base_url,
            api_key=self._api_key or "not-needed",
            max_retries=0,
            timeout=timeout,
        )

    def _record(self, response: Any, outcome: str) -> None:
        if self._on_request is None:
            return
        sent = received = 0
        if response is not None:
            try:
                sent = len(response.request.content or b"")
            except Exception:  # noqa: BLE001 - a streamed body has no length to read
                sent = 0
            received = int(getattr(response, "num_bytes_downloaded", 0) or 0)
        self._on_request(
            RequestRecord(
                time=_now_iso(),
                provider=self.provider.name,
                host=self.provider.host,
                model=self.model,
                bytes_sent=sent,
                bytes_received=received,
                outcome=outcome,
                left_device=not self.provider.on_device,
            )
        )

    def _error_for(self, error: Exception) -> TandemError:
        host = self.provider.host
        who = self.provider.display_name
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return AuthError(
                f"{who} refused the API key ({error.status_code}). Set a new key in "
                f"Providers, or run `tandem-cli providers add {self.provider.name} "
                "--key-stdin`."
            )
        if isinstance(error, openai.RateLimitError):
            wait = _retry_after_s(error)
            when = f"in {wait:.0f} s" if wait is not None else "in a minute"
            return RateLimited(
                f"{who} is limiting requests (429). Try again {when}, or use another model."
            )
        if isinstance(error, openai.NotFoundError):
            return ProviderError(
                f"{who} does not know the model {self.model!r} (404). Check its name in the "
                "provider's model list."
            )
        if isinstance(error, openai.APIStatusError):
            return ProviderError(
                f"{who} answered with an error ({error.status_code}): "
                f"{_short(error.message)}. Try again in a moment."
            )
        if isinstance(error, openai.APITimeoutError):
            return ProviderError(
                f"{host} did not answer within {self._timeouts.first_token_s:g} s. "
                "Try again, or raise the timeout in Providers."
            )
        if isinstance(error, openai.APIConnectionError):
            cause = _root_cause(error)
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
            return ProviderError(f"Could not reach {host} ({_short(str(cause))}).")
        if isinstance(error, TandemError):
            return error
        return ProviderError(f"{who}: {_short(str(error))}")

    # ----- streaming

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[Event]:
        reach = self._reach()
        if not reach.allowed:
            yield Failed(reach.error())
            return
        wire: list[dict[str, str]] = [m.to_dict() for m in messages]
        if params.system_prompt.strip() and not any(m.role is Role.SYSTEM for m in messages):
            wire.insert(0, {"role": "system", "content": params.system_prompt})
        attempt = 1
        retries = 0
        while True:
            outcome = yield from self._attempt(wire, params, cancel, retries)
            if outcome is None:
                return
            if isinstance(outcome, str):  # asked again without the usage option
                continue
            error, wait_s = outcome
            if attempt >= MAX_ATTEMPTS or wait_s is None or wait_s > _LONGEST_RETRY_WAIT_S:
                yield Failed(self._error_for(error))
                return
            attempt += 1
            retries += 1
            yield Retrying(attempt, MAX_ATTEMPTS, wait_s, self._error_for(error).message)
            if cancel.wait(wait_s):
                yield Finished(
                    self._stats(wire, "", None, None, None, FinishReason.CANCELLED, retries)
                )
                return

    def _attempt(
        self,
        wire: list[dict[str, str]],
        params: GenerationParams,
        cancel: CancelToken,
        retries: int,
    ) -> Generator[Event, None, _Outcome]:
        """One HTTP request. Returns None when the answer ended (well or not), or
        (error, seconds to wait) when another attempt may help.

        The request runs in a worker thread feeding a queue, so Stop returns at once
        even while the socket waits; the worker is told to stop and its client closed.
        """
        base = self.provider.base_url
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": wire,
            "stream": True,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if base not in _no_usage_option:
            kwargs["stream_options"] = {"include_usage": True}
        client = self._client()
        items: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                stream = client.chat.completions.create(**kwargs)
                items.put(("open", stream))
                for chunk in stream:
                    if stop.is_set():
                        break
                    items.put(("chunk", chunk))
                items.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                items.put(("error", exc))
            finally:
                client.close()

        threading.Thread(target=produce, name="tandem-cloud", daemon=True).start()
        requested_at = time.perf_counter()
        first_at = last_at = None
        text: list[str] = []
        usage: Any = None
        finish = FinishReason.STOP
        stream: Any = None
        ended = False
        while True:
            try:
                kind, value = items.get(timeout=0.05)
            except queue.Empty:
                kind, value = "idle", None
            if cancel.cancelled and kind in ("idle", "chunk"):
                stop.set()
                if stream is not None:
                    try:
                        stream.response.close()
                    except Exception:  # noqa: BLE001 - closing is best effort
                        pass
                self._record(stream.response if stream is not None else None, "cancelled")
                finish = FinishReason.CANCELLED
                break
            if kind == "idle":
                continue
            if kind == "open":
                stream = value
                yield Started(model=self.name, backend="cloud")
            elif kind == "chunk":
                if value.usage is not None:
                    usage = value.usage
                for choice in value.choices:
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        now = time.perf_counter()
                        if first_at is None:
                            first_at = now
                        last_at = now
                        text.append(piece)
                        yield Delta(piece)
                    if choice.finish_reason is not None:
                        ended = True
                    if choice.finish_reason == "length":
                        finish = FinishReason.LENGTH
            elif kind == "end":
                if not ended:  # the connection closed before the server said it was done
                    value = _Dropped("the stream ended without a finish")
                else:
                    self._record(stream.response, "ok")
                    break
            if kind == "error" or (kind == "end" and not ended):
                outcome = self._on_error(value, stream, kwargs, retries)
                if isinstance(outcome, Failed):
                    yield outcome
                    return None
                return outcome
        ttft = None if first_at is None else first_at - requested_at
        span = None if first_at is None or last_at is None else last_at - first_at
        yield Finished(self._stats(wire, "".join(text), ttft, span, usage, finish, retries))
        return None

    def _on_error(
        self, error: BaseException, stream: Any, kwargs: dict[str, Any], retries: int
    ) -> Failed | _Outcome:
        """What to do about a failed request: give up (Failed) or try again."""
        backoff = float(2**retries)
        if stream is not None:  # the answer had begun: keep it, never resend silently
            self._record(stream.response, "dropped")
            logger.warning("stream from %s dropped: %r", self.provider.host, error)
            return Failed(
                ProviderError(
                    f"The connection to {self.provider.host} dropped before the answer was "
                    "complete. The partial answer is kept; press Retry to ask again."
                )
            )
        if isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
            self._record(error.response, str(error.status_code))
            rejects_option = error.status_code == 422 or "stream_options" in str(error).lower()
            if "stream_options" in kwargs and rejects_option:
                _no_usage_option.add(self.provider.base_url)
                logger.info("%s rejects stream_options; asking without it", self.provider.host)
                return _AGAIN_WITHOUT_USAGE
            return Failed(self._error_for(error))
        if isinstance(error, openai.APIStatusError):
            self._record(error.response, str(error.status_code))
            if isinstance(error, openai.RateLimitError):
                wait = _retry_after_s(error)
                return (error, backoff if wait is None else wait)
            if error.status_code >= 500:
                return (error, backoff)
            return Failed(self._error_for(error))
        if isinstance(error, openai.APITimeoutError | openai.APIConnectionError):
            cause = _root_cause(error)
            if isinstance(cause, PrivacyBlocked):
                return Failed(cause)
            self._record(None, type(error).__name__)
            return (error, backoff)
        if isinstance(error, Exception):
            return Failed(self._error_for(error))
        raise error

    def _stats(
        self,
        wire: list[dict[str, str]],
        text: str,
        ttft: float | None,
        span: float | None,
        usage: Any,
        finish: FinishReason,
        retries: int,
    ) -> AnswerStats:
        if usage is not None and getattr(usage, "completion_tokens", None) is not None:
            prompt_tokens = int(usage.prompt_tokens or 0)
            completion_tokens = int(usage.completion_tokens or 0)
            estimated = False
        else:
            prompt_tokens = sum(estimate_tokens(m["content"]) + 4 for m in wire)
            completion_tokens = estimate_tokens(text)
            estimated = True
        speed = (completion_tokens - 1) / span if span and completion_tokens > 1 else 0.0
        prompt_speed = prompt_tokens / ttft if ttft else 0.0
        price_key = self.provider.preset if self.provider.preset != "custom" else self.provider.name
        return AnswerStats(
            model=self.name,
            backend="cloud",
            host=self.provider.host,
            privacy=privacy_label(self.provider.host, trusted=self.provider.trusted),
            finish_reason=finish,
            time_to_first_token_s=ttft,
            tokens_per_s=speed,
            prompt_tokens_per_s=prompt_speed,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            estimated=estimated,
            cost_usd=self._prices.cost_usd(
                price_key, self.model, prompt_tokens, completion_tokens
            ),  # fmt: skip
            retries=retries,
        )

    def run_info(self, params: GenerationParams) -> dict[str, object]:
        from app.backends.base import hardware_summary, sampling

        return {
            "provider": self.provider.name,
            "base_url": self.provider.base_url,
            "model": self.model,
            "sampling": sampling(params),
            "hardware": hardware_summary(),
        }

    def list_models(self) -> list[str]:
        """The provider's /models, where it has one."""
        self._reach().enforce()
        client = self._client()
        try:
            raw = client.models.with_raw_response.list()
            self._record(raw.http_response, "model list")
            return sorted(m.id for m in raw.parse())
        except openai.APIStatusError as exc:
            self._record(exc.response, str(exc.status_code))
            raise self._error_for(exc) from None
        except openai.APIError as exc:
            self._record(None, type(exc).__name__)
            raise self._error_for(exc) from None
        finally:
            client.close()


class _Dropped(Exception):
    pass


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
