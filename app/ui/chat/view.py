"""The conversation: a column of messages that follows the answer as it streams.

Streamed text is only recorded when it arrives; a timer re-renders the one growing
message at most ~30 times a second, so a fast model never floods the event loop. As an
answer grows, each render costs more, so the timer slows down to keep rendering under
about a tenth of the GUI thread (never slower than 4 times a second).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.messages import MessageStatus, Role
from app.services.chat import ConversationMessage
from app.ui.chat.empty_state import EmptyState
from app.ui.chat.message_actions import ModelChoice
from app.ui.chat.message_widget import MessageWidget

RENDER_INTERVAL_MS = 33
MAX_RENDER_INTERVAL_MS = 250
RENDER_SHARE = 0.1  # of the GUI thread that re-rendering a streaming answer may take
HISTORY_WINDOW = 40  # stored messages put on screen at a time
LINE_LENGTH_CHARS = 78  # the column's width on a wide window: a readable line


def search_words(query: str) -> list[str]:
    """The words of a search query, as they are marked in the transcript."""
    return [w for w in re.findall(r"\w+", query) if w.upper() not in ("AND", "OR", "NOT")]


class ChatView(QScrollArea):
    """Signals:
    link_hovered(str): a link's real URL under the mouse, "" when it leaves.
    link_activated(QUrl): the user clicked a link in a message.
    message_action(str, int, str): an action on a message (regenerate, edit, fork,
        delete, version), the message's id, and the action's argument.
    example_chosen(str): an example prompt of the empty conversation was clicked.
    """

    link_hovered = Signal(str)
    link_activated = Signal(QUrl)
    message_action = Signal(str, int, str)
    example_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._column = QWidget()
        self._column.setObjectName("conversationColumn")
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(16, 16, 16, 16)
        self._layout.setSpacing(12)
        # Centred, at most a readable line wide, on a wide window.
        chars = self.fontMetrics().averageCharWidth() * LINE_LENGTH_CHARS
        self._column.setMaximumWidth(chars + 2 * 16 + 2 * 14)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self._placeholder = EmptyState()
        self._placeholder.example_chosen.connect(self.example_chosen)
        self._earlier = QLabel()
        self._earlier.setAccessibleName("Show earlier messages")
        self._earlier.linkActivated.connect(lambda _l: self.show_earlier())
        self._earlier.hide()
        self._later = QLabel("<a href='later'>Show later messages</a>")
        self._later.setAccessibleName("Show later messages")
        self._later.linkActivated.connect(lambda _l: self.show_later())
        self._later.hide()
        self._layout.addWidget(self._earlier)
        self._layout.addWidget(self._placeholder)
        self._layout.addWidget(self._later)
        self._layout.addStretch(1)
        self._history: list[ConversationMessage] = []
        self._window = [0, 0]
        self.setWidget(self._column)
        self.messages: list[MessageWidget] = []
        self._streaming: MessageWidget | None = None
        self._follow = True
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._on_tick)
        self.render_count = 0
        # Set by whoever owns the conversation: the versions of a message, and the models
        # a regeneration may use.
        self.version_of: Callable[[int], tuple[int, int]] = lambda _id: (1, 1)
        self.model_choices: Callable[[], list[ModelChoice]] = list
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    def clear(self) -> None:
        self._timer.stop()
        self._streaming = None
        for widget in self.messages:
            widget.hide()  # explicitly: a show Qt queued when it was added must not revive it
            widget.setParent(None)
            widget.deleteLater()
        self.messages.clear()
        self._placeholder.show()
        self._follow = True
        self._history = []
        self._window = [0, 0]
        self._earlier.hide()
        self._later.hide()

    def add_message(self, role: str, title: str, text: str = "") -> MessageWidget:
        self._placeholder.hide()
        widget = MessageWidget(role, title)
        self._hook(widget)
        self._layout.insertWidget(self._layout.count() - 2, widget)
        self.messages.append(widget)
        if text:
            widget.set_text(text)
        self._follow = True
        return widget

    # ----- a stored conversation, shown lazily

    def load_history(
        self, messages: list[ConversationMessage], focus_id: int = 0
    ) -> MessageWidget | None:
        """Show a stored conversation: a window of messages around `focus_id` (or the
        last ones), with links to show earlier or later messages on demand."""
        self.clear()
        self._history = messages
        ids = [m.id for m in messages]
        focus = ids.index(focus_id) if focus_id in ids else len(messages) - 1
        start = (
            max(0, focus - HISTORY_WINDOW // 3)
            if focus_id in ids
            else max(0, len(messages) - HISTORY_WINDOW)
        )
        end = min(len(messages), start + HISTORY_WINDOW)
        self._window = [start, start]
        self._placeholder.hide()
        for message in messages[start:end]:
            self._append_stored(message)
        self._window[1] = end
        self._update_more_links()
        target = next((w for w in self.messages if w.stored_id == focus_id), None)
        if target is not None:
            self._follow = False
            QTimer.singleShot(0, lambda: self._scroll_into_view(target))
        return target

    def _stored_widget(self, message: ConversationMessage) -> MessageWidget:
        role = message.role
        title = "You" if role is Role.USER else (message.model or "model")
        widget = MessageWidget(str(role), title)
        self._hook(widget)
        widget.set_message_id(message.id, self.version_of(message.id))
        if message.reasoning:
            seconds = message.stats.reasoning_s if message.stats else None
            widget.reasoning.set_reasoning(message.reasoning, seconds)
        widget.set_text(message.content)
        status, error = message.status, message.error
        if role is not Role.USER:
            if status in (MessageStatus.ERROR, MessageStatus.INCOMPLETE) and error:
                widget.fail(error, status)
            else:
                widget.finish(status, message.stats, message.run_info)
        return widget

    def _hook(self, widget: MessageWidget) -> None:
        widget.body.link_hovered.connect(self.link_hovered)
        widget.body.link_activated.connect(self.link_activated)
        widget.action_requested.connect(self.message_action)
        widget.action_row.choices = lambda: self.model_choices()

    def _append_stored(self, message: ConversationMessage) -> None:
        widget = self._stored_widget(message)
        self._layout.insertWidget(self._layout.count() - 2, widget)
        self.messages.append(widget)

    def _update_more_links(self) -> None:
        start, end = self._window
        self._earlier.setVisible(start > 0)
        self._earlier.setText(f"<a href='earlier'>Show {min(start, HISTORY_WINDOW)} earlier "
                              f"messages</a> ({start} in all)")  # fmt: skip
        self._later.setVisible(end < len(self._history))

    def show_earlier(self) -> None:
        start, _end = self._window
        new_start = max(0, start - HISTORY_WINDOW)
        bar = self.verticalScrollBar()
        before = bar.maximum() - bar.value()
        for offset, message in enumerate(self._history[new_start:start]):
            widget = self._stored_widget(message)
            self._layout.insertWidget(1 + offset, widget)
            self.messages.insert(offset, widget)
        self._window[0] = new_start
        self._update_more_links()
        self._follow = False
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum() - before))

    def show_later(self) -> None:
        _start, end = self._window
        new_end = min(len(self._history), end + HISTORY_WINDOW)
        for message in self._history[end:new_end]:
            self._append_stored(message)
        self._window[1] = new_end
        self._update_more_links()

    def show_to_end(self) -> None:
        """Before a new exchange: every later stored message must be on screen."""
        while self._window[1] < len(self._history):
            self.show_later()

    def scroll_to(self, message_id: int) -> bool:
        """Bring the stored message `message_id` into view, if it is on screen."""
        target = next((w for w in self.messages if w.stored_id == message_id), None)
        if target is None:
            return False
        self._follow = False
        QTimer.singleShot(0, lambda: self._scroll_into_view(target))
        return True

    def _scroll_into_view(self, widget: MessageWidget) -> None:
        y = widget.body.first_highlight_y()
        self.ensureWidgetVisible(widget, 0, 40)
        if y is not None:  # the first marked word, not only the message's top
            top = widget.body.mapTo(self._column, widget.body.rect().topLeft()).y()
            bar = self.verticalScrollBar()
            if not top + y - 40 >= bar.value() or top + y + 40 > bar.value() + self.height():
                bar.setValue(max(0, top + y - self.viewport().height() // 3))

    def highlight(self, query: str) -> int:
        """Mark the words of `query` in every message on screen; how many marks."""
        words = search_words(query)
        return sum(widget.body.highlight(words) for widget in self.messages)

    def restyle(self) -> None:
        """Every message on screen takes the application's current colours."""
        for widget in self.messages:
            widget.restyle()

    def add_notice(self, text: str) -> MessageWidget:
        widget = self.add_message("notice", "Tandem")
        widget.fail(text, widget.status)
        return widget

    def begin_stream(self, widget: MessageWidget) -> None:
        self._streaming = widget
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.start()

    def end_stream(self) -> None:
        self._timer.stop()
        if self._streaming is not None and self._streaming.needs_render:
            self._streaming.render_text()
        self._streaming = None

    def _on_tick(self) -> None:
        widget = self._streaming
        if widget is not None and widget.needs_render:
            started = time.perf_counter()
            widget.render_text()
            self.render_count += 1
            spent_ms = (time.perf_counter() - started) * 1000
            interval = round(spent_ms / RENDER_SHARE)
            self._timer.setInterval(min(MAX_RENDER_INTERVAL_MS, max(RENDER_INTERVAL_MS, interval)))

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)
