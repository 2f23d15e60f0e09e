"""The conversation service records what a backend reports it sent, in the one ledger."""

from __future__ import annotations

from app.core.events import CancelToken, Delta, Finished, Requested, Started
from app.core.messages import GenerationParams
from app.core.privacy import ON_THIS_DEVICE
from app.core.stats import AnswerStats, FinishReason
from app.services.chat import ChatService
from app.store.ledger import Ledger

SENT = Requested(host="api.example.com", bytes_sent=321, bytes_received=654, outcome="ok",
                 provider="example", model="m", left_device=True,
                 time="2026-12-01T10:00:00+00:00")  # fmt: skip


class _ScriptedBackend:
    """Streams a fixed answer and reports one request, as a cloud backend would."""

    name = "example:m"
    leaves_device = True

    def run_info(self, params):
        return {}

    def stream(self, messages, params, cancel):
        yield Started(model=self.name, backend="cloud")
        yield Delta("Hello")
        yield SENT
        yield Finished(AnswerStats(model=self.name, backend="cloud", host="api.example.com",
                                   privacy=ON_THIS_DEVICE, finish_reason=FinishReason.STOP,
                                   time_to_first_token_s=0.1, tokens_per_s=10.0,
                                   prompt_tokens_per_s=10.0, prompt_tokens=3,
                                   completion_tokens=1))  # fmt: skip


def test_a_reported_request_lands_in_the_ledger_and_reaches_the_caller(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    service = ChatService(_ScriptedBackend(), GenerationParams(), ledger=ledger)
    events = list(service.send("Hi", CancelToken()))
    assert SENT in events
    assert ledger.records() == [SENT.record()]
    assert service.conversation.messages[-1].content == "Hello"


def test_without_a_ledger_nothing_is_written(tmp_path):
    service = ChatService(_ScriptedBackend(), GenerationParams())
    assert SENT in list(service.send("Hi", CancelToken()))
