"""The three facts on every answer: how fast, where the words went, what it cost."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from app.core import bounds, units
from app.core.pricing import cost_label, format_usd


def _of_type(value: object, annotation: str) -> bool:
    """Whether a stored figure has the type its field is declared with (a stored file may
    hold text where a number belongs, and the summary line would then fail)."""
    kinds = annotation.split(" | ")
    if value is None:
        return "None" in kinds
    if isinstance(value, bool):
        return "bool" in kinds
    if isinstance(value, int):
        return "int" in kinds or "float" in kinds
    if isinstance(value, float):
        return "float" in kinds
    if isinstance(value, str):
        return "str" in kinds or "FinishReason" in kinds
    return False


class FinishReason(StrEnum):
    STOP = "stop"  # the model ended its answer
    LENGTH = "length"  # cut at the token limit or the context size
    CANCELLED = "cancelled"  # the user pressed Stop


@dataclass(frozen=True, slots=True)
class AnswerStats:
    """Measured facts about one finished answer.

    Times are wall-clock seconds. `time_to_first_token_s` runs from the moment the
    request is handed to the backend to the first visible text of any kind (reasoning
    too), `time_to_first_answer_token_s` to the first text of the answer itself;
    `tokens_per_s` counts generated tokens over the seconds from first to last token.
    `completion_tokens` counts every generated token, reasoning included (priced as
    output); `reasoning_tokens` is the part of them spent thinking, None when unknown.
    """

    model: str
    backend: str
    host: str | None
    privacy: str
    finish_reason: FinishReason
    time_to_first_token_s: float | None
    tokens_per_s: float
    prompt_tokens_per_s: float
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    cost_usd: float | None = 0.0
    cloud_equivalent_usd: float | None = None
    cloud_equivalent_model: str | None = None
    prompt_tokens_cached: int = 0
    energy_wh: float | None = None
    energy_estimated: bool = False
    electricity_usd: float | None = None
    retries: int = 0
    reasoning_tokens: int | None = None
    reasoning_s: float | None = None
    time_to_first_answer_token_s: float | None = None
    draft_tokens: int = 0  # prompt lookup: tokens proposed
    draft_accepted: int = 0  # of those, how many the model agreed with

    def __post_init__(self) -> None:
        """Every figure sane: a NaN, infinite, negative or absurd amount becomes unknown
        (None) where a figure may be unknown, else 0; so does a count that cannot be one."""
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if spec.type == "int":
                if bounds.count(value) is None:
                    object.__setattr__(self, spec.name, 0)
            elif not math.isfinite(value) or not 0 <= value <= bounds.MAX_FIGURE:
                object.__setattr__(self, spec.name, None if "None" in str(spec.type) else 0.0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerStats | None:
        """Stats as stored (to_json); None when they cannot be read back."""
        names = set(cls.__dataclass_fields__)
        try:
            values = {k: v for k, v in data.items() if k in names}
            values["finish_reason"] = FinishReason(values["finish_reason"])
            if not all(
                _of_type(values[f.name], str(f.type)) for f in fields(cls) if f.name in values
            ):
                return None
            return cls(**values)
        except (KeyError, TypeError, ValueError):
            return None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["finish_reason"] = str(self.finish_reason)
        return data

    def summary_line(self) -> str:
        """One line for the GUI and the CLI's stderr."""
        approx = "~" if self.estimated else ""
        parts = []
        if self.time_to_first_token_s is not None:
            parts.append(f"{self.time_to_first_token_s:.2f} s to first token")
        thought = self.reasoning_s is not None or self.reasoning_tokens
        if thought and self.time_to_first_answer_token_s is not None:
            parts.append(f"{self.time_to_first_answer_token_s:.2f} s to first answer token")
        parts.append(f"{approx}{self.tokens_per_s:.1f} tok/s")
        parts.append(f"prompt {approx}{self.prompt_tokens_per_s:.0f} tok/s")
        tokens = f"{approx}{self.prompt_tokens} → {approx}{self.completion_tokens} tokens"
        if self.reasoning_tokens:
            tokens += f" ({approx}{self.reasoning_tokens} reasoning)"
        parts.append(tokens)
        parts.append(self.privacy)
        parts.append(
            cost_label(
                self.backend,
                self.cost_usd,
                self.cloud_equivalent_usd,
                self.cloud_equivalent_model,
            )
        )
        if self.energy_wh is not None:
            energy = f"{'~' if self.energy_estimated else ''}{units.energy(self.energy_wh)}"
            if self.electricity_usd is not None:
                energy += f" ({format_usd(self.electricity_usd)} electricity)"
            parts.append(energy)
        if self.draft_tokens:
            parts.append(f"{self.draft_accepted} of {self.draft_tokens} drafted tokens accepted")
        if self.estimated:
            parts.append("estimated")
        if self.finish_reason is FinishReason.CANCELLED:
            parts.append("stopped")
        elif self.finish_reason is FinishReason.LENGTH:
            parts.append("cut at token limit")
        return " · ".join(parts)
