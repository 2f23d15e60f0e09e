"""Files attached to the next message: a paperclip button, drag and drop, and the list.

Only the paths are kept here; what of them goes to the model is decided by
DocumentsService.prepare when the message is sent.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QToolButton, QWidget

from app.ui.widgets.plain import escape, show_markup


class AttachmentBar(QWidget):
    """Signals:
    changed(): files were attached or removed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths: list[Path] = []
        self.button = QToolButton()
        self.button.setText("Attach…")
        self.button.setAccessibleName("Attach files")
        self.button.setToolTip("Attach files to the next message (or drop them on it)")
        self.button.clicked.connect(self._on_attach_clicked)
        self.label = QLabel()
        self.label.setAccessibleName("Attached files")
        self.label.linkActivated.connect(self._on_link)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.label, 1)
        layout.addStretch(0)
        self._show()

    def add(self, paths: list[Path]) -> None:
        for path in paths:
            if path not in self.paths:
                self.paths.append(path)
        self._show()
        self.changed.emit()

    def take(self) -> list[Path]:
        """The attached files, for the message being sent; the bar empties."""
        taken, self.paths = self.paths, []
        self._show()
        self.changed.emit()
        return taken

    def show_reading(self, paths: list[Path]) -> None:
        """Say that the files of the message being sent are being read."""
        names = ", ".join(p.name for p in paths)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setText(f"Reading {names}…")
        self.label.show()

    def _show(self) -> None:
        if not self.paths:
            self.label.setText("")
            self.label.hide()
            return
        names = ", ".join(escape(p.name) for p in self.paths)
        show_markup(self.label, f"Attached: {names} · <a href='clear'>remove</a>")
        self.label.show()

    def _on_link(self, _link: str) -> None:
        self.take()

    def _on_attach_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Attach files")
        if files:
            self.add([Path(f) for f in files])


class FileDrops(QObject):
    """Files dropped on a widget (the message editor) are attached to the bar."""

    def __init__(self, target: QWidget, bar: AttachmentBar) -> None:
        super().__init__(target)
        self._bar = bar
        target.setAcceptDrops(True)
        target.installEventFilter(self)
        viewport = getattr(target, "viewport", None)
        if viewport is not None:
            viewport().setAcceptDrops(True)
            viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kinds = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
        if event.type() in kinds and isinstance(event, QDragEnterEvent | QDropEvent):
            mime = event.mimeData()
            files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
            if files:
                event.acceptProposedAction()
                if event.type() == QEvent.Type.Drop:
                    self._bar.add(files)
                return True
        return super().eventFilter(watched, event)
