"""Figures past their bounds are treated as absent, in prices, stats and JSON."""

from __future__ import annotations

import json
import math

import pytest

from app.core import bounds
from app.core.stats import AnswerStats, FinishReason
from app.store.prices import load_prices


def test_a_bad_user_entry_keeps_the_shipped_price_and_is_named(tmp_path, caplog):
    user = tmp_path / "prices.toml"
    user.write_text('[openai."gpt-4o"]\ninput = -1\noutput = 10\n[openai.mine]\ninput = 1\n'
                    'output = 2\n')  # fmt: skip
    table = load_prices(user)
    shipped = load_prices(None).lookup("openai", "gpt-4o")
    assert table.lookup("openai", "gpt-4o") == shipped
    assert table.lookup("openai", "mine").output_usd_per_mtok == 2.0
    (problem,) = table.problems
    for named in ("openai.gpt-4o", "negative", "prices.toml"):
        assert named in problem
    assert "openai.gpt-4o" in caplog.text


def test_the_shipped_price_table_has_no_problems():
    assert load_prices(None).problems == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), (5.0, 5), (-1, None), (1.5, None), (True, None), ("5", None), (math.nan, None),
     (math.inf, None), (10**40, None), (None, None)],
)  # fmt: skip
def test_counts(value, expected):
    assert bounds.count(value) == expected


def test_stats_never_hold_a_figure_that_cannot_be_true():
    stats = AnswerStats("m", "cloud", "h", "sent to h", FinishReason.STOP, math.nan, math.inf,
                        -3.0, -5, 10**30, cost_usd=-22.0, energy_wh=1e300)  # fmt: skip
    assert stats.time_to_first_token_s is None
    assert (stats.tokens_per_s, stats.prompt_tokens_per_s) == (0.0, 0.0)
    assert (stats.prompt_tokens, stats.completion_tokens) == (0, 0)
    assert stats.cost_usd is None
    assert stats.energy_wh is None
    line = stats.summary_line()
    for untrue in ("nan", "inf", "-"):
        assert untrue not in line.replace(" → ", "")
    json.dumps(stats.to_json(), allow_nan=False)


def test_json_safe_turns_nan_and_infinity_into_null():
    data = {"a": [math.nan, 1.5, {"b": -math.inf}], "c": (math.inf,), "d": "NaN"}
    assert bounds.json_safe(data) == {"a": [None, 1.5, {"b": None}], "c": [None], "d": "NaN"}
