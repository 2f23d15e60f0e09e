from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from app.core.messages import Role
from app.core.privacy import ON_THIS_DEVICE
from app.core.stats import AnswerStats, FinishReason
from app.store.history.schema import SCHEMA_VERSION, connect, migrate
from app.store.history.store import (
    INTERRUPTED,
    ConversationNotFound,
    HistoryStore,
    StoreError,
    fallback_title,
)
from app.store.paths import app_paths

RUN_INFO = {
    "model_file": "SmolLM2-135M-Instruct-Q4_1.gguf",
    "quantization": "Q4_1",
    "context_length": 2048,
    "gpu_layers": 0,
    "threads": 2,
    "sampling": {"temperature": 0.7, "top_p": 0.95, "seed": None},
    "hardware": "2 CPU cores, 8 GB RAM, no GPU",
}


def _stats(**changes: object) -> AnswerStats:
    values: dict[str, object] = {
        "model": "smollm2",
        "backend": "local",
        "host": None,
        "privacy": ON_THIS_DEVICE,
        "finish_reason": FinishReason.STOP,
        "time_to_first_token_s": 0.25,
        "tokens_per_s": 120.5,
        "prompt_tokens_per_s": 800.0,
        "prompt_tokens": 40,
        "completion_tokens": 99,
    }
    values.update(changes)
    return AnswerStats(**values)  # type: ignore[arg-type]


@pytest.fixture
def store() -> Iterator[HistoryStore]:
    with HistoryStore() as opened:
        yield opened


def test_history_lives_in_the_data_folder_in_wal_mode(store: HistoryStore) -> None:
    assert store.path == app_paths().history_db
    with closing(connect(store.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_conversation_keeps_its_messages_stats_and_run_info(store: HistoryStore) -> None:
    conversation = store.create_conversation(default_model="smollm2")
    user = store.add_message(conversation, Role.USER, "What is a GGUF file?")
    answer = store.add_message(
        conversation,
        "assistant",
        "",
        model="smollm2",
        backend="local",
        host=None,
        status="streaming",
        run_info=RUN_INFO,
    )
    store.finish_message(answer, "A model file format.", "complete", _stats(), None)

    stored = store.get_conversation(conversation)
    assert stored.info.default_model == "smollm2"
    assert stored.title == "What is a GGUF file?"  # named after the first question
    assert [m.id for m in stored.messages] == [user, answer]
    reply = stored.messages[1]
    assert reply.role is Role.ASSISTANT
    assert (reply.content, reply.status, reply.model) == (
        "A model file format.",
        "complete",
        "smollm2",
    )
    assert reply.stats == _stats().to_json()
    assert reply.run_info == RUN_INFO
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.content = "changed"  # type: ignore[misc]


def test_a_failed_answer_keeps_its_partial_text_and_error(store: HistoryStore) -> None:
    conversation = store.create_conversation("t")
    answer = store.add_message(conversation, "assistant", "", status="streaming")
    store.finish_message(answer, "Half an ans", "incomplete", None, "The engine stopped.")
    reply = store.get_conversation(conversation).messages[0]
    assert (reply.content, reply.status, reply.error) == (
        "Half an ans",
        "incomplete",
        "The engine stopped.",
    )


def test_list_puts_pinned_first_then_most_recent(store: HistoryStore) -> None:
    old = store.create_conversation("old")
    middle = store.create_conversation("middle")
    new = store.create_conversation("new")
    time.sleep(0.01)
    store.add_message(middle, "user", "bump")  # activity moves it to the top
    store.set_pinned(old, True)
    assert [c.id for c in store.list_conversations()] == [old, middle, new]
    assert store.list_conversations()[0].pinned


def test_rename_and_unknown_conversation(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    assert store.get_conversation(conversation).info.display_title == "New conversation"
    store.rename(conversation, "  Trip   to Lisbon ")
    assert store.get_conversation(conversation).title == "Trip to Lisbon"
    store.add_message(conversation, "user", "this does not rename it")
    assert store.get_conversation(conversation).title == "Trip to Lisbon"
    with pytest.raises(ConversationNotFound):
        store.rename(999, "x")
    with pytest.raises(ConversationNotFound):
        store.get_conversation(999)
    with pytest.raises(ConversationNotFound):
        store.add_message(999, "user", "nobody home")


def test_fallback_title_takes_the_first_words() -> None:
    assert fallback_title("  Hello\n  world  ") == "Hello world"
    long = "Please explain how quantization changes the quality of a small language model"
    title = fallback_title(long)
    assert title.endswith("…")
    assert len(title) <= 48
    assert long.startswith(title[:-1])
    assert not title[:-1].endswith(" ")
    assert fallback_title("x" * 200) == "x" * 47 + "…"
    assert fallback_title("   ") == "New conversation"


def test_streaming_updates_are_coalesced_and_the_last_text_wins(store: HistoryStore) -> None:
    conversation = store.create_conversation("t")
    answer = store.add_message(conversation, "assistant", "", status="streaming")
    started = time.monotonic()
    text = ""
    while time.monotonic() - started < 1.0:
        text += "token "
        store.update_streaming(answer, text)
        time.sleep(0.002)
    elapsed = time.monotonic() - started
    store.flush()
    writes = store._writer._streaming_writes
    assert 2 <= writes <= elapsed / 0.25 + 2  # at most one write every 250 ms
    assert store.get_conversation(conversation).messages[0].content == text


def test_streaming_text_reaches_the_disk_within_the_interval(store: HistoryStore) -> None:
    conversation = store.create_conversation("t")
    answer = store.add_message(conversation, "assistant", "", status="streaming")
    started = time.monotonic()
    store.update_streaming(answer, "first")
    store.update_streaming(answer, "first words")
    with closing(sqlite3.connect(store.path)) as other_process:
        while time.monotonic() - started < 2:
            row = other_process.execute("SELECT content FROM messages WHERE id = ?", (answer,))
            if row.fetchone()[0] == "first words":
                break
            time.sleep(0.02)
        else:
            pytest.fail("streaming text never reached the database")
    assert time.monotonic() - started < 0.25 + 0.5  # one interval, plus a busy machine


def test_finish_wins_over_a_late_streaming_update(store: HistoryStore) -> None:
    conversation = store.create_conversation("t")
    answer = store.add_message(conversation, "assistant", "", status="streaming")
    store.update_streaming(answer, "partial")
    store.update_streaming(answer, "partial more")
    store.finish_message(answer, "final", "stopped", None, None)
    store.update_streaming(answer, "a straggler after the end")
    store.flush()
    message = store.get_conversation(conversation).messages[0]
    assert (message.content, message.status) == ("final", "stopped")


def test_writes_from_many_threads_all_land(store: HistoryStore) -> None:
    conversation = store.create_conversation("t")

    def write(n: int) -> None:
        for i in range(20):
            store.add_message(conversation, "user", f"thread {n} message {i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.get_conversation(conversation).messages) == 80


def test_two_stores_on_one_file_like_the_gui_and_the_cli(store: HistoryStore) -> None:
    conversation = store.create_conversation("shared")
    live = store.add_message(conversation, "assistant", "", status="streaming")
    store.update_streaming(live, "still typing")
    with HistoryStore(store.path) as cli:
        # the second opener must not take the live answer away from its writer
        assert cli.get_conversation(conversation).messages[0].status == "streaming"
        cli.add_message(conversation, "user", "from the CLI")
        store.add_message(conversation, "user", "from the GUI")
    store.finish_message(live, "done", "complete")
    assert [m.content for m in store.get_conversation(conversation).messages] == [
        "done",
        "from the CLI",
        "from the GUI",
    ]


def test_an_answer_left_streaming_by_a_dead_process_becomes_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as first:
        conversation = first.create_conversation("t")
        answer = first.add_message(conversation, "assistant", "", status="streaming")
        first.update_streaming(answer, "cut off here")
        first.flush()
        with closing(connect(path)) as conn:  # as if written by a process that died
            conn.execute("UPDATE messages SET streaming_owner = '999999999:1.00'")
        first._streaming.clear()  # the crashed process never closed
    with HistoryStore(path) as reopened:
        message = reopened.get_conversation(conversation).messages[0]
        assert (message.status, message.content) == (INTERRUPTED, "cut off here")
        assert reopened.mark_interrupted() == 0


def test_closing_marks_this_stores_unfinished_answers_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        conversation = store.create_conversation("t")
        answer = store.add_message(conversation, "assistant", "", status="streaming")
        store.update_streaming(answer, "the app quit while I was")
    with HistoryStore(path) as reopened:
        message = reopened.get_conversation(conversation).messages[0]
    assert (message.status, message.content) == (INTERRUPTED, "the app quit while I was")


def test_delete_and_undo_bring_back_the_same_conversation(store: HistoryStore) -> None:
    conversation = store.create_conversation("to delete", default_model="m")
    store.add_message(conversation, "user", "remember the walrus")
    answer = store.add_message(conversation, "assistant", "", status="streaming", run_info=RUN_INFO)
    store.finish_message(answer, "I remember the walrus.", "complete", _stats())
    store.set_pinned(conversation, True)
    before = store.get_conversation(conversation)

    deleted = store.delete_conversation(conversation)
    assert store.list_conversations() == []
    assert store.search("walrus") == []  # messages and their index went with it
    with closing(connect(store.path)) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0

    store.create_conversation("made meanwhile")
    assert store.restore(deleted) == conversation
    assert store.get_conversation(conversation) == before
    assert len(store.search("walrus")) == 2


def test_duplicate_copies_messages_under_new_ids(store: HistoryStore) -> None:
    conversation = store.create_conversation("original")
    store.add_message(conversation, "user", "hello")
    store.add_message(conversation, "assistant", "hi", model="m", run_info=RUN_INFO)
    copy = store.duplicate_conversation(conversation)
    original, duplicate = store.get_conversation(conversation), store.get_conversation(copy)
    assert copy != conversation
    assert duplicate.title == "original (copy)"
    assert [(m.role, m.content, m.run_info) for m in duplicate.messages] == [
        (m.role, m.content, m.run_info) for m in original.messages
    ]
    assert not {m.id for m in duplicate.messages} & {m.id for m in original.messages}


def test_search_ranks_highlights_and_points_at_the_message(store: HistoryStore) -> None:
    first = store.create_conversation("cooking")
    store.add_message(first, "user", "How long should sourdough proof?")
    best = store.add_message(
        first, "assistant", "Sourdough proofs 4 hours; sourdough likes warmth, sourdough!"
    )
    second = store.create_conversation("café talk")
    store.add_message(second, "user", "Le café était très bon")

    hits = store.search("sourdough")
    assert [h.message_id for h in hits][0] == best
    assert hits[0].conversation_id == first
    assert hits[0].rank <= hits[1].rank
    assert "«Sourdough»" in hits[0].snippet

    custom = store.search("cafe", highlight=("<b>", "</b>"))  # diacritics do not matter
    assert [h.conversation_id for h in custom] == [second]
    assert "<b>café</b>" in custom[0].snippet
    assert [h.message_id for h in store.search("sourd")] != []  # prefix while typing
    assert store.search("sourdough warmth")[0].message_id == best  # every word must match
    assert store.search("") == []


@pytest.mark.parametrize(
    "query", ['"unbalanced', "a AND (", "NEAR(x y", "col:thing", "*", "-minus", "x OR", "^"]
)
def test_search_takes_any_text_the_user_types(store: HistoryStore, query: str) -> None:
    conversation = store.create_conversation("t")
    store.add_message(conversation, "user", "a thing with minus and x")
    store.search(query)  # no FTS5 syntax error reaches the user


def test_a_one_megabyte_paste_is_stored_read_back_and_found(store: HistoryStore) -> None:
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "émigré", "数据", "🙂")
    text = " ".join(words[i % len(words)] + str(i % 97) for i in range(200_000))
    middle = len(text) // 2
    text = (text[:middle] + " needleinthehaystack " + text[middle:])[:1_000_000]
    text = text.ljust(1_000_000, "z")
    assert len(text) == 1_000_000
    conversation = store.create_conversation("paste")
    message = store.add_message(conversation, "user", text)
    assert store.get_conversation(conversation).messages[0].content == text
    hits = store.search("needleinthehaystack")
    assert [h.message_id for h in hits] == [message]
    assert "«needleinthehaystack»" in hits[0].snippet


def test_a_version_1_database_is_upgraded_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(connect(path)) as conn:
        assert migrate(conn, up_to=1) == 1
        conn.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 'old', 1, 2)"
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, status, created_at) "
            "VALUES (1, 'user', 'written before search existed', 'complete', 1)"
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, status, created_at) "
            "VALUES (1, 'assistant', 'an old crash', 'streaming', 2)"
        )
    with HistoryStore(path) as store:
        with closing(connect(path)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [h.conversation_id for h in store.search("before search")] == [1]
        messages = store.get_conversation(1).messages
        assert messages[0].run_info is None
        assert messages[1].status == INTERRUPTED
        answer = store.add_message(1, "assistant", "new", run_info={"threads": 2})
        assert store.get_conversation(1).messages[-1].run_info == {"threads": 2}
        assert store.get_conversation(1).messages[-1].id == answer


def test_a_history_from_a_newer_tandem_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with closing(connect(path)) as conn:
        migrate(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version of Tandem") as caught:
        HistoryStore(path)
    assert caught.value.reason == "newer_version"
    assert path.exists()
    assert list(tmp_path.glob("*.broken-*")) == []
