"""Prompt-lookup drafting: guess the next tokens by finding the last few tokens earlier
in the prompt or the answer, and proposing what followed them there.

An answer that rewrites, edits or quotes its prompt (fix this code, translate this
text) repeats long runs of it, and the engine then checks a whole run in one batch
instead of one token per step. The index keeps, for every n-gram seen, where it last
ended, so a lookup and an append cost a few dictionary operations whatever the length.
A checked batch costs more than one step, so the drafts adapt: a fully accepted draft
doubles the next one (up to MAX_DRAFT), a partly accepted one sets it just past what was
accepted, and a wholly rejected one pauses drafting for PAUSE tokens (a free story, where
repeats are chance, then drafts rarely). Plain values only: no llama.cpp here.
"""

from __future__ import annotations

from collections.abc import Iterable

NGRAM_SIZES = (4, 3)  # longest first: a longer match is a better guess
DRAFT_TOKENS = 8  # the first draft's length
MAX_DRAFT = 16
PAUSE = 8


class PromptLookup:
    def __init__(
        self,
        tokens: Iterable[int],
        sizes: tuple[int, ...] = NGRAM_SIZES,
        draft_tokens: int = DRAFT_TOKENS,
    ) -> None:
        self._sizes = sizes
        self._draft_tokens = draft_tokens
        self._pause = 0
        self._history: list[int] = []
        # n-gram -> the index just after its latest occurrence that has a follower
        self._seen: dict[tuple[int, ...], int] = {}
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        """Add one token; the n-grams ending just before it now point at it."""
        history = self._history
        end = len(history)
        for n in self._sizes:
            if end >= n:
                self._seen[tuple(history[end - n : end])] = end
        history.append(token)
        if self._pause:
            self._pause -= 1

    def feedback(self, drafted: int, accepted: int) -> None:
        """How the model took the last draft: sets the next draft's length."""
        if drafted <= 0:
            return
        if accepted == 0:
            self._pause = PAUSE
        elif accepted >= drafted:
            self._draft_tokens = min(MAX_DRAFT, self._draft_tokens * 2)
        else:
            self._draft_tokens = max(2, accepted + 1)

    def extend(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self.append(token)

    def draft(self, most: int | None = None) -> list[int]:
        """Up to `most` (default DRAFT_TOKENS) tokens that followed the longest earlier
        occurrence of the history's last n-gram; [] when there is none."""
        limit = self._draft_tokens if most is None else min(most, self._draft_tokens)
        if limit <= 0 or self._pause:
            return []
        history = self._history
        end = len(history)
        for n in self._sizes:
            if end < n:
                continue
            start = self._seen.get(tuple(history[end - n :]))
            if start is not None:
                return history[start : start + limit]
        return []
