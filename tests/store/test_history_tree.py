"""A conversation as a tree in the history: the upgrade of older files, versions,
the path shown, delete with undo, fork, export and import, and search on every branch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from app.store.history.schema import SCHEMA_VERSION, connect, migrate, schema_version
from app.store.history.store import HistoryStore

TREE_SCHEMA = 4  # the version that made conversations trees


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.db") as opened:
        yield opened


def _branched(store: HistoryStore) -> tuple[int, dict[str, int]]:
    """question -> two answers (the second a regeneration), then an edited question
    with its own answer."""
    cid = store.create_conversation()
    ids: dict[str, int] = {}
    ids["q"] = store.add_message(cid, "user", "How long should sourdough proof?")
    ids["a1"] = store.add_message(cid, "assistant", "Four hours.", parent_id=ids["q"])
    ids["a2"] = store.add_message(
        cid, "assistant", "Overnight in the fridge.", parent_id=ids["q"], reasoning="cold slows"
    )
    ids["q2"] = store.add_message(cid, "user", "And rye bread?", parent_id=None)
    ids["a3"] = store.add_message(cid, "assistant", "Rye ferments faster.", parent_id=ids["q2"])
    return cid, ids


def test_a_version_3_history_upgrades_to_one_straight_path(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(connect(path)) as conn:
        assert migrate(conn, up_to=3) == 3
        now = time.time()
        conn.execute(
            "INSERT INTO conversations (title, created_at, updated_at) VALUES ('old', ?, ?)",
            (now, now),
        )
        for role, text in [("user", "hi"), ("assistant", "hello"), ("user", "more")]:
            conn.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at) "
                "VALUES (1, ?, ?, ?)",
                (role, text, now),
            )
        conn.execute(
            "INSERT INTO conversations (title, created_at, updated_at) VALUES ('empty', ?, ?)",
            (now, now),
        )
    with HistoryStore(path) as store:
        stored = store.get_conversation(1)
        assert [m.parent_id for m in stored.messages] == [None, 1, 2]
        assert stored.current_leaf_id == 3
        assert [m.content for m in stored.path()] == ["hi", "hello", "more"]
        assert all(m.reasoning == "" for m in stored.messages)
        assert store.get_conversation(2).path() == ()
        # The old conversation goes on where it stopped.
        new = store.add_message(1, "assistant", "go on")
        assert store.get_conversation(1).path()[-1].id == new
        assert store.search("hello")[0].message_id == 2
    with closing(connect(path)) as conn:
        assert schema_version(conn) == SCHEMA_VERSION >= TREE_SCHEMA


def test_versions_and_the_path_shown_are_remembered(store: HistoryStore, tmp_path: Path) -> None:
    cid, ids = _branched(store)
    stored = store.get_conversation(cid)
    assert [m.id for m in stored.path()] == [ids["q2"], ids["a3"]]
    store.set_current_leaf(cid, ids["a1"])
    store.close()
    with HistoryStore(tmp_path / "history.db") as again:
        shown = again.get_conversation(cid).path()
        assert [m.content for m in shown] == ["How long should sourdough proof?", "Four hours."]


def test_deleting_a_message_takes_its_replies_and_undo_brings_them_back(
    store: HistoryStore,
) -> None:
    cid, ids = _branched(store)
    store.set_current_leaf(cid, ids["a2"])
    deleted = store.delete_messages(cid, ids["q"])
    assert {m.id for m in deleted.messages} == {ids["q"], ids["a1"], ids["a2"]}
    left = store.get_conversation(cid)
    assert [m.id for m in left.messages] == [ids["q2"], ids["a3"]]
    assert store.search("sourdough") == []
    store.restore_messages(deleted)
    back = store.get_conversation(cid)
    assert [m.id for m in back.messages] == sorted(ids.values())
    assert [m.id for m in back.path()] == [ids["q"], ids["a2"]]
    assert back.messages[2].reasoning == "cold slows"
    assert store.search("sourdough")[0].message_id == ids["q"]


def test_fork_copies_the_path_to_one_message_into_a_new_conversation(
    store: HistoryStore,
) -> None:
    cid, ids = _branched(store)
    forked = store.fork_conversation(cid, ids["a2"])
    copy = store.get_conversation(forked)
    assert [m.content for m in copy.path()] == [
        "How long should sourdough proof?",
        "Overnight in the fridge.",
    ]
    assert len(copy.messages) == 2
    assert copy.info.display_title.endswith("(fork)")
    assert len(store.get_conversation(cid).messages) == 5  # the original is untouched


def test_a_tree_survives_export_and_import(store: HistoryStore) -> None:
    cid, ids = _branched(store)
    store.set_current_leaf(cid, ids["a2"])
    exported = store.export_json(cid)
    assert exported["current_path"] == [ids["q"], ids["a2"]]
    by_id = {m["id"]: m for m in exported["messages"]}
    assert (by_id[ids["a2"]]["version"], by_id[ids["a2"]]["versions"]) == (2, 2)
    assert by_id[ids["a2"]]["reasoning"] == "cold slows"
    assert (by_id[ids["q2"]]["version"], by_id[ids["q2"]]["versions"]) == (2, 2)
    imported = store.import_json(exported)
    again = store.export_json(imported)
    assert len(again["messages"]) == 5
    assert [m["content"] for m in again["messages"]] == [m["content"] for m in exported["messages"]]
    shown = {m["id"]: m["content"] for m in again["messages"]}
    assert [shown[i] for i in again["current_path"]] == [
        "How long should sourdough proof?",
        "Overnight in the fridge.",
    ]
    assert [(m["version"], m["versions"]) for m in again["messages"]] == [
        (m["version"], m["versions"]) for m in exported["messages"]
    ]
    markdown = store.export_markdown(imported)
    assert "Overnight in the fridge." in markdown
    assert "Four hours." not in markdown  # the path shown, for people


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda ms: ms[1].update(parent_id=999), "'parent_id' is not the id of an earlier"),
        (lambda ms: ms[1].update(id=ms[0]["id"]), "'id' should be a whole number"),
        (lambda ms: ms[0].update(id="one"), "'id' should be a whole number"),
        (lambda ms: ms[0].update(parent_id=ms[1]["id"]), "earlier message"),
        (lambda ms: ms[0].update(reasoning=["x"]), "'reasoning' should be a str"),
    ],
)
def test_a_bad_tree_in_an_import_is_refused(
    store: HistoryStore, change: object, problem: str
) -> None:
    from app.store.history.records import HistoryImportError

    cid, _ids = _branched(store)
    exported = store.export_json(cid)
    change(exported["messages"])  # type: ignore[operator]
    with pytest.raises(HistoryImportError, match=problem):
        store.import_json(exported)


def test_search_finds_a_message_on_a_branch_not_shown(store: HistoryStore) -> None:
    cid, ids = _branched(store)
    shown = [m.id for m in store.get_conversation(cid).path()]
    assert ids["a1"] not in shown
    hits = store.search("four hours")
    assert [(h.conversation_id, h.message_id) for h in hits] == [(cid, ids["a1"])]
