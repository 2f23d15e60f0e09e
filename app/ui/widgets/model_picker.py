"""A combo box of every model the user can talk to: local GGUF files and cloud models.

Each item's data is a model spec (`local:PATH` or `PROVIDER:MODEL`). In private mode
cloud items that would leave the device are greyed out, with the reason as tooltip.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from app.core import units
from app.core.providers import ProviderConfig
from app.core.reach import Refusal, may_reach
from app.library.installed import InstalledModel
from app.ui.widgets.plain import tooltip

OPEN_FILE = "__open_file__"
OPEN_FILE_ITEM = "Open GGUF file…"
_PROVIDER = Qt.ItemDataRole.UserRole + 1  # the ProviderConfig of a cloud item
_OPENED = Qt.ItemDataRole.UserRole + 2  # a file opened from disk, not an installed model


class ModelPicker(QComboBox):
    """Signals:
    picked(str): the user chose a model spec.
    open_file_requested(): the user chose "Open GGUF file…".
    """

    picked = Signal(str)
    open_file_requested = Signal()

    def __init__(self, accessible_name: str = "Model", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        # Wide enough to tell models apart, narrow enough that two fit a laptop screen.
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(22)
        self._model = QStandardItemModel(self)
        self.setModel(self._model)
        self.activated.connect(self._on_activated)
        self._private = True
        self._current = ""

    def populate(
        self, local: list[InstalledModel], providers: list[ProviderConfig], private: bool
    ) -> None:
        self._private = private
        self._model.clear()
        for model in local:
            item = QStandardItem(f"{model.id}  ({units.size(model.size_bytes)}, local)")
            item.setData(f"local:{model.path}", Qt.ItemDataRole.UserRole)
            item.setToolTip(tooltip(str(model.path)))
            self._model.appendRow(item)
        for provider in providers:
            if not provider.default_model:
                continue
            spec = f"{provider.name}:{provider.default_model}"
            where = "this device" if provider.on_device else provider.host
            item = QStandardItem(f"{spec}  ({where})")
            item.setData(spec, Qt.ItemDataRole.UserRole)
            item.setData(provider, _PROVIDER)
            self._model.appendRow(item)
        item = QStandardItem(OPEN_FILE_ITEM)
        item.setData(OPEN_FILE, Qt.ItemDataRole.UserRole)
        self._model.appendRow(item)
        self.set_private(private)
        if self._current:
            self.select(self._current)

    def set_private(self, private: bool) -> None:
        self._private = private
        for row in range(self._model.rowCount()):
            item = self._model.item(row)
            spec = str(item.data(Qt.ItemDataRole.UserRole))
            if spec.startswith("local:") or spec == OPEN_FILE:
                continue
            provider = item.data(_PROVIDER)
            trusted = (provider.host,) if provider.trusted else ()
            reach = may_reach(provider.base_url, private_mode=private, trusted_hosts=trusted)
            item.setEnabled(reach.allowed)
            item.setToolTip(
                tooltip(
                    ""
                    if reach.allowed
                    else "Private mode is on: this model would send your words "
                    "to another computer. Turn private mode off to use it."
                    if reach.refusal is Refusal.PRIVATE_MODE
                    else reach.reason
                )
            )

    def spec_at(self, row: int) -> str:
        return str(self._model.item(row).data(Qt.ItemDataRole.UserRole))

    def current_spec(self) -> str:
        return self._current

    def is_enabled_spec(self, spec: str) -> bool:
        for row in range(self._model.rowCount()):
            if self.spec_at(row) == spec:
                return self._model.item(row).isEnabled()
        return False

    def select(self, spec: str) -> None:
        """Show `spec` as chosen, adding a local file that is not in the list."""
        for row in range(self._model.rowCount()):
            if self.spec_at(row) == spec:
                self.setCurrentIndex(row)
                self._current = spec
                return
        if spec.startswith("local:"):
            item = QStandardItem(f"{Path(spec[6:]).name}  (local)")
            item.setData(spec, Qt.ItemDataRole.UserRole)
            item.setData(True, _OPENED)
            self._model.insertRow(max(0, self._model.rowCount() - 1), item)
            self.setCurrentIndex(self._model.rowCount() - 2)
            self._current = spec

    def shown_spec(self) -> str:
        """The model the box shows (also before anyone chose it); "" for none."""
        spec = self.spec_at(self.currentIndex()) if self.currentIndex() >= 0 else ""
        if spec == OPEN_FILE or not self.is_enabled_spec(spec):
            return ""
        return spec

    def forget(self, spec: str) -> None:
        """Drop a file that was refused from the list (installed models stay)."""
        for row in range(self._model.rowCount()):
            item = self._model.item(row)
            if self.spec_at(row) == spec and item.data(_OPENED):
                self._model.removeRow(row)
                break
        if self._current == spec:
            self._current = ""

    def _on_activated(self, row: int) -> None:
        spec = self.spec_at(row)
        if spec == OPEN_FILE:
            self.select(self._current) if self._current else None
            self.open_file_requested.emit()
            return
        self._current = spec
        self.picked.emit(spec)
