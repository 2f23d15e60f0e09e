"""The window's status bar: engine state, model memory, private mode, load progress."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

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


class StatusBar(QStatusBar):
    """Shows what the window is told; `rss()` is asked every two seconds for the engine's
    memory."""

    def __init__(self, rss: Callable[[], int | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rss = rss
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

    def offer_undo(self, message: str, on_undo: Callable[[], None], undone: str) -> None:
        """`message` with an Undo button for eight seconds; `undone` once it is pressed."""
        undo = QPushButton("Undo")
        undo.setAccessibleName("Undo delete")
        self.addWidget(undo)
        self.showMessage(message, 8000)

        def pressed() -> None:
            on_undo()
            self.removeWidget(undo)
            self.showMessage(undone, 4000)

        def expire() -> None:
            self.removeWidget(undo)
            undo.deleteLater()

        undo.clicked.connect(pressed)
        timer = QTimer(undo)  # dies with the button, and so with the window
        timer.setSingleShot(True)
        timer.timeout.connect(expire)
        timer.start(8000)

    def stop(self) -> None:
        self._ram_timer.stop()
