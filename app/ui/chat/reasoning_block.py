"""A model's thinking above its answer: collapsed to one line ("Thinking…", then
"Thought for 4.2 s"), expandable, filled live while the model thinks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent, QTextCursor
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from app.core.reasoning import thought_for

MAX_HEIGHT_PX = 240


class ReasoningBlock(QFrame):
    """Hidden until reasoning arrives; collapsed until the person opens it. Appending
    costs the new text only (the shown text grows at its end)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reasoningBlock")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(2)
        self.toggle = QToolButton()
        self.toggle.setObjectName("reasoningToggle")
        self.toggle.setAccessibleName("Show the model's reasoning")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._on_toggled)
        self.body = QPlainTextEdit()  # model text: plain, never markup
        self.body.setObjectName("reasoningText")
        self.body.setAccessibleName("The model's reasoning")
        self.body.setReadOnly(True)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.body.setStyleSheet("QPlainTextEdit { background: transparent; font-style: italic; }")
        self.body.hide()
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        self.text = ""
        self._shown_len = 0
        self.streaming = False
        self.seconds: float | None = None
        self.hide()

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def append(self, text: str) -> None:
        """More of the thinking, as it streams."""
        if not text:
            return
        self.text += text
        self.streaming = True
        self._relabel()
        self.show()
        if self.expanded:
            self._catch_up()

    def set_reasoning(self, text: str, seconds: float | None) -> None:
        """A finished (or stored) answer's reasoning and how long the model thought."""
        self.text = text
        self.seconds = seconds
        self.streaming = False
        self._shown_len = 0
        self.body.setPlainText("")
        if self.expanded:
            self._catch_up()
        self._relabel()
        self.setVisible(bool(text))

    def finish(self, seconds: float | None) -> None:
        self.streaming = False
        self.seconds = seconds
        self._relabel()

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)

    def _relabel(self) -> None:
        self.toggle.setText("Thinking…" if self.streaming else thought_for(self.seconds))

    def _on_toggled(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.toggle.setAccessibleName(
            "Hide the model's reasoning" if expanded else "Show the model's reasoning"
        )
        if expanded:
            self._catch_up()
        self.body.setVisible(expanded)

    def _catch_up(self) -> None:
        new = self.text[self._shown_len :]
        if new:
            cursor = self.body.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(new)
            self._shown_len = len(self.text)
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as the thinking (its wrapped lines), up to MAX_HEIGHT_PX, then it scrolls."""
        lines = 0
        block = self.body.document().firstBlock()
        while block.isValid():
            lines += max(1, block.layout().lineCount())
            block = block.next()
        margins = self.body.contentsMargins()
        spacing = self.body.fontMetrics().lineSpacing()
        height = lines * spacing + 2 * int(self.body.document().documentMargin())
        height += margins.top() + margins.bottom() + 4
        self.body.setFixedHeight(min(MAX_HEIGHT_PX, height))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.expanded:
            self._fit_height()
