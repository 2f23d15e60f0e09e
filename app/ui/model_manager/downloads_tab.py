"""The model manager's Downloads tab: one row per download, newest last."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.library.catalog import CatalogModel
from app.library.downloads import DownloadProgress
from app.ui.model_manager.download_row import DownloadRow


class DownloadsTab(QWidget):
    """Signals:
    pause_requested(str): Pause or Resume was pressed on this model id's row.
    cancel_requested(str): Cancel was pressed on this model id's row.
    clear_requested(): "Clear finished" was pressed.
    """

    pause_requested = Signal(str)
    cancel_requested = Signal(str)
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, DownloadRow] = {}
        self.empty = QLabel("No downloads. Choose a model in the Catalog tab.")
        self.box = QVBoxLayout()
        self.box.addWidget(self.empty)
        self.box.addStretch(1)
        inner = QWidget()
        inner.setLayout(self.box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(self.clear_requested)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(clear, 0, Qt.AlignmentFlag.AlignRight)

    def show_progress(self, entry: CatalogModel, progress: DownloadProgress) -> DownloadRow:
        row = self.rows.get(entry.id)
        if row is None:
            row = DownloadRow(entry)
            row.pause_clicked.connect(self.pause_requested)
            row.cancel_clicked.connect(self.cancel_requested)
            self.rows[entry.id] = row
            self.box.insertWidget(self.box.count() - 1, row)
            self.empty.hide()
        row.show_progress(progress)
        return row

    def busy(self, model_id: str) -> bool:
        row = self.rows.get(model_id)
        return row is not None and not row.state.finished

    def remove_finished(self) -> None:
        for model_id, row in list(self.rows.items()):
            if row.state.finished:
                row.deleteLater()
                del self.rows[model_id]
        self.empty.setVisible(not self.rows)
