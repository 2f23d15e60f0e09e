"""Reasoning told apart from the answer as it streams, and its figures."""

from __future__ import annotations

import pytest

from app.core.pricing import Price, generated_tokens
from app.core.reasoning import (
    DeltaKind,
    StreamClock,
    ThinkSplitter,
    split_whole,
    template_opens_think,
)
from app.core.stats import AnswerStats, FinishReason

TEXT = "<think>\nThe user says hi; greet back.\n</think>\n\nHello there! <think> is a tag."

# DeepSeek-R1-Distill's template, the part that opens the answer.
R1_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{'<\uff5cUser\uff5c>' + message['content']}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{'<\uff5cAssistant\uff5c><think>\\n'}}{% endif %}"
)


def _split_in_pieces(text: str, size: int, inside: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(inside=inside)
    pieces = []
    for start in range(0, len(text), size):
        pieces += splitter.feed(text[start : start + size])
    pieces += splitter.flush()
    answer = "".join(p.text for p in pieces if p.kind is DeltaKind.TEXT)
    thought = "".join(p.text for p in pieces if p.kind is DeltaKind.REASONING)
    return answer, thought


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 1000])
def test_tags_cut_anywhere_across_pieces_still_split(size: int) -> None:
    answer, thought = _split_in_pieces(TEXT, size)
    assert thought == "The user says hi; greet back.\n"
    assert answer == "Hello there! <think> is a tag."


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_output_that_starts_inside_the_block_without_a_tag(size: int) -> None:
    text = "Hmm, a greeting.</think>Hi!"
    assert _split_in_pieces(text, size, inside=True) == ("Hi!", "Hmm, a greeting.")


def test_an_answer_without_reasoning_is_all_answer_and_keeps_its_spaces() -> None:
    assert split_whole("  Hello <b>there</b>") == ("  Hello <b>there</b>", "")
    assert split_whole("<thin") == ("<thin", "")  # a tag that never finished is text
    assert split_whole("") == ("", "")


def test_a_block_that_never_closes_is_all_reasoning() -> None:
    assert split_whole("I keep thinking", inside=True) == ("", "I keep thinking")
    assert split_whole("<think>still going </thi") == ("", "still going </thi")


def test_the_template_that_prefills_think_is_recognised() -> None:
    assert template_opens_think(R1_TEMPLATE)
    assert not template_opens_think(R1_TEMPLATE.replace("<think>\\n", ""))
    assert not template_opens_think(None)
    assert not template_opens_think("{{ '<think>' }}")  # not in the generation prompt
    closed = R1_TEMPLATE.replace("<think>\\n", "<think>\\n\\n</think>\\n\\n")
    assert not template_opens_think(closed)  # thinking switched off


def test_the_clock_times_thinking_and_the_first_answer_token() -> None:
    clock = StreamClock(requested_at=10.0)
    clock.saw(DeltaKind.REASONING, 10.5)
    clock.saw(DeltaKind.REASONING, 13.0)
    clock.saw(DeltaKind.TEXT, 14.7)
    clock.saw(DeltaKind.TEXT, 15.0)
    assert clock.time_to_first_token_s == pytest.approx(0.5)
    assert clock.time_to_first_answer_token_s == pytest.approx(4.7)
    assert clock.reasoning_s == pytest.approx(4.7)
    assert clock.span_s == pytest.approx(4.5)
    assert StreamClock(1.0).reasoning_s is None


def test_reasoning_tokens_are_priced_as_output() -> None:
    price = Price(input_usd_per_mtok=1.0, output_usd_per_mtok=10.0)
    # OpenAI-style: completion already holds the reasoning.
    assert generated_tokens(100, 50, 30, 150) == 50
    # A provider that reports reasoning outside completion (total says so).
    assert generated_tokens(100, 20, 30, 150) == 50
    assert generated_tokens(100, 50, None, None) == 50
    with_thinking = price.cost_usd(100, generated_tokens(100, 20, 30, 150))
    assert with_thinking == pytest.approx((100 * 1.0 + 50 * 10.0) / 1e6)


def test_the_stats_line_shows_reasoning_apart() -> None:
    stats = AnswerStats(
        model="m", backend="cloud", host="h", privacy="sent to h",
        finish_reason=FinishReason.STOP, time_to_first_token_s=0.2, tokens_per_s=10.0,
        prompt_tokens_per_s=100.0, prompt_tokens=12, completion_tokens=80, cost_usd=0.001,
        reasoning_tokens=50, reasoning_s=4.2, time_to_first_answer_token_s=4.2,
    )  # fmt: skip
    line = stats.summary_line()
    assert "0.20 s to first token" in line
    assert "4.20 s to first answer token" in line
    assert "12 → 80 tokens (50 reasoning)" in line
    assert AnswerStats.from_json(stats.to_json()) == stats
    old = stats.to_json()
    for key in ("reasoning_tokens", "reasoning_s", "time_to_first_answer_token_s"):
        del old[key]
    assert AnswerStats.from_json(old) is not None  # stats stored before reasoning existed
