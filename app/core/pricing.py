"""What an answer cost, in the words we show the user.

Local answers have no API cost; the cloud price table fills `cloud_equivalent_usd`
(what the same tokens would have cost on a reference cloud model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.core import units

NO_API_COST = "no API cost"
PRICE_UNKNOWN = "price unknown"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens for one provider's model, and where the figure came from."""

    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cached_input_usd_per_mtok: float | None = None
    date: str = ""
    source: str = ""

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_usd_per_mtok + completion_tokens * self.output_usd_per_mtok
        ) / 1_000_000


_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Prices by provider and model; unknown models have no price, never zero."""

    prices: dict[str, dict[str, Price]]

    @classmethod
    def from_toml_data(cls, *layers: dict[str, Any]) -> PriceTable:
        """Later layers (the user's copy) override earlier ones entry by entry."""
        merged: dict[str, dict[str, Price]] = {}
        for layer in layers:
            for provider, models in layer.items():
                if not isinstance(models, dict):
                    continue
                for model, entry in models.items():
                    try:
                        cached = entry.get("cached_input")
                        price = Price(
                            float(entry["input"]),
                            float(entry["output"]),
                            None if cached is None else float(cached),
                            str(entry.get("date", "")),
                            str(entry.get("source", "")),
                        )
                    except (KeyError, TypeError, ValueError, AttributeError):
                        continue
                    merged.setdefault(provider, {})[model] = price
        return cls(merged)

    def lookup(self, provider: str, model: str) -> Price | None:
        models = self.prices.get(provider, {})
        if model in models:
            return models[model]
        return models.get(_DATE_SUFFIX.sub("", model))

    def cost_usd(self, provider: str, model: str, prompt: int, completion: int) -> float | None:
        price = self.lookup(provider, model)
        return None if price is None else price.cost_usd(prompt, completion)


format_usd = units.usd


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


@dataclass(frozen=True, slots=True)
class EnergyModel:
    """Turns the engine's CPU time (or a RAPL reading) into watt-hours and money."""

    cpu_watts: float = 15.0
    usd_per_kwh: float = 0.15

    def energy_wh(self, cpu_s: float, rapl_joules: float | None) -> tuple[float, bool]:
        """(watt-hours, estimated?)"""
        if rapl_joules is not None and rapl_joules > 0:
            return rapl_joules / 3600.0, False
        return cpu_s * self.cpu_watts / 3600.0, True

    def cost_usd(self, energy_wh: float) -> float:
        return energy_wh / 1000.0 * self.usd_per_kwh
