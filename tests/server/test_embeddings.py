"""POST /v1/embeddings: the real embedding model, through the documents service."""

from __future__ import annotations

import json

import numpy as np
import openai
import pytest

from tests.server.conftest import post


@pytest.fixture
def server(installed_embedder):
    from app.server import start_server
    from app.services.workspace import Workspace

    workspace = Workspace()
    running = start_server(workspace, port=0, key="k", write_instance=False)
    yield running
    running.stop()
    workspace.shutdown()


def test_the_openai_client_gets_one_vector_per_text_with_exact_usage(server):
    c = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    listed = {m.id: m.model_extra["tandem"]["kind"] for m in c.models.list().data}
    assert listed["all-minilm-l6-v2-f16"] == "embedding"
    # the client asks for base64 and decodes it itself
    texts = ["Paris is the capital of France.", "I like cheese."]
    result = c.embeddings.create(model="all-minilm-l6-v2-f16", input=texts)
    assert [d.index for d in result.data] == [0, 1]
    vectors = [np.asarray(d.embedding) for d in result.data]
    assert all(len(v) == 384 for v in vectors)
    assert all(abs(np.linalg.norm(v) - 1.0) < 1e-3 for v in vectors)
    # [CLS] paris is the capital of france . [SEP] = 9; [CLS] i like cheese . [SEP] = 6
    assert result.usage.prompt_tokens == 9 + 6
    assert result.model == "all-minilm-l6-v2-f16"


def test_float_and_base64_give_the_same_vector_and_the_facts(server):
    body = {"input": "How do I reset my password?", "encoding_format": "float"}
    status, _, raw = post(server.base_url + "/embeddings", body, key="k")
    assert status == 200
    floats = json.loads(raw)
    assert floats["tandem"]["privacy"] == "on this device"
    assert floats["tandem"]["cost_usd"] == 0.0
    c = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    decoded = c.embeddings.create(model="all-minilm-l6-v2-f16", input=body["input"])
    assert np.allclose(floats["data"][0]["embedding"], decoded.data[0].embedding, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"input": []}, 400, "input"),
        ({"input": [1, 2, 3]}, 400, "input"),
        ({"input": "x", "model": "text-embedding-3-small"}, 404, "text-embedding-3-small"),
        ({"input": "x", "encoding_format": "int8"}, 400, "encoding_format"),
    ],
)
def test_bad_embedding_requests_get_a_readable_4xx(server, body, status, says):
    got, _, raw = post(server.base_url + "/embeddings", body, key="k")
    assert got == status
    assert says in json.loads(raw)["error"]["message"]
