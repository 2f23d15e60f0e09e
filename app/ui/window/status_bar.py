"""The window's status bar: engine state, model memory, private mode, load progress."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar, QWidget

from app.backends.local.supervisor import EngineState
from app.core import units
from app.ui.link_target import visible

STATE_TEXT = {
    EngineState.STOPPED: "Engine: no model loaded",
    EngineState.LOADING: "Engine: loading model…",
    EngineState.READY: "Engine: ready",
    EngineState.GENERATING: "Engine: generating",
    EngineState.CRASHED: "Engine: crashed (a fresh one starts with the next message)",
}


class MessageLabel(QLabel):
    """A passing message in one line, cut with "…" where it would not fit (the whole text
    is its tooltip); it never runs under the labels beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAccessibleName("Status message")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = self.contentsRect()
        elide = Qt.TextElideMode.ElideRight
        shown = self.fontMetrics().elidedText(self.text(), elide, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        painter.drawText(rect, int(align), shown)


class StatusBar(QStatusBar):
    """Shows what the window is told; `rss()` is asked every two seconds for the engine's
    memory."""

    def __init__(self, rss: Callable[[], int | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rss = rss
        self.setSizeGripEnabled(False)
        self.message_label = MessageLabel()
        self.addWidget(self.message_label, 1)
        self.undo_button = QPushButton("&Undo")
        self.undo_button.setObjectName("undoButton")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.hide()
        self.addWidget(self.undo_button)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clearMessage)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self._end_undo)
        self._on_undo: Callable[[], None] | None = None
        self._undone = ""
        self.undo_button.clicked.connect(self._on_undo_clicked)
        self.state_label = QLabel(STATE_TEXT[EngineState.STOPPED])
        self.state_label.setAccessibleName("Engine state")
        self.ram_label = QLabel("")
        self.ram_label.setAccessibleName("Model memory use")
        self.privacy_label = QLabel()
        self.privacy_label.setAccessibleName("Privacy")
        self.load_bar = QProgressBar()
        self.load_bar.setAccessibleName("Model loading progress")
        self.load_bar.setRange(0, 100)
        self.load_bar.setMaximumWidth(180)
        self.load_bar.hide()
        self.addPermanentWidget(self.load_bar)
        self.addPermanentWidget(self.privacy_label)
        self.addPermanentWidget(self.ram_label)
        self.addPermanentWidget(self.state_label)
        self._ram_timer = QTimer(self)
        self._ram_timer.setInterval(2000)
        self._ram_timer.timeout.connect(self.update_ram)
        self._ram_timer.start()

    def show_engine_state(self, state: str) -> None:
        self.state_label.setText(STATE_TEXT.get(EngineState(state), state))
        if state == EngineState.CRASHED:
            self.ram_label.setText("")

    def update_ram(self) -> None:
        rss = self._rss()
        self.ram_label.setText("" if rss is None else f"Model RAM {units.size(rss)}  ")

    def show_private(self, private: bool) -> None:
        self.privacy_label.setText("Private mode: on  " if private else "Private mode: off  ")

    def say_private(self, private: bool) -> None:
        """The one-line notice when private mode changes."""
        self.showMessage(
            "Private mode on: nothing leaves this computer."
            if private
            else "Cloud allowed: cloud models may be used; each answer says where it went.",
            6000,
        )

    def start_loading(self) -> None:
        self.load_bar.setValue(0)
        self.load_bar.show()

    def show_load_progress(self, fraction: float) -> None:
        self.load_bar.setValue(int(fraction * 100))

    def end_loading(self) -> None:
        self.load_bar.hide()

    def show_link(self, url: str) -> None:
        """The address of the link under the pointer (hidden characters shown), or nothing."""
        if url:
            self.showMessage(visible(url))
        else:
            self.clearMessage()

    # The message is our own label, so it keeps to its place left of the Undo button
    # and the permanent labels (QStatusBar draws its own over both).

    def showMessage(self, text: str, timeout: int | None = 0) -> None:  # noqa: N802 - Qt name
        self.message_label.setText(text)
        self.message_label.setToolTip(text if len(text) > 60 else "")
        if timeout:
            self._message_timer.start(timeout)
        else:
            self._message_timer.stop()

    def clearMessage(self) -> None:  # noqa: N802 - Qt name
        self.message_label.setText("")
        self.message_label.setToolTip("")

    def currentMessage(self) -> str:  # noqa: N802 - Qt name
        return self.message_label.text()

    def offer_undo(self, message: str, on_undo: Callable[[], None], undone: str) -> None:
        """`message` with an Undo button for eight seconds; `undone` once it is pressed."""
        self._on_undo, self._undone = on_undo, undone
        self.undo_button.show()
        self.showMessage(message, 8000)
        self._undo_timer.start(8000)

    def undo(self) -> bool:
        """Press Undo, if it is offered (Ctrl+Z); whether it was."""
        if self._on_undo is None:
            return False
        self._on_undo_clicked()
        return True

    def _on_undo_clicked(self) -> None:
        on_undo, self._on_undo = self._on_undo, None
        self._end_undo()
        if on_undo is not None:
            on_undo()
            self.showMessage(self._undone, 4000)

    def _end_undo(self) -> None:
        self._undo_timer.stop()
        self._on_undo = None
        self.undo_button.hide()

    def stop(self) -> None:
        self._ram_timer.stop()
        self._message_timer.stop()
        self._undo_timer.stop()
