"""DocumentsService.embed: the real embedding model in its own process."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from app.core.errors import EngineCrashed
from app.services.workspace import Workspace


@pytest.fixture
def workspace(installed_embedder):
    ws = Workspace()
    yield ws
    ws.shutdown()


def test_embed_gives_one_normalised_vector_per_text_with_tokens(workspace):
    result = workspace.documents.embed(["Paris is the capital of France.", "I like cheese.", ""])
    assert result.model == "all-minilm-l6-v2-f16"
    assert len(result.vectors) == 3
    assert all(len(v) == 384 for v in result.vectors)
    assert all(abs(np.linalg.norm(v) - 1.0) < 1e-3 for v in result.vectors[:2])
    # [CLS] paris is the capital of france . [SEP] = 9; [CLS] i like cheese . [SEP] = 6; 2
    assert result.prompt_tokens == 9 + 6 + 2


def test_similar_texts_are_closer_than_unrelated_ones(workspace):
    a, b, c = (
        np.asarray(v)
        for v in workspace.documents.embed(
            [
                "How do I reset my password?",
                "Steps to change a forgotten password",
                "Bananas are yellow.",
            ]
        ).vectors
    )
    assert a @ b > a @ c + 0.2


def test_an_embedding_process_killed_mid_request_fails_clearly_and_restarts(workspace):
    docs = workspace.documents
    docs.embed(["warm up"])
    pid = docs._embedder.pid
    errors: list[Exception] = []

    def long_request():
        try:
            docs.embed(["many words in a long passage " * 80] * 400)
        except EngineCrashed as exc:
            errors.append(exc)

    worker = threading.Thread(target=long_request)
    worker.start()
    time.sleep(0.5)  # the request is in the process now (it takes seconds)
    os.kill(pid, signal.SIGKILL)
    worker.join(timeout=30)
    assert errors
    assert "embedding" in str(errors[0])
    assert len(docs.embed(["and again"]).vectors) == 1
    assert docs._embedder.pid != pid


def test_a_huge_text_is_cut_to_the_model_context(workspace):
    result = workspace.documents.embed(["word " * 5000])
    assert result.prompt_tokens == 512
    assert len(result.vectors[0]) == 384
