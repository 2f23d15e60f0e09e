"""The model manager's Catalog tab: curated models with filters and a fit label each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import units
from app.library.catalog import Catalog, CatalogModel
from app.library.hardware import Fit, FitLabel
from app.ui.theme import colour
from app.ui.widgets.plain import escape, show_markup, tooltip

CATALOG_COLUMNS = ("Model", "Family", "Params", "Quant", "Size", "Context", "RAM need", "Fit",
                   "Licence")  # fmt: skip
SIZE_LIMITS = (("Any size", None), ("Under 1 GB", 1e9), ("Under 3 GB", 3e9), ("Under 6 GB", 6e9))
FIT_MEANINGS = {FitLabel.FITS: "good", FitLabel.TIGHT: "caution", FitLabel.TOO_BIG: "error"}
ROLE = Qt.ItemDataRole.UserRole


def id_at(table: QTableWidget, row: int) -> str:
    item = table.item(row, 0)
    return "" if item is None else str(item.data(ROLE))


class CatalogTab(QWidget):
    """Signals:
    download_requested(object): the person asked to download this CatalogModel.
    """

    download_requested = Signal(object)

    def __init__(
        self,
        catalog: Catalog,
        models_dir: Path,
        busy: Callable[[str], bool],
        parent: QWidget | None = None,
    ) -> None:
        """`busy(model_id)` says whether that model is downloading now."""
        super().__init__(parent)
        self.catalog = catalog
        self.models_dir = models_dir
        self._busy = busy
        self.fits: dict[str, Fit] = {}
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search models, families, uses…")
        self.search.setAccessibleName("Search the catalog")
        self.family = QComboBox()
        self.family.setAccessibleName("Family")
        self.family.addItem("All families", "")
        for family in catalog.families:
            self.family.addItem(family, family)
        self.size_limit = QComboBox()
        self.size_limit.setAccessibleName("Size")
        for label, limit in SIZE_LIMITS:
            self.size_limit.addItem(label, limit)
        self.fits_only = QCheckBox("Only models that fit")
        self.table = QTableWidget(0, len(CATALOG_COLUMNS))
        self.table.setAccessibleName("Catalog")
        self.table.setHorizontalHeaderLabels(CATALOG_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = QLabel("Choose a model to see what it is good for.")
        self.detail.setWordWrap(True)
        self.detail.setMinimumHeight(48)
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        for signal in (self.search.textChanged, self.family.currentIndexChanged,
                       self.size_limit.currentIndexChanged, self.fits_only.toggled):  # fmt: skip
            signal.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self.show_selection)
        self.table.itemDoubleClicked.connect(lambda _item: self._request_download())
        self.download_button.clicked.connect(self._request_download)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.family)
        filters.addWidget(self.size_limit)
        filters.addWidget(self.fits_only)
        bottom = QHBoxLayout()
        bottom.addWidget(self.detail, 1)
        bottom.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

    def _request_download(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.download_requested.emit(entry)

    def set_fits(self, fits: dict[str, Fit]) -> None:
        self.fits = fits
        self.refresh()

    def visible_models(self) -> list[CatalogModel]:
        limit = self.size_limit.currentData()
        models = self.catalog.search(
            self.search.text(), self.family.currentData() or None,
            int(limit) if limit else None,
        )  # fmt: skip
        if self.fits_only.isChecked():
            models = [m for m in models if self.fits[m.id].label is FitLabel.FITS]
        return models

    def refresh(self) -> None:
        selected = self.selected()
        models = self.visible_models()
        self.table.setRowCount(len(models))
        for row, entry in enumerate(models):
            fit = self.fits[entry.id]
            installed = (self.models_dir / entry.file).exists()
            size = ("~" if entry.size_approximate else "") + units.size(entry.size_bytes)
            values = (entry.name + ("  ✓" if installed else ""), entry.family,
                      units.parameters(entry.parameters), entry.quantization, size,
                      f"{entry.context_length:,}", units.size(fit.ram_needed_bytes), str(fit.label),
                      entry.license)  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(ROLE, entry.id)
                item.setToolTip(tooltip(f"{entry.good_for}\n{fit.reason}"))
                self.table.setItem(row, column, item)
            fit_item = self.table.item(row, CATALOG_COLUMNS.index("Fit"))
            if fit_item is not None:
                fit_item.setForeground(QBrush(QColor(colour(FIT_MEANINGS[fit.label]))))
                bold = fit_item.font()
                bold.setBold(True)
                fit_item.setFont(bold)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if selected is not None:
            self.select(selected.id)
        self.show_selection()

    def select(self, model_id: str) -> bool:
        for row in range(self.table.rowCount()):
            if id_at(self.table, row) == model_id:
                self.table.selectRow(row)
                return True
        return False

    def selected(self) -> CatalogModel | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self.catalog.by_id(id_at(self.table, rows[0].row()))

    def show_selection(self) -> None:
        entry = self.selected()
        if entry is None:
            show_markup(self.detail, "Choose a model to see what it is good for.")
            self.download_button.setEnabled(False)
            return
        fit = self.fits[entry.id]
        fit_colour = colour(FIT_MEANINGS[fit.label])
        gpu = "" if fit.gpu_layers == 0 else (
            " Suggested GPU layers: " + ("all" if fit.gpu_layers < 0 else str(fit.gpu_layers)) + "."
        )  # fmt: skip
        show_markup(
            self.detail,
            f"<b>{escape(entry.name)}</b> — {escape(entry.good_for)}<br>"
            f"<span style='color:{fit_colour}'>{escape(fit.reason)}</span>{escape(gpu)}<br>"
            f"<small>{escape(entry.repo or '')} · {escape(entry.file)}</small>",
        )
        installed = (self.models_dir / entry.file).exists()
        self.download_button.setText("Installed" if installed else "Download")
        self.download_button.setEnabled(
            not installed and not self._busy(entry.id) and entry.downloadable
        )
