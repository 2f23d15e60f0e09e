"""Option types every command shares: numbers in their allowed range, valid text."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from app.core.messages import GENERATION_RANGES


def _figure(value: float, whole: bool) -> str:
    return f"{int(value):,}" if whole else f"{value:g}"


def number_in(low: float, high: float, whole: bool) -> Callable[[str], float]:
    """An argparse type: a number from `low` to `high` (never NaN or infinite), or a
    usage error (exit 2) that says the allowed range."""
    kind = "a whole number" if whole else "a number"
    allowed = f"{kind} from {_figure(low, whole)} to {_figure(high, whole)}"

    def parse(text: str) -> float:
        try:
            value: float = int(text) if whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}; give {allowed}") from None
        if not low <= value <= high:  # NaN compares false: it is out of every range
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {allowed}")
        return value

    return parse


def ranged(name: str, whole: bool) -> Callable[[str], float]:
    """The type for the generation parameter `name`, in the range the settings allow too
    (core.messages.GENERATION_RANGES)."""
    low, high = GENERATION_RANGES[name]
    return number_in(low, high, whole)


def utf8(value: str) -> str:
    """An argparse type: text that is valid UTF-8. The shell hands bytes that are not
    over as lone surrogates, which nothing can store or send: refused in one line."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise argparse.ArgumentTypeError(
            f"not valid UTF-8 text (at character {exc.start + 1}); give it as UTF-8, or "
            "check the terminal's encoding"
        ) from None
    return value
