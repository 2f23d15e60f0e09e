"""Prompt-lookup drafting: what follows the last n-gram's latest earlier occurrence."""

from __future__ import annotations

from app.backends.local.lookup import PromptLookup


def test_the_tokens_after_the_last_trigram_seen_before_are_drafted():
    lookup = PromptLookup([1, 2, 3, 4, 5, 6, 7, 9, 1, 2, 3])
    assert lookup.draft() == [4, 5, 6, 7, 9, 1, 2, 3]
    assert lookup.draft(3) == [4, 5, 6]


def test_the_latest_occurrence_wins_and_appends_extend_the_history():
    lookup = PromptLookup([5, 6, 1, 5, 6, 2])
    lookup.append(5)
    lookup.append(6)
    assert lookup.draft() == [2, 5, 6]  # after the later "5 6"


def test_a_bigram_is_the_fallback_and_nothing_is_drafted_without_a_match():
    lookup = PromptLookup([8, 9, 4, 7, 8, 9])
    assert lookup.draft() == [4, 7, 8, 9]
    assert PromptLookup([1, 2, 3, 4]).draft() == []
    assert PromptLookup([]).draft() == []
    assert PromptLookup([1, 2, 1, 2]).draft(0) == []


def test_the_current_end_never_matches_itself():
    lookup = PromptLookup([3, 3])
    assert lookup.draft() == []  # "3 3" has been seen only where it ends now
    lookup.append(3)
    assert lookup.draft() == [3]
