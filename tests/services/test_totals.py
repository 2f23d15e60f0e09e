"""Money totals come from the conversation's stored answers, decided by the service."""

from __future__ import annotations

from dataclasses import replace

from app.core.messages import GenerationParams, MessageStatus, Role
from app.core.privacy import ON_THIS_DEVICE
from app.core.stats import AnswerStats, FinishReason
from app.services.chat import ChatService, Totals
from app.store.history.store import HistoryStore

LOCAL = AnswerStats(model="local-m", backend="local", host=None, privacy=ON_THIS_DEVICE,
                    finish_reason=FinishReason.STOP, time_to_first_token_s=0.1,
                    tokens_per_s=50.0, prompt_tokens_per_s=500.0, prompt_tokens=10,
                    completion_tokens=20, cloud_equivalent_usd=0.002,
                    cloud_equivalent_model="gpt-4o")  # fmt: skip
CLOUD = replace(LOCAL, model="openai:gpt-4o-mini", backend="cloud", host="api.openai.com",
                privacy="sent to api.openai.com", cost_usd=0.0005,
                cloud_equivalent_usd=None)  # fmt: skip


def test_an_opened_conversation_shows_its_own_totals_and_a_new_one_starts_at_zero(tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        cid = store.create_conversation("Totals")
        for stats in (LOCAL, CLOUD, LOCAL):
            store.add_message(cid, Role.USER, "Q")
            answer = store.add_message(cid, Role.ASSISTANT, "", model=stats.model,
                                       status="streaming")  # fmt: skip
            store.finish_message(answer, "A", str(MessageStatus.COMPLETE), stats.to_json(), None)
        service = ChatService(None, GenerationParams(), history=store)
        assert service.totals() == Totals(0.0, 0.0)
        service.open_conversation(cid)
        totals = service.totals()
        assert round(totals.spent_usd, 6) == 0.0005
        assert round(totals.saved_usd, 6) == 0.004
        service.new_conversation()
        assert service.totals() == Totals(0.0, 0.0)
