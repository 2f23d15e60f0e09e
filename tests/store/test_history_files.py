"""Conversation files, read and written by the history store for the window and the CLI."""

from __future__ import annotations

import json

import pytest

from app.core.messages import Role
from app.store.history.records import ConversationFileError
from app.store.history.store import HistoryStore


@pytest.fixture
def store(tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def _conversation(store: HistoryStore) -> int:
    cid = store.create_conversation("Files")
    store.add_message(cid, Role.USER, "Hello")
    store.add_message(cid, Role.ASSISTANT, "Hi there", model="m")
    return cid


def test_a_json_file_round_trips_into_a_new_conversation(store, tmp_path):
    cid = _conversation(store)
    path = tmp_path / "out.json"
    store.export_file(cid, path, "json")
    assert path.read_text(encoding="utf-8").endswith("}\n")
    new_id = store.import_file(path)
    assert new_id != cid
    assert [m.content for m in store.get_conversation(new_id).messages] == ["Hello", "Hi there"]


def test_markdown_is_written_as_the_export_reads(store, tmp_path):
    cid = _conversation(store)
    path = tmp_path / "out.md"
    store.export_file(cid, path, "md")
    assert path.read_text(encoding="utf-8") == store.export_markdown(cid)
    assert store.export_text(cid, "json") == (
        json.dumps(store.export_json(cid), ensure_ascii=False, indent=2) + "\n"
    )


def test_an_unreadable_file_is_named_in_the_error(store, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConversationFileError, match=r"Could not read broken.json"):
        store.import_file(broken)
    with pytest.raises(ConversationFileError, match=r"missing.json"):
        store.import_file(tmp_path / "missing.json")


def test_a_folder_that_cannot_be_written_is_named(store, tmp_path):
    cid = _conversation(store)
    with pytest.raises(ConversationFileError, match=r"Could not write"):
        store.export_file(cid, tmp_path / "no" / "such" / "folder" / "x.md", "md")
