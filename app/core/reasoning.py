"""A model's thinking, told apart from its answer as the text streams.

Reasoning models write their thoughts between `<think>` and `</think>`; some chat
templates (DeepSeek-R1-Distill's) put the opening tag into the prompt, so the output
starts inside the block with no tag of its own. `ThinkSplitter` takes text in pieces
of any size (a tag may be cut across two pieces) and hands back each part with its kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from app.core import units

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

# How far after the generation-prompt switch a template's `<think>` may stand and still
# be the one it opens the answer with.
_PREFILL_WINDOW_CHARS = 160
_GENERATION_PROMPT = re.compile(r"add_generation_prompt")


class DeltaKind(StrEnum):
    TEXT = "text"  # the visible answer
    REASONING = "reasoning"  # the model's thinking, shown collapsed, never sent back


@dataclass(frozen=True, slots=True)
class Piece:
    kind: DeltaKind
    text: str


def template_opens_think(template: str | None) -> bool:
    """Whether a chat template ends its generation prompt with `<think>` (the answer
    then starts inside the reasoning block)."""
    if not template:
        return False
    found = list(_GENERATION_PROMPT.finditer(template))
    if not found:
        return False
    tail = template[found[-1].end() : found[-1].end() + _PREFILL_WINDOW_CHARS]
    return OPEN_TAG in tail and CLOSE_TAG not in tail


def _partial_tag_at_end(text: str, tag: str) -> int:
    """How many characters at the end of `text` could be the start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


@dataclass(slots=True)
class ThinkSplitter:
    """Splits streamed text into answer and reasoning.

    `inside` starts True when the prompt already opened the block. Only one block is
    read as reasoning, at the start of the answer (leading whitespace allowed); a
    `<think>` later in the answer is the answer's own text.
    """

    inside: bool = False
    _held: str = ""
    _seen_answer: bool = False
    _closed: bool = False
    _reasoning_started: bool = field(default=False)

    def feed(self, text: str) -> list[Piece]:
        out: list[Piece] = []
        text = self._held + text
        self._held = ""
        while text:
            if self.inside:
                at = text.find(CLOSE_TAG)
                if at >= 0:
                    self._emit(out, DeltaKind.REASONING, text[:at])
                    text = text[at + len(CLOSE_TAG) :]
                    self.inside = False
                    self._closed = True
                    continue
                keep = _partial_tag_at_end(text, CLOSE_TAG)
                self._emit(out, DeltaKind.REASONING, text[: len(text) - keep])
                self._held = text[len(text) - keep :]
                break
            if self._closed or self._seen_answer:
                self._emit(out, DeltaKind.TEXT, text)
                break
            stripped = text.lstrip()
            if stripped.startswith(OPEN_TAG):
                text = stripped[len(OPEN_TAG) :]
                self.inside = True
                continue
            if OPEN_TAG.startswith(stripped):  # maybe a tag still arriving
                self._held = text
                break
            self._seen_answer = True
            self._emit(out, DeltaKind.TEXT, text)
            break
        return out

    def flush(self) -> list[Piece]:
        """The end of the answer: whatever was held back for a possible tag."""
        held, self._held = self._held, ""
        if not held:
            return []
        kind = DeltaKind.REASONING if self.inside else DeltaKind.TEXT
        if kind is DeltaKind.TEXT and not held.strip() and not self._closed:
            return []  # whitespace before an answer that never came
        return [Piece(kind, held)]

    def _emit(self, out: list[Piece], kind: DeltaKind, text: str) -> None:
        if not text:
            return
        if kind is DeltaKind.TEXT and self._closed and not self._seen_answer:
            text = text.lstrip()  # the blank line after </think> is not the answer
            if not text:
                return
        if kind is DeltaKind.TEXT:
            self._seen_answer = True
        elif not self._reasoning_started:
            text = text.lstrip("\n")
            if not text:
                return
            self._reasoning_started = True
        if out and out[-1].kind is kind:
            out[-1] = Piece(kind, out[-1].text + text)
        else:
            out.append(Piece(kind, text))


def split_whole(text: str, *, inside: bool = False) -> tuple[str, str]:
    """(answer, reasoning) of a finished text."""
    splitter = ThinkSplitter(inside=inside)
    pieces = splitter.feed(text) + splitter.flush()
    answer = "".join(p.text for p in pieces if p.kind is DeltaKind.TEXT)
    reasoning = "".join(p.text for p in pieces if p.kind is DeltaKind.REASONING)
    return answer, reasoning


@dataclass(slots=True)
class StreamClock:
    """When the text of each kind arrived, for the figures of one answer: time to the
    first visible token of any kind, time to the first answer token, and how long the
    model thought. Times are `time.perf_counter()` readings handed in."""

    requested_at: float
    first_at: float | None = None
    last_at: float | None = None
    first_answer_at: float | None = None
    thinking_from: float | None = None
    thinking_to: float | None = None

    def saw(self, kind: DeltaKind, now: float) -> None:
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        if kind is DeltaKind.TEXT:
            if self.first_answer_at is None:
                self.first_answer_at = now
            return
        if self.thinking_from is None:
            self.thinking_from = now
        self.thinking_to = now

    @property
    def time_to_first_token_s(self) -> float | None:
        return None if self.first_at is None else self.first_at - self.requested_at

    @property
    def time_to_first_answer_token_s(self) -> float | None:
        return None if self.first_answer_at is None else self.first_answer_at - self.requested_at

    @property
    def reasoning_s(self) -> float | None:
        """From the request to the end of the thinking (the first answer token, when one
        came): the "Thought for 4.2 s" a person waited."""
        if self.thinking_from is None:
            return None
        end = self.first_answer_at if self.first_answer_at is not None else self.thinking_to
        assert end is not None
        return max(0.0, end - self.requested_at)

    @property
    def span_s(self) -> float | None:
        """From the first to the last token of any kind."""
        if self.first_at is None or self.last_at is None:
            return None
        return self.last_at - self.first_at


def thought_for(seconds: float | None) -> str:
    """How a finished reasoning block reads, collapsed: "Thought for 4.2 s"."""
    if seconds is None:
        return "Thought"
    if seconds < 59.95:
        return f"Thought for {seconds:.1f} s"
    return f"Thought for {units.duration(seconds)}"
