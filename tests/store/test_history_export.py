from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.privacy import ON_THIS_DEVICE
from app.store.history.store import HistoryImportError, HistoryStore

GOLDEN = Path(__file__).parent / "golden"

EXPORT: dict[str, Any] = {
    "format": "tandem.conversation",
    "format_version": 1,
    "title": "Bread, locally and in the cloud",
    "created_at": "2025-03-01T09:30:00+00:00",
    "updated_at": "2025-03-01T09:31:10+00:00",
    "pinned": True,
    "default_model": "smollm2-135m",
    "models": ["gpt-4o-mini", "smollm2-135m"],
    "messages": [
        {
            "role": "system",
            "content": "You are a patient baker.",
            "status": "complete",
            "model": None,
            "backend": None,
            "host": None,
            "privacy": None,
            "stats": None,
            "run_info": None,
            "error": None,
            "created_at": "2025-03-01T09:30:00+00:00",
        },
        {
            "role": "user",
            "content": "How long should **sourdough** proof?",
            "status": "complete",
            "model": None,
            "backend": None,
            "host": None,
            "privacy": None,
            "stats": None,
            "run_info": None,
            "error": None,
            "created_at": "2025-03-01T09:30:05+00:00",
        },
        {
            "role": "assistant",
            "content": "About 4 hours at room temperature.\n\n```\nfold every 30 min\n```\n",
            "status": "complete",
            "model": "smollm2-135m",
            "backend": "local",
            "host": None,
            "privacy": ON_THIS_DEVICE,
            "stats": {
                "model": "smollm2-135m",
                "backend": "local",
                "host": None,
                "privacy": ON_THIS_DEVICE,
                "finish_reason": "stop",
                "time_to_first_token_s": 0.21,
                "tokens_per_s": 143.2,
                "prompt_tokens_per_s": 950.0,
                "prompt_tokens": 31,
                "completion_tokens": 24,
                "estimated": False,
                "cost_usd": 0.0,
                "cloud_equivalent_usd": 0.00012,
                "cloud_equivalent_model": "openai:gpt-4o",
                "prompt_tokens_cached": 0,
            },
            "run_info": {
                "model_file": "SmolLM2-135M-Instruct-Q4_1.gguf",
                "quantization": "Q4_1",
                "context_length": 2048,
                "gpu_layers": 0,
                "threads": 2,
                "sampling": {"temperature": 0.7, "top_p": 0.95},
                "hardware": "2 CPU cores, 8 GB RAM",
            },
            "error": None,
            "created_at": "2025-03-01T09:30:07+00:00",
        },
        {
            "role": "assistant",
            "content": "Usually 4 to 12 hours, depending on",
            "status": "interrupted",
            "model": "gpt-4o-mini",
            "backend": "cloud",
            "host": "api.openai.com",
            "privacy": "sent to api.openai.com",
            "stats": None,
            "run_info": None,
            "error": None,
            "created_at": "2025-03-01T09:30:07+00:00",
        },
        {
            "role": "assistant",
            "content": "",
            "status": "error",
            "model": "gpt-4o-mini",
            "backend": "cloud",
            "host": "api.openai.com",
            "privacy": "sent to api.openai.com",
            "stats": None,
            "run_info": None,
            "error": "The API key was refused (401). Check the key in Providers.",
            "created_at": "2025-03-01T09:31:10+00:00",
        },
    ],
}


@pytest.fixture
def store() -> Iterator[HistoryStore]:
    with HistoryStore() as opened:
        yield opened


def test_markdown_export_matches_the_golden_file(store: HistoryStore) -> None:
    conversation = store.import_json(EXPORT)
    expected = (GOLDEN / "conversation.md").read_text(encoding="utf-8")
    assert store.export_markdown(conversation) == expected


_TREE_KEYS = ("current_path", "current_id", "id", "parent_id", "version", "versions", "reasoning")


def as_version_1(exported: dict[str, Any]) -> dict[str, Any]:
    """An export without what version 2 added (the tree), to compare with EXPORT."""
    flat = {k: v for k, v in exported.items() if k not in _TREE_KEYS}
    flat["format_version"] = 1
    flat["messages"] = [
        {k: v for k, v in m.items() if k not in _TREE_KEYS} for m in exported["messages"]
    ]
    return flat


def test_json_export_round_trips_with_stats_models_and_privacy(store: HistoryStore) -> None:
    conversation = store.import_json(EXPORT)  # a version 1 file: one straight path
    exported = store.export_json(conversation)
    assert exported["format_version"] == 2
    assert as_version_1(exported) == EXPORT
    ids = [m["id"] for m in exported["messages"]]
    assert exported["current_path"] == ids
    assert [m["parent_id"] for m in exported["messages"]] == [None, *ids[:-1]]
    again = store.import_json(exported)
    assert again != conversation
    assert as_version_1(store.export_json(again)) == EXPORT


def test_an_import_never_resumes_streaming(store: HistoryStore) -> None:
    data = copy.deepcopy(EXPORT)
    data["messages"][3]["status"] = "streaming"
    conversation = store.import_json(data)
    assert store.get_conversation(conversation).messages[3].status == "interrupted"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(format="something else"), "'format'"),
        (lambda d: d.update(format_version=99), "newer Tandem"),
        (lambda d: d.update(messages={}), "'messages' is not a list"),
        (lambda d: d["messages"][1].update(role="wizard"), "message 2: unknown role"),
        (lambda d: d["messages"][1].update(content=None), "message 2: 'content'"),
        (lambda d: d["messages"][1].update(status="weird"), "unknown status"),
        (lambda d: d["messages"][2].update(stats=[1, 2]), "'stats' should be a dict"),
        (lambda d: d["messages"][2].update(created_at="yesterday"), "not a date"),
    ],
)
def test_a_bad_import_says_what_is_wrong(store: HistoryStore, change: Any, problem: str) -> None:
    data = copy.deepcopy(EXPORT)
    change(data)
    with pytest.raises(HistoryImportError, match=problem):
        store.import_json(data)
    assert store.list_conversations() == []


def test_an_import_that_is_not_an_object(store: HistoryStore) -> None:
    with pytest.raises(HistoryImportError, match="not a JSON object"):
        store.import_json([EXPORT])
