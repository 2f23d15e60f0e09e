"""A provider that never stops is cut at max_tokens, and the answer says so."""

from __future__ import annotations

import time

import pytest

from app.core.events import CancelToken, Finished
from app.core.messages import GenerationParams
from app.core.stats import FinishReason
from tests.backends.test_cloud import ASK, _backend


@pytest.mark.parametrize(("model", "most_chars"), [("endless", (10 + 2) * len(" word")),
                                                   ("endless-big", 10 * 64)])  # fmt: skip
def test_an_endless_stream_is_cut_at_max_tokens_and_marked(fault_server, model, most_chars):
    started = time.monotonic()
    records = []
    backend = _backend(fault_server.url, model, records=records)
    events = list(backend.stream(ASK, GenerationParams(max_tokens=10), CancelToken()))
    assert time.monotonic() - started < 10
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.stats.finish_reason is FinishReason.LENGTH
    assert "cut at token limit" in finished.stats.summary_line()
    text = "".join(getattr(e, "text", "") for e in events)
    assert 0 < len(text) <= most_chars
    assert [r.outcome for r in records] == ["cut at max_tokens"]
