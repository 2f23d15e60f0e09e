"""The bounds past which a figure cannot be true, and the checks that apply them.

Figures arrive from outside: a price table the person edited, a server's `usage`, a
`Retry-After` header, an imported file. A figure outside its bounds, of the wrong type,
NaN or infinite is treated as absent (and what depends on it is marked estimated or
unknown), never shown as `$-22`, `$nan` or a 150-digit amount.
"""

from __future__ import annotations

import math
from typing import Any

# Far above any real model's price (the dearest list at a few hundred dollars).
MAX_USD_PER_MTOK = 10_000.0
# More tokens than any model's context holds, prompt and answer together.
MAX_TOKENS = 100_000_000
# Above this, no speed, duration, amount of money or energy of one answer is true.
MAX_FIGURE = 1e12
# A server asking to wait longer than this is not asking for a retry.
MAX_RETRY_AFTER_S = 24 * 3600.0


def is_number(value: object) -> bool:
    """An int or a float (a bool is neither, whatever Python says), and finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def count(value: object, most: int = MAX_TOKENS) -> int | None:
    """A whole count between 0 and `most`, or None when `value` cannot be one."""
    if not is_number(value):
        return None
    assert isinstance(value, int | float)
    if value != int(value) or not 0 <= value <= most:
        return None
    return int(value)


def price(value: object) -> float | None:
    """USD per million tokens between 0 and MAX_USD_PER_MTOK, or None."""
    if not is_number(value):
        return None
    assert isinstance(value, int | float)
    return float(value) if 0 <= value <= MAX_USD_PER_MTOK else None


def wait_s(value: float) -> float | None:
    """A wait a server asked for, in seconds: None when it is not a sane one."""
    if not math.isfinite(value) or value < 0 or value > MAX_RETRY_AFTER_S:
        return None
    return value


def json_safe(data: Any) -> Any:
    """`data` with every NaN or infinite number replaced by None: JSON has neither, and
    `json.dumps(..., allow_nan=False)` then never fails on a figure."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(value) for value in data]
    return data
