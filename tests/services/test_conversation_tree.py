"""The conversation service keeps a tree: regenerate (same or another model), edit and
resend, versions, delete with undo, fork; the model sees the path shown, without reasoning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import TandemError
from app.core.events import CancelToken, Delta, Finished, Started
from app.core.messages import GenerationParams, Role
from app.core.reasoning import DeltaKind
from app.core.stats import AnswerStats, FinishReason
from app.services.chat import ChatService
from app.store.history.store import HistoryStore


class Scripted:
    """Answers "NAME #n", thinking first; keeps what each request carried."""

    leaves_device = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[list[tuple[str, str]]] = []

    def run_info(self, params: GenerationParams) -> dict[str, object]:
        return {"model": self.name}

    def stream(self, messages, params, cancel):  # type: ignore[no-untyped-def]
        self.sent.append([(str(m.role), m.content) for m in messages])
        n = len(self.sent)
        yield Started(model=self.name, backend="local")
        yield Delta(f"thinking {n}", DeltaKind.REASONING)
        yield Delta(f"{self.name} #{n}")
        yield Finished(
            AnswerStats(
                model=self.name, backend="local", host=None, privacy="on this device",
                finish_reason=FinishReason.STOP, time_to_first_token_s=0.01 * n,
                tokens_per_s=10.0 * n, prompt_tokens_per_s=1.0, prompt_tokens=n,
                completion_tokens=n, reasoning_tokens=1,
            )
        )  # fmt: skip


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.db") as store:
        yield store


def _run(events: Iterator[object]) -> None:
    for _ in events:
        pass


def _shown(service: ChatService) -> list[str]:
    return [m.content for m in service.conversation.messages]


def test_regenerate_keeps_both_versions_each_with_its_own_facts(history: HistoryStore) -> None:
    a, b = Scripted("alpha"), Scripted("beta")
    service = ChatService(a, history=history)
    _run(service.send("Hi", CancelToken()))
    first = service.conversation.messages[-1]
    _run(service.regenerate(CancelToken()))  # the same model
    _run(service.regenerate(CancelToken(), backend=b))  # another model
    assert _shown(service) == ["Hi", "beta #1"]
    versions = service.conversation.versions(first.id)
    assert [v.content for v in versions] == ["alpha #1", "alpha #2", "beta #1"]
    assert [v.model for v in versions] == ["alpha", "alpha", "beta"]
    assert [v.stats.tokens_per_s for v in versions if v.stats] == [10.0, 20.0, 10.0]
    assert service.version_of(versions[2].id) == (3, 3)
    # Each regeneration asked the same question, without the other versions or reasoning.
    assert a.sent[1] == [("user", "Hi")]
    assert b.sent[0] == [("user", "Hi")]
    assert service.backend is a  # a one-off: the conversation keeps its model
    # Back one version; the choice is remembered in the history.
    shown = service.switch_version(versions[2].id, -1)
    assert shown == versions[1].id
    again = ChatService(a, history=history)
    again.open_conversation(service.conversation_id or 0)
    assert _shown(again) == ["Hi", "alpha #2"]
    assert again.conversation.messages[-1].reasoning == "thinking 2"
    assert again.version_of(shown) == (2, 3)


def test_the_next_message_follows_the_version_shown_without_reasoning(
    history: HistoryStore,
) -> None:
    a = Scripted("alpha")
    service = ChatService(a, history=history)
    _run(service.send("Hi", CancelToken()))
    _run(service.regenerate(CancelToken()))
    service.switch_version(service.conversation.messages[-1].id, -1)
    _run(service.send("More", CancelToken()))
    assert a.sent[-1] == [("user", "Hi"), ("assistant", "alpha #1"), ("user", "More")]
    assert all("thinking" not in text for _role, text in a.sent[-1])


def test_edit_and_resend_branches_and_the_old_branch_stays(history: HistoryStore) -> None:
    a = Scripted("alpha")
    service = ChatService(a, history=history)
    _run(service.send("Hi", CancelToken()))
    _run(service.send("Tell me about rye", CancelToken()))
    question = service.conversation.messages[2]
    _run(service.edit_and_resend(question.id, "Tell me about spelt", CancelToken()))
    assert _shown(service) == ["Hi", "alpha #1", "Tell me about spelt", "alpha #3"]
    assert a.sent[-1][-1] == ("user", "Tell me about spelt")
    edited = service.conversation.messages[2]
    assert service.version_of(edited.id) == (2, 2)
    service.switch_version(edited.id, -1)
    assert _shown(service) == ["Hi", "alpha #1", "Tell me about rye", "alpha #2"]
    stored = history.get_conversation(service.conversation_id or 0)
    assert len(stored.messages) == 6
    with pytest.raises(TandemError, match="Only your messages"):
        _run(service.edit_and_resend(service.conversation.messages[1].id, "x", CancelToken()))


def test_delete_takes_the_replies_and_undo_brings_everything_back(
    history: HistoryStore,
) -> None:
    service = ChatService(Scripted("alpha"), history=history)
    _run(service.send("Hi", CancelToken()))
    _run(service.send("Second", CancelToken()))
    second = service.conversation.messages[2]
    deleted = service.delete(second.id)
    assert _shown(service) == ["Hi", "alpha #1"]
    assert len(history.get_conversation(service.conversation_id or 0).messages) == 2
    service.undo_delete(deleted)
    assert _shown(service) == ["Hi", "alpha #1", "Second", "alpha #2"]
    stored = history.get_conversation(service.conversation_id or 0)
    assert [m.content for m in stored.path()] == _shown(service)


def test_deleting_one_version_shows_another(history: HistoryStore) -> None:
    service = ChatService(Scripted("alpha"), history=history)
    _run(service.send("Hi", CancelToken()))
    _run(service.regenerate(CancelToken()))
    service.delete(service.conversation.messages[-1].id)
    assert _shown(service) == ["Hi", "alpha #1"]
    assert service.version_of(service.conversation.messages[-1].id) == (1, 1)


def test_fork_continues_in_a_new_conversation(history: HistoryStore) -> None:
    a = Scripted("alpha")
    service = ChatService(a, history=history)
    _run(service.send("Hi", CancelToken()))
    _run(service.send("Second", CancelToken()))
    original = service.conversation_id
    new_id = service.fork(service.conversation.messages[1].id)
    assert new_id is not None
    assert new_id != original
    assert service.conversation_id == new_id
    assert _shown(service) == ["Hi", "alpha #1"]
    _run(service.send("Elsewhere", CancelToken()))
    assert a.sent[-1] == [("user", "Hi"), ("assistant", "alpha #1"), ("user", "Elsewhere")]
    assert len(history.get_conversation(original or 0).messages) == 4


def test_without_history_the_tree_works_in_memory() -> None:
    service = ChatService(Scripted("alpha"))
    _run(service.send("Hi", CancelToken()))
    _run(service.regenerate(CancelToken()))
    answer = service.conversation.messages[-1]
    assert service.version_of(answer.id) == (2, 2)
    service.switch_version(answer.id, -1)
    assert _shown(service) == ["Hi", "alpha #1"]
    deleted = service.delete(service.conversation.messages[0].id)
    assert service.conversation.messages == []
    service.undo_delete(deleted)
    assert _shown(service) == ["Hi", "alpha #1"]
    assert service.fork(service.conversation.messages[1].id) is None
    assert [m.role for m in service.conversation.messages] == [Role.USER, Role.ASSISTANT]


def test_regenerate_with_nothing_to_regenerate_says_so() -> None:
    service = ChatService(Scripted("alpha"))
    with pytest.raises(TandemError, match="no answer to regenerate"):
        _run(service.regenerate(CancelToken()))


def test_regenerate_on_the_real_local_model_and_a_real_server(
    history: HistoryStore, installed_default: Path, llama_server: str
) -> None:
    """The default model through llama.cpp, regenerated on a model behind a real
    OpenAI-compatible server on loopback: two versions, each with its own facts."""
    from app.services.workspace import Workspace

    workspace = Workspace()
    try:
        workspace.add_provider("loop", "custom", llama_server, "default", trusted=True)
        service = workspace.chat_service(workspace.backend_for(installed_default.stem))
        service.params = service.params.with_(max_tokens=8, temperature=0.0)
        _run(service.send("Say hello.", CancelToken()))
        other = workspace.backend_for("loop:default")
        _run(service.regenerate(CancelToken(), backend=other))
        answer = service.conversation.messages[-1]
        local, cloud = service.conversation.versions(answer.id)
        assert local.stats is not None
        assert local.stats.backend == "local"
        assert cloud.stats is not None
        assert cloud.stats.backend == "cloud"
        assert cloud.model == "loop:default"
        assert local.content
        assert cloud.content
        stored = workspace.history().get_conversation(service.conversation_id or 0)
        assert [m.model for m in stored.messages[1:]] == [local.model, "loop:default"]
    finally:
        workspace.shutdown()


def test_opening_at_a_message_on_another_branch_shows_that_branch(history: HistoryStore) -> None:
    """As when a search finds words in a version that is not shown."""
    service = ChatService(Scripted("alpha"), history=history)
    _run(service.send("Hi", CancelToken()))
    _run(service.regenerate(CancelToken()))
    first = service.conversation.versions(service.conversation.messages[-1].id)[0]
    hit = history.search("alpha #1")
    assert [h.message_id for h in hit] == [first.id]
    again = ChatService(Scripted("alpha"), history=history)
    again.open_conversation(service.conversation_id or 0)
    assert _shown(again) == ["Hi", "alpha #2"]
    again.open_conversation(service.conversation_id or 0, focus_id=first.id)
    assert _shown(again) == ["Hi", "alpha #1"]
