"""Spending and savings over time, from the stored answers, and the monthly budget.

Every figure is summed from the facts stored with each answer (chat and arena alike),
never recomputed from a view: what cloud answers cost, what local answers would have
cost on the reference cloud model, the energy used here, the tokens, and the share of
answers that stayed on this device. The budget rule (`check_budget`) is the one both
front ends ask before a cloud answer.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.backends.base import Backend
from app.core import units
from app.core.bounds import is_number
from app.core.errors import OverBudget, UsageError
from app.core.messages import ChatMessage, GenerationParams
from app.core.pricing import PriceTable
from app.store.history.answers import StoredAnswer, stored_answers

CHARS_PER_TOKEN = 4  # a rough, common estimate for English text before a request is sent
ON_DEVICE = "on this device"


class By(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    MODEL = "model"
    PROVIDER = "provider"


@dataclass(frozen=True, slots=True)
class Bucket:
    """The sums for one day, week, month, model or provider (or all of them)."""

    key: str
    answers: int = 0
    on_device: int = 0
    spent_usd: float = 0.0  # API cost of cloud answers whose price is known
    saved_usd: float = 0.0  # what local answers would have cost on the reference model
    unpriced: int = 0  # cloud answers without a known price: counted, never as zero cost
    energy_wh: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def share_on_device(self) -> float:
        return self.on_device / self.answers if self.answers else 0.0

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["share_on_device"] = self.share_on_device
        return data


@dataclass(frozen=True, slots=True)
class Usage:
    by: By
    since: date | None
    total: Bucket
    buckets: tuple[Bucket, ...]

    def summary(self) -> str:
        """One sentence for the top of the view and the CLI."""
        t = self.total
        if not t.answers:
            return "No answers with their facts stored yet."
        unpriced = f" ({t.unpriced} at an unknown price)" if t.unpriced else ""
        return (
            f"{t.answers} answers, {t.share_on_device:.0%} on this device: spent "
            f"{units.usd(t.spent_usd)} on cloud models{unpriced}, saved "
            f"{units.usd(t.saved_usd)} by local answers, {units.energy(t.energy_wh)} used here, "
            f"{t.prompt_tokens + t.completion_tokens:,} tokens."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "by": str(self.by),
            "since": self.since.isoformat() if self.since else None,
            "total": self.total.to_json(),
            "buckets": [b.to_json() for b in self.buckets],
        }


def _figure(stats: dict[str, Any], name: str) -> float | None:
    value = stats.get(name)
    if not isinstance(value, int | float) or not is_number(value) or value < 0:
        return None
    return float(value)


def _key(answer: StoredAnswer, by: By) -> str:
    when = datetime.fromtimestamp(answer.created_at).astimezone()
    model = str(answer.stats.get("model") or "unknown")
    if by is By.DAY:
        return when.date().isoformat()
    if by is By.WEEK:
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    if by is By.MONTH:
        return f"{when.year:04d}-{when.month:02d}"
    if by is By.MODEL:
        return model
    if answer.stats.get("backend") == "local":
        return "local"
    return model.partition(":")[0] if ":" in model else model


def _add(bucket: Bucket, stats: dict[str, Any]) -> Bucket:
    local = stats.get("backend") == "local"
    cost = _figure(stats, "cost_usd")
    saved = _figure(stats, "cloud_equivalent_usd")
    energy = _figure(stats, "energy_wh")
    on_device = local or stats.get("privacy") == ON_DEVICE
    return Bucket(
        bucket.key,
        bucket.answers + 1,
        bucket.on_device + int(on_device),
        bucket.spent_usd + (0.0 if local else cost or 0.0),
        bucket.saved_usd + ((saved or 0.0) if local else 0.0),
        bucket.unpriced + int(not local and cost is None),
        bucket.energy_wh + (energy or 0.0),
        bucket.prompt_tokens + int(_figure(stats, "prompt_tokens") or 0),
        bucket.completion_tokens + int(_figure(stats, "completion_tokens") or 0),
    )


def parse_since(text: str) -> date:
    """A `--since` date: YYYY-MM-DD (also a month, YYYY-MM)."""
    for pattern in ("%Y-%m-%d", "%Y-%m"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise UsageError(f"{text!r:.40} is not a date: give it as YYYY-MM-DD, for example 2026-11-01.")


def summarise(answers: Iterable[StoredAnswer], by: By, since: date | None = None) -> Usage:
    buckets: dict[str, Bucket] = {}
    total = Bucket("total")
    for answer in answers:
        key = _key(answer, by)
        buckets[key] = _add(buckets.get(key, Bucket(key)), answer.stats)
        total = _add(total, answer.stats)
    ordered = sorted(buckets.values(), key=lambda b: b.key)
    if by in (By.MODEL, By.PROVIDER):
        ordered.sort(key=lambda b: (-b.answers, b.key))
    return Usage(by, since, total, tuple(ordered))


def _start_of(day: date) -> float:
    return datetime(day.year, day.month, day.day).astimezone().timestamp()


def usage(history_db: Path, by: By = By.DAY, since: date | None = None) -> Usage:
    """The usage in the history at `history_db`, grouped `by`, from `since` (local time)."""
    start = None if since is None else _start_of(since)
    return summarise(stored_answers(history_db, start), by, since)


# --- CSV ---------------------------------------------------------------------------

CSV_COLUMNS = [f.name for f in fields(Bucket)] + ["share_on_device"]


def write_csv(report: Usage, path: Path) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([str(report.by), *CSV_COLUMNS[1:]])
            for bucket in (*report.buckets, report.total):
                row = bucket.to_json()
                writer.writerow([row[c] for c in CSV_COLUMNS])
    except OSError as exc:
        raise UsageError(f"Could not write {path}: {exc.strerror or exc}.") from exc


def read_csv(path: Path) -> list[Bucket]:
    """The buckets of a usage CSV (the total is the last row)."""
    with path.open(newline="", encoding="utf-8") as source:
        rows = list(csv.reader(source))[1:]
    kinds = {f.name: f.type for f in fields(Bucket)}
    found = []
    for row in rows:
        values: dict[str, Any] = {}
        for name, text in zip(CSV_COLUMNS, row, strict=False):
            if name == "share_on_device":
                continue
            kind = kinds[name]
            values[name] = text if kind == "str" else int(text) if kind == "int" else float(text)
        found.append(Bucket(**values))
    return found


# --- the monthly budget ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """What the month has cost so far, what the next answer may cost, and the budget."""

    budget_usd: float
    month_spent_usd: float
    estimate_usd: float

    @property
    def over(self) -> bool:
        return self.month_spent_usd + self.estimate_usd > self.budget_usd

    def message(self) -> str:
        return (
            f"This answer may cost about {units.usd(self.estimate_usd)}; this month has cost "
            f"{units.usd(self.month_spent_usd)} of your {units.usd(self.budget_usd)} budget, so "
            "it would go over. Send it anyway, or keep to local models."
        )

    def error(self) -> OverBudget:
        return OverBudget(self.message() + " (--over-budget sends it from the command line)")


def estimate_usd(
    prices: PriceTable,
    backends: Sequence[Backend],
    messages: Sequence[ChatMessage],
    params: GenerationParams,
) -> float:
    """What sending `messages` to `backends` may cost at most: the prompt's size in tokens
    (about four characters each) and the full `max_tokens` of answer, at the price table's
    rates. A model of unknown price adds nothing (its cost cannot be estimated)."""
    chars = len(params.system_prompt or "") + sum(len(m.content) for m in messages)
    prompt_tokens = math.ceil(chars / CHARS_PER_TOKEN)
    total = 0.0
    for backend in backends:
        provider = getattr(backend, "provider", None)
        model = getattr(backend, "model", None)
        if provider is None or not isinstance(model, str):
            continue  # a local model has no API cost
        cost = prices.cost_usd(provider.price_key, model, prompt_tokens, params.max_tokens)
        total += cost or 0.0
    return total


def month_start(now: datetime | None = None) -> date:
    today = (now or datetime.now().astimezone()).date()
    return today.replace(day=1)


def check_budget(
    history_db: Path, budget_usd: float | None, estimate: float, now: datetime | None = None
) -> BudgetCheck | None:
    """The budget check for an answer estimated at `estimate`; None when no budget is
    set or the answer costs nothing."""
    if budget_usd is None or budget_usd <= 0 or estimate <= 0:
        return None
    spent = usage(history_db, By.MONTH, month_start(now)).total.spent_usd
    return BudgetCheck(budget_usd, spent, estimate)


@dataclass(frozen=True, slots=True)
class MonthlyBudget:
    """The budget as the workspace hands it to a conversation."""

    history_db: Path
    budget_usd: float | None
    prices: PriceTable

    def check(
        self,
        backends: Sequence[Backend],
        messages: Sequence[ChatMessage],
        params: GenerationParams,
    ) -> BudgetCheck | None:
        """The check when sending `messages` to `backends` would go over; else None."""
        if self.budget_usd is None or self.budget_usd <= 0:
            return None
        return self.check_estimate(estimate_usd(self.prices, backends, messages, params))

    def check_estimate(self, estimate: float) -> BudgetCheck | None:
        """The check when an answer estimated at `estimate` would go over; else None."""
        found = check_budget(self.history_db, self.budget_usd, estimate)
        return found if found is not None and found.over else None
