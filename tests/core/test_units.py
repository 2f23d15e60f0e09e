"""Figures as the window and the command line both show them."""

from __future__ import annotations

import pytest

from app.core import units


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "$0"),
        (0.000042, "$0.000042"),
        (0.0000001234, "$0.00000012"),
        (0.00042, "$0.00042"),
        (0.0075, "$0.0075"),
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


def test_energy_has_three_significant_digits():
    assert units.energy(0.0000123) == "0.0000123 Wh"
    assert units.energy(12.345) == "12.3 Wh"


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
