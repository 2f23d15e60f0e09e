"""Tandem's main window: model picker, conversation, composer, parameters, status."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.backends.local import EngineState, LocalBackend, LocalEngine
from app.chat import ChatService
from app.core.errors import TandemError
from app.core.events import CancelToken, Delta, Failed, Finished, Started
from app.core.messages import GenerationParams, MessageStatus
from app.core.paths import AppPaths
from app.library.catalog import load_catalog
from app.library.installed import list_installed, model_id_for
from app.ui.bridge import Bridge, StreamTask, Task
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.message_widget import MessageWidget
from app.ui.params_panel import ParamsPanel

logger = logging.getLogger(__name__)

OPEN_FILE_ITEM = "Open GGUF file…"
_STATE_TEXT = {
    EngineState.STOPPED: "Engine: no model loaded",
    EngineState.LOADING: "Engine: loading model…",
    EngineState.READY: "Engine: ready",
    EngineState.GENERATING: "Engine: generating",
    EngineState.CRASHED: "Engine: crashed (a fresh one starts with the next message)",
}


class MainWindow(QMainWindow):
    def __init__(self, paths: AppPaths, engine: LocalEngine | None = None) -> None:
        super().__init__()
        self.paths = paths
        self.bridge = Bridge()
        self.engine = engine or LocalEngine(
            on_state=lambda state: self.bridge.engine_state.emit(str(state))
        )
        self.service = ChatService(None, GenerationParams())
        self._cancel: CancelToken | None = None
        self._reply: MessageWidget | None = None
        self._sent_text = ""
        self._stream_task: StreamTask | None = None
        self._load_task: Task | None = None
        self.stop_clicked_at: float | None = None

        self.setWindowTitle("Tandem")
        self.resize(1100, 760)
        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self._build_params_dock()
        self._build_status_bar()
        self.bridge.engine_state.connect(self._on_engine_state)
        self.bridge.load_progress.connect(self._on_load_progress)
        self.refresh_models(select_default=True)

    # ----- construction

    def _build_actions(self) -> None:
        self.new_chat_action = QAction("New chat", self)
        self.new_chat_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_chat_action.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_chat_action.triggered.connect(self.new_chat)
        self.open_file_action = QAction(OPEN_FILE_ITEM, self)
        self.open_file_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_file_action.triggered.connect(self.open_model_file)
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.about_action = QAction("About Tandem", self)
        self.about_action.triggered.connect(self.show_about)
        self.addAction(self.new_chat_action)
        self.addAction(self.open_file_action)
        self.addAction(self.quit_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addAction(self.new_chat_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model: "))
        self.model_picker = QComboBox()
        self.model_picker.setAccessibleName("Model")
        self.model_picker.setMinimumWidth(320)
        self.model_picker.activated.connect(self._on_model_picked)
        bar.addWidget(self.model_picker)
        bar.addAction(self.open_file_action)

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.chat_view = ChatView()
        self.chat_view.link_hovered.connect(self._on_link_hovered)
        self.chat_view.link_activated.connect(self._on_link_activated)
        self.composer = Composer()
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        layout.addWidget(self.chat_view, 1)
        layout.addWidget(self.composer)
        self.setCentralWidget(central)
        self.composer.editor.setFocus()

    def _build_params_dock(self) -> None:
        self.params_panel = ParamsPanel(self.service.params)
        self.params_panel.changed.connect(self._on_params_changed)
        dock = QDockWidget("Parameters", self)
        dock.setObjectName("paramsDock")
        dock.setWidget(self.params_panel)
        dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        toggle = dock.toggleViewAction()
        toggle.setShortcut(QKeySequence("Ctrl+P"))
        self.addAction(toggle)
        self.params_dock = dock
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.new_chat_action)
        file_menu.addAction(self.open_file_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        menus.addMenu("&View").addAction(toggle)
        menus.addMenu("&Help").addAction(self.about_action)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.state_label = QLabel(_STATE_TEXT[EngineState.STOPPED])
        self.state_label.setAccessibleName("Engine state")
        self.ram_label = QLabel("")
        self.ram_label.setAccessibleName("Model memory use")
        self.load_bar = QProgressBar()
        self.load_bar.setAccessibleName("Model loading progress")
        self.load_bar.setRange(0, 100)
        self.load_bar.setMaximumWidth(180)
        self.load_bar.hide()
        status.addPermanentWidget(self.load_bar)
        status.addPermanentWidget(self.ram_label)
        status.addPermanentWidget(self.state_label)
        self._ram_timer = QTimer(self)
        self._ram_timer.setInterval(2000)
        self._ram_timer.timeout.connect(self._update_ram)
        self._ram_timer.start()

    # ----- models

    def refresh_models(self, select_default: bool = False) -> None:
        current = self.model_picker.currentData()
        self.model_picker.clear()
        for model in list_installed(self.paths.models_dir):
            label = f"{model.id}  ({model.size_bytes / 1e6:.0f} MB)"
            self.model_picker.addItem(label, str(model.path))
        self.model_picker.addItem(OPEN_FILE_ITEM, None)
        wanted = current
        if select_default:
            default_file = self.paths.models_dir / load_catalog().default.file
            wanted = str(default_file) if default_file.is_file() else None
            if wanted is None and self.model_picker.count() > 1:
                wanted = self.model_picker.itemData(0)
        if wanted:
            self._select_path(wanted)
            if select_default:
                self.load_model(Path(wanted))
        elif self.model_picker.count() == 1:
            self.chat_view.add_notice(
                "No model is installed yet. Run `tandem-cli models fetch-default`, or open "
                "a .gguf file with “Open GGUF file…”."
            )

    def _select_path(self, path: str) -> None:
        index = self.model_picker.findData(path)
        if index < 0:
            index = self.model_picker.count() - 1
            self.model_picker.insertItem(index, Path(path).name, path)
        self.model_picker.setCurrentIndex(index)

    def _on_model_picked(self, index: int) -> None:
        path = self.model_picker.itemData(index)
        if path is None:
            self.open_model_file()
        else:
            self.load_model(Path(path))

    def open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self._select_path(path)
            self.load_model(Path(path))
        elif self.service.backend is not None:
            self._select_path(str(self.service.backend.model_path))  # type: ignore[attr-defined]

    def load_model(self, path: Path) -> None:
        """Make `path` the model for the next answers and load it in the background."""
        self.service.backend = LocalBackend(self.engine, path, model_id_for(path))
        params = self.service.params
        self.load_bar.setValue(0)
        self.load_bar.show()
        task = Task(
            lambda: self.engine.load(path, params, on_progress=self.bridge.load_progress.emit)
        )
        task.succeeded.connect(self._on_model_loaded)
        task.failed.connect(self._on_model_failed)
        self._load_task = task.start()

    def _on_load_progress(self, fraction: float) -> None:
        self.load_bar.setValue(int(fraction * 100))

    def _on_model_loaded(self, loaded: object) -> None:
        self.load_bar.hide()
        self._update_ram()
        self.statusBar().showMessage(f"Loaded {Path(str(loaded.path)).name}", 4000)  # type: ignore[attr-defined]

    def _on_model_failed(self, error: object) -> None:
        self.load_bar.hide()
        self.show_error(error)

    # ----- chat

    @property
    def generating(self) -> bool:
        return self.composer.generating

    def send(self, text: str) -> None:
        backend = self.service.backend
        if backend is None:
            self.composer.set_text(text)
            self.show_error(TandemError("Choose a model first."))
            return
        self._sent_text = text
        self.chat_view.add_message("user", "You", text)
        self._reply = self.chat_view.add_message("assistant", backend.name)
        self.chat_view.begin_stream(self._reply)
        cancel = CancelToken()
        self._cancel = cancel
        self.stop_clicked_at = None
        task = StreamTask(lambda: self.service.send(text, cancel))
        task.arrived.connect(self._on_event)
        task.done.connect(self._on_stream_done)
        self.composer.set_generating(True)
        self._stream_task = task.start()

    def stop(self) -> None:
        if self._cancel is not None and not self._cancel.cancelled:
            self.stop_clicked_at = time.perf_counter()
            self._cancel.cancel()
            self.engine.cancel()

    def _on_event(self, event: object) -> None:
        reply = self._reply
        if reply is None:
            return
        match event:
            case Started(model=model):
                reply.set_title(model)
            case Delta(text=text):
                reply.append(text)
            case Finished(stats=stats):
                self.chat_view.end_stream()
                status = (
                    MessageStatus.STOPPED
                    if str(stats.finish_reason) == "cancelled"
                    else MessageStatus.COMPLETE
                )
                reply.finish(status, stats)
            case Failed(error=error):
                self.chat_view.end_stream()
                status = MessageStatus.INCOMPLETE if reply.text else MessageStatus.ERROR
                reply.fail(error.message, status)
                if not reply.text and not self.composer.text().strip():
                    self.composer.set_text(self._sent_text)
                self.statusBar().showMessage(error.message, 8000)

    def _on_stream_done(self) -> None:
        self.chat_view.end_stream()
        self.composer.set_generating(False)
        self._stream_task = None
        self._update_ram()

    def new_chat(self) -> None:
        self.stop()
        self.service.new_conversation()
        self.chat_view.clear()
        self.composer.editor.setFocus()

    # ----- status, links, errors

    def _on_engine_state(self, state: str) -> None:
        self.state_label.setText(_STATE_TEXT.get(EngineState(state), state))
        if state == EngineState.CRASHED:
            self.ram_label.setText("")

    def _update_ram(self) -> None:
        rss = self.engine.rss_bytes()
        self.ram_label.setText("" if rss is None else f"Model RAM {rss / 1e6:,.0f} MB  ")

    def _on_link_hovered(self, url: str) -> None:
        if url:
            self.statusBar().showMessage(url)
        else:
            self.statusBar().clearMessage()

    def _on_link_activated(self, url: QUrl) -> None:
        if url.scheme() not in ("http", "https", "mailto"):
            self.statusBar().showMessage(f"Not opened: {url.toString()}", 6000)
            return
        answer = QMessageBox.question(
            self,
            "Open link",
            f"Open this address in your browser?\n\n{url.toString()}",
        )
        if answer == QMessageBox.StandardButton.Yes:
            QDesktopServices.openUrl(url)

    def show_error(self, error: object) -> None:
        """The one place an error reaches the user: a notice in the chat and the status bar."""
        message = error.message if isinstance(error, TandemError) else f"Unexpected error: {error}"
        logger.warning("shown to user: %s", message)
        self.chat_view.add_notice(message)
        self.statusBar().showMessage(message, 8000)

    def show_about(self) -> None:
        from app import __version__

        QMessageBox.about(
            self,
            "About Tandem",
            f"<h3>Tandem {__version__}</h3>"
            "<p>Private local chat, with the speed, privacy and cost of every answer.</p>"
            "<p>Built on Qt and PySide6 (LGPL-3.0), llama.cpp and llama-cpp-python (MIT). "
            "Default model: SmolLM2-135M-Instruct (Apache-2.0).</p>",
        )

    def _on_params_changed(self, params: GenerationParams) -> None:
        self.service.params = params

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.stop()
        self._ram_timer.stop()
        self.engine.shutdown()
        super().closeEvent(event)
