"""The conversation: a column of messages that follows the answer as it streams.

Streamed text is only recorded when it arrives; a timer re-renders the one growing
message at most ~30 times a second, so a fast model never floods the event loop.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.ui.message_widget import MessageWidget

RENDER_INTERVAL_MS = 33


class ChatView(QScrollArea):
    """Signals:
    link_hovered(str): a link's real URL under the mouse, "" when it leaves.
    link_activated(QUrl): the user clicked a link in a message.
    """

    link_hovered = Signal(str)
    link_activated = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._column = QWidget()
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(8)
        self._placeholder = QLabel(
            "Ask anything. Answers are written on this computer; nothing leaves it."
        )
        self._placeholder.setWordWrap(True)
        self._layout.addWidget(self._placeholder)
        self._layout.addStretch(1)
        self.setWidget(self._column)
        self.messages: list[MessageWidget] = []
        self._streaming: MessageWidget | None = None
        self._follow = True
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._on_tick)
        self.render_count = 0
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    def clear(self) -> None:
        self._timer.stop()
        self._streaming = None
        for widget in self.messages:
            widget.setParent(None)
            widget.deleteLater()
        self.messages.clear()
        self._placeholder.show()
        self._follow = True

    def add_message(self, role: str, title: str, text: str = "") -> MessageWidget:
        self._placeholder.hide()
        widget = MessageWidget(role, title)
        widget.body.link_hovered.connect(self.link_hovered)
        widget.body.link_activated.connect(self.link_activated)
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self.messages.append(widget)
        if text:
            widget.set_text(text)
        self._follow = True
        return widget

    def add_notice(self, text: str) -> MessageWidget:
        widget = self.add_message("notice", "Tandem")
        widget.fail(text, widget.status)
        return widget

    def begin_stream(self, widget: MessageWidget) -> None:
        self._streaming = widget
        self._timer.start()

    def end_stream(self) -> None:
        self._timer.stop()
        if self._streaming is not None and self._streaming.needs_render:
            self._streaming.render_text()
        self._streaming = None

    def _on_tick(self) -> None:
        widget = self._streaming
        if widget is not None and widget.needs_render:
            widget.render_text()
            self.render_count += 1

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)
