"""A server's figures that cannot be true (usage, Retry-After) are never shown as true."""

from __future__ import annotations

import datetime as dt
import json
import time
from email.utils import format_datetime

import httpx2
import openai
import pytest

from app.backends.cloud.client import CloudBackend
from app.backends.cloud.errors import retry_after_s
from app.core.events import CancelToken, Failed, Finished, Retrying
from app.core.messages import MessageStatus
from app.core.pricing import PriceTable
from app.core.providers import ProviderConfig
from app.services.chat import ChatService
from tests.backends.test_cloud import ASK, PARAMS

PRICES = PriceTable.from_toml_data({"custom": {}})

BAD_USAGE = [
    {"prompt_tokens": -5, "completion_tokens": -22},
    {"prompt_tokens": 10, "completion_tokens": 10**40},
    {"prompt_tokens": "12", "completion_tokens": "ten"},
    {"prompt_tokens": 1.5, "completion_tokens": 2.5},
    {"prompt_tokens": 3, "completion_tokens": [1, 2]},
    {"prompt_tokens": 3, "completion_tokens": {"n": 1}},
    {"prompt_tokens": 3, "completion_tokens": True},
    "lots",
    [1, 2, 3],
]


def _backend(url, model):
    provider = ProviderConfig(name="custom", preset="custom", base_url=url)
    return CloudBackend(provider, model, "not-a-key-for-figures", PRICES)


def _usage_model(usage):
    return "usage=" + json.dumps(usage)


@pytest.mark.parametrize("usage", [*BAD_USAGE, "NaN", "Infinity"], ids=str)
def test_usage_that_cannot_be_true_is_ignored_and_the_counts_marked_estimated(fault_server, usage):
    model = "usage=" + usage if usage in ("NaN", "Infinity") else _usage_model(usage)
    events = list(_backend(fault_server.url, model).stream(ASK, PARAMS, CancelToken()))
    finished = events[-1]
    assert isinstance(finished, Finished), finished
    stats = finished.stats
    assert stats.estimated is True
    assert 0 < stats.completion_tokens < 100
    assert 0 < stats.prompt_tokens < 100
    assert "~" in stats.summary_line()


def test_sane_usage_is_taken_as_counted(fault_server):
    model = _usage_model({"prompt_tokens": 21, "completion_tokens": 10})
    stats = list(_backend(fault_server.url, model).stream(ASK, PARAMS, CancelToken()))[-1].stats
    assert (stats.prompt_tokens, stats.completion_tokens, stats.estimated) == (21, 10, False)


def test_wrongly_typed_usage_leaves_no_answer_streaming(fault_server):
    """The service ends the answer whatever the server sent: complete, and saved so."""
    service = ChatService(_backend(fault_server.url, _usage_model(BAD_USAGE[2])))
    events = list(service.send("Hello", CancelToken()))
    assert isinstance(events[-1], Finished)
    assert service.conversation.messages[-1].status is MessageStatus.COMPLETE


class _Broken:
    """A backend that breaks the contract: it raises in the middle of an answer."""

    name = "broken"
    leaves_device = False

    def run_info(self, params):
        return {}

    def stream(self, messages, params, cancel):
        from app.core.events import Delta, Started

        yield Started("broken", "cloud")
        yield Delta("partial")
        raise TypeError("unsupported operand")


def test_a_backend_that_raises_ends_the_answer_as_failed_with_the_text_kept():
    service = ChatService(_Broken())
    events = list(service.send("Hello", CancelToken()))
    assert isinstance(events[-1], Failed)
    assert "failed unexpectedly (TypeError)" in events[-1].error.message
    reply = service.conversation.messages[-1]
    assert reply.status is MessageStatus.INCOMPLETE
    assert reply.content == "partial"


def _rate_limited(value):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(429, headers={"Retry-After": value}, request=request)
    return openai.RateLimitError("Rate limit reached", response=response, body=None)


def _http_date(seconds_from_now):
    return format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now), True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("0", 0.0), ("inf", None), ("-inf", None), ("nan", None), ("-5", None),
     ("1e300", None), ("999999999", None), ("soon", None), ("", None),
     (_http_date(-60), 0.0), (_http_date(10**7), None)],
)  # fmt: skip
def test_retry_after_that_cannot_be_true_is_treated_as_absent(value, expected):
    assert retry_after_s(_rate_limited(value)) == expected


@pytest.mark.parametrize("value", ["inf", "1e300", "-5", "garbage"])
def test_a_429_with_an_absurd_retry_after_backs_off_and_explains(fault_server, value):
    started = time.monotonic()
    events = list(
        _backend(fault_server.url, f"ratelimit={value}").stream(ASK, PARAMS, CancelToken())
    )
    waits = [e.wait_s for e in events if isinstance(e, Retrying)]
    assert waits == [1.0, 2.0]  # the usual back-off, not the server's figure
    assert time.monotonic() - started < 10
    error = events[-1].error
    assert "Try again in a minute" in error.message
    assert "inf" not in error.message
