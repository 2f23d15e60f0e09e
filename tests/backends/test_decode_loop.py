"""The engine's own decode loop on the real default model: the same tokens as
llama-cpp-python's `Llama.generate` under greedy sampling, prompt-lookup drafting that
changes nothing but the speed, and load settings that cannot work refused in words."""

from __future__ import annotations

import pytest

from app.backends.local.prompt import PromptBuilder
from app.backends.local.supervisor import LocalEngine
from app.core.errors import UsageError
from app.core.events import CancelToken, Delta, Finished
from app.core.messages import (
    ChatMessage,
    FlashAttention,
    GenerationParams,
    KVCacheType,
    Role,
)
from app.library.gguf_file import inspect_gguf

# One thread: the same tokens as with more, and quick on a busy two-core machine.
GREEDY = GenerationParams(temperature=0.0, max_tokens=64, context_length=2048, threads=1)

PROMPTS = [
    "Write a short story about a lighthouse keeper and a storm.",
    "List five fruits, one per line, with their colours.",
]

CODE = """def total(items):
    result = 0
    for item in items:
        if item.price > 0:
            result = result + item.price * item.count
    return result
"""
REWRITE = f"Rewrite this Python function with the variable result renamed to acc:\n\n{CODE}"


def _answer(engine, text, params=GREEDY):
    events = list(engine.generate("smollm2", [ChatMessage(Role.USER, text)], params, CancelToken()))
    assert isinstance(events[-1], Finished), events[-1]
    return "".join(e.text for e in events if isinstance(e, Delta)), events[-1].stats


def _reference(llama, text, max_tokens, **sampling):
    """What `Llama.generate` writes for the same prompt: the engine's template and its
    own stop strings, pieces joined as bytes, then decoded."""
    model = llama._model
    builder = PromptBuilder(
        llama.metadata.get("tokenizer.chat_template"),
        model.token_get_text(llama.token_bos()),
        model.token_get_text(llama.token_eos()),
    )
    prompt = builder.build([{"role": "user", "content": text}])
    tokens = llama.tokenize(prompt.text.encode(), add_bos=not prompt.added_special, special=True)
    import llama_cpp

    produced: list[int] = []
    for token in llama.generate(tokens, reset=True, **sampling):
        if llama_cpp.llama_vocab_is_eog(model.vocab, token):
            break
        produced.append(token)
        if len(produced) >= max_tokens:
            break
    out = llama.detokenize(produced).decode("utf-8", errors="replace").lstrip()
    for stop in prompt.stop:
        if stop in out:
            out = out[: out.index(stop)]
    return out


@pytest.fixture(scope="module")
def fresh_engine(default_model):
    """Loaded for prompt lookup: flash attention auto is then on."""
    engine = LocalEngine(check_file=inspect_gguf)
    assert engine.load(default_model, GREEDY.with_(speculative=True)).flash_attention == "on"
    yield engine
    engine.shutdown()


@pytest.mark.parametrize("flash", [FlashAttention.ON, FlashAttention.OFF])
def test_greedy_tokens_are_those_of_llama_generate(default_model, flash):
    import llama_cpp

    params = GREEDY.with_(flash_attention=flash)
    engine = LocalEngine(check_file=inspect_gguf)
    reference = llama_cpp.Llama(
        str(default_model),
        n_ctx=2048,
        n_threads=1,
        verbose=False,
        flash_attn=flash is FlashAttention.ON,
    )
    try:
        engine.load(default_model, params)
        for text in PROMPTS:
            ours, stats = _answer(engine, text, params)
            theirs = _reference(reference, text, params.max_tokens, temp=0.0)
            assert ours == theirs, text
            assert stats.completion_tokens > 0
    finally:
        engine.shutdown()
        reference.close()


def test_prompt_lookup_writes_the_same_answer_and_accepts_drafts(fresh_engine):
    """With flash attention, llama.cpp's logits for a token are the same whether it is
    evaluated alone or in a batch of drafts, so greedy output cannot change."""
    params = GREEDY.with_(max_tokens=160)
    plain, plain_stats = _answer(fresh_engine, REWRITE, params.with_(speculative=False))
    drafted, stats = _answer(fresh_engine, REWRITE, params.with_(speculative=True))
    assert drafted == plain
    assert stats.completion_tokens == plain_stats.completion_tokens
    assert plain_stats.draft_tokens == 0
    assert stats.draft_tokens > 0
    assert 0 < stats.draft_accepted <= stats.draft_tokens
    assert "drafted tokens accepted" in stats.summary_line()
    # A free story drafts little, and is still the same answer.
    story = PROMPTS[0]
    assert (
        _answer(fresh_engine, story, GREEDY.with_(speculative=True))[0]
        == _answer(fresh_engine, story, GREEDY)[0]
    )


def test_sampled_answers_repeat_with_a_seed(fresh_engine):
    params = GREEDY.with_(temperature=0.8, top_p=0.95, seed=7)
    first, _ = _answer(fresh_engine, PROMPTS[1], params)
    again, _ = _answer(fresh_engine, PROMPTS[1], params)
    assert first == again
    other = {_answer(fresh_engine, PROMPTS[1], params.with_(seed=s))[0] for s in (1, 2, 3)}
    assert len(other | {first}) > 1  # the seed is used: not all the same text


def test_without_flash_attention_prompt_lookup_does_not_draft(default_model):
    """Batched drafts are not exactly one-token steps without flash attention: the
    engine then answers without drafting rather than risk another answer."""
    engine = LocalEngine(check_file=inspect_gguf)
    try:
        params = GREEDY.with_(speculative=True, flash_attention=FlashAttention.OFF)
        assert engine.load(default_model, params).flash_attention == "off"
        _text, stats = _answer(engine, REWRITE, params)
        assert stats.draft_tokens == 0
    finally:
        engine.shutdown()


@pytest.mark.parametrize(
    ("kv", "flash"),
    [(KVCacheType.Q8_0, FlashAttention.ON), (KVCacheType.Q4_0, FlashAttention.AUTO)],
)
def test_a_quantized_kv_cache_loads_with_flash_attention(default_model, kv, flash):
    engine = LocalEngine(check_file=inspect_gguf)
    try:
        params = GREEDY.with_(kv_cache_type=kv, flash_attention=flash)
        loaded = engine.load(default_model, params)
        assert loaded.kv_cache_type == str(kv)
        assert loaded.flash_attention == "on"  # auto turns it on for a quantized cache
        text, stats = _answer(engine, PROMPTS[1], params.with_(max_tokens=24))
        assert text.strip()
        assert stats.completion_tokens > 0
    finally:
        engine.shutdown()


def test_a_quantized_kv_cache_without_flash_attention_is_refused_in_words(default_model):
    engine = LocalEngine(check_file=inspect_gguf)
    try:
        params = GREEDY.with_(kv_cache_type=KVCacheType.Q4_0, flash_attention=FlashAttention.OFF)
        with pytest.raises(UsageError) as caught:
            engine.load(default_model, params)
        message = str(caught.value)
        assert "q4_0" in message
        assert "flash attention" in message
        assert "null" not in message.lower()
        assert "llama_context" not in message
        # The engine is fine afterwards: a good combination loads.
        assert engine.load(default_model, GREEDY).kv_cache_type == "f16"
    finally:
        engine.shutdown()


def test_the_engine_itself_turns_llama_cpps_refusal_into_words(default_model, monkeypatch):
    """Past the supervisor's own check (a client of the pipe sending its own Load):
    llama.cpp refuses a quantized V cache without flash attention, and the engine says
    which settings to change, not "out of memory" or a bare "Failed to create"."""
    from app.backends.local.engine import Engine, _Refused
    from app.backends.local.protocol import FailureKind, Load

    sent: list[object] = []

    class Flag:
        value = False

    engine = Engine(sent.append, Flag())
    # Skip the early check, as a client of the pipe that does not make it would.
    monkeypatch.setattr("app.backends.local.engine.load_settings_problem", lambda _k, _f: None)
    try:
        with pytest.raises(_Refused) as caught:
            engine.load(Load(str(default_model), 512, kv_cache_type="q4_0", flash_attention="off"))
    finally:
        engine.unload()
    assert caught.value.kind is FailureKind.SETTINGS
    assert "q4_0" in caught.value.message
    assert "f16" in caught.value.message
