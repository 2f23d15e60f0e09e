"""The two conversations of a Compare exchange, linked in the history."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import pytest

from app.store.history.records import StoreError
from app.store.history.schema import MIGRATIONS, SCHEMA_VERSION, connect, migrate, schema_version
from app.store.history.store import HistoryStore


def test_a_history_from_before_pairs_upgrades_and_keeps_its_conversations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = len(MIGRATIONS) - 1  # the schema just before the pairs
    with closing(connect(path)) as conn:
        assert migrate(conn, up_to=before) == before
        now = time.time()
        for title in ("first", "second"):
            conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
                (title, now, now),
            )
    assert MIGRATIONS[-1].__name__ == "_compare_pairs"
    with HistoryStore(path) as store:
        assert [c.title for c in store.list_conversations()] == ["second", "first"]
        assert store.compare_pairs() == {}
        store.link_compare(1, 2)
        assert store.compare_pairs() == {1: 2}
        assert store.compare_pair(2) == (1, 2) == store.compare_pair(1)
    with closing(connect(path)) as conn:
        assert schema_version(conn) == SCHEMA_VERSION


def test_linking_refuses_nonsense_and_a_deleted_side_unlinks(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        a, b = store.create_conversation("a"), store.create_conversation("b")
        with pytest.raises(StoreError):
            store.link_compare(a, a)
        with pytest.raises(StoreError):
            store.link_compare(a, 999)
        store.link_compare(a, b)
        deleted = store.delete_conversation(a)
        assert store.compare_pairs() == {}
        assert store.compare_pair(b) is None
        store.restore(deleted)
        assert [c.title for c in store.list_conversations()] == ["b", "a"]
