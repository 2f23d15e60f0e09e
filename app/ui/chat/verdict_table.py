"""Compare's verdict as a small table: a column per model, a row per fact, the winner of
each row marked. The verdict itself is services.compare's (the CLI prints the same)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.compare import Verdict

WINNER_MARK = "  ✓"


class VerdictTable(QWidget):
    """Shows one Verdict; `text()` is its one-sentence summary (what the CLI prints)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Comparison verdict")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 6, 16, 6)
        layout.setSpacing(4)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # model names are data
        self.caption.setWordWrap(True)
        self.caption.setAccessibleName("Verdict summary")
        self.table = QTableWidget(0, 2)
        self.table.setAccessibleName("Verdict table")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.table)
        layout.addWidget(self.caption)
        self._summary = ""

    def text(self) -> str:
        return self._summary

    def clear(self) -> None:
        self._summary = ""
        self.caption.setText("")
        self.table.setRowCount(0)

    def show_verdict(self, verdict: Verdict) -> None:
        self._summary = verdict.summary()
        self.caption.setText(self._summary)
        rows = verdict.rows()
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([verdict.column_name("a"), verdict.column_name("b")])
        self.table.setVerticalHeaderLabels([row.label for row in rows])
        bold = QFont(self.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, side in enumerate(("a", "b")):
                won = row.winner == side
                item = QTableWidgetItem(row.values[side] + (WINNER_MARK if won else ""))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if won:
                    item.setFont(bold)
                    item.setToolTip("Better on this row")
                self.table.setItem(r, c, item)
        height = self.table.horizontalHeader().height() + 2
        height += sum(self.table.rowHeight(r) for r in range(len(rows)))
        self.table.setFixedHeight(height)

    def winner_of(self, label: str) -> str | None:
        """The side ("a"/"b") marked as the winner of the row `label` (for tests, readers)."""
        for r in range(self.table.rowCount()):
            header = self.table.verticalHeaderItem(r)
            if header is not None and header.text() == label:
                for c, side in enumerate(("a", "b")):
                    item = self.table.item(r, c)
                    if item is not None and item.text().endswith(WINNER_MARK):
                        return side
        return None
