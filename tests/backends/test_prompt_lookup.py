"""Prompt-lookup drafting: what follows the last n-gram's latest earlier occurrence,
with drafts that grow while the model accepts them and pause when it does not."""

from __future__ import annotations

from app.backends.local.lookup import MAX_DRAFT, PAUSE, PromptLookup


def test_the_tokens_after_the_last_trigram_seen_before_are_drafted():
    lookup = PromptLookup([1, 2, 3, 4, 5, 6, 7, 9, 1, 2, 3])
    assert lookup.draft() == [4, 5, 6, 7, 9, 1, 2, 3]
    assert lookup.draft(3) == [4, 5, 6]


def test_the_latest_occurrence_wins_and_appends_extend_the_history():
    lookup = PromptLookup([5, 6, 7, 1, 5, 6, 7, 2])
    lookup.extend([5, 6, 7])
    assert lookup.draft() == [2, 5, 6, 7]  # after the later "5 6 7"


def test_nothing_is_drafted_without_a_long_enough_match():
    assert PromptLookup([8, 9, 4, 7, 8, 9]).draft() == []  # a bigram is chance
    assert PromptLookup([1, 2, 3, 4]).draft() == []
    assert PromptLookup([]).draft() == []
    assert PromptLookup([1, 2, 3, 1, 2, 3]).draft(0) == []


def test_the_current_end_never_matches_itself():
    lookup = PromptLookup([3, 3, 3])
    assert lookup.draft() == []  # "3 3 3" has been seen only where it ends now
    lookup.append(3)
    assert lookup.draft() == [3]


def test_drafts_grow_when_accepted_shrink_when_partly_and_pause_when_rejected():
    text = list(range(100)) * 3
    lookup = PromptLookup(text[:150])
    assert len(lookup.draft()) == 8
    lookup.feedback(8, 8)
    assert len(lookup.draft()) == 16
    lookup.feedback(16, 16)
    assert len(lookup.draft()) == MAX_DRAFT
    lookup.feedback(16, 3)
    assert len(lookup.draft()) == 4
    lookup.feedback(4, 0)
    for _ in range(PAUSE):
        assert lookup.draft() == []
        lookup.append(text[len(lookup._history)])
    assert lookup.draft() != []
