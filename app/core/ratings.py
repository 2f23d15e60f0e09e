"""Bradley-Terry ratings from pairwise votes, with bootstrap confidence intervals.

A model's strength p says how often it wins: P(i beats j) = p_i / (p_i + p_j). The
strengths are fitted by Hunter's MM algorithm (2004), which needs nothing beyond NumPy.
A tie counts as half a win for each side. A weak prior (a few virtual ties against a
reference of strength 1) keeps a model that won or lost every round finite, and fixes the
scale: the reference sits at rating 1000, and 400 points mean ten times the odds, as on
the Elo scale people know.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

REFERENCE_RATING = 1000.0
POINTS_PER_DECADE = 400.0  # 400 rating points: ten times the odds of winning
DEFAULT_PRIOR = 1.0  # virtual tied rounds against the reference, per model


@dataclass(frozen=True, slots=True)
class Comparison:
    """One vote between two models: `score` is 1 when `first` won, 0 when `second`
    won, 0.5 for a tie (both good or both bad)."""

    first: str
    second: str
    score: float


@dataclass(frozen=True, slots=True)
class Rating:
    model: str
    rating: float
    low: float  # the bootstrap interval (95 % unless asked otherwise)
    high: float


def to_rating(strength: float) -> float:
    """A strength (reference = 1) on the rating scale (reference = 1000)."""
    return REFERENCE_RATING + POINTS_PER_DECADE * math.log10(strength)


def _win_matrix(models: Sequence[str], comparisons: Sequence[Comparison]) -> NDArray[np.float64]:
    """wins[i, j]: how often model i beat model j, ties counted half to each."""
    index = {name: n for n, name in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    for c in comparisons:
        i, j = index[c.first], index[c.second]
        if i == j:
            continue
        wins[i, j] += c.score
        wins[j, i] += 1.0 - c.score
    return wins


def _rescaled(strengths: NDArray[np.float64], prior: float) -> NDArray[np.float64]:
    """The strengths times the one common factor the prior prefers. Only the virtual
    rounds against the reference depend on the common scale, and a weak prior pulls on it
    so gently that the iteration alone would take thousands of steps to settle it."""
    log_strengths = np.log(strengths)
    shift = 0.0
    for _ in range(20):  # Newton's method on the log of the factor
        beats_reference = 1.0 / (1.0 + np.exp(-(log_strengths + shift)))
        slope = prior * np.sum(beats_reference * (1.0 - beats_reference))
        step = np.sum(prior / 2.0 - prior * beats_reference) / slope
        shift += step
        if abs(step) < 1e-12:
            break
    return np.asarray(strengths * np.exp(shift))


def fit_strengths(
    wins: NDArray[np.float64],
    prior: float = DEFAULT_PRIOR,
    *,
    tolerance: float = 1e-10,
    max_iterations: int = 100_000,
    initial: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Bradley-Terry strengths from a win matrix by the MM algorithm (Hunter 2004), one
    model at a time, with the common scale set by the prior after each sweep.

    With `prior` > 0 each model also has `prior` tied rounds against a reference of
    strength 1, so every strength is finite and positive. With `prior` = 0 the scale is
    free and the strengths are returned with a geometric mean of 1; the data must then
    be strongly connected (every model won and lost something within one group).
    """
    n = wins.shape[0]
    if n == 0:
        return np.zeros(0)
    games = wins + wins.T
    won = wins.sum(axis=1) + prior / 2.0
    strengths = np.ones(n) if initial is None else initial.copy()
    for _ in range(max_iterations):
        updated = strengths.copy()
        for i in range(n):  # one model at a time, each step using the others' latest
            against = games[i] / (updated[i] + updated)
            against[i] = 0.0
            total = against.sum() + prior / (updated[i] + 1.0)
            if total > 0:
                updated[i] = won[i] / total
        if prior == 0:
            updated = updated / np.exp(np.mean(np.log(updated)))
        else:
            updated = _rescaled(updated, prior)
        change = np.max(np.abs(np.log(updated) - np.log(strengths)))
        strengths = updated
        if change < tolerance:
            break
    return strengths


def fit(
    models: Sequence[str], comparisons: Sequence[Comparison], prior: float = DEFAULT_PRIOR
) -> dict[str, float]:
    """Each model's rating (reference = 1000) from all votes."""
    strengths = fit_strengths(_win_matrix(models, comparisons), prior)
    return {name: to_rating(float(s)) for name, s in zip(models, strengths, strict=True)}


def ratings(
    comparisons: Sequence[Comparison],
    *,
    prior: float = DEFAULT_PRIOR,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[Rating]:
    """Ratings with bootstrap intervals (the rounds resampled with replacement), best
    first. The seed is fixed, so the same votes always give the same intervals."""
    models = sorted({c.first for c in comparisons} | {c.second for c in comparisons})
    if not models:
        return []
    start = fit_strengths(_win_matrix(models, comparisons), prior)
    point = {name: to_rating(float(s)) for name, s in zip(models, start, strict=True)}
    rng = np.random.default_rng(seed)
    samples = np.empty((resamples, len(models)))
    for r in range(resamples):
        drawn = rng.integers(0, len(comparisons), size=len(comparisons))
        wins = _win_matrix(models, [comparisons[k] for k in drawn])
        strengths = fit_strengths(wins, prior, tolerance=1e-7, initial=start)
        samples[r] = REFERENCE_RATING + POINTS_PER_DECADE * np.log10(strengths)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low = np.percentile(samples, tail, axis=0)
    high = np.percentile(samples, 100.0 - tail, axis=0)
    found = [
        Rating(name, point[name], float(low[n]), float(high[n])) for n, name in enumerate(models)
    ]
    return sorted(found, key=lambda r: r.rating, reverse=True)
