"""The cloud path against real HTTP servers on loopback."""

from __future__ import annotations

import json
import time

import pytest

from app.backends import netguard
from app.backends.cloud.client import CloudBackend, CloudTimeouts
from app.core.errors import AuthError, PrivacyBlocked, ProviderError, RateLimited
from app.core.events import CancelToken, Delta, Failed, Finished, Requested, Retrying, Started
from app.core.messages import ChatMessage, GenerationParams, MessageStatus, Role
from app.core.pricing import PriceTable
from app.core.providers import ProviderConfig
from app.services.chat import ChatService
from app.services.providers import list_models

PRICES = PriceTable.from_toml_data(
    {"openai": {"gpt-4o-mini": {"input": 0.15, "output": 0.6}, "ok": {"input": 1, "output": 2}}}
)
ASK = [ChatMessage(Role.USER, "Say hello.")]
PARAMS = GenerationParams(temperature=0.0, max_tokens=24)


def _backend(url, model, *, preset="custom", records=None, **kwargs):
    provider = ProviderConfig(name=preset, preset=preset, base_url=url)
    backend = CloudBackend(provider, model, "sk-test-000000000000000000000000", PRICES, **kwargs)
    return _recording(backend, records)


def _recording(backend, records):
    """The backend, with every request it reports kept in `records`, as the ledger keeps them."""
    if records is None:
        return backend
    stream = backend.stream

    def recorded(*args):
        for event in stream(*args):
            if isinstance(event, Requested):
                records.append(event.record())
            yield event

    backend.stream = recorded
    backend.list_models = lambda: list_models(backend, records)
    return backend


def _run(backend, cancel=None):
    events = list(backend.stream(ASK, PARAMS, cancel or CancelToken()))
    text = "".join(e.text for e in events if isinstance(e, Delta))
    return events, text


def test_real_openai_compatible_server_answers_with_estimated_counts(llama_server):
    records = []
    events, text = _run(_backend(llama_server, "smollm2", records=records))
    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Finished), events[-1]
    stats = events[-1].stats
    assert text.strip()
    assert stats.backend == "cloud"
    assert stats.host == "127.0.0.1"
    assert stats.privacy == "on this device"  # loopback never leaves the machine
    assert stats.cost_usd is None  # unknown model: price unknown, not zero
    assert "price unknown" in stats.summary_line()
    if stats.estimated:
        assert "~" in stats.summary_line()
    assert stats.completion_tokens > 0
    assert records[-1].outcome == "ok"
    assert records[-1].left_device is False


def test_usage_from_the_api_and_cost_from_the_price_table(fault_server):
    records = []
    events, text = _run(_backend(fault_server.url, "ok", preset="openai", records=records))
    stats = events[-1].stats
    assert text == "Hello from the fault server, one two three."
    assert stats.estimated is False
    assert (stats.prompt_tokens, stats.completion_tokens) == (21, 10)
    assert stats.cost_usd == pytest.approx((21 * 1 + 10 * 2) / 1e6)
    sent = json.loads(fault_server.bodies[-1])
    assert sent["stream_options"] == {"include_usage": True}
    (record,) = records
    assert record.bytes_sent == len(fault_server.bodies[-1])
    assert record.bytes_received == fault_server.sent_bytes[-1]


def test_wrong_key_names_the_provider_and_the_fix(fault_server):
    events, _ = _run(_backend(fault_server.url, "auth", preset="openai"))
    error = events[-1].error
    assert isinstance(error, AuthError)
    assert "OpenAI refused the API key (401)" in error.message
    assert "providers add openai --key-stdin" in error.message
    assert "sk-test" not in error.message
    assert not any(isinstance(e, Retrying) for e in events)


def test_rate_limit_is_retried_after_the_time_the_server_asks(fault_server):
    started = time.monotonic()
    events, text = _run(_backend(fault_server.url, "ratelimit-once"))
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 1
    assert retries[0].wait_s == pytest.approx(1.0)
    assert "429" in retries[0].reason
    assert isinstance(events[-1], Finished)
    assert events[-1].stats.retries == 1
    assert text
    assert time.monotonic() - started >= 1.0


def test_long_rate_limit_says_when_to_retry(fault_server):
    events, _ = _run(_backend(fault_server.url, "ratelimit-long"))
    error = events[-1].error
    assert isinstance(error, RateLimited)
    assert "Try again in 120 s" in error.message


def test_server_errors_are_retried_twice_then_explained(fault_server):
    events, _ = _run(_backend(fault_server.url, "error500"))
    assert sum(isinstance(e, Retrying) for e in events) == 2
    assert isinstance(events[-1].error, ProviderError)
    assert "(500)" in events[-1].error.message
    assert fault_server.counts["error500"] == 3


def test_stream_cut_midway_keeps_the_partial_answer(fault_server):
    service = ChatService(_backend(fault_server.url, "cut"))
    events = list(service.send("Hi", CancelToken()))
    assert isinstance(events[-1], Failed)
    assert "dropped" in events[-1].error.message
    answer = service.conversation.messages[-1]
    assert answer.status is MessageStatus.INCOMPLETE
    assert answer.content == "Hello from the"


def test_provider_rejecting_stream_options_is_asked_again_without(fault_server):
    events, _text = _run(_backend(fault_server.url, "no-stream-options"))
    assert isinstance(events[-1], Finished)
    assert events[-1].stats.estimated is True
    assert "estimated" in events[-1].stats.summary_line()
    assert fault_server.counts["no-stream-options"] == 2
    _run(_backend(fault_server.url, "no-stream-options"))  # remembered: asked once more only
    assert fault_server.counts["no-stream-options"] == 3


def test_stop_cancels_while_waiting_for_the_first_token(fault_server):
    cancel = CancelToken()
    backend = _backend(fault_server.url, "hang")
    started = time.monotonic()
    stream = backend.stream(ASK, PARAMS, cancel)
    import threading

    threading.Timer(0.3, cancel.cancel).start()
    events = list(stream)
    assert time.monotonic() - started < 1.5
    assert isinstance(events[-1], Finished)
    assert str(events[-1].stats.finish_reason) == "cancelled"


def test_a_server_that_never_answers_times_out_with_a_clear_message(fault_server):
    backend = _backend(
        fault_server.url, "hang", timeouts=CloudTimeouts(connect_s=1, first_token_s=0.4)
    )
    events, _ = _run(backend)
    assert isinstance(events[-1].error, ProviderError)
    assert "did not answer within 0.4 s" in events[-1].error.message
    assert sum(isinstance(e, Retrying) for e in events) == 2


def test_private_mode_refuses_a_remote_host_before_any_connection():
    records = []
    backend = _backend(
        "https://api.openai.com/v1", "gpt-4o-mini", private_mode=True, records=records
    )
    events, _ = _run(backend)
    assert isinstance(events[-1].error, PrivacyBlocked)
    assert "api.openai.com" in events[-1].error.message
    assert records == []  # no request was made, not even one that failed


def test_network_guard_blocks_every_way_out_in_this_process():
    netguard.install(private=True)
    try:
        assert set(netguard.self_test().values()) == {"guard"}
    finally:
        netguard.set_private(False)


def test_network_guard_blocks_every_way_out_in_the_engine_process(shared_engine):
    assert set(shared_engine.network_self_test().values()) == {"guard"}


def test_guard_turns_a_cloud_request_into_a_clear_message(fault_server):
    netguard.install(private=True)
    try:
        # the backend's own check is off here; only the process-wide guard stands
        backend = _backend("https://api.example.invalid/v1", "gpt-4o-mini")
        events, _ = _run(backend)
        assert isinstance(events[-1].error, PrivacyBlocked)
        assert "api.example.invalid" in events[-1].error.message
        assert netguard.blocked_attempts()[-1] == "api.example.invalid"
    finally:
        netguard.set_private(False)


def test_models_list_from_the_provider_is_in_the_ledger(fault_server):
    records = []
    assert _backend(fault_server.url, "ok", records=records).list_models() == ["cut", "ok"]
    (record,) = records
    assert record.outcome == "model list"
    assert record.host == "127.0.0.1"
    assert record.bytes_received > 0


def test_redacted_request_reaches_the_server_without_the_secrets(fault_server):
    from app.core.errors import SensitiveContent
    from app.services.chat import OnSensitive

    backend = _backend(fault_server.url, "ok")
    backend.leaves_device = True  # stands for a remote host; the server is still loopback
    service = ChatService(backend)
    secret = "my card 4111 1111 1111 1111 and key sk-live-abcdefghijklmnopqrstuvwx"
    with pytest.raises(SensitiveContent, match="a card number and an API key"):
        list(service.send(secret, CancelToken(), OnSensitive.REFUSE))
    assert fault_server.bodies == []
    events = list(service.send(secret, CancelToken(), OnSensitive.REDACT))
    assert isinstance(events[-1], Finished)
    sent = json.loads(fault_server.bodies[-1])["messages"][-1]["content"]
    assert "4111" not in sent
    assert "sk-live" not in sent
    assert "[card number removed]" in sent


def test_no_network_says_so(monkeypatch):
    import socket

    def no_dns(*_args, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # the fault is injected below openai
    backend = _backend("https://api.example.invalid/v1", "gpt-4o-mini")
    events, _ = _run(backend)
    assert isinstance(events[-1].error, ProviderError)
    assert "Could not look up api.example.invalid" in events[-1].error.message
    assert "no network" in events[-1].error.message


def test_private_mode_lets_a_trusted_host_through_and_no_other():
    import socket

    netguard.install(private=True, trusted_hosts=["192.0.2.10"])  # TEST-NET-1: no answer
    try:
        with pytest.raises(PrivacyBlocked):
            socket.create_connection(("192.0.2.11", 443), timeout=0.2)
        try:
            socket.create_connection(("192.0.2.10", 443), timeout=0.2).close()
        except PrivacyBlocked:
            pytest.fail("the guard refused a trusted host")
        except OSError:
            pass  # the guard let it go; nothing answers at that address
    finally:
        netguard.set_private(False)

    records = []
    provider = ProviderConfig(name="box", preset="custom", base_url="https://192.0.2.10/v1",
                              trusted=True)  # fmt: skip
    backend = _recording(
        CloudBackend(provider, "m", "sk-test-000000000000000000000000", PRICES, private_mode=True,
                     timeouts=CloudTimeouts(connect_s=0.2, first_token_s=0.5)),
        records,
    )  # fmt: skip
    events, _ = _run(backend)
    error = events[-1].error
    assert not isinstance(error, PrivacyBlocked)  # it was tried, and timed out
    assert "192.0.2.10" in error.message
    assert records
    assert records[0].host == "192.0.2.10"
