"""Blind arena rounds in the history file.

A round (the prompt, the two answers as Left and Right, the vote) is one row; which model
answered on which side, and its facts, are rows of their own. The only reads that join
the two want a round that has been voted on, so nothing here can hand out a name early.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.core.errors import UsageError
from app.store.history.queries import json_object
from app.store.history.records import StoreError, store_error
from app.store.history.schema import connect, open_database, transaction

T = TypeVar("T")

SIDES = ("left", "right")
VOTES = ("left", "right", "tie", "bad")


class RoundNotFound(StoreError):
    def __init__(self, round_id: int) -> None:
        super().__init__(
            f"Arena round {round_id} is not in the history (it may have been deleted). "
            "`tandem-cli arena list` shows the rounds there are.",
            reason="not_found",
        )


@dataclass(frozen=True, slots=True)
class Side:
    """Who answered on one side and how it went: kept apart until the vote."""

    side: str
    model: str
    backend: str  # "local" or "cloud"
    host: str | None
    stats: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BlindRound:
    """A round as it may be shown before the vote: no names, no hosts, no facts."""

    id: int
    prompt: str
    left_text: str
    right_text: str
    left_failed: bool
    right_failed: bool
    vote: str | None
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.id,
            "prompt": self.prompt,
            "left": {"text": self.left_text, "failed": self.left_failed},
            "right": {"text": self.right_text, "failed": self.right_failed},
            "vote": self.vote,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class RevealedRound:
    round: BlindRound
    left: Side
    right: Side
    voted_at: float

    def side(self, name: str) -> Side:
        return self.left if name == "left" else self.right

    def to_json(self) -> dict[str, Any]:
        data = self.round.to_json()
        for name in SIDES:
            who = self.side(name)
            data[name].update(
                model=who.model, backend=who.backend, host=who.host, stats=who.stats,
                error=who.error,
            )  # fmt: skip
        data["voted_at"] = self.voted_at
        return data


_ROUND = (
    "SELECT id, prompt, left_text, right_text, left_failed, right_failed, vote, created_at "
    "FROM arena_rounds"
)


def _blind(row: Sequence[Any]) -> BlindRound:
    vote = row[6] if row[6] in VOTES else None
    return BlindRound(
        int(row[0]), str(row[1]), str(row[2]), str(row[3]), bool(row[4]), bool(row[5]), vote,
        float(row[7]),
    )  # fmt: skip


class ArenaRounds:
    """The arena's rounds in the history file at `path`. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        open_database(path)  # the schema, with its arena tables, is current
        self._lock = threading.Lock()
        try:
            self._conn = connect(path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise store_error(exc, "open the arena rounds", path) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _run(self, doing: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                with transaction(self._conn):
                    return fn(self._conn)
            except sqlite3.Error as exc:
                raise store_error(exc, doing, self.path) from exc

    def add(
        self, prompt: str, texts: dict[str, str], failed: dict[str, bool], sides: Sequence[Side]
    ) -> int:
        """Store a finished round and, apart, who answered on each side; its id."""

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO arena_rounds (prompt, left_text, right_text, left_failed, "
                "right_failed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (prompt, texts["left"], texts["right"], int(failed["left"]),
                 int(failed["right"]), time.time()),
            )  # fmt: skip
            round_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO arena_sides (round_id, side, model, backend, host, stats, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (round_id, s.side, s.model, s.backend, s.host,
                     None if s.stats is None else json.dumps(s.stats), s.error)
                    for s in sides
                ],
            )  # fmt: skip
            return round_id

        return self._run("save the arena round", insert)

    def blind(self, round_id: int) -> BlindRound:
        def get(conn: sqlite3.Connection) -> BlindRound:
            row = conn.execute(_ROUND + " WHERE id = ?", (round_id,)).fetchone()
            if row is None:
                raise RoundNotFound(round_id)
            return _blind(row)

        return self._run("read the arena round", get)

    def rounds(self) -> list[BlindRound]:
        return self._run(
            "read the arena rounds",
            lambda conn: [_blind(r) for r in conn.execute(_ROUND + " ORDER BY id")],
        )

    def vote(self, round_id: int, vote: str) -> RevealedRound:
        """Record the vote (once) and hand back the round with its names."""
        if vote not in VOTES:
            raise UsageError(f"A vote is one of {', '.join(VOTES)}, not {vote!r:.40}.")

        def cast(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT vote FROM arena_rounds WHERE id = ?", (round_id,))
            found = row.fetchone()
            if found is None:
                raise RoundNotFound(round_id)
            if found[0] is not None:
                raise UsageError(f"Round {round_id} has its vote already ({found[0]}).")
            conn.execute(
                "UPDATE arena_rounds SET vote = ?, voted_at = ? WHERE id = ?",
                (vote, time.time(), round_id),
            )

        self._run("save the vote", cast)
        return self.reveal(round_id)

    def reveal(self, round_id: int) -> RevealedRound:
        """The round with who answered where; only once it has its vote."""
        found = self._revealed("WHERE r.id = ?", (round_id,))
        if not found:
            blind = self.blind(round_id)  # raises when there is no such round
            raise UsageError(f"Round {blind.id} has no vote yet: vote first, then see who was who.")
        return found[0]

    def revealed(self) -> list[RevealedRound]:
        """Every round that has its vote, oldest first, with its names and facts."""
        return self._revealed("", ())

    def _revealed(self, where: str, args: tuple[Any, ...]) -> list[RevealedRound]:
        query = (
            "SELECT r.id, r.prompt, r.left_text, r.right_text, r.left_failed, r.right_failed, "
            "r.vote, r.created_at, r.voted_at, s.side, s.model, s.backend, s.host, s.stats, "
            "s.error FROM arena_rounds r JOIN arena_sides s ON s.round_id = r.id "
            f"{where} {'AND' if where else 'WHERE'} r.vote IS NOT NULL ORDER BY r.id, s.side"
        )

        def read(conn: sqlite3.Connection) -> list[RevealedRound]:
            by_round: dict[int, tuple[BlindRound, float, dict[str, Side]]] = {}
            for row in conn.execute(query, args):
                blind = _blind(row[:8])
                entry = by_round.setdefault(blind.id, (blind, float(row[8] or 0.0), {}))
                side = str(row[9])
                entry[2][side] = Side(
                    side, str(row[10]), str(row[11]), row[12], json_object(row[13]), row[14]
                )
            return [
                RevealedRound(blind, sides["left"], sides["right"], voted_at)
                for blind, voted_at, sides in by_round.values()
                if "left" in sides and "right" in sides
            ]

        return self._run("read the arena rounds", read)

    def delete(self, round_id: int) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM arena_rounds WHERE id = ?", (round_id,)).rowcount == 0:
                raise RoundNotFound(round_id)

        self._run("delete the arena round", remove)

    def delete_all(self) -> int:
        return self._run(
            "delete the arena rounds",
            lambda conn: conn.execute("DELETE FROM arena_rounds").rowcount,
        )

    def export(self) -> list[dict[str, Any]]:
        """Every round as JSON: voted rounds with their names, the others still blind."""
        revealed = {r.round.id: r.to_json() for r in self.revealed()}
        return [revealed.get(b.id, b.to_json()) for b in self.rounds()]
