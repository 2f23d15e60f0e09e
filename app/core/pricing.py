"""What an answer cost, in the words we show the user.

Local answers have no API cost; the cloud price table fills `cloud_equivalent_usd`
(what the same tokens would have cost on a reference cloud model).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core import bounds, units

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


def _rate_problem(entry: dict[str, Any], field: str) -> str | None:
    """Why `entry[field]` cannot be a price, or None when it can."""
    value = entry.get(field)
    if value is None:
        return f"it has no {field} price" if field != "cached_input" else None
    if bounds.is_number(value):
        if value < 0:
            return f"{field} is negative ({value})"
        if value > bounds.MAX_USD_PER_MTOK:
            return f"{field} is above ${bounds.MAX_USD_PER_MTOK:,.0f} per million tokens"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{field} is {value}, not a price"
    return f"{field} is not a number ({value!r:.40})"


def parse_price(entry: object) -> tuple[Price | None, str | None]:
    """One price-table entry as a Price, or None and why it cannot be one."""
    if not isinstance(entry, dict):
        return None, "it is not a table of input and output prices"
    for field in ("input", "output", "cached_input"):
        problem = _rate_problem(entry, field)
        if problem:
            return None, problem
    cached = entry.get("cached_input")
    return Price(
        float(entry["input"]),
        float(entry["output"]),
        None if cached is None else float(cached),
        str(entry.get("date", "")),
        str(entry.get("source", "")),
    ), None


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Prices by provider and model; unknown models have no price, never zero.

    `problems` names each entry that was ignored because its figures cannot be true.
    """

    prices: dict[str, dict[str, Price]]
    problems: tuple[str, ...] = ()

    @classmethod
    def from_toml_data(cls, *layers: dict[str, Any], sources: Sequence[str] = ()) -> PriceTable:
        """Later layers (the user's copy) override earlier ones entry by entry; an entry
        that cannot be a price is ignored (an earlier layer's price for it stays)."""
        merged: dict[str, dict[str, Price]] = {}
        problems: list[str] = []
        for n, layer in enumerate(layers):
            source = sources[n] if n < len(sources) else "the price table"
            for provider, models in layer.items():
                if not isinstance(models, dict):
                    problems.append(f"{source}: {provider!r} is not a table of models; ignored")
                    continue
                for model, entry in models.items():
                    price, problem = parse_price(entry)
                    if price is None:
                        problems.append(f"{source}: the price of {provider}.{model} is ignored: "
                                        f"{problem}")  # fmt: skip
                        continue
                    merged.setdefault(provider, {})[model] = price
        return cls(merged, tuple(problems))

    def lookup(self, provider: str, model: str) -> Price | None:
        models = self.prices.get(provider, {})
        if model in models:
            return models[model]
        return models.get(_DATE_SUFFIX.sub("", model))

    def cost_usd(self, provider: str, model: str, prompt: int, completion: int) -> float | None:
        price = self.lookup(provider, model)
        return None if price is None else price.cost_usd(prompt, completion)


format_usd = units.usd


def generated_tokens(prompt: int, completion: int, reasoning: int | None, total: int | None) -> int:
    """Every token a model generated, reasoning included: what is priced as output.

    OpenAI-compatible usage counts reasoning inside `completion_tokens`; a provider that
    leaves it out shows so in `total_tokens` (prompt + completion + reasoning), and the
    reasoning is added back.
    """
    if reasoning and total is not None and total >= prompt + completion + reasoning:
        return completion + reasoning
    return completion


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
