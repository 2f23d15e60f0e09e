"""The compare verdict reads the same in the window and the CLI, figures in sentence order."""

from __future__ import annotations

from app.core.privacy import ON_THIS_DEVICE
from app.core.stats import AnswerStats, FinishReason
from app.services.compare import CompareSession, verdict


def _stats(model, ttft, speed, *, backend="local", cost=0.0, host=None, privacy=ON_THIS_DEVICE):
    return AnswerStats(model=model, backend=backend, host=host, privacy=privacy,
                       finish_reason=FinishReason.STOP, time_to_first_token_s=ttft,
                       tokens_per_s=speed, prompt_tokens_per_s=100.0, prompt_tokens=10,
                       completion_tokens=20, cost_usd=cost)  # fmt: skip


def test_the_winner_is_named_first_with_its_own_figure_first():
    a = _stats("A-model", 8.96, 40.0)
    b = _stats("B-model", 0.66, 120.0, backend="cloud", cost=0.00042, host="api.example.com",
               privacy="sent to api.example.com")  # fmt: skip
    summary = verdict(a, b).summary()
    assert summary.startswith("B-model answered first (0.66 s vs 8.96 s)")
    assert "B-model generated faster (120 vs 40 tok/s)" in summary
    assert "A-model: no API cost, B-model: $0.0004" in summary
    assert "A-model on this device, B-model sent to api.example.com" in summary


def test_a_first_when_a_wins():
    summary = verdict(_stats("x", 0.5, 90.0), _stats("y", 1.5, 30.0)).summary()
    assert summary.startswith("x answered first (0.50 s vs 1.50 s)")
    assert "x generated faster (90 vs 30 tok/s)" in summary


def test_the_same_model_on_both_sides_is_told_apart_by_side():
    summary = verdict(_stats("m", 2.0, 10.0), _stats("m", 1.0, 20.0)).summary()
    assert summary.startswith("B answered first (1.00 s vs 2.00 s)")


def test_when_one_side_failed_the_sentence_says_so():
    assert verdict(_stats("x", 1.0, 10.0), None).summary() == "Only x answered."
    assert verdict(None, None).summary() == "Neither model answered."


def test_the_json_form_is_unchanged():
    data = verdict(_stats("x", 1.0, 10.0), _stats("y", 2.0, 5.0)).to_json()
    assert set(data) == {"first_to_answer", "faster", "cost_usd", "stayed_on_device"}
    assert not hasattr(CompareSession, "final_stats")


def test_the_verdict_table_names_each_column_and_marks_each_rows_winner():
    a = _stats("A-model", 8.96, 40.0)
    b = _stats("B-model", 0.66, 120.0, backend="cloud", cost=0.0012, host="api.example.com",
               privacy="sent to api.example.com")  # fmt: skip
    judged = verdict(a, b)
    assert [judged.column_name("a"), judged.column_name("b")] == ["A-model", "B-model"]
    rows = {row.label: row for row in judged.rows()}
    assert list(rows) == ["First token", "Speed", "Tokens", "Cost", "Privacy"]
    assert rows["First token"].values == {"a": "9.0 s", "b": "0.66 s"}
    assert rows["First token"].winner == "b"
    assert rows["Speed"].winner == "b"
    assert rows["Cost"].values == {"a": "free", "b": "$0.0012"}
    assert rows["Cost"].winner == "a"
    assert rows["Privacy"].winner == "a"
    assert rows["Tokens"].winner is None
    assert "A-model: no API cost, B-model: $0.0012" in judged.summary()


def test_the_same_model_twice_is_told_apart_by_its_column():
    judged = verdict(_stats("m", 1.0, 10.0), _stats("m", 1.0, 10.0))
    assert judged.column_name("a") == "m (A)"
    assert all(row.winner is None for row in judged.rows()[:2])
