"""The three facts under an answer as three chips (speed, privacy, cost); a click on any
of them shows the details: tokens, prompt speed, energy, price source, the run record."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from app.core import units
from app.core.pricing import PRICE_UNKNOWN
from app.core.privacy import ON_THIS_DEVICE
from app.core.stats import AnswerStats, FinishReason
from app.ui.icons import icon
from app.ui.theme import is_dark
from app.ui.widgets.plain import plain_label, tooltip

# (text, background) per kind of chip, on a light and on a dark window; every pair keeps
# a contrast of at least 4.5:1 (tests/ui/test_window_flows.py measures it).
CHIP_COLOURS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "speed": (("#1a4d8f", "#e3edfb"), ("#b9d5ff", "#1d324f")),
    "local": (("#1c6b34", "#e2f3e7"), ("#a3e6b5", "#1b3a25")),
    "sent": (("#9a2c12", "#fde9e2"), ("#ffbca8", "#4a2118")),
    "cost": (("#5a2d86", "#f1e8fb"), ("#dcc3ff", "#34254a")),
}


def speed_text(stats: AnswerStats) -> str:
    """`0.17 s · 103 tok/s` (time to first token, then generation speed)."""
    approx = "~" if stats.estimated else ""
    speed = f"{approx}{stats.tokens_per_s:.0f} tok/s"
    if stats.time_to_first_token_s is None:
        return speed
    return f"{units.seconds(stats.time_to_first_token_s)} · {speed}"


def stayed_here(stats: AnswerStats) -> bool:
    """The local engine, or a server on this computer (loopback)."""
    return stats.host is None or stats.privacy == ON_THIS_DEVICE


def privacy_text(stats: AnswerStats) -> str:
    return ON_THIS_DEVICE if stats.host is None else stats.privacy


def cost_text(stats: AnswerStats) -> str:
    """`$0.0012` for a cloud answer; `free · saved $0.003` for a local one."""
    if stats.backend == "local":
        if stats.cloud_equivalent_usd:
            return f"free · saved {units.usd(stats.cloud_equivalent_usd)}"
        return "free"
    return PRICE_UNKNOWN if stats.cost_usd is None else units.usd(stats.cost_usd)


def details_lines(
    stats: AnswerStats, run_info: dict[str, Any] | None = None, price_note: str = ""
) -> list[str]:
    """Everything the chips sum up, one fact a line."""
    approx = "~" if stats.estimated else ""
    reasoning = getattr(stats, "reasoning_tokens", 0) or 0
    lines = [
        f"Tokens: {approx}{stats.prompt_tokens:,} in the prompt"
        + (f" ({stats.prompt_tokens_cached:,} cached)" if stats.prompt_tokens_cached else "")
        + f", {approx}{stats.completion_tokens:,} in the answer"
        + (f", {reasoning:,} of them reasoning" if reasoning else ""),
        f"Speed: {approx}{stats.tokens_per_s:.1f} tok/s writing, "
        f"{approx}{stats.prompt_tokens_per_s:.0f} tok/s reading the prompt"
        + (
            f", first token after {units.seconds(stats.time_to_first_token_s)}"
            if stats.time_to_first_token_s is not None
            else ""
        ),
        f"Privacy: {stats.privacy}",
    ]
    if stats.backend == "local":
        cost = "Cost: no API cost"
        if stats.cloud_equivalent_usd is not None and stats.cloud_equivalent_model:
            cost += (
                f"; would have cost {units.usd(stats.cloud_equivalent_usd)} "
                f"on {stats.cloud_equivalent_model}"
            )
    else:
        cost = f"Cost: {cost_text(stats)}"
    lines.append(cost + (f" ({price_note})" if price_note else ""))
    if stats.energy_wh is not None:
        energy = f"Energy: {'~' if stats.energy_estimated else ''}{units.energy(stats.energy_wh)}"
        if stats.electricity_usd is not None:
            energy += f", {units.usd(stats.electricity_usd)} of electricity"
        lines.append(energy + (" (estimated)" if stats.energy_estimated else ""))
    if stats.estimated:
        lines.append("Token counts estimated: the provider gave none")
    if stats.retries:
        lines.append(f"Retried {stats.retries} time{'s' if stats.retries > 1 else ''}")
    if stats.finish_reason is FinishReason.LENGTH:
        lines.append("Cut at the token limit")
    if run_info:
        record = [f"Model file: {run_info.get('model_file') or stats.model}"]
        for key, label in (
            ("quantization", "quant"), ("context_length", "context"), ("threads", "threads"),
            ("gpu_layers", "GPU layers"),
        ):  # fmt: skip
            value = run_info.get(key)
            if value is not None:
                wide = isinstance(value, int) and key == "context_length"
                record.append(f"{label} {value:,}" if wide else f"{label} {value}")
        lines.append(" · ".join(record))
    return lines


class FactChip(QToolButton):
    """One fact, coloured by its kind; a click shows the answer's details."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setObjectName("factChip")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setIconSize(QSize(13, 13))
        self.kind = "speed"

    def set_kind(self, kind: str, icon_name: str = "") -> str:
        """Take the colours of `kind`; the style sheet rule that draws them."""
        self.kind = kind
        self.setObjectName(f"{kind}Chip")
        fg, bg = self.colours()
        self.setIcon(icon(icon_name, fg))
        name = self.objectName()
        return (
            f"QToolButton#{name} {{ color: {fg}; background: {bg}; border: none; "
            "border-radius: 9px; padding: 1px 8px; font-size: 11px; }"
            f"QToolButton#{name}:focus {{ border: 1px solid {fg}; }}"
        )

    def colours(self) -> tuple[str, str]:
        light, dark = CHIP_COLOURS[self.kind]
        return dark if is_dark() else light


class FactChips(QWidget):
    """Speed, privacy and cost of one answer, side by side, and its details on a click."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Answer facts")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 4, 0, 0)
        outer.setSpacing(4)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.speed = FactChip("Speed")
        self.privacy = FactChip("Privacy")
        self.cost = FactChip("Cost")
        for chip in (self.speed, self.privacy, self.cost):
            row.addWidget(chip)
            chip.clicked.connect(self.toggle_details)
        row.addStretch(1)
        outer.addLayout(row)
        self.details = plain_label()
        self.details.setObjectName("factDetails")
        self.details.setAccessibleName("Answer details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        outer.addWidget(self.details)
        self._lines: list[str] = []
        self._stats: AnswerStats | None = None

    def show_stats(
        self, stats: AnswerStats, run_info: dict[str, Any] | None = None, price_note: str = ""
    ) -> None:
        self._stats = stats
        self._lines = details_lines(stats, run_info, price_note)
        self.speed.setText(speed_text(stats))
        local = stayed_here(stats)
        self.privacy.setText(privacy_text(stats))
        self.cost.setText(cost_text(stats))
        self.restyle()
        tip = tooltip("\n".join(self._lines))
        for chip in (self.speed, self.privacy, self.cost):
            chip.setToolTip(tip)
        self.privacy.setAccessibleDescription(
            "Stayed on this device" if local else f"Sent to {stats.host}"
        )
        self.details.setText("\n".join(self._lines))

    def restyle(self) -> None:
        local = self._stats is None or stayed_here(self._stats)
        rules = [
            self.speed.set_kind("speed", "gauge"),
            self.privacy.set_kind(
                "local" if local else "sent", "lock" if local else "cloud-upload"
            ),
            self.cost.set_kind("cost", "coins"),
            "QLabel#factDetails { font-size: 11px; }",
        ]
        css = "\n".join(rules)
        if css != self.styleSheet():  # one parse for the three chips, and only on change
            self.setStyleSheet(css)

    def details_text(self) -> str:
        return "\n".join(self._lines)

    def toggle_details(self) -> None:
        self.details.setVisible(not self.details.isVisible())
