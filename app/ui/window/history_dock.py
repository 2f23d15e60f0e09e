"""The Conversations dock: the history sidebar, when the history could be opened."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QWidget

from app.store.history.store import HistoryStore
from app.ui.widgets.history_sidebar import HistorySidebar

MIN_WIDTH = 200


class HistoryDock(QDockWidget):
    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__("Conversations", parent)
        self.setObjectName("historyDock")
        self.sidebar = HistorySidebar(store)
        self.sidebar.setMinimumWidth(MIN_WIDTH)  # titles stay readable beside two columns
        self.setWidget(self.sidebar)
        self.toggle = self.toggleViewAction()
        self.toggle.setShortcut(QKeySequence("Ctrl+H"))

    def focus_search(self) -> None:
        self.toggle.setChecked(True)
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    @staticmethod
    def area() -> Qt.DockWidgetArea:
        return Qt.DockWidgetArea.LeftDockWidgetArea
