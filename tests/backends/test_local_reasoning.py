"""A local model whose chat template opens `<think>` in the prompt (as DeepSeek-R1-Distill's
does): its output starts inside the block, with no tag of its own. The real default
model through real llama.cpp, with that template written into a copy of its GGUF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backends.local.supervisor import LocalBackend, LocalEngine
from app.core.events import CancelToken, Delta, Finished
from app.core.messages import GenerationParams
from app.library.gguf_file import inspect_gguf
from app.services.chat import ChatService
from tests.gguf_copy import copy_with_template

PREFILLED_THINK = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"
)
PARAMS = GenerationParams(context_length=1024, max_tokens=24, temperature=0.0, seed=7)


@pytest.fixture(scope="module")
def thinker(default_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("thinker") / "thinker.gguf"
    copy_with_template(default_model, path, PREFILLED_THINK)
    return path


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalEngine]:
    started = LocalEngine(check_file=inspect_gguf)
    yield started
    started.shutdown()


class _Spy:
    """The real local backend, keeping the messages each request carried."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.leaves_device = False
        self.sent: list[list[str]] = []

    def run_info(self, params: GenerationParams) -> dict[str, object]:
        return self.backend.run_info(params)

    def stream(self, messages, params, cancel):  # type: ignore[no-untyped-def]
        self.sent.append([m.content for m in messages])
        yield from self.backend.stream(messages, params, cancel)


def test_output_that_starts_inside_think_is_reasoning_counted_by_llama_cpp(
    thinker: Path, engine: LocalEngine, vocab
) -> None:
    backend = LocalBackend(engine, thinker, "thinker")
    events = list(backend.stream([], PARAMS, CancelToken()))
    deltas = [e for e in events if isinstance(e, Delta)]
    thought = "".join(d.text for d in deltas if d.reasoning)
    answer = "".join(d.text for d in deltas if not d.reasoning)
    assert thought.strip(), "the model's words before any </think> are its reasoning"
    assert "</think>" not in answer
    assert "</think>" not in thought
    stats = next(e for e in events if isinstance(e, Finished)).stats
    counted = len(vocab.tokenize(thought.encode(), add_bos=False, special=False))
    assert stats.reasoning_tokens == counted
    assert 0 < stats.reasoning_tokens <= stats.completion_tokens
    assert stats.time_to_first_token_s is not None
    assert stats.reasoning_s is not None
    assert stats.reasoning_s >= stats.time_to_first_token_s
    assert f"({stats.reasoning_tokens} reasoning)" in stats.summary_line()


def test_the_default_template_has_no_reasoning(default_model: Path, engine: LocalEngine) -> None:
    backend = LocalBackend(engine, default_model, "default")
    events = list(backend.stream([], PARAMS, CancelToken()))
    assert not any(isinstance(e, Delta) and e.reasoning for e in events)
    stats = next(e for e in events if isinstance(e, Finished)).stats
    assert stats.reasoning_tokens is None


def test_local_reasoning_stays_out_of_the_next_request(
    thinker: Path, engine: LocalEngine, tmp_path: Path
) -> None:
    from app.store.history.store import HistoryStore

    spy = _Spy(LocalBackend(engine, thinker, "thinker"))
    with HistoryStore(tmp_path / "history.db") as history:
        service = ChatService(spy, PARAMS, history=history)  # type: ignore[arg-type]
        list(service.send("Say hello.", CancelToken()))
        first = service.conversation.messages[-1]
        assert first.reasoning.strip()
        list(service.send("Once more.", CancelToken()))
        stored = history.get_conversation(service.conversation_id or 0).path()
        assert stored[1].reasoning == first.reasoning
    assert spy.sent[1] == ["Say hello.", first.content, "Once more."]
    assert all(first.reasoning.strip() not in text for text in spy.sent[1])
