"""One prompt to two models at once, side by side, and a verdict on the pair."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core import units
from app.core.errors import TandemError
from app.core.events import CancelToken, Event
from app.core.pricing import cost_label
from app.core.stats import AnswerStats
from app.services.chat import ChatService, OnSensitive

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One line of the verdict table: what is compared, each side's figure, who won it."""

    label: str
    values: dict[str, str]  # side ("a", "b") -> the figure as shown
    winner: str | None  # "a", "b", or None for a tie or when it cannot be told


@dataclass(frozen=True, slots=True)
class Verdict:
    first_to_answer: str | None  # "a", "b", or None when neither answered
    faster: str | None  # higher generation speed
    cost_usd: dict[str, float | None]
    stayed_on_device: dict[str, bool]
    stats: dict[str, AnswerStats | None] = field(default_factory=dict)

    def _name(self, side: str) -> str:
        a, b = self.stats.get("a"), self.stats.get("b")
        same = a is not None and b is not None and a.model == b.model
        chosen = self.stats.get(side)
        return side.upper() if chosen is None or same else chosen.model

    def column_name(self, side: str) -> str:
        """The heading of a side's column: its model, with A/B only when both are the same."""
        chosen = self.stats.get(side)
        if chosen is None:
            return side.upper()
        return (
            f"{chosen.model} ({side.upper()})"
            if self._name(side) == side.upper()
            else (chosen.model)
        )

    def rows(self) -> list[VerdictRow]:
        """The verdict as a table: first token, speed, tokens, cost, privacy; the winner of
        each row is the lower time, the higher speed, the lower cost, the one that stayed
        on this device. Empty unless both answered."""
        a, b = self.stats.get("a"), self.stats.get("b")
        if a is None or b is None:
            return []
        by_side = {"a": a, "b": b}

        def pick(values: Mapping[str, float | None], lower: bool) -> str | None:
            known = {s: v for s, v in values.items() if v is not None}
            if len(known) < 2 or known["a"] == known["b"]:
                return None
            choose = min if lower else max
            return choose(known, key=known.__getitem__)

        def ttft(s: AnswerStats) -> str:
            t = s.time_to_first_token_s
            return "—" if t is None else units.seconds(t)

        def cost_of(s: AnswerStats) -> float | None:
            return 0.0 if s.backend == "local" else s.cost_usd

        def cost(s: AnswerStats) -> str:
            if s.backend == "local":
                return "free"
            return cost_label(s.backend, s.cost_usd)

        on_device = {side: 1.0 if self.stayed_on_device.get(side) else 0.0 for side in by_side}
        approx = {side: "~" if by_side[side].estimated else "" for side in by_side}
        return [
            VerdictRow(
                "First token",
                {side: ttft(s) for side, s in by_side.items()},
                pick({side: s.time_to_first_token_s for side, s in by_side.items()}, lower=True),
            ),
            VerdictRow(
                "Speed",
                {side: f"{approx[side]}{s.tokens_per_s:.0f} tok/s" for side, s in by_side.items()},
                pick({side: s.tokens_per_s for side, s in by_side.items()}, lower=False),
            ),
            VerdictRow(
                "Tokens",
                {
                    side: f"{approx[side]}{units.tokens(s.completion_tokens)}"
                    for side, s in by_side.items()
                },
                None,  # more is not better, nor fewer
            ),
            VerdictRow(
                "Cost",
                {side: cost(s) for side, s in by_side.items()},
                pick({side: cost_of(s) for side, s in by_side.items()}, lower=True),
            ),
            VerdictRow(
                "Privacy",
                {side: s.privacy for side, s in by_side.items()},
                pick(on_device, lower=False),
            ),
        ]

    def summary(self) -> str:
        """The verdict in one sentence, each figure next to the model it belongs to:
        `B-model answered first (0.66 s vs 8.96 s) · ...`."""
        a, b = self.stats.get("a"), self.stats.get("b")
        if a is None or b is None:
            if a is None and b is None:
                return "Neither model answered."
            return f"Only {self._name('a' if a is not None else 'b')} answered."
        first = self.first_to_answer or "a"
        faster = self.faster or "a"
        by_side = {"a": a, "b": b}
        other = {"a": "b", "b": "a"}

        def ttft(side: str) -> float:
            return by_side[side].time_to_first_token_s or 0.0

        def speed(side: str) -> float:
            return by_side[side].tokens_per_s

        def cost(stats: AnswerStats) -> str:
            return cost_label(stats.backend, stats.cost_usd)

        return (
            f"{self._name(first)} answered first "
            f"({ttft(first):.2f} s vs {ttft(other[first]):.2f} s) · "
            f"{self._name(faster)} generated faster "
            f"({speed(faster):.0f} vs {speed(other[faster]):.0f} tok/s) · "
            f"{self._name('a')}: {cost(a)}, {self._name('b')}: {cost(b)} · "
            f"{self._name('a')} {a.privacy}, {self._name('b')} {b.privacy}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "first_to_answer": self.first_to_answer,
            "faster": self.faster,
            "cost_usd": self.cost_usd,
            "stayed_on_device": self.stayed_on_device,
        }


def verdict(a: AnswerStats | None, b: AnswerStats | None) -> Verdict:
    def ttft(s: AnswerStats | None) -> float:
        return s.time_to_first_token_s if s and s.time_to_first_token_s is not None else 1e9

    def speed(s: AnswerStats | None) -> float:
        return s.tokens_per_s if s else -1.0

    first = None if a is None and b is None else ("a" if ttft(a) <= ttft(b) else "b")
    faster = None if a is None and b is None else ("a" if speed(a) >= speed(b) else "b")
    return Verdict(
        first_to_answer=first,
        faster=faster,
        cost_usd={"a": a.cost_usd if a else None, "b": b.cost_usd if b else None},
        stayed_on_device={
            "a": bool(a and a.host is None) or bool(a and a.privacy == "on this device"),
            "b": bool(b and b.host is None) or bool(b and b.privacy == "on this device"),
        },
        stats={"a": a, "b": b},
    )


class CompareSession:
    """Two conversations that share the user's messages; a follow-up goes to both or one."""

    def __init__(self, a: ChatService, b: ChatService) -> None:
        self.sides = {"a": a, "b": b}

    def send(
        self,
        text: str,
        cancel: CancelToken,
        to: tuple[str, ...] = ("a", "b"),
        on_sensitive: OnSensitive = OnSensitive.SEND,
        over_budget: bool = False,
    ) -> Iterator[tuple[str, Event]]:
        """Events of both answers as they arrive, each tagged with its side."""
        for side in to:  # ask about secrets before either request starts
            self.sides[side].check_sensitive(text, on_sensitive)
        events: queue.Queue[tuple[str, Event | None]] = queue.Queue()

        def run(side: str) -> None:
            try:
                sending = self.sides[side].send(text, cancel, on_sensitive, over_budget=over_budget)
                for event in sending:
                    events.put((side, event))
            finally:
                events.put((side, None))

        for side in to:
            threading.Thread(target=run, args=(side,), name=f"compare-{side}", daemon=True).start()
        running = len(to)
        while running:
            side, event = events.get()
            if event is None:
                running -= 1
            else:
                yield side, event
        if set(to) == {"a", "b"}:
            self._link()

    def _link(self) -> None:
        """Keep the two conversations together in the history: one entry in its list."""
        a, b = self.sides["a"], self.sides["b"]
        if a.history is None or a.conversation_id is None or b.conversation_id is None:
            return
        if a.conversation_id == b.conversation_id:
            return
        try:
            a.history.link_compare(a.conversation_id, b.conversation_id)
        except TandemError as exc:
            logger.warning("could not link the compared conversations: %s", exc.message)
