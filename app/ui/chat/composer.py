"""Where the user writes: Enter sends, Shift+Enter is a new line, Esc stops."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QWidget


class _Editor(QPlainTextEdit):
    submit = Signal()
    escape = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submit.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Signals:
    send_requested(str): the user sent this text.
    stop_requested(): the user pressed Stop or Esc while an answer streams.
    """

    send_requested = Signal(str)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = _Editor()
        self.editor.setAccessibleName("Message")
        self.editor.setPlaceholderText("Message (Enter to send, Shift+Enter for a new line)")
        self.editor.setTabChangesFocus(True)
        self.editor.setFixedHeight(72)
        self.button = QPushButton("Send")
        self.button.setObjectName("sendButton")
        self.button.setAccessibleName("Send")
        self.button.setMinimumWidth(80)
        self.setStyleSheet(
            "QPlainTextEdit { border: 1px solid palette(mid); border-radius: 10px; "
            "padding: 4px 6px; background: palette(base); }"
            "QPlainTextEdit:focus { border: 1px solid palette(highlight); }"
            "QPushButton#sendButton { background: palette(highlight); "
            "color: palette(highlighted-text); border: none; border-radius: 10px; "
            "padding: 8px 16px; font-weight: 600; }"
            "QPushButton#sendButton:focus { border: 2px solid palette(text); }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.button)
        self.editor.submit.connect(self._on_submit)
        self.editor.escape.connect(self._on_escape)
        self.button.clicked.connect(self._on_button)
        self._generating = False

    @property
    def generating(self) -> bool:
        return self._generating

    def set_generating(self, generating: bool) -> None:
        self._generating = generating
        self.button.setText("Stop" if generating else "Send")
        self.button.setAccessibleName("Stop" if generating else "Send")
        self.button.setToolTip("Stop the answer (Esc)" if generating else "Send (Enter)")

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text)

    def _on_button(self) -> None:
        if self._generating:
            self.stop_requested.emit()
        else:
            self._on_submit()

    def _on_escape(self) -> None:
        if self._generating:
            self.stop_requested.emit()

    def _on_submit(self) -> None:
        if self._generating:
            return
        text = self.text()
        if text.strip():
            self.editor.clear()
            self.send_requested.emit(text)
