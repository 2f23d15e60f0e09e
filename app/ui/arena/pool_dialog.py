"""Choosing the arena's pool: the models a round may draw its two from.

It is a dialog of its own, closed before a round starts, so the arena window itself
never shows a model's name until the vote.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.arena import Candidate
from app.ui.widgets.plain import plain_label, tooltip


class PoolDialog(QDialog):
    def __init__(
        self, found: Sequence[Candidate], chosen: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Arena pool")
        self.resize(520, 360)
        self.list = QListWidget()
        self.list.setAccessibleName("Models in the pool")
        for candidate in found:
            item = QListWidgetItem(f"{candidate.spec}  ({candidate.where})")
            item.setData(Qt.ItemDataRole.UserRole, candidate.spec)
            if candidate.refusal:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(tooltip(candidate.refusal))
                item.setCheckState(Qt.CheckState.Unchecked)
            else:
                checked = candidate.spec in chosen
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            plain_label("Each round draws two of the checked models, on random sides.")
        )
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        specs = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.checkState() is Qt.CheckState.Checked:
                specs.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return specs
