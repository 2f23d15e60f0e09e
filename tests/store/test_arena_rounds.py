"""Arena rounds in the history: names kept apart until the vote, export and delete."""

from __future__ import annotations

import json
import sqlite3

import pytest

from app.core.errors import UsageError
from app.store.history.answers import stored_answers
from app.store.history.arena import ArenaRounds, RoundNotFound, Side
from app.store.history.schema import SCHEMA_VERSION, schema_version
from app.store.history.store import HistoryStore

SIDES = [
    Side(
        "left", "secret-local-model", "local", None, {"model": "secret-local-model", "cost_usd": 0}
    ),
    Side(
        "right", "secret-cloud-model", "cloud", "api.example.com", {"model": "secret-cloud-model"}
    ),
]


@pytest.fixture
def arena(tmp_path):
    rounds = ArenaRounds(tmp_path / "history.db")
    yield rounds
    rounds.close()


def _add(arena, prompt="What is 2+2?"):
    return arena.add(
        prompt, {"left": "4", "right": "Four."}, {"left": False, "right": False}, SIDES
    )


def test_the_migration_brings_the_schema_to_the_current_version(tmp_path):
    with HistoryStore(tmp_path / "history.db"):
        pass
    conn = sqlite3.connect(tmp_path / "history.db")
    assert schema_version(conn) == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"arena_rounds", "arena_sides"} <= tables
    conn.close()


def test_a_round_before_its_vote_hands_out_no_name_and_cannot_be_revealed(arena):
    round_id = _add(arena)
    blind = arena.blind(round_id)
    text = json.dumps(blind.to_json()) + repr(blind) + json.dumps(arena.export())
    for secret in ("secret-local-model", "secret-cloud-model", "api.example.com"):
        assert secret not in text
    with pytest.raises(UsageError, match="vote first"):
        arena.reveal(round_id)
    assert arena.revealed() == []


def test_the_vote_reveals_names_once_and_cannot_be_cast_twice(arena):
    round_id = _add(arena)
    revealed = arena.vote(round_id, "right")
    assert revealed.round.vote == "right"
    assert revealed.left.model == "secret-local-model"
    assert revealed.right.host == "api.example.com"
    assert arena.reveal(round_id) == revealed
    with pytest.raises(UsageError, match="already"):
        arena.vote(round_id, "left")
    with pytest.raises(UsageError, match="one of"):
        arena.vote(_add(arena), "<b>maybe</b>")
    (exported, blind) = arena.export()
    assert exported["right"]["model"] == "secret-cloud-model"
    assert exported["vote"] == "right"
    assert "model" not in blind["left"]


def test_deleting_a_round_removes_its_names_too(arena, tmp_path):
    first, second = _add(arena), _add(arena, "another")
    arena.delete(first)
    assert [r.id for r in arena.rounds()] == [second]
    conn = sqlite3.connect(tmp_path / "history.db")
    assert conn.execute(
        "SELECT COUNT(*) FROM arena_sides WHERE round_id = ?", (first,)
    ).fetchone() == (0,)
    conn.close()
    with pytest.raises(RoundNotFound):
        arena.delete(first)
    with pytest.raises(RoundNotFound):
        arena.vote(first, "tie")
    assert arena.delete_all() == 1
    assert arena.rounds() == []


def test_stored_answers_hold_chat_and_arena_answers(arena, tmp_path):
    with HistoryStore(tmp_path / "history.db") as history:
        conversation = history.create_conversation("t")
        history.add_message(conversation, "user", "hi")
        answer = history.add_message(conversation, "assistant", "", status="streaming")
        history.finish_message(answer, "hello", "complete", {"model": "m", "cost_usd": 0.5}, None)
    _add(arena)
    found = stored_answers(tmp_path / "history.db")
    assert sorted(a.source for a in found) == ["arena", "arena", "chat"]
    assert stored_answers(tmp_path / "history.db", since=found[-1].created_at + 1) == []
