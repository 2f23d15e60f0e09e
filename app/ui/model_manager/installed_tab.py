"""The model manager's Installed tab: the models folder, with each file's fit."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import units
from app.library.installed import InstalledModel
from app.ui.model_manager.catalog_tab import ROLE, id_at
from app.ui.widgets.plain import plain_label, tooltip

INSTALLED_COLUMNS = ("Model", "Size", "Architecture", "Quant", "Context", "Status")


class InstalledTab(QWidget):
    """Signals:
    import_requested(): "Import GGUF…" was pressed.
    show_requested(): "Show in folder" was pressed.
    delete_requested(): "Delete" was pressed.
    """

    import_requested = Signal()
    show_requested = Signal()
    delete_requested = Signal()

    def __init__(self, models_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models: list[InstalledModel] = []
        self.table = QTableWidget(0, len(INSTALLED_COLUMNS))
        self.table.setAccessibleName("Installed models")
        self.table.setHorizontalHeaderLabels(INSTALLED_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.import_button = QPushButton("Import GGUF…")
        self.link_instead = QCheckBox("Link instead of copying")
        self.link_instead.setToolTip(
            "Uses no extra space; the original file must stay where it is."
        )
        self.show_button = QPushButton("Show in folder")
        self.delete_button = QPushButton("Delete")
        self.import_button.clicked.connect(self.import_requested)
        self.show_button.clicked.connect(self.show_requested)
        self.delete_button.clicked.connect(self.delete_requested)
        self.folder_label = plain_label(f"Models folder: {models_dir}")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.link_instead)
        buttons.addStretch(1)
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def show_models(self, models: list[InstalledModel], statuses: list[str]) -> None:
        """One row per model, with its status (fit, link, or what is wrong with it)."""
        self.models = models
        self.table.setRowCount(len(models))
        for row, (m, status) in enumerate(zip(models, statuses, strict=True)):
            info = m.info
            values = (m.id, units.size(m.size_bytes), info.architecture if info else "?",
                      (info.quantization or "?") if info else "?",
                      f"{info.context_length:,}" if info and info.context_length else "?",
                      status)  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(ROLE, str(m.path))
                item.setToolTip(
                    tooltip(str(m.path) + (f"\n→ {m.linked_to}" if m.linked_to else ""))
                )
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def selected(self) -> InstalledModel | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        path = id_at(self.table, rows[0].row())
        return next((m for m in self.models if str(m.path) == path), None)

    def select(self, model_id: str) -> bool:
        for row, m in enumerate(self.models):
            if m.id == model_id:
                self.table.selectRow(row)
                return True
        return False
