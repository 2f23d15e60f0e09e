"""Figures as the window and the command line show them: parameter counts, durations,
sizes, money, energy. Plain decimals always, never scientific notation."""

from __future__ import annotations

import math

MB = 1_000_000
GB = 1_000_000_000


def significant(value: float, digits: int = 3) -> str:
    """`value` with about `digits` significant digits, as a plain decimal: 0.000123, 4.56, 789."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def parameters(count: int | None) -> str:
    """A model's parameter count: 135M, 1.5B; `?` when unknown."""
    if not count:
        return "?"
    return f"{count / 1e9:.1f}B" if count >= 1e9 else f"{count / 1e6:.0f}M"


def duration(seconds: float) -> str:
    """A span a person waits through: 12 s, 3 min 05 s, 1 h 02 min."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def size(n_bytes: float) -> str:
    """Bytes as a short figure: 98 MB, 4.7 GB."""
    if n_bytes < GB:
        return f"{n_bytes / MB:,.0f} MB"
    return f"{n_bytes / GB:,.1f} GB"


def speed(bytes_per_s: float) -> str:
    """A transfer rate: 12.3 MB/s."""
    return f"{bytes_per_s / MB:.1f} MB/s"


def usd(amount: float) -> str:
    """Money as a person reads it: $0, < $0.0001, $0.0012, $0.05, $12.50, $1,234.50."""
    if amount == 0 or not math.isfinite(amount):
        return "$0"
    if abs(amount) < 0.0001:
        return "< $0.0001"
    if abs(amount) < 0.01:
        return f"${amount:.4f}".rstrip("0")
    return f"${amount:,.2f}"


def tokens(count: int) -> str:
    """A token count: 1 token, 950 tokens, 1.2k tokens, 3.4M tokens."""
    if count == 1:
        return "1 token"
    if count < 1000:
        return f"{count} tokens"
    if count < 1_000_000:
        return f"{significant(count / 1000, 2 if count < 10_000 else 3)}k tokens"
    return f"{significant(count / 1_000_000, 2)}M tokens"


def seconds(value: float) -> str:
    """A short time measured by the app: 0.17 s, 2.4 s, 12 s."""
    if value < 10:
        return f"{value:.2f} s" if value < 1 else f"{value:.1f} s"
    return f"{value:.0f} s"


def energy(watt_hours: float) -> str:
    """Energy in watt-hours, two significant digits, at least 0.0001 Wh shown: 0.02 Wh."""
    if 0 < watt_hours < 0.0001:
        return "< 0.0001 Wh"
    return f"{significant(watt_hours, 2)} Wh"
