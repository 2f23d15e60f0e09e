"""The privacy ledger: every request that went over HTTP, where, and how many bytes."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.privacy import RequestRecord

COLUMNS = ("Time", "Host", "Left device", "Provider", "Model", "Sent (B)", "Received (B)",
           "Outcome", "Document passages")  # fmt: skip


def passages_text(record: RequestRecord) -> str:
    """The document passages a request carried: `report.pdf p.3 (812 B); …`."""
    return "; ".join(
        f"{p.file}{f' p.{p.page}' if p.page else ''} ({p.bytes:,} B)" for p in record.passages
    )


class LedgerDialog(QDialog):
    def __init__(
        self, records: list[RequestRecord], private: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Privacy ledger")
        self.resize(900, 420)
        summary = QLabel(
            f"Private mode is {'on' if private else 'off'}. "
            f"{sum(r.left_device for r in records)} request(s) left this device."
        )
        self.table = QTableWidget(len(records), len(COLUMNS))
        self.table.setAccessibleName("Requests sent")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for row, r in enumerate(records):
            values = (r.time, r.host, "yes" if r.left_device else "no", r.provider, r.model,
                      f"{r.bytes_sent:,}", f"{r.bytes_received:,}", r.outcome,
                      passages_text(r))  # fmt: skip
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
