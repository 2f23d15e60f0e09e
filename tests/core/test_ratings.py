"""Bradley-Terry ratings: a case checked by hand, the library's own fit, ties, one round."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest

from app.core.ratings import Comparison, fit, fit_strengths, ratings, to_rating


def _votes(first: str, second: str, first_wins: int, second_wins: int, ties: int = 0):
    return (
        [Comparison(first, second, 1.0)] * first_wins
        + [Comparison(first, second, 0.0)] * second_wins
        + [Comparison(first, second, 0.5)] * ties
    )


def test_three_models_with_known_votes_fit_the_strengths_checked_by_hand():
    # Strengths 4 : 2 : 1 predict A beats B 2 of 3, B beats C 2 of 3, A beats C 4 of 5.
    # These votes match those predictions exactly, so they are the maximum-likelihood fit.
    votes = _votes("A", "B", 2, 1) + _votes("B", "C", 2, 1) + _votes("A", "C", 4, 1)
    found = fit(["A", "B", "C"], votes, prior=0.0)
    decade = 400 * math.log10(2)  # a doubling of strength, in rating points
    assert found["A"] - found["B"] == pytest.approx(decade, abs=1e-6)
    assert found["B"] - found["C"] == pytest.approx(decade, abs=1e-6)


def test_the_fit_agrees_with_choix_on_random_votes():
    rng = np.random.default_rng(7)
    truth = np.array([1.0, 0.3, -0.4, -0.9, 0.6])
    pairs = []
    for _ in range(400):
        i, j = rng.choice(5, size=2, replace=False)
        won = rng.random() < 1 / (1 + math.exp(truth[j] - truth[i]))
        pairs.append((int(i), int(j)) if won else (int(j), int(i)))
    wins = np.zeros((5, 5))
    for winner, loser in pairs:
        wins[winner, loser] += 1
    ours = np.log(fit_strengths(wins, prior=0.0))
    theirs = choix.mm_pairwise(5, pairs, tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(ours - ours.mean(), theirs - theirs.mean(), atol=1e-5)


def test_a_tie_counts_half_a_win_for_each_side():
    # choix knows no ties: a tie is a win each way, every decisive vote counted twice.
    votes = _votes("A", "B", 1, 0, ties=1) + _votes("B", "C", 1, 1, ties=2)
    pairs = [(0, 1), (0, 1), (0, 1), (1, 0), (1, 2), (1, 2), (2, 1), (2, 1)]
    pairs += [(1, 2), (2, 1)] * 2 + [(0, 2), (2, 0)]
    votes += _votes("A", "C", 0, 0, ties=1)
    ours = np.log([10 ** ((r - 1000) / 400) for r in fit(["A", "B", "C"], votes, 0.0).values()])
    theirs = choix.mm_pairwise(3, pairs, tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(ours - ours.mean(), theirs - theirs.mean(), atol=1e-5)
    only_ties = fit(["A", "B"], _votes("A", "B", 0, 0, ties=3), prior=0.0)
    assert only_ties["A"] == pytest.approx(only_ties["B"])


def test_a_model_with_one_round_stays_finite_thanks_to_the_prior():
    votes = [*_votes("A", "B", 3, 2), Comparison("new", "A", 1.0)]
    found = fit(["A", "B", "new"], votes)
    assert all(math.isfinite(r) for r in found.values())
    assert found["new"] > found["A"] > found["B"]
    lone = fit(["one", "other"], [Comparison("one", "other", 1.0)])
    assert 1000 < lone["one"] < 1400
    assert 600 < lone["other"] < 1000


def test_bootstrap_intervals_hold_the_rating_and_narrow_with_more_votes():
    few = ratings(_votes("A", "B", 3, 1))
    many = ratings(_votes("A", "B", 60, 20))
    for found in (few, many):
        assert [r.model for r in found] == ["A", "B"]
        for r in found:
            assert r.low <= r.rating <= r.high
    assert (many[0].high - many[0].low) < (few[0].high - few[0].low)
    assert ratings(_votes("A", "B", 3, 1)) == few  # seeded: the same votes, the same board


def test_no_votes_no_ratings_and_the_reference_sits_at_1000():
    assert ratings([]) == []
    assert to_rating(1.0) == 1000.0
    assert to_rating(10.0) == pytest.approx(1400.0)
