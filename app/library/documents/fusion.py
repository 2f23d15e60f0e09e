"""Reciprocal rank fusion: one ranking out of several, by rank alone (Cormack et al. 2009).

Scores of BM25 and cosine similarity are not on one scale; ranks are. Each list adds
1 / (k + rank) to an item's score, so an item near the top of both lists beats one at
the top of only one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = 60  # the constant of the paper: damps the weight of the very first ranks

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[T]], k: int = K) -> list[tuple[T, float]]:
    """Items of all rankings with their fused score, best first (ties: first seen first)."""
    scores: dict[T, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
