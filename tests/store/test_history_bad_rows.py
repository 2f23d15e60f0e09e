"""A history file holding values Tandem would never write (edited by hand, by another tool,
or imported by an older Tandem): every conversation still lists, opens, exports and
deletes, the bad value is clamped or read as unknown, and the problem is logged."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core.messages import Role
from app.core.stats import AnswerStats
from app.store.history.records import EARLIEST, LATEST, ConversationNotFound
from app.store.history.store import HistoryStore

# Times at and past the edge of what `datetime` holds, and values of the wrong type.
BAD_TIMES: list[object] = [
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp(),
    1e20,
    -1e20,
    -62135596800.0,  # the first second of the year 1
    "NaN",
    "yesterday",
    b"\x00\xff",
]
ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "UTC"]


def write_bad_conversation(path: Path, when: object, **columns: object) -> int:
    """A conversation written straight into the file, as another tool could."""
    with HistoryStore(path):
        pass  # the schema
    values = {
        "title": "Bad times",
        "created_at": when,
        "updated_at": when,
        "pinned": 0,
        "default_model": None,
        **columns,
    }
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(
            "INSERT INTO conversations (title, created_at, updated_at, pinned, default_model) "
            "VALUES (:title, :created_at, :updated_at, :pinned, :default_model)",
            values,
        )
        cid = int(cursor.lastrowid or 0)
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, status, created_at) "
            "VALUES (?, 'user', 'Hello from the far future', 'complete', ?)",
            (cid, when),
        )
    conn.close()
    return cid


@pytest.fixture
def local_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("local_zone", ZONES, indirect=True)
@pytest.mark.parametrize("when", BAD_TIMES, ids=repr)
def test_a_time_out_of_range_is_clamped_in_every_time_zone(
    tmp_path: Path, local_zone: str, when: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite3"
    cid = write_bad_conversation(path, when)
    with caplog.at_level(logging.WARNING), HistoryStore(path) as store:
        (info,) = store.list_conversations()
        conversation = store.get_conversation(cid)
        markdown = store.export_markdown(cid)
        exported = store.export_json(cid)
    assert info.id == cid
    assert EARLIEST <= info.updated_at <= LATEST
    # What the window and the CLI do with a time: show it in the local zone.
    assert f"{info.updated_at.astimezone():%Y-%m-%d %H:%M}"
    assert f"{conversation.messages[0].created_at.astimezone():%Y-%m-%d %H:%M}"
    assert conversation.messages[0].content == "Hello from the far future"
    assert "Hello from the far future" in markdown
    assert "not a usable time" in caplog.text
    # The export of a clamped conversation imports again.
    with HistoryStore(path) as store:
        again = store.import_json(exported)
        assert store.get_conversation(again).messages[0].content == "Hello from the far future"


def test_a_time_in_range_is_not_touched(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "history.sqlite3"
    moment = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    write_bad_conversation(path, moment.timestamp())
    with caplog.at_level(logging.WARNING), HistoryStore(path) as store:
        (info,) = store.list_conversations()
    assert info.updated_at == moment
    assert "not a usable time" not in caplog.text


def test_columns_of_the_wrong_type_are_read_as_unknown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite3"
    cid = write_bad_conversation(
        path, 1.7e9, title=b"\xff\xfe binary title", pinned="yes", default_model=42
    )
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, model, status, stats, "
            "run_info, error, created_at) VALUES (?, 'wizard', CAST(x'ff41' AS TEXT), 7, "
            "'weird', '[[[not json', '{\"a\": 1}', x'00ff', 1.7e9)",
            (cid,),
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, stats, created_at) "
            "VALUES (?, 'assistant', 'figures of the wrong type', "
            '\'{"model": 1, "tokens_per_s": "fast", "finish_reason": "stop"}\', 1.7e9)',
            (cid,),
        )
    conn.close()
    with caplog.at_level(logging.WARNING), HistoryStore(path) as store:
        (info,) = store.list_conversations()
        conversation = store.get_conversation(cid)
        hits = store.search("A")
        store.export_markdown(cid)
        store.export_text(cid, "json")
    assert info.title == "\ufffd\ufffd binary title"
    assert info.pinned is False
    assert info.default_model == "42"
    odd = conversation.messages[1]
    assert odd.role is Role.ASSISTANT
    assert odd.content == "\ufffdA"
    assert odd.status == "incomplete"
    assert odd.stats is None
    assert odd.run_info == {"a": 1}
    assert odd.model == "7"
    assert odd.error == "\x00\ufffd"
    wrong = conversation.messages[2].stats
    assert wrong is not None  # kept as it is, and read as no figures at all
    assert AnswerStats.from_json(wrong) is None
    assert [h.message_id for h in hits] == [odd.id]
    assert "unknown role" in caplog.text
    assert "unknown status" in caplog.text


def test_a_conversation_with_a_bad_row_can_be_deleted(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    cid = write_bad_conversation(path, 1e20)
    with HistoryStore(path) as store:
        deleted = store.delete_conversation(cid)
        assert store.list_conversations() == []
        with pytest.raises(ConversationNotFound):
            store.get_conversation(cid)
        restored = store.restore(deleted)
        assert store.get_conversation(restored).info.updated_at == LATEST
