"""The real default model through the real llama.cpp engine process."""

from __future__ import annotations

import threading
import time

import pytest

from app.backends.local.prompt import PromptBuilder
from app.backends.local.supervisor import EngineState, LocalBackend, LocalEngine
from app.core.errors import EngineCrashed, ModelFileError
from app.core.events import CancelToken, Delta, Failed, Finished, Started
from app.core.messages import ChatMessage, GenerationParams, MessageStatus, Role
from app.library.gguf_file import inspect_gguf
from app.services.chat import ChatService

GREEDY = GenerationParams(temperature=0.0, max_tokens=48, context_length=2048)


def _run(engine, messages, params=GREEDY, cancel=None):
    events = list(engine.generate("smollm2", messages, params, cancel or CancelToken()))
    text = "".join(e.text for e in events if isinstance(e, Delta))
    return events, text


def _ask(text):
    return [ChatMessage(Role.USER, text)]


def test_answer_streams_with_the_three_facts(shared_engine):
    events, text = _run(shared_engine, _ask("Name three colours."))
    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Finished)
    assert sum(isinstance(e, Delta) for e in events) >= 1
    stats = events[-1].stats
    assert text.strip()
    assert stats.backend == "local"
    assert stats.privacy == "on this device"
    assert stats.cost_usd == 0.0
    assert stats.host is None
    assert stats.time_to_first_token_s is not None
    assert stats.time_to_first_token_s > 0
    assert stats.tokens_per_s > 0
    assert stats.prompt_tokens_per_s > 0
    assert stats.completion_tokens > 0
    assert str(stats.finish_reason) in ("stop", "length")


def test_token_counts_are_llama_cpp_tokenizer_counts(shared_engine, vocab):
    messages = _ask("Write one sentence about the sea.")
    events, text = _run(shared_engine, messages)
    stats = events[-1].stats
    template = vocab.metadata["tokenizer.chat_template"]
    model = vocab._model
    builder = PromptBuilder(
        template,
        model.token_get_text(vocab.token_bos()),
        model.token_get_text(vocab.token_eos()),
    )
    prompt = builder.build([m.to_dict() for m in messages])
    fed = vocab.tokenize(prompt.text.encode(), add_bos=not prompt.added_special, special=True)
    assert stats.prompt_tokens == len(fed)
    generated = vocab.tokenize(text.encode(), add_bos=False, special=False)
    assert stats.completion_tokens == len(generated)


def test_max_tokens_cuts_the_answer(shared_engine):
    params = GREEDY.with_(max_tokens=5)
    events, _ = _run(shared_engine, _ask("Tell me a long story about dragons."), params)
    stats = events[-1].stats
    assert stats.completion_tokens == 5
    assert str(stats.finish_reason) == "length"


def test_same_seed_gives_the_same_answer(shared_engine):
    params = GenerationParams(temperature=0.9, max_tokens=24, seed=1234, context_length=2048)
    _, first = _run(shared_engine, _ask("Invent a name for a cat."), params)
    _, second = _run(shared_engine, _ask("Invent a name for a cat."), params)
    assert first == second


def test_stop_ends_generation_within_200ms(shared_engine):
    cancel = CancelToken()
    params = GREEDY.with_(max_tokens=2000)
    stopped_at: list[float] = []
    events = []
    for event in shared_engine.generate(
        "smollm2", _ask("Count from 1 to 1000, one number per line."), params, cancel
    ):
        events.append(event)
        if isinstance(event, Delta) and not stopped_at and len(events) > 3:
            stopped_at.append(time.perf_counter())
            cancel.cancel()
        if isinstance(event, Finished):
            finished_at = time.perf_counter()
    stats = events[-1].stats
    assert str(stats.finish_reason) == "cancelled"
    assert finished_at - stopped_at[0] < 0.2
    assert stats.completion_tokens < 2000


def test_later_turns_reuse_the_cached_prefix(shared_engine):
    history = [ChatMessage(Role.USER, "Hello! Who are you?")]
    events, text = _run(shared_engine, history)
    first = events[-1].stats
    history += [ChatMessage(Role.ASSISTANT, text), ChatMessage(Role.USER, "And what can you do?")]
    events, _ = _run(shared_engine, history)
    second = events[-1].stats
    assert second.prompt_tokens > first.prompt_tokens
    assert second.prompt_tokens_cached >= first.prompt_tokens - 2


def test_while_the_person_reads_the_next_turns_opening_is_evaluated(shared_engine, vocab):
    params = GREEDY.with_(max_tokens=200)
    history = [ChatMessage(Role.USER, "Say hello in one short sentence.")]
    events, text = _run(shared_engine, history, params)
    assert str(events[-1].stats.finish_reason) == "stop"
    time.sleep(1.0)  # reading time: the engine works ahead
    question = "Now say goodbye in one short sentence."
    history += [ChatMessage(Role.ASSISTANT, text), ChatMessage(Role.USER, question)]
    events, _ = _run(shared_engine, history, params)
    second = events[-1].stats
    new_tokens = second.prompt_tokens - second.prompt_tokens_cached
    question_tokens = len(vocab.tokenize(question.encode(), add_bos=False, special=False))
    # Only the question, its end marker and the answer header are left to evaluate
    # (ChatML: "<|im_end|>", "\n", "<|im_start|>", "assistant", "\n").
    assert new_tokens <= question_tokens + 6, (new_tokens, question_tokens)


def test_a_request_does_not_wait_for_work_done_ahead(shared_engine):
    history = [ChatMessage(Role.USER, "Say hello in one short sentence.")]
    events, text = _run(shared_engine, history, GREEDY.with_(max_tokens=200))
    history += [ChatMessage(Role.ASSISTANT, text), ChatMessage(Role.USER, "Again, please.")]
    events, again = _run(shared_engine, history)  # sent at once, no reading time
    assert isinstance(events[-1], Finished)
    assert again.strip()


def test_corrupt_model_is_refused_before_the_engine_starts(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    engine = LocalEngine(check_file=inspect_gguf)
    with pytest.raises(ModelFileError):
        engine.load(bad, GREEDY)
    assert engine.pid is None


def test_killed_engine_keeps_the_partial_answer_and_the_next_message_works(default_model):
    states: list[EngineState] = []
    engine = LocalEngine(on_state=states.append, check_file=inspect_gguf)
    backend = LocalBackend(engine, default_model, "smollm2")
    service = ChatService(backend, GREEDY.with_(max_tokens=400))
    try:
        events = []
        for event in service.send("Count from 1 to 300.", CancelToken()):
            events.append(event)
            if isinstance(event, Delta) and len(events) == 3:
                threading.Thread(target=engine.kill).start()
        assert isinstance(events[-1], Failed)
        assert isinstance(events[-1].error, EngineCrashed)
        assert "signal 9" in events[-1].error.message
        answer = service.conversation.messages[-1]
        assert answer.status is MessageStatus.INCOMPLETE
        assert answer.content
        assert EngineState.CRASHED in states

        events = list(service.send("Say hello.", CancelToken()))
        assert isinstance(events[-1], Finished)
        assert service.conversation.messages[-1].status is MessageStatus.COMPLETE
        assert [m.role for m in service.conversation.context()] == [Role.USER, Role.ASSISTANT] * 2
    finally:
        engine.shutdown()


def test_an_engine_without_a_model_says_whether_llama_cpp_can_offload(shared_engine):
    engine = LocalEngine()
    try:
        answer = engine.gpu_offload_supported()
    finally:
        engine.shutdown()
    assert answer is not None
    assert answer == shared_engine.loaded.gpu_offload_supported
