"""The "< 2/3 >" switch under a message that has other versions (regenerated answers,
edited questions): one step back or forward through them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


def version_text(index: int, count: int) -> str:
    return f"{index}/{count}"


class VersionSwitch(QWidget):
    """Hidden while a message has one version.

    Signals:
        stepped(int): -1 for the version before, +1 for the one after.
    """

    stepped = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versionSwitch")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.previous = QToolButton()
        self.previous.setText("\u2039")
        self.previous.setAccessibleName("Previous version")
        self.previous.setToolTip("Previous version")
        self.previous.setAutoRaise(True)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAccessibleName("Version")
        self.next = QToolButton()
        self.next.setText("\u203a")
        self.next.setAccessibleName("Next version")
        self.next.setToolTip("Next version")
        self.next.setAutoRaise(True)
        layout.addWidget(self.previous)
        layout.addWidget(self.label)
        layout.addWidget(self.next)
        self.previous.clicked.connect(lambda: self.stepped.emit(-1))
        self.next.clicked.connect(lambda: self.stepped.emit(1))
        self.index = self.count = 0
        self.hide()

    def set_version(self, index: int, count: int) -> None:
        """Show `index` of `count` (1-based); hidden when there is nothing to switch."""
        self.index, self.count = index, count
        self.label.setText(version_text(index, count))
        self.previous.setEnabled(index > 1)
        self.next.setEnabled(index < count)
        self.setVisible(count > 1)
