"""Cloud models through any OpenAI-compatible endpoint, on the `openai` client.

Timeouts a chat user can live with (connect ~5 s, first token ~60 s), retries that
show themselves (429 and 5xx, twice), Stop that works at any moment (the response
or the whole client is closed under the waiting read), and errors written for a
person. Every HTTP request is reported as a `Requested` event, which the service
records in the privacy ledger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import openai

from app.backends import netguard
from app.backends.cloud.errors import Dropped, error_for, retry_after_s, root_cause, short
from app.backends.cloud.stream import (
    Answered,
    AskWithoutUsage,
    Attempt,
    Broke,
    Chunk,
    Ended,
    Opened,
    Producer,
    TryAgain,
    choice_parts,
    reported_reasoning_tokens,
)
from app.core import bounds
from app.core.errors import PrivacyBlocked, ProviderError, TandemError
from app.core.events import (
    CancelToken,
    Delta,
    Event,
    Failed,
    Finished,
    Requested,
    Retrying,
    Started,
)
from app.core.messages import ChatMessage, GenerationParams, Role
from app.core.pricing import PriceTable, generated_tokens
from app.core.privacy import privacy_label
from app.core.providers import ProviderConfig
from app.core.reach import Reach, may_reach
from app.core.reasoning import DeltaKind, Piece, StreamClock, ThinkSplitter
from app.core.redact import SecretStream, remember_secret, without_secrets
from app.core.stats import AnswerStats, FinishReason

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
_LONGEST_RETRY_WAIT_S = 20.0
# A provider that streams on past max_tokens is cut: each chunk of text holds at least
# one token (a couple spare, for a token split across chunks), no token is longer than
# _MOST_CHARS_PER_TOKEN characters, and chunks without text (reasoning, role, usage) are
# bounded too.
_SPARE_PIECES = 2
_MOST_CHARS_PER_TOKEN = 64
_MOST_CHUNKS_PER_TOKEN = 4
_SPARE_CHUNKS = 64

# Providers that rejected stream_options, by base URL; asked once per run.
_no_usage_option: set[str] = set()


@dataclass(frozen=True, slots=True)
class CloudTimeouts:
    connect_s: float = 5.0
    first_token_s: float = 60.0


@dataclass(frozen=True, slots=True)
class ModelListing:
    """A provider's models, the request that asked for them, and the error if it failed."""

    names: list[str]
    requested: Requested | None
    error: TandemError | None = None


def estimate_tokens(text: str) -> int:
    """About four characters a token, the usual rule for English with BPE tokenizers."""
    return max(1, round(len(text) / 4)) if text else 0


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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
    ) -> None:
        self.provider = provider
        self.model = model
        self.name = f"{provider.name}:{model}"
        self.leaves_device = not provider.on_device
        self._api_key = api_key
        remember_secret(api_key)  # whatever the provider echoes of it is removed
        self._prices = prices
        self.private_mode = private_mode
        self._timeouts = timeouts or CloudTimeouts()

    # ----- the client

    def _reach(self) -> Reach:
        trusted = (self.provider.host,) if self.provider.trusted else ()
        return may_reach(
            self.provider.base_url, private_mode=self.private_mode, trusted_hosts=trusted
        )

    def _client(self) -> openai.OpenAI:
        netguard.install_resolver()  # a .localhost name is answered here, never by DNS
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

    def _requested(self, response: Any, outcome: str) -> Requested:
        """What one HTTP request sent and received, for the privacy ledger."""
        sent = received = 0
        if response is not None:
            try:
                sent = len(response.request.content or b"")
            except Exception:  # noqa: BLE001 - a streamed body has no length to read
                sent = 0
            received = int(getattr(response, "num_bytes_downloaded", 0) or 0)
        return Requested(
            time=_now_iso(),
            provider=self.provider.name,
            host=self.provider.host,
            model=self.model,
            bytes_sent=sent,
            bytes_received=received,
            outcome=outcome,
            left_device=not self.provider.on_device,
        )

    def _error_for(self, error: Exception) -> TandemError:
        found = error_for(error, self.provider, self.model, self._timeouts.first_token_s)
        return _without_secrets(found)

    # ----- streaming

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[Event]:
        """The answer's events, with the key in use taken out of every text the provider
        sent back (answer, errors) before anyone shows, stores or logs it."""
        cleaners = {kind: SecretStream() for kind in DeltaKind}
        for event in self._stream(messages, params, cancel):
            match event:
                case Delta(text=piece, kind=kind):
                    shown = cleaners[kind].feed(piece)
                    if shown:
                        yield Delta(shown, kind)
                    continue
                case Finished() | Failed():
                    for kind, cleaner in cleaners.items():
                        rest = cleaner.flush()
                        if rest:
                            yield Delta(rest, kind)
                    if isinstance(event, Failed):
                        event = Failed(_without_secrets(event.error))
                case Retrying(reason=reason):
                    event = dataclasses.replace(event, reason=without_secrets(reason))
            yield event

    def _stream(
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
            if isinstance(outcome, Answered):
                return
            if isinstance(outcome, AskWithoutUsage):
                continue
            error, wait_s = outcome.error, outcome.wait_s
            if attempt >= MAX_ATTEMPTS or wait_s is None or wait_s > _LONGEST_RETRY_WAIT_S:
                yield Failed(self._error_for(error))
                return
            attempt += 1
            retries += 1
            yield Retrying(attempt, MAX_ATTEMPTS, wait_s, self._error_for(error).message)
            if cancel.wait(wait_s):
                yield Finished(
                    self._stats(
                        wire, "", "", StreamClock(time.perf_counter()), None,
                        FinishReason.CANCELLED, retries,
                    )
                )  # fmt: skip
                return

    def _attempt(
        self,
        wire: list[dict[str, str]],
        params: GenerationParams,
        cancel: CancelToken,
        retries: int,
    ) -> Generator[Event, None, Attempt]:
        """One HTTP request, streamed; what it came to.

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
        producer = Producer(lambda: client.chat.completions.create(**kwargs), client.close)
        clock = StreamClock(time.perf_counter())
        splitter = ThinkSplitter()
        text: list[str] = []
        reasoning: list[str] = []
        usage: Any = None
        finish = FinishReason.STOP
        stream: Any = None
        ended = False
        chunks_left = params.max_tokens * _MOST_CHUNKS_PER_TOKEN + _SPARE_CHUNKS
        chars_left = params.max_tokens * _MOST_CHARS_PER_TOKEN
        pieces_left = params.max_tokens + _SPARE_PIECES
        while True:
            arrival = producer.next(0.05)
            if cancel.cancelled and (arrival is None or isinstance(arrival, Chunk)):
                producer.stop()
                if stream is not None:
                    with contextlib.suppress(Exception):  # closing is best effort
                        stream.response.close()
                yield self._requested(stream.response if stream is not None else None, "cancelled")
                finish = FinishReason.CANCELLED
                break
            failure: BaseException | None = None
            match arrival:
                case None:
                    continue
                case Opened(stream=opened):
                    stream = opened
                    yield Started(model=self.name, backend="cloud")
                case Chunk(chunk=chunk):
                    chunks_left -= 1
                    if getattr(chunk, "usage", None) is not None:
                        usage = chunk.usage
                    choices = getattr(chunk, "choices", None)
                    for choice in choices if isinstance(choices, list) else ():
                        parts = choice_parts(choice)
                        found = [Piece(DeltaKind.REASONING, parts.reasoning)]
                        found += splitter.feed(parts.text) if parts.text else []
                        for kind, piece in ((p.kind, p.text) for p in found if p.text):
                            piece = piece[: max(chars_left, 0)]
                            chars_left -= len(piece)
                            pieces_left -= 1
                            if not piece:
                                continue
                            clock.saw(kind, time.perf_counter())
                            (reasoning if kind is DeltaKind.REASONING else text).append(piece)
                            yield Delta(piece, kind)
                        if parts.finish_reason is not None:
                            ended = True
                        if parts.finish_reason == "length":
                            finish = FinishReason.LENGTH
                    if min(chunks_left, chars_left, pieces_left) <= 0 and not ended:
                        logger.warning(
                            "%s streamed past max_tokens (%d); the answer is cut there",
                            self.provider.host,
                            params.max_tokens,
                        )
                        producer.stop()
                        with contextlib.suppress(Exception):  # closing is best effort
                            stream.response.close()
                        yield self._requested(stream.response, "cut at max_tokens")
                        finish = FinishReason.LENGTH
                        break
                case Ended():
                    if ended:
                        yield self._requested(stream.response, "ok")
                        break
                    failure = Dropped("the stream ended without a finish")
                case Broke(error=error):
                    failure = error
            if failure is not None:
                return (yield from self._on_error(failure, stream, kwargs, retries))
        for held in splitter.flush():
            clock.saw(held.kind, time.perf_counter())
            (reasoning if held.kind is DeltaKind.REASONING else text).append(held.text)
            yield Delta(held.text, held.kind)
        answer, thought = "".join(text), "".join(reasoning)
        yield Finished(self._stats(wire, answer, thought, clock, usage, finish, retries))
        return Answered()

    def _on_error(
        self, error: BaseException, stream: Any, kwargs: dict[str, Any], retries: int
    ) -> Generator[Event, None, Attempt]:
        """What to do about a failed request: give up (Failed) or try again."""
        backoff = float(2**retries)
        if stream is not None:  # the answer had begun: keep it, never resend silently
            said = isinstance(error, openai.APIError) and not isinstance(
                error, openai.APIConnectionError
            )
            yield self._requested(stream.response, "error" if said else "dropped")
            logger.warning(
                "stream from %s ended early: %s", self.provider.host, without_secrets(repr(error))
            )
            if said:
                assert isinstance(error, openai.APIError)
                yield Failed(
                    ProviderError(
                        f"{self.provider.display_name} stopped the answer with an error: "
                        f"{short(without_secrets(error.message))}. The partial answer is kept; "
                        "press Retry to ask again."
                    )
                )
                return Answered()
            yield Failed(
                ProviderError(
                    f"The connection to {self.provider.host} dropped before the answer was "
                    "complete. The partial answer is kept; press Retry to ask again."
                )
            )
            return Answered()
        if isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
            yield self._requested(error.response, str(error.status_code))
            rejects_option = error.status_code == 422 or "stream_options" in str(error).lower()
            if "stream_options" in kwargs and rejects_option:
                _no_usage_option.add(self.provider.base_url)
                logger.info("%s rejects stream_options; asking without it", self.provider.host)
                return AskWithoutUsage()
            yield Failed(self._error_for(error))
            return Answered()
        if isinstance(error, openai.APIStatusError):
            yield self._requested(error.response, str(error.status_code))
            if isinstance(error, openai.RateLimitError):
                wait = retry_after_s(error)
                return TryAgain(error, backoff if wait is None else wait)
            if error.status_code >= 500:
                return TryAgain(error, backoff)
            yield Failed(self._error_for(error))
            return Answered()
        if isinstance(error, openai.APITimeoutError | openai.APIConnectionError):
            cause = root_cause(error)
            if isinstance(cause, PrivacyBlocked):
                yield Failed(cause)
                return Answered()
            yield self._requested(None, type(error).__name__)
            return TryAgain(error, backoff)
        if isinstance(error, Exception):
            yield Failed(self._error_for(error))
            return Answered()
        raise error

    def _stats(
        self,
        wire: list[dict[str, str]],
        text: str,
        reasoning: str,
        clock: StreamClock,
        usage: Any,
        finish: FinishReason,
        retries: int,
    ) -> AnswerStats:
        counted = _usage_counts(usage)
        if counted is not None:
            prompt_tokens, completion_tokens, reasoning_tokens = counted
            estimated = False
        else:
            prompt_tokens = sum(estimate_tokens(m["content"]) + 4 for m in wire)
            reasoning_tokens = estimate_tokens(reasoning) if reasoning else None
            completion_tokens = estimate_tokens(text) + (reasoning_tokens or 0)
            estimated = True
        if reasoning and reasoning_tokens is None:
            reasoning_tokens = estimate_tokens(reasoning)  # the provider did not say
        ttft, span = clock.time_to_first_token_s, clock.span_s
        speed = (completion_tokens - 1) / span if span and completion_tokens > 1 else 0.0
        prompt_speed = prompt_tokens / ttft if ttft else 0.0
        price_key = self.provider.price_key
        thought = bool(reasoning) or bool(reasoning_tokens)
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
            cost_usd=self._prices.cost_usd(price_key, self.model, prompt_tokens, completion_tokens),
            retries=retries,
            reasoning_tokens=reasoning_tokens,
            reasoning_s=clock.reasoning_s if thought else None,
            time_to_first_answer_token_s=(clock.time_to_first_answer_token_s if thought else None),
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

    def fetch_models(self) -> ModelListing:
        """The provider's /models, where it has one, with the request that asked."""
        reach = self._reach()
        if not reach.allowed:
            return ModelListing([], None, reach.error())
        client = self._client()
        try:
            raw = client.models.with_raw_response.list()
            names = sorted(without_secrets(str(m.id)) for m in raw.parse())
            return ModelListing(names, self._requested(raw.http_response, "model list"))
        except openai.APIStatusError as exc:
            requested = self._requested(exc.response, str(exc.status_code))
            return ModelListing([], requested, self._error_for(exc))
        except openai.APIError as exc:
            return ModelListing([], self._requested(None, type(exc).__name__), self._error_for(exc))
        finally:
            client.close()

    def list_models(self) -> list[str]:
        """The provider's models, for a caller that keeps no ledger; raises on failure."""
        listing = self.fetch_models()
        if listing.error is not None:
            raise listing.error
        return listing.names


def _usage_counts(usage: Any) -> tuple[int, int, int | None] | None:
    """(prompt, generated, reasoning) tokens from a server's `usage`, or None when it
    gave none or figures that cannot be true (wrong type, negative, NaN, absurd): then
    they are estimated. Generated tokens include the reasoning, priced as output."""
    reported = getattr(usage, "completion_tokens", None) if usage is not None else None
    if reported is None:
        return None
    prompt = bounds.count(getattr(usage, "prompt_tokens", None) or 0)
    completion = bounds.count(reported)
    if prompt is None or completion is None:
        logger.warning("ignoring the usage a server reported: %.200r", usage)
        return None
    raw_reasoning = reported_reasoning_tokens(usage)
    reasoning = None if raw_reasoning is None else bounds.count(raw_reasoning)
    total = bounds.count(getattr(usage, "total_tokens", None))
    return prompt, generated_tokens(prompt, completion, reasoning, total), reasoning


def _without_secrets(error: TandemError) -> TandemError:
    """The same error, its message without the keys in use."""
    message = without_secrets(error.message)
    return error if message == error.message else error.with_message(message)
