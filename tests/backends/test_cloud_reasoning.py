"""A cloud reasoning model over real HTTP on loopback: its thinking streams apart from
the answer, is counted and priced as output, and never goes back as context."""

from __future__ import annotations

import json

import pytest

from app.backends.cloud.client import CloudBackend
from app.core.events import CancelToken, Delta, Finished
from app.core.messages import GenerationParams
from app.core.pricing import PriceTable
from app.core.providers import ProviderConfig
from app.services.chat import ChatService
from tests.fault_server import REASONING_TOKENS, THOUGHTS, WORDS

PRICES = PriceTable.from_toml_data(
    {"thinker": {m: {"input": 1.0, "output": 10.0} for m in ("reasoning", "think-tags")}}
)
ANSWER = "".join(WORDS)
THOUGHT = "".join(THOUGHTS)


def _backend(url: str, model: str) -> CloudBackend:
    provider = ProviderConfig(name="thinker", preset="custom", base_url=url)
    return CloudBackend(provider, model, "sk-test-000000000000000000000000", PRICES)


@pytest.mark.parametrize("model", ["reasoning", "reasoning-field", "think-tags"])
def test_reasoning_streams_apart_from_the_answer(fault_server, model: str) -> None:
    events = list(_backend(fault_server.url, model).stream([], GenerationParams(), CancelToken()))
    deltas = [e for e in events if isinstance(e, Delta)]
    thought = "".join(d.text for d in deltas if d.reasoning)
    answer = "".join(d.text for d in deltas if not d.reasoning)
    assert thought.strip() == THOUGHT
    assert answer == ANSWER
    assert "<think>" not in answer
    assert "</think>" not in answer
    assert deltas[0].reasoning  # the thinking streams live, before the answer
    first_answer = next(i for i, d in enumerate(deltas) if not d.reasoning)
    assert all(d.reasoning for d in deltas[:first_answer])
    stats = next(e for e in events if isinstance(e, Finished)).stats
    assert stats.reasoning_tokens is not None
    assert stats.reasoning_tokens > 0
    assert stats.time_to_first_token_s is not None
    assert stats.time_to_first_answer_token_s is not None
    # Four thoughts, 50 ms apart, come before the first answer token.
    assert stats.time_to_first_answer_token_s >= stats.time_to_first_token_s + 0.15
    assert stats.reasoning_s == pytest.approx(stats.time_to_first_answer_token_s)
    assert "reasoning)" in stats.summary_line()


def test_reported_reasoning_tokens_are_counted_and_priced_as_output(fault_server) -> None:
    events = list(
        _backend(fault_server.url, "reasoning").stream([], GenerationParams(), CancelToken())
    )
    stats = next(e for e in events if isinstance(e, Finished)).stats
    assert not stats.estimated
    assert stats.reasoning_tokens == REASONING_TOKENS
    assert stats.completion_tokens == len(WORDS) + REASONING_TOKENS
    expected = (21 * 1.0 + (len(WORDS) + REASONING_TOKENS) * 10.0) / 1e6
    assert stats.cost_usd == pytest.approx(expected)


def test_reasoning_is_kept_but_never_sent_back_as_context(fault_server, tmp_path) -> None:
    from app.store.history.store import HistoryStore

    with HistoryStore(tmp_path / "history.db") as history:
        service = ChatService(_backend(fault_server.url, "reasoning"), history=history)
        list(service.send("Hi there", CancelToken()))
        reply = service.conversation.messages[-1]
        assert reply.content == ANSWER
        assert reply.reasoning == THOUGHT
        list(service.send("And again", CancelToken()))
        stored = history.get_conversation(service.conversation_id or 0)
        assert stored.path()[1].reasoning == THOUGHT
        assert stored.path()[1].content == ANSWER
    second = json.loads(fault_server.bodies[-1])
    sent = json.dumps(second["messages"])
    assert ANSWER in sent
    for thought in THOUGHTS:
        assert thought.strip() not in sent
