"""The local API with the real `openai` client and raw HTTP, the real default model."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time

import openai
import pytest

from tests.server.conftest import KEY, post

HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
FACTS = {"time_to_first_token_s", "tokens_per_s", "prompt_tokens_per_s", "privacy",
         "cost_usd", "cloud_equivalent_usd"}  # fmt: skip


def client(api, key=KEY):
    return openai.OpenAI(base_url=api.base_url, api_key=key, max_retries=0)


def chat_prompt_tokens(vocab, messages):
    """What llama.cpp's tokenizer counts for these messages, through the model's template."""
    from app.backends.local.prompt import PromptBuilder

    template = vocab.metadata.get("tokenizer.chat_template")
    bos = vocab._model.token_get_text(vocab.token_bos())
    eos = vocab._model.token_get_text(vocab.token_eos())
    prompt = PromptBuilder(template, bos, eos).build(messages)
    return len(vocab.tokenize(prompt.text.encode(), add_bos=not prompt.added_special,
                              special=True))  # fmt: skip


def test_models_lists_the_installed_default(api, model_id):
    models = client(api).models.list().data
    assert model_id in [m.id for m in models]
    assert model_id.startswith("smollm2")


def test_chat_usage_is_the_tokenizers_count_and_the_facts_come_along(api, model_id, vocab):
    messages = [{"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Name three colours."}]  # fmt: skip
    answer = client(api).chat.completions.create(
        model=model_id, messages=messages, max_tokens=5, temperature=0, seed=7
    )
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens == 5
    assert answer.usage.prompt_tokens == chat_prompt_tokens(vocab, messages)
    facts = answer.model_extra["tandem"]
    assert FACTS <= set(facts)
    assert facts["privacy"] == "on this device"
    assert facts["tokens_per_s"] > 0
    assert facts["cost_usd"] == 0.0


def test_streaming_chat_ends_with_usage_and_facts(api, model_id):
    stream = client(api).chat.completions.create(
        model=model_id, messages=[{"role": "user", "content": "Say hello."}], max_tokens=12,
        stream=True, stream_options={"include_usage": True}, temperature=0,
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens >= 1
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert FACTS <= set(last.model_extra["tandem"])
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1
    assert FACTS <= set(finals[0].model_extra["tandem"])


def test_completions_count_the_prompt_as_the_tokenizer_does_and_honour_stop(api, model_id, vocab):
    prompt = "The capital of France is Paris. The capital of Italy is"
    answer = client(api).completions.create(
        model=model_id, prompt=prompt, max_tokens=16, temperature=0, stop=["."]
    )
    assert answer.usage.prompt_tokens == len(vocab.tokenize(prompt.encode(), add_bos=True))
    assert "." not in answer.choices[0].text
    assert answer.choices[0].text.strip()
    assert FACTS <= set(answer.model_extra["tandem"])


def test_the_same_seed_gives_the_same_answer(api, model_id):
    ask = {"model": model_id, "messages": [{"role": "user", "content": "Tell me a story."}],
           "max_tokens": 16, "temperature": 1.0, "seed": 42}  # fmt: skip
    first = client(api).chat.completions.create(**ask).choices[0].message.content
    second = client(api).chat.completions.create(**ask).choices[0].message.content
    assert first == second


def test_async_client_two_streams_at_once_both_complete(api, model_id):
    async def one(question):
        async with openai.AsyncOpenAI(base_url=api.base_url, api_key=KEY, max_retries=0) as c:
            stream = await c.chat.completions.create(
                model=model_id, messages=[{"role": "user", "content": question}],
                max_tokens=16, stream=True, stream_options={"include_usage": True},
            )  # fmt: skip
            parts, usage = [], None
            async for chunk in stream:
                if chunk.choices:
                    parts.append(chunk.choices[0].delta.content or "")
                usage = chunk.usage or usage
            return "".join(parts), usage

    async def both():
        return await asyncio.gather(one("What is a cat?"), one("What is rain?"))

    (text_a, usage_a), (text_b, usage_b) = asyncio.run(both())
    assert text_a.strip()
    assert text_b.strip()
    assert usage_a.completion_tokens >= 1
    assert usage_b.completion_tokens >= 1


def test_async_client_plain_answer(api, model_id):
    async def ask():
        async with openai.AsyncOpenAI(base_url=api.base_url, api_key=KEY, max_retries=0) as c:
            return await c.chat.completions.create(
                model=model_id, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
            )

    answer = asyncio.run(ask())
    assert answer.usage.completion_tokens >= 1
    assert "tandem" in answer.model_extra


def test_anthropic_messages_plain_and_streamed(api, model_id):
    parts = [{"type": "text", "text": "Hi"}]
    body = {"model": model_id, "max_tokens": 6, "system": "Be brief.",
            "messages": [{"role": "user", "content": parts}]}  # fmt: skip
    status, _, raw = post(api.base_url + "/messages", body, key=None, headers={"x-api-key": KEY})
    assert status == 200
    message = json.loads(raw)
    assert message["type"] == "message"
    assert message["content"][0]["type"] == "text"
    assert message["usage"]["output_tokens"] >= 1
    assert message["stop_reason"] in ("end_turn", "max_tokens")
    assert FACTS <= set(message["tandem"])

    status, headers, raw = post(api.base_url + "/messages", {**body, "stream": True},
                                key=None, headers={"x-api-key": KEY})  # fmt: skip
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = [line[6:].strip() for line in raw.decode().splitlines() if line.startswith("event:")]
    assert events[0] == "message_start"
    assert "content_block_delta" in events
    assert events[-2:] == ["message_delta", "message_stop"]
    datas = [json.loads(line[5:]) for line in raw.decode().splitlines()
             if line.startswith("data:")]  # fmt: skip
    delta = next(d for d in datas if d["type"] == "message_delta")
    assert delta["usage"]["output_tokens"] >= 1
    assert FACTS <= set(delta["tandem"])


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_missing_or_wrong_key_gets_401_in_openai_form(api, model_id, key):
    status, _, raw = post(api.base_url + "/chat/completions",
                          {"model": model_id, "messages": [{"role": "user", "content": "x"}]},
                          key=key)  # fmt: skip
    assert status == 401
    error = json.loads(raw)["error"]
    assert error["code"] == "invalid_api_key"
    assert "Authorization: Bearer" in error["message"]
    with pytest.raises(openai.AuthenticationError):
        client(api, key="nope").models.list()


def test_an_oversized_body_gets_413(api, model_id):
    huge = "word " * (2 * 2**20)  # 10 MiB of prompt
    body = {"model": model_id, "messages": [{"role": "user", "content": huge}]}
    status, _, raw = post(api.base_url + "/chat/completions", body)
    assert status == 413
    assert "larger than the limit" in json.loads(raw)["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        ({"messages": [{"role": "user", "content": "x"}], "model": "no-such-model"}, 404,
         "no-such-model"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, 400,
         "temperature"),
        ({"messages": [{"role": "user", "content": 7}]}, 400, "messages.0.content"),
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": -5}, 400, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 3}, 400, "n"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
        ({"messages": [{"role": "user", "content": "x"}], "model": "/etc/passwd"}, 404,
         "/etc/passwd"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_readable_4xx_never_a_traceback(api, body, status, says):
    raw = body if isinstance(body, bytes) else None
    got, _, answer = post(api.base_url + "/chat/completions", body, raw=raw)
    assert got == status
    message = json.loads(answer)["error"]["message"]
    assert says in message
    assert "Traceback" not in message


def test_a_prompt_longer_than_the_context_gets_400(api, model_id):
    long = "apple banana cherry " * 3000  # about 12,000 tokens, beyond the 4,096 context
    status, _, raw = post(api.base_url + "/completions", {"model": model_id, "prompt": long})
    assert status == 400
    error = json.loads(raw)["error"]
    assert error["code"] == "context_length_exceeded"
    assert "tokens" in error["message"]


def test_a_client_that_leaves_mid_stream_stops_its_answer_within_200ms(api, model_id):
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    body = {"model": model_id, "prompt": "1, 2, 3, 4, 5, 6, 7, 8,", "max_tokens": 3000,
            "stream": True, "temperature": 0}  # fmt: skip
    connection.request("POST", "/v1/completions", json.dumps(body),
                       HEADERS)  # fmt: skip
    response = connection.getresponse()
    assert response.status == 200
    seen = 0
    while seen < 3:
        if response.readline().startswith(b"data:"):
            seen += 1
    entry = api.requests()[-1]
    assert entry.endpoint == "POST /v1/completions"
    assert entry.generation_ended_at is None  # still generating when the client leaves
    connection.sock.shutdown(2)
    connection.close()
    left_at = time.monotonic()
    deadline = left_at + 5
    while time.monotonic() < deadline:
        entry = next(r for r in api.requests() if r.id == entry.id)
        if entry.generation_ended_at is not None:
            break
        time.sleep(0.005)
    assert entry.generation_ended_at is not None
    assert entry.generation_ended_at - left_at < 0.2
    assert entry.status == "cancelled"


def test_every_request_lands_in_the_privacy_ledger(api, model_id):
    before = len(api.state.workspace.ledger.records())
    client(api).chat.completions.create(
        model=model_id, messages=[{"role": "user", "content": "Hi"}], max_tokens=3
    )
    records = api.state.workspace.ledger.records()[before:]
    assert len(records) == 1
    record = records[0]
    assert record.provider == "local API"
    assert record.host == "127.0.0.1"
    assert record.model == model_id
    assert record.bytes_received > 50
    assert record.bytes_sent > 50
    assert record.outcome == "ok"
    assert record.left_device is False


def test_the_window_and_the_api_share_the_engine_without_mixing_answers(api, model_id):
    """An answer in the app's own conversation runs while an API answer waits for the
    engine; both come out exactly as when each runs alone (temperature 0)."""
    from app.core.events import CancelToken, Delta
    from app.core.messages import GenerationParams

    workspace = api.state.workspace
    ask = {"model": model_id, "messages": [{"role": "user", "content": "What is the sea?"}],
           "max_tokens": 24, "temperature": 0}  # fmt: skip
    alone = client(api).chat.completions.create(**ask).choices[0].message.content

    backend = workspace.backend_for(model_id)
    window = workspace.chat_service(backend, save=False)
    window.params = GenerationParams(max_tokens=24, temperature=0, system_prompt="")
    window_alone = "".join(e.text for e in window.send("Name a fruit.", CancelToken())
                           if isinstance(e, Delta))  # fmt: skip
    window.new_conversation()

    results = {}

    def run_window():
        results["window"] = "".join(e.text for e in window.send("Name a fruit.", CancelToken())
                                    if isinstance(e, Delta))  # fmt: skip

    thread = threading.Thread(target=run_window)
    thread.start()
    together = client(api).chat.completions.create(**ask).choices[0].message.content
    thread.join(60)
    assert together == alone
    assert results["window"] == window_alone


def test_a_full_queue_answers_503_with_retry_after(api_home, model_id):
    from app.server import start_server
    from app.services.workspace import Workspace
    from app.store.paths import AppPaths

    root = api_home
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs")
    workspace = Workspace(paths)
    server = start_server(workspace, port=0, key=KEY, queue_capacity=1, write_instance=False)
    try:
        long = {"model": model_id, "prompt": "1, 2, 3, 4,", "max_tokens": 400, "stream": True}
        holders = []
        for _ in range(2):  # one answering, one waiting
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            c.request("POST", "/v1/completions", json.dumps(long),
                      HEADERS)  # fmt: skip
            holders.append(c)
        deadline = time.monotonic() + 30  # one answering, the other waiting its turn
        while server.state.queue.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.state.queue.waiting == 1
        status, headers, raw = post(server.base_url + "/completions", long)
        assert status == 503
        assert headers["retry-after"].isdigit()
        assert json.loads(raw)["error"]["code"] == "queue_full"
        for c in holders:
            c.close()
    finally:
        server.stop()
        workspace.shutdown()


def test_api_chats_reach_the_history_only_when_the_setting_says_so(api, model_id):
    import dataclasses

    workspace = api.state.workspace
    history = workspace.history()
    before = len(history.list_conversations())
    ask = {"model": model_id, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}
    client(api).chat.completions.create(**ask)
    assert len(history.list_conversations()) == before  # off by default
    workspace.settings = dataclasses.replace(workspace.settings, api_save_chats=True)
    try:
        client(api).chat.completions.create(**ask)
    finally:
        workspace.settings = dataclasses.replace(workspace.settings, api_save_chats=False)
    conversations = history.list_conversations()
    assert len(conversations) == before + 1


def test_cors_is_off_unless_an_origin_is_allowed(api_home):
    from app.server import start_server
    from app.services.workspace import Workspace
    from app.store.paths import AppPaths

    root = api_home
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs")
    preflight = {"Origin": "https://editor.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}  # fmt: skip
    for origins, allowed in (((), False), (("https://editor.example",), True)):
        workspace = Workspace(paths)
        server = start_server(workspace, port=0, key=KEY, cors_origins=origins,
                              write_instance=False)  # fmt: skip
        try:
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            c.request("OPTIONS", "/v1/chat/completions", headers=preflight)
            response = c.getresponse()
            response.read()
            given = response.getheader("access-control-allow-origin")
            assert (given == "https://editor.example") is allowed
            assert given is None or allowed
        finally:
            server.stop()
            workspace.shutdown()


def test_a_client_that_leaves_before_a_whole_answer_cancels_it(api, model_id):
    client(api).completions.create(model=model_id, prompt="1,", max_tokens=2)  # model loaded
    known = {r.id for r in api.requests()}
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    body = {"model": model_id, "prompt": "1, 2, 3, 4, 5, 6, 7, 8,", "max_tokens": 3000,
            "temperature": 0}  # fmt: skip
    connection.request("POST", "/v1/completions", json.dumps(body), HEADERS)
    deadline = time.monotonic() + 30
    entry = None
    while time.monotonic() < deadline:
        found = api.requests()
        if found and found[-1].id not in known and found[-1].model:
            entry = found[-1]
            break
        time.sleep(0.01)
    assert entry is not None
    time.sleep(1.0)  # well into the answer
    assert next(r for r in api.requests() if r.id == entry.id).generation_ended_at is None
    connection.sock.shutdown(2)
    connection.close()
    left_at = time.monotonic()
    while time.monotonic() < left_at + 5:
        entry = next(r for r in api.requests() if r.id == entry.id)
        if entry.generation_ended_at is not None:
            break
        time.sleep(0.005)
    assert entry.generation_ended_at is not None
    assert entry.generation_ended_at - left_at < 0.3
    assert entry.status == "cancelled"
