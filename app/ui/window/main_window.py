"""Tandem's main window: model pickers, one or two conversation columns, the composer,
parameters, private mode, and the engine's state."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.backends.local.supervisor import EngineState, LoadedModel, LocalBackend
from app.core import units
from app.core.errors import SensitiveContent, TandemError
from app.core.events import CancelToken, Failed, Finished
from app.core.messages import GenerationParams
from app.core.stats import AnswerStats
from app.library.installed import list_installed
from app.services.chat import ChatService, OnSensitive
from app.services.compare import CompareSession, verdict
from app.services.models import default_model_spec
from app.services.workspace import Workspace
from app.store.settings import Theme
from app.ui import alerts
from app.ui.bridge import Bridge, StreamTask, Task
from app.ui.chat.composer import Composer
from app.ui.chat.pane import ChatPane
from app.ui.chat.view import ChatView
from app.ui.widgets.model_picker import ModelPicker
from app.ui.widgets.params_panel import ParamsPanel

if TYPE_CHECKING:
    from app.ui.model_manager.dialog import ModelManager

logger = logging.getLogger(__name__)

_STATE_TEXT = {
    EngineState.STOPPED: "Engine: no model loaded",
    EngineState.LOADING: "Engine: loading model…",
    EngineState.READY: "Engine: ready",
    EngineState.GENERATING: "Engine: generating",
    EngineState.CRASHED: "Engine: crashed (a fresh one starts with the next message)",
}


class MainWindow(QMainWindow):
    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.paths = workspace.paths
        self.bridge = Bridge()
        self.engine = workspace.engine(
            on_state=lambda state: self.bridge.engine_state.emit(str(state))
        )
        workspace.set_private_mode(workspace.settings.private_mode)
        self.pane_a = ChatPane(workspace.chat_service(), "A")
        self.pane_b = ChatPane(workspace.chat_service(), "B")
        self._cancel: CancelToken | None = None
        self._stream_task: StreamTask | None = None
        self._load_task: Task | None = None
        self._compare_events: list[tuple[str, object]] = []
        self.stop_clicked_at: float | None = None

        self.setWindowTitle("Tandem")
        self.resize(1100, 760)
        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self._build_params_dock()
        self._build_history_dock()
        self._build_menus()
        self._build_status_bar()
        self.bridge.engine_state.connect(self._on_engine_state)
        self.bridge.load_progress.connect(self._on_load_progress)
        self.set_compare(False)
        self.refresh_models(select_default=True)
        if workspace.settings_notice:
            self.chat_view.add_notice(workspace.settings_notice)

    # ----- the single-conversation view, as tests and callers know it

    @property
    def service(self) -> ChatService:
        return self.pane_a.service

    @property
    def chat_view(self) -> ChatView:
        return self.pane_a.view

    @property
    def generating(self) -> bool:
        return self.composer.generating

    # ----- construction

    def _action(self, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.new_chat_action = self._action("New chat", self.new_chat, QKeySequence.StandardKey.New)
        self.new_chat_action.setToolTip("Start a new conversation (Ctrl+N)")
        self.open_file_action = self._action(
            "Open GGUF file…", self.open_model_file, QKeySequence.StandardKey.Open
        )
        self.import_action = self._action("Import conversation…", self.import_conversation)
        self.quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.about_action = self._action("About Tandem", self.show_about)
        self.providers_action = self._action("Cloud providers…", self.show_providers)
        self.models_action = self._action("Models…", self.show_models, QKeySequence("Ctrl+Shift+M"))
        self.model_manager: ModelManager | None = None
        self.ledger_action = self._action("Privacy ledger…", self.show_ledger)
        self.private_action = QAction("Private mode", self)
        self.private_action.setCheckable(True)
        self.private_action.setChecked(self.workspace.private_mode)
        self.private_action.setToolTip(
            "Private mode: nothing leaves this device; cloud models are unavailable"
        )
        self.private_action.toggled.connect(self.set_private_mode)
        self.theme_actions: dict[Theme, QAction] = {}
        themes = QActionGroup(self)
        for theme, label in ((Theme.SYSTEM, "System colours"), (Theme.LIGHT, "Light"),
                             (Theme.DARK, "Dark")):  # fmt: skip
            action = QAction(label, themes)
            action.setCheckable(True)
            action.setChecked(self.workspace.settings.theme is theme)
            action.triggered.connect(lambda _c=False, t=theme: self.set_theme(t))
            self.theme_actions[theme] = action
        self.compare_action = QAction("Compare", self)
        self.compare_action.setCheckable(True)
        self.compare_action.setShortcut(QKeySequence("Ctrl+K"))
        self.compare_action.setToolTip("Send each message to two models at once (Ctrl+K)")
        self.compare_action.toggled.connect(self.set_compare)
        self.addAction(self.compare_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addAction(self.new_chat_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model: "))
        self.model_picker = ModelPicker("Model")
        self.model_picker.picked.connect(lambda spec: self.choose_model("a", spec))
        self.model_picker.open_file_requested.connect(self.open_model_file)
        bar.addWidget(self.model_picker)
        bar.addAction(self.open_file_action)
        bar.addSeparator()
        bar.addAction(self.private_action)
        bar.addAction(self.compare_action)
        self.picker_b_label = QLabel(" B: ")
        self.model_picker_b = ModelPicker("Second model")
        self.model_picker_b.picked.connect(lambda spec: self.choose_model("b", spec))
        self.send_to = QComboBox()
        self.send_to.setAccessibleName("Send to")
        for label, sides in (("to both", ("a", "b")), ("to A only", ("a",)),
                             ("to B only", ("b",))):  # fmt: skip
            self.send_to.addItem(label, sides)
        self._compare_widgets = [
            bar.addWidget(self.picker_b_label),
            bar.addWidget(self.model_picker_b),
            bar.addWidget(self.send_to),
        ]

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.columns.addWidget(self.pane_a)
        self.columns.addWidget(self.pane_b)
        for pane in (self.pane_a, self.pane_b):
            pane.retry_requested.connect(self.retry)
            pane.view.link_hovered.connect(self._on_link_hovered)
            pane.view.link_activated.connect(self._on_link_activated)
        self.verdict_label = QLabel()
        self.verdict_label.setAccessibleName("Comparison verdict")
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)  # model names are data
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setContentsMargins(12, 4, 12, 4)
        self.verdict_label.hide()
        self.composer = Composer()
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        layout.addWidget(self.columns, 1)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.composer)
        self.setCentralWidget(central)
        self.composer.editor.setFocus()

    def _build_params_dock(self) -> None:
        self.params_panel = ParamsPanel(self.service.params)
        self.params_panel.changed.connect(self._on_params_changed)
        self._save_params = QTimer(self)
        self._save_params.setSingleShot(True)
        self._save_params.setInterval(800)
        self._save_params.timeout.connect(self._save_settings_now)
        settings = self.workspace.settings
        priced = [
            f"{provider}:{model}"
            for provider, models in sorted(self.workspace.prices.prices.items())
            for model in sorted(models)
        ]
        self.params_panel.set_costs(
            priced,
            settings.reference_cloud_model,
            settings.electricity_usd_per_kwh,
            settings.cpu_watts,
        )
        self.params_panel.costs_changed.connect(self._on_costs_changed)
        dock = QDockWidget("Parameters", self)
        dock.setObjectName("paramsDock")
        dock.setWidget(self.params_panel)
        dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.params_toggle = dock.toggleViewAction()
        self.params_toggle.setShortcut(QKeySequence("Ctrl+P"))
        self.addAction(self.params_toggle)
        self.params_dock = dock

    def _build_history_dock(self) -> None:
        from app.ui.widgets.history_sidebar import HistorySidebar

        self.sidebar: HistorySidebar | None = None
        try:
            store = self.workspace.history()
        except TandemError as exc:
            self.chat_view.add_notice(exc.message)
            return
        if store.recovered_from is not None:
            self.chat_view.add_notice(
                f"The history file was damaged. It was moved to {store.recovered_from} and a "
                "new history started."
            )
        self.sidebar = HistorySidebar(store)
        self.sidebar.open_requested.connect(self.open_conversation)
        self.sidebar.deleted.connect(self._on_conversation_deleted)
        self.sidebar.failed.connect(self.show_error)
        dock = QDockWidget("Conversations", self)
        dock.setObjectName("historyDock")
        dock.setWidget(self.sidebar)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.history_toggle = dock.toggleViewAction()
        self.history_toggle.setShortcut(QKeySequence("Ctrl+H"))
        self.addAction(self.history_toggle)
        self._action("Search conversations", self._focus_search, QKeySequence.StandardKey.Find)
        self.resizeDocks([dock], [240], Qt.Orientation.Horizontal)

    def _focus_search(self) -> None:
        if self.sidebar is not None:
            self.history_toggle.setChecked(True)
            self.sidebar.search.setFocus()
            self.sidebar.search.selectAll()

    def open_conversation(self, conversation_id: int, message_id: int = 0) -> None:
        """Show a stored conversation in column A and continue it from there."""
        if self.generating:
            self.stop()
        try:
            self.service.open_conversation(conversation_id)
        except TandemError as exc:
            self.show_error(exc)
            return
        self.pane_a.reply = None
        self.pane_a.view.load_history(list(self.service.conversation.messages), message_id)
        self.pane_a.update_totals()
        if self.sidebar is not None:
            self.sidebar.current_id = conversation_id

    def _on_conversation_deleted(self, conversation_id: int, title: str) -> None:
        from PySide6.QtWidgets import QPushButton

        if self.service.conversation_id == conversation_id:
            self.new_chat()
        undo = QPushButton("Undo")
        undo.setAccessibleName("Undo delete")
        status = self.statusBar()
        status.addWidget(undo)
        status.showMessage(f"Deleted “{title}”.", 8000)

        def on_undo() -> None:
            if self.sidebar is not None:
                self.sidebar.undo_delete()
            status.removeWidget(undo)
            status.showMessage(f"Restored “{title}”.", 4000)

        undo.clicked.connect(on_undo)

        def expire() -> None:
            status.removeWidget(undo)
            undo.deleteLater()

        timer = QTimer(undo)  # dies with the button, and so with the window
        timer.setSingleShot(True)
        timer.timeout.connect(expire)
        timer.start(8000)

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.new_chat_action)
        file_menu.addAction(self.open_file_action)
        file_menu.addAction(self.models_action)
        file_menu.addAction(self.providers_action)
        if self.sidebar is not None:
            file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.params_toggle)
        if self.sidebar is not None:
            view_menu.addAction(self.history_toggle)
        view_menu.addAction(self.compare_action)
        view_menu.addAction(self.private_action)
        view_menu.addAction(self.ledger_action)
        theme_menu = view_menu.addMenu("Theme")
        for action in self.theme_actions.values():
            theme_menu.addAction(action)
        menus.addMenu("&Help").addAction(self.about_action)

    def import_conversation(self, path: str | None = None) -> int | None:
        """A conversation exported as JSON becomes a new conversation, opened."""
        if self.sidebar is None:
            return None
        return self.sidebar.import_file(path)

    def set_theme(self, theme: Theme) -> None:
        """Colour the window light, dark or as the system does; remembered."""
        from PySide6.QtWidgets import QApplication

        from app.ui.theme import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.theme_actions[theme].setChecked(True)
        for pane in (self.pane_a, self.pane_b):
            pane.view.restyle()
        self.workspace.save(dataclasses.replace(self.workspace.settings, theme=theme))

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.state_label = QLabel(_STATE_TEXT[EngineState.STOPPED])
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
        status.addPermanentWidget(self.load_bar)
        status.addPermanentWidget(self.privacy_label)
        status.addPermanentWidget(self.ram_label)
        status.addPermanentWidget(self.state_label)
        self._show_privacy()
        self._ram_timer = QTimer(self)
        self._ram_timer.setInterval(2000)
        self._ram_timer.timeout.connect(self._update_ram)
        self._ram_timer.start()

    # ----- models

    def refresh_models(self, select_default: bool = False) -> None:
        local = list_installed(self.paths.models_dir)
        providers = self.workspace.providers()
        private = self.workspace.private_mode
        self.model_picker.populate(local, providers, private)
        self.model_picker_b.populate(local, providers, private)
        if not select_default:
            return
        spec = default_model_spec(self.workspace.settings, self.paths.models_dir)
        if spec is not None:
            self.choose_model("a", spec)
        else:
            self.chat_view.add_notice(
                "No model is installed yet. Run `tandem-cli models fetch-default`, or open "
                "a .gguf file with “Open GGUF file…”."
            )

    def open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.load_model(Path(path))

    def load_model(self, path: Path) -> None:
        """Make the local file `path` model A and load it in the background."""
        self.choose_model("a", f"local:{path}")

    def choose_model(self, side: str, spec: str) -> None:
        """Switch a column to another model; its conversation goes on."""
        pane = self.pane_a if side == "a" else self.pane_b
        picker = self.model_picker if side == "a" else self.model_picker_b
        picker.select(spec)
        try:
            backend = self.workspace.backend_for(spec)
        except TandemError as exc:
            self.show_error(exc)
            return
        pane.service.backend = backend
        pane.set_name(backend.name)
        if isinstance(backend, LocalBackend):
            self._load_local(backend)

    def _load_local(self, backend: LocalBackend) -> None:
        params = self.service.params
        self.load_bar.setValue(0)
        self.load_bar.show()
        task = Task(
            lambda: self.engine.load(
                backend.model_path, params, on_progress=self.bridge.load_progress.emit
            )
        )
        task.succeeded.connect(self._on_model_loaded)
        task.failed.connect(self._on_model_failed)
        self._load_task = task.start()

    def _on_load_progress(self, fraction: float) -> None:
        self.load_bar.setValue(int(fraction * 100))

    def _on_model_loaded(self, loaded: LoadedModel) -> None:
        self.load_bar.hide()
        self._update_ram()
        alerts.info(self, f"Loaded {Path(str(loaded.path)).name}")

    def _on_model_failed(self, error: object) -> None:
        self.load_bar.hide()
        self.show_error(error)

    # ----- private mode and compare

    def set_private_mode(self, private: bool) -> None:
        self.workspace.set_private_mode(private)
        self.workspace.save(dataclasses.replace(self.workspace.settings, private_mode=private))
        if self.private_action.isChecked() != private:
            self.private_action.setChecked(private)
        self.model_picker.set_private(private)
        self.model_picker_b.set_private(private)
        for side in ("a", "b"):
            picker = self.model_picker if side == "a" else self.model_picker_b
            spec = picker.current_spec()
            if spec and not spec.startswith("local:"):
                self.choose_model(side, spec)  # rebuilt with the new mode
        self._show_privacy()

    def _show_privacy(self) -> None:
        private = self.workspace.private_mode
        self.privacy_label.setText("Private mode: on  " if private else "Private mode: off  ")

    def set_compare(self, on: bool) -> None:
        if self.compare_action.isChecked() != on:
            self.compare_action.setChecked(on)
        for action in self._compare_widgets:
            action.setVisible(on)
        self.pane_b.setVisible(on)
        self.verdict_label.setVisible(on and bool(self.verdict_label.text()))

    @property
    def comparing(self) -> bool:
        return self.compare_action.isChecked()

    # ----- chat

    def send(self, text: str) -> None:
        sides = tuple(self.send_to.currentData()) if self.comparing else ("a",)
        panes = [self.pane_a if s == "a" else self.pane_b for s in sides]
        if any(p.service.backend is None for p in panes):
            self.composer.set_text(text)
            self.show_error(TandemError("Choose a model first."))
            return
        policy = OnSensitive.ASK
        try:
            for pane in panes:
                pane.service.check_sensitive(text, policy)
        except SensitiveContent as exc:
            decision = self.ask_about_sensitive(exc.message)
            if decision is None:
                self.composer.set_text(text)
                return
            policy = decision
        for pane in panes:
            pane.view.show_to_end()
            pane.start_exchange(text)
        cancel = CancelToken()
        self._cancel = cancel
        self.stop_clicked_at = None
        self._compare_events = []
        if self.comparing:
            session = CompareSession(self.pane_a.service, self.pane_b.service)
            task = StreamTask(lambda: session.send(text, cancel, sides, policy))
        else:
            task = StreamTask(lambda: self.service.send(text, cancel, policy))
        task.arrived.connect(self._on_event)
        task.done.connect(self._on_stream_done)
        self.composer.set_generating(True)
        self._stream_task = task.start()

    def retry(self, text: str) -> None:
        """Send a failed message again (the failed exchange stays, out of the context)."""
        if not self.generating:
            if self.composer.text() == text:
                self.composer.set_text("")
            self.send(text)

    def ask_about_sensitive(self, message: str) -> OnSensitive | None:
        chosen = alerts.choose(
            self, "Sensitive content", message, ["Send anyway", "Send without them"]
        )
        return (
            {0: OnSensitive.SEND, 1: OnSensitive.REDACT}.get(chosen) if chosen is not None else None
        )

    def stop(self) -> None:
        if self._cancel is not None and not self._cancel.cancelled:
            self.stop_clicked_at = time.perf_counter()
            self._cancel.cancel()
            self.engine.cancel()

    def _on_event(self, item: object) -> None:
        side, event = item if isinstance(item, tuple) else ("a", item)
        pane = self.pane_a if side == "a" else self.pane_b
        pane.apply(event)
        self._compare_events.append((side, event))
        if isinstance(event, Failed):
            if not (pane.reply and pane.reply.text) and not self.composer.text().strip():
                self.composer.set_text(pane.sent_text)
            alerts.warning(self, event.error.message)

    def _on_stream_done(self) -> None:
        self.pane_a.end()
        self.pane_b.end()
        self.composer.set_generating(False)
        self._stream_task = None
        if self.sidebar is not None:
            self.sidebar.current_id = self.service.conversation_id
            self.sidebar.refresh()
        if self.comparing:
            self._show_verdict()
        self._update_ram()

    def _show_verdict(self) -> None:
        stats: dict[str, AnswerStats | None] = {"a": None, "b": None}
        for side, event in self._compare_events:
            if isinstance(event, Finished):
                stats[side] = event.stats
        a, b = stats["a"], stats["b"]
        if a is None or b is None:
            self.verdict_label.setText("")
            self.verdict_label.hide()
            return
        self.verdict_label.setText(verdict(a, b).summary())
        self.verdict_label.show()

    def new_chat(self) -> None:
        self.stop()
        self.pane_a.clear()
        self.pane_b.clear()
        if self.sidebar is not None:
            self.sidebar.current_id = None
            self.sidebar.list.clearSelection()
        self.verdict_label.setText("")
        self.verdict_label.hide()
        self.composer.editor.setFocus()

    # ----- dialogs, status, links, errors

    def show_models(self) -> None:
        """The model manager: catalog, downloads, installed models."""
        from app.library.hardware import detect_hardware
        from app.ui.model_manager.dialog import ModelManager

        loaded = self.engine.loaded
        offload = loaded.gpu_offload_supported if loaded else None
        if self.model_manager is None:
            manager = ModelManager(
                self.paths,
                on_installed=lambda _path: self.refresh_models(),
                parent=self,
                gpu_offload_supported=offload,
                context_length=self.service.params.context_length,
                is_private=lambda: self.workspace.private_mode,
                ledger=self.workspace.ledger,
            )
            manager.removed.connect(lambda _path: self.refresh_models())
            self.model_manager = manager
        shown: Any = self.model_manager
        shown.set_hardware(detect_hardware(offload))
        shown.show()
        shown.raise_()

    def show_providers(self) -> None:
        from app.ui.dialogs.providers import ProvidersDialog

        if ProvidersDialog(self.workspace, self).exec():
            self.refresh_models()

    def show_ledger(self) -> None:
        from app.ui.dialogs.ledger import LedgerDialog

        LedgerDialog(self.workspace.ledger.records(), self.workspace.private_mode, self).exec()

    def about_text(self) -> str:
        import html

        from app import __version__
        from app.library.hardware import detect_hardware

        loaded = self.engine.loaded
        offload = loaded.gpu_offload_supported if loaded else None
        hardware = html.escape(detect_hardware(offload).describe())
        if loaded is None:
            model = "No model loaded."
        else:
            where = "on the CPU" if loaded.gpu_layers == 0 else (
                "every layer on the GPU" if loaded.gpu_layers < 0
                else f"{loaded.gpu_layers} layers on the GPU"
            )  # fmt: skip
            model = html.escape(
                f"{loaded.path.name}: {loaded.description or 'model'}, {where}, "
                f"{loaded.threads} threads, context {loaded.context_length:,} tokens."
            )
        return (
            f"<h3>Tandem {__version__}</h3>"
            "<p>Private local chat, with the speed, privacy and cost of every answer.</p>"
            f"<p><b>This computer:</b> {hardware}<br><b>Loaded:</b> {model}</p>"
            "<p>Built on Qt and PySide6 (LGPL-3.0), llama.cpp and llama-cpp-python (MIT). "
            "Default model: SmolLM2-135M-Instruct (Apache-2.0). Python (PSF-2.0). Every "
            "bundled part and its licence is listed in THIRD-PARTY-NOTICES.txt.</p>"
        )

    def show_about(self) -> None:
        alerts.about(self, "About Tandem", self.about_text())

    def _on_engine_state(self, state: str) -> None:
        self.state_label.setText(_STATE_TEXT.get(EngineState(state), state))
        if state == EngineState.CRASHED:
            self.ram_label.setText("")

    def _update_ram(self) -> None:
        rss = self.engine.rss_bytes()
        self.ram_label.setText("" if rss is None else f"Model RAM {units.size(rss)}  ")

    def _on_link_hovered(self, url: str) -> None:
        if url:
            self.statusBar().showMessage(url)
        else:
            self.statusBar().clearMessage()

    def _on_link_activated(self, url: QUrl) -> None:
        if url.scheme() not in ("http", "https", "mailto"):
            alerts.warning(self, f"Not opened: {url.toString()}", 6000)
            return
        if alerts.ask(self, "Open link", f"Open this address in your browser?\n\n{url.toString()}"):
            QDesktopServices.openUrl(url)

    def show_error(self, error: object) -> None:
        """The one place an error reaches the user: a notice in the chat and the status bar."""
        message = error.message if isinstance(error, TandemError) else f"Unexpected error: {error}"
        logger.warning("shown to user: %s", message)
        self.chat_view.add_notice(message)
        self.statusBar().showMessage(message, 8000)

    def _on_costs_changed(self, reference: str, usd_per_kwh: float, watts: float) -> None:
        from app.core.pricing import EnergyModel
        from app.services.chat import CostReference

        self.workspace.save(
            dataclasses.replace(
                self.workspace.settings,
                reference_cloud_model=reference,
                electricity_usd_per_kwh=usd_per_kwh,
                cpu_watts=watts,
            )
        )
        self.engine.energy = EnergyModel(cpu_watts=watts, usd_per_kwh=usd_per_kwh)
        for pane in (self.pane_a, self.pane_b):
            pane.service.reference = CostReference(self.workspace.prices, reference)

    def _on_params_changed(self, params: GenerationParams) -> None:
        self.pane_a.service.params = params
        self.pane_b.service.params = params
        self._save_params.start()

    def _save_settings_now(self) -> None:
        try:
            self.workspace.save(
                dataclasses.replace(self.workspace.settings, generation=self.service.params)
            )
        except (OSError, TandemError) as exc:
            self.statusBar().showMessage(f"Could not save the settings: {exc}", 8000)

    def restore_window_state(self) -> None:
        state = self.workspace.settings.window
        if state.geometry:
            self.restoreGeometry(QByteArray.fromBase64(state.geometry.encode()))
        if state.state:
            self.restoreState(QByteArray.fromBase64(state.state.encode()))

    def _save_window_state(self) -> None:
        from app.store.settings import WindowState

        window = WindowState(
            geometry=bytes(self.saveGeometry().toBase64().data()).decode(),
            state=bytes(self.saveState().toBase64().data()).decode(),
        )
        try:
            self.workspace.save(dataclasses.replace(self.workspace.settings, window=window))
        except (OSError, TandemError) as exc:
            logger.warning("could not save the window state: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.stop()
        if self._save_params.isActive():
            self._save_params.stop()
            self._save_settings_now()
        self._save_window_state()
        if self.model_manager is not None:
            self.model_manager.shutdown()
        if self.sidebar is not None:
            self.sidebar.close_store()
        self._ram_timer.stop()
        self.workspace.shutdown()
        super().closeEvent(event)
