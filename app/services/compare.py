"""One prompt to two models at once, side by side, and a verdict on the pair."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.core.events import CancelToken, Event
from app.core.pricing import cost_label
from app.core.stats import AnswerStats
from app.services.chat import ChatService, OnSensitive


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
            f"A: {cost(a)}, B: {cost(b)} · A {a.privacy}, B {b.privacy}"
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
