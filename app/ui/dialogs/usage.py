"""View > Usage: what cloud answers cost and local ones saved, per day or month, with a
bar chart drawn by QPainter (no chart add-on to ship), the totals, and a CSV export.
Also the question the window asks before a send that would go over the monthly budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TandemError
from app.core.units import energy, usd
from app.services.usage import Bucket, By, Usage, usage, write_csv
from app.ui import alerts
from app.ui.theme import colour
from app.ui.widgets.plain import plain_label, show_plain

COLUMNS = ("Period", "Answers", "Spent", "Saved", "Energy", "Tokens", "On this device")


class SpentSavedChart(QWidget):
    """Two bars per period: spent on cloud models beside saved by local answers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buckets: list[Bucket] = []
        self.setMinimumHeight(240)
        self.setAccessibleName("Spent and saved per period")

    def set_buckets(self, buckets: Sequence[Bucket]) -> None:
        self.buckets = list(buckets)[-24:]  # the latest periods that fit side by side
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().windowText().color()
        spent_colour, saved_colour = QColor(colour("caution")), QColor(colour("good"))
        margin_left, margin_bottom, margin_top = 70.0, 40.0, 28.0
        area = QRectF(margin_left, margin_top, self.width() - margin_left - 16,
                      self.height() - margin_top - margin_bottom)  # fmt: skip
        painter.setPen(QPen(text))
        if not self.buckets:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Nothing stored yet.")
            return
        top = max(max(b.spent_usd, b.saved_usd) for b in self.buckets) or 1.0
        # The axis and three gridlines, labelled in dollars.
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        for n in range(4):
            y = area.bottom() - area.height() * n / 3
            grid = QColor(text)
            grid.setAlpha(50)
            painter.setPen(QPen(grid))
            painter.drawLine(int(area.left()), int(y), int(area.right()), int(y))
            painter.setPen(QPen(text))
            painter.drawText(QRectF(0, y - 9, margin_left - 8, 18),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             usd(top * n / 3))  # fmt: skip
        slot = area.width() / len(self.buckets)
        bar = max(2.0, min(28.0, slot * 0.35))
        for n, bucket in enumerate(self.buckets):
            x = area.left() + slot * n + slot / 2
            for offset, value, fill in ((-bar, bucket.spent_usd, spent_colour),
                                        (0.0, bucket.saved_usd, saved_colour)):  # fmt: skip
                height = area.height() * value / top
                painter.fillRect(QRectF(x + offset, area.bottom() - height, bar, height), fill)
            painter.drawText(QRectF(x - slot / 2, area.bottom() + 4, slot, 18),
                             Qt.AlignmentFlag.AlignHCenter, bucket.key)  # fmt: skip
        # The legend.
        for n, (name, fill) in enumerate((("Spent on cloud", spent_colour),
                                          ("Saved by local answers", saved_colour))):  # fmt: skip
            x = area.left() + n * 200
            painter.fillRect(QRectF(x, 6, 14, 14), fill)
            painter.drawText(QRectF(x + 20, 4, 180, 18), Qt.AlignmentFlag.AlignVCenter, name)
        painter.end()


class UsageDialog(QDialog):
    """`save_budget` keeps a new monthly budget (None: no budget) in the settings."""

    def __init__(
        self,
        history_db: object,
        parent: QWidget | None = None,
        *,
        budget_usd: float | None = None,
        save_budget: Callable[[float | None], None] | None = None,
    ) -> None:
        super().__init__(parent)
        from pathlib import Path

        self.history_db = Path(str(history_db))
        self.setWindowTitle("Usage")
        self.resize(900, 640)
        self.report: Usage | None = None
        self.summary: QLabel = plain_label()
        self.summary.setWordWrap(True)
        self.by = QComboBox()
        self.by.setAccessibleName("Group by")
        for label, by in (("Per day", By.DAY), ("Per month", By.MONTH)):
            self.by.addItem(label, str(by))
        self.by.currentIndexChanged.connect(lambda _n: self.refresh())
        self.budget = QDoubleSpinBox()
        self.budget.setAccessibleName("Monthly budget")
        self.budget.setRange(0.0, 1e6)
        self.budget.setDecimals(2)
        self.budget.setPrefix("$")
        self.budget.setSpecialValueText("no monthly budget")
        self.budget.setValue(budget_usd or 0.0)
        self.budget.setToolTip("Tandem asks before a cloud answer would take the month over it")
        self.budget.setEnabled(save_budget is not None)
        self._save_budget = save_budget
        self.budget.editingFinished.connect(self._on_budget)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(lambda: self.export_csv())
        self.chart = SpentSavedChart()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.by)
        row.addStretch(1)
        row.addWidget(plain_label("Monthly budget:"))
        row.addWidget(self.budget)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        layout.addWidget(self.chart, 2)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        try:
            self.report = usage(self.history_db, By(self.by.currentData()))
        except TandemError as exc:
            show_plain(self.summary, exc.message)
            return
        show_plain(self.summary, self.report.summary())
        self.chart.set_buckets(self.report.buckets)
        rows = [*self.report.buckets, self.report.total]
        self.table.setRowCount(len(rows))
        for n, b in enumerate(rows):
            spent = usd(b.spent_usd) + (f" (+{b.unpriced} unpriced)" if b.unpriced else "")
            tokens = f"{b.prompt_tokens + b.completion_tokens:,}"
            values = (b.key, str(b.answers), spent, usd(b.saved_usd), energy(b.energy_wh),
                      tokens, f"{b.share_on_device:.0%}")  # fmt: skip
            for column, value in enumerate(values):
                self.table.setItem(n, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def _on_budget(self) -> None:
        if self._save_budget is not None:
            value = self.budget.value()
            self._save_budget(value if value > 0 else None)

    def export_csv(self, path: str | None = None) -> None:
        if self.report is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export usage", "usage.csv", "CSV (*.csv)")
            if not path:
                return
        from pathlib import Path

        try:
            write_csv(self.report, Path(path))
        except TandemError as exc:
            alerts.warning(self, exc.message)


def ask_over_budget(parent: QWidget | None, services: Sequence[object], text: str) -> bool | None:
    """Before a send: None to keep the text and send nothing, else whether the person
    chose to go over the monthly budget (False when no budget is in the way)."""
    for service in services:
        check = getattr(service, "over_budget", lambda _text: None)(text)
        if check is not None:
            return True if alerts.ask(parent, "Monthly budget", check.message()) else None
    return False
