"""What an answer cost, in the words we show the user.

Local answers have no API cost; the cloud price table fills `cloud_equivalent_usd`
(what the same tokens would have cost on a reference cloud model).
"""

from __future__ import annotations

from dataclasses import dataclass

NO_API_COST = "no API cost"
PRICE_UNKNOWN = "price unknown"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens for one provider's model."""

    input_usd_per_mtok: float
    output_usd_per_mtok: float

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_usd_per_mtok + completion_tokens * self.output_usd_per_mtok
        ) / 1_000_000


def format_usd(amount: float) -> str:
    """Small amounts keep their significant digits: $0.00042, $1.25."""
    if amount == 0:
        return "$0"
    if amount < 0.01:
        return f"${amount:.2g}" if amount < 0.0001 else f"${amount:.5f}".rstrip("0")
    return f"${amount:,.2f}"


def cost_label(
    backend: str,
    cost_usd: float | None,
    cloud_equivalent_usd: float | None = None,
    cloud_equivalent_model: str | None = None,
) -> str:
    if backend == "local":
        if cloud_equivalent_usd is not None and cloud_equivalent_model:
            return (
                f"{NO_API_COST} (would have cost {format_usd(cloud_equivalent_usd)}"
                f" on {cloud_equivalent_model})"
            )
        return NO_API_COST
    return PRICE_UNKNOWN if cost_usd is None else format_usd(cost_usd)
