"""Figures as the window and the command line both show them."""

from __future__ import annotations

import pytest

from app.core import units


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "$0"),
        (0.0000032, "< $0.0001"),
        (0.000042, "< $0.0001"),
        (0.0000001234, "< $0.0001"),
        (0.00042, "$0.0004"),
        (0.0012, "$0.0012"),
        (0.003, "$0.003"),
        (0.0075, "$0.0075"),
        (0.05, "$0.05"),
        (12.5, "$12.50"),
        (1234.5, "$1,234.50"),
    ],
)
def test_money_keeps_its_digits_and_never_uses_scientific_notation(amount, shown):
    assert units.usd(amount) == shown
    assert "e-" not in units.usd(amount)


@pytest.mark.parametrize("value", [1.23e-9, 4.5e-6, 0.000123, 0.5, 12.345, 1234.5, 98765432.1])
def test_no_figure_is_ever_in_scientific_notation(value):
    for text in (units.significant(value), units.energy(value), units.usd(value)):
        assert "e" not in text.replace("Wh", ""), text


def test_energy_and_tokens_read_as_people_say_them():
    assert units.energy(0.0000123) == "< 0.0001 Wh"
    assert units.energy(0.0213) == "0.021 Wh"
    assert units.energy(0.02) == "0.02 Wh"
    assert units.energy(12.345) == "12 Wh"
    assert units.tokens(1) == "1 token"
    assert units.tokens(950) == "950 tokens"
    assert units.tokens(1234) == "1.2k tokens"
    assert units.tokens(45_600) == "45.6k tokens"
    assert units.tokens(3_400_000) == "3.4M tokens"
    assert units.seconds(0.171) == "0.17 s"
    assert units.seconds(8.96) == "9.0 s"


def test_parameter_counts_sizes_and_durations():
    assert units.parameters(None) == "?"
    assert units.parameters(135_000_000) == "135M"
    assert units.parameters(1_500_000_000) == "1.5B"
    assert units.size(98_000_000) == "98 MB"
    assert units.size(4_700_000_000) == "4.7 GB"
    assert units.speed(12_300_000) == "12.3 MB/s"
    assert units.duration(4.4) == "4 s"
    assert units.duration(185) == "3 min 05 s"
    assert units.duration(3725) == "1 h 02 min"
