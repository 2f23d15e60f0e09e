"""An imported conversation file is checked field by field: one that fails is refused
with a one-line reason naming the field, and nothing of it reaches the history."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.store.history.records import HistoryImportError
from app.store.history.store import HistoryStore
from tests.store.test_history_export import EXPORT, as_version_1

Change = Callable[[dict[str, Any]], object]


def _set(key: str, value: object) -> Change:
    return lambda d: d.update({key: value})


def _message(n: int, key: str, value: object) -> Change:
    return lambda d: d["messages"][n - 1].update({key: value})


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


BAD_FIELDS: list[tuple[str, Change, str]] = [
    ("year 9999 ahead of UTC", _set("created_at", "9999-12-31T23:59:59-14:00"),
     "conversation: 'created_at'"),
    ("year 9999", _set("updated_at", "9999-12-31T23:59:59+00:00"),
     "conversation: 'updated_at' .* not between 1970 and 3000"),
    ("year 1 behind UTC", _set("created_at", "0001-01-01T00:00:00+14:00"),
     "conversation: 'created_at'"),
    ("a number", _set("created_at", 1e20), "'created_at' should be an ISO 8601"),
    ("a negative number", _message(2, "created_at", -1e20), "message 2: 'created_at'"),
    ("NaN", _message(3, "created_at", "NaN"), "message 3: 'created_at'"),
    ("pinned as text", _set("pinned", "yes"), "'pinned' should be true or false"),
    ("a version of true", _set("format_version", True), "'format_version'"),
    ("a title of a number", _set("title", 123), "'title' should be a str"),
    ("a huge model name", _set("default_model", "m" * 5000), "'default_model' is longer"),
    ("a lone surrogate in the title", _set("title", "\ud800"), "'title' is not valid Unicode"),
    ("a lone surrogate in a message", _message(2, "content", "hi \udfff"),
     "message 2: 'content' is not valid Unicode"),
    ("a role of a list", _message(2, "role", ["user"]), "message 2: unknown role"),
    ("a status of a number", _message(2, "status", 3), "message 2: unknown status"),
    ("an error of a number", _message(5, "error", 401), "message 5: 'error' should be a str"),
    ("figures as text", _message(3, "stats", {**EXPORT["messages"][2]["stats"],
                                              "tokens_per_s": "fast"}),
     "message 3: 'stats' are not figures"),
    ("run info nested deep", _message(3, "run_info", _nested(40)),
     "message 3: 'run_info' nests deeper"),
    ("a surrogate inside run info", _message(3, "run_info", {"hardware": "\ud83d"}),
     "message 3: 'run_info' holds text"),
    ("a host of an object", _message(4, "host", {"name": "x"}), "message 4: 'host'"),
]  # fmt: skip


@pytest.fixture
def store() -> Iterator[HistoryStore]:
    with HistoryStore() as opened:
        yield opened


@pytest.mark.parametrize(("change", "problem"), [b[1:] for b in BAD_FIELDS],
                         ids=[b[0] for b in BAD_FIELDS])  # fmt: skip
def test_a_file_with_a_bad_field_is_refused_naming_it(
    store: HistoryStore, tmp_path: Path, change: Change, problem: str
) -> None:
    data = copy.deepcopy(EXPORT)
    change(data)
    path = tmp_path / "bad.json"
    # ensure_ascii: a lone surrogate travels as the \ud800 escape, as in a hostile file
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(HistoryImportError, match=problem) as caught:
        store.import_file(path)
    assert "\n" not in str(caught.value)
    assert store.list_conversations() == []


def test_the_good_file_still_imports(store: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "good.json"
    path.write_text(json.dumps(EXPORT), encoding="utf-8")
    cid = store.import_file(path)
    assert as_version_1(store.export_json(cid)) == EXPORT
