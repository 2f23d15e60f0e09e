"""A damaged file, a full disk, a read-only folder: the user is told, nothing stored is lost."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from app.store.history.store import HistoryStore, StoreError


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _fill(path: Path, count: int = 200) -> int:
    with HistoryStore(path) as store:
        conversation = store.create_conversation("full of words")
        for n in range(count):
            store.add_message(conversation, "user", f"message {n} " + "lorem ipsum " * 100)
    return conversation


def test_a_file_that_is_not_sqlite_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    junk = b"this is not a database, it is a shopping list\n" * 100
    path.write_bytes(junk)
    with HistoryStore(path) as store:
        moved = store.recovered_from
        assert moved is not None
        assert moved.parent == tmp_path
        assert moved.name.startswith("history.sqlite3.broken-")
        assert moved.read_bytes() == junk  # the old file is kept, untouched
        conversation = store.create_conversation("fresh start")
        store.add_message(conversation, "user", "works again")
        assert [c.title for c in store.list_conversations()] == ["fresh start"]
    with HistoryStore(path) as reopened:
        assert reopened.recovered_from is None  # told once


def test_a_damaged_database_is_set_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _fill(path)
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 3, 4096 * 8, 7):  # scribble over a few b-tree pages
        data[offset] = 0xA5
    path.write_bytes(bytes(data))
    assert _integrity(path) != "ok"

    with HistoryStore(path) as store:
        assert store.recovered_from is not None
        assert store.recovered_from.read_bytes() == bytes(data)
        assert store.list_conversations() == []
    assert _integrity(path) == "ok"


def test_a_full_disk_is_explained_and_damages_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    conversation = _fill(path, count=20)
    with HistoryStore(path) as store:
        before = store.get_conversation(conversation)
        # A real SQLITE_FULL: the file may not grow by a single page (max_page_count),
        # which is what SQLite reports when the disk itself is full.
        store._writer.call(
            "test",
            lambda conn: conn.execute(
                "PRAGMA max_page_count = " + str(conn.execute("PRAGMA page_count").fetchone()[0])
            ),
        )
        with pytest.raises(StoreError) as caught:
            store.add_message(conversation, "user", "a long question " * 10_000)
        assert caught.value.reason == "disk_full"
        assert str(caught.value).startswith("Could not save your message: the disk is full.")
        assert "Free some space" in str(caught.value)
        assert store.get_conversation(conversation) == before
    assert _integrity(path) == "ok"
    with HistoryStore(path) as reopened:  # space is back (a fresh connection)
        assert reopened.get_conversation(conversation) == before
        reopened.add_message(conversation, "user", "a long question " * 10_000)


def test_a_failed_streaming_write_surfaces_at_flush(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        conversation = store.create_conversation("t")
        answer = store.add_message(conversation, "assistant", "", status="streaming")
        store._writer.call(
            "test",
            lambda conn: conn.execute(
                "PRAGMA max_page_count = " + str(conn.execute("PRAGMA page_count").fetchone()[0])
            ),
        )
        store.update_streaming(answer, "a very long answer " * 20_000)
        with pytest.raises(StoreError, match="disk is full"):
            store.flush()
        store.flush()  # reported once
    assert _integrity(path) == "ok"


def test_a_read_only_history_is_explained_and_damages_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    conversation = _fill(path, count=5)
    with HistoryStore(path) as store:
        before = store.get_conversation(conversation)
        # Tests run as root, which chmod does not stop; query_only makes SQLite itself
        # refuse every write with SQLITE_READONLY, as a read-only folder or mount does.
        store._writer.call("test", lambda conn: conn.execute("PRAGMA query_only = ON"))
        with pytest.raises(StoreError) as caught:
            store.add_message(conversation, "user", "one more")
        assert caught.value.reason == "read_only"
        assert "cannot be written to" in str(caught.value)
        with pytest.raises(StoreError):
            store.rename(conversation, "new name")
        assert store.get_conversation(conversation) == before
        store._writer.call("test", lambda conn: conn.execute("PRAGMA query_only = OFF"))
    assert _integrity(path) == "ok"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores chmod")
def test_a_read_only_folder_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "history.sqlite3"
    conversation = _fill(path, count=5)
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError) as caught, HistoryStore(path) as store:
            store.add_message(conversation, "user", "one more")
        assert caught.value.reason == "read_only"
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
    assert _integrity(path) == "ok"


def test_a_history_folder_that_cannot_exist_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="Could not open the history"):
        HistoryStore(blocker / "history.sqlite3")
