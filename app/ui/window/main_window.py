"""Tandem's main window: it builds the rooms (toolbar, columns, composer, docks, status
bar) and connects them; what happens on send, stop and retry is the chat controller's."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TandemError
from app.services.chat import ChatService
from app.services.compare import Verdict
from app.services.presets import Presets
from app.services.workspace import Workspace
from app.store.settings import Preset, Theme, WindowState
from app.ui import alerts
from app.ui.bridge import Bridge
from app.ui.chat.attachments import AttachmentBar, FileDrops
from app.ui.chat.composer import Composer
from app.ui.chat.message_actions import model_choices
from app.ui.chat.pane import ChatPane
from app.ui.chat.verdict_table import VerdictTable
from app.ui.chat.view import ChatView
from app.ui.theme import apply_theme
from app.ui.window.chat_controller import ChatController
from app.ui.window.dialog_opener import DialogOpener
from app.ui.window.history_dock import HistoryDock
from app.ui.window.main_menu import MainMenu
from app.ui.window.model_chooser import ModelChooser
from app.ui.window.params_dock import ParamsDock
from app.ui.window.presets_menu import PresetsMenu
from app.ui.window.status_bar import StatusBar
from app.ui.window.toolbar import MainToolbar

if TYPE_CHECKING:
    from app.ui.model_manager.dialog import ModelManager
    from app.ui.widgets.history_sidebar import HistorySidebar

logger = logging.getLogger(__name__)


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
        self.setWindowTitle("Tandem")
        self.resize(1100, 760)

        self.menu = MainMenu(self, private=workspace.private_mode, theme=workspace.settings.theme)
        menu = self.menu  # the actions by the names callers know
        self.new_chat_action, self.open_file_action = menu.new_chat, menu.open_file
        self.private_action, self.compare_action = menu.private, menu.compare
        self.models_action, self.about_action = menu.models, menu.about
        self.theme_actions = menu.themes
        self.toolbar = MainToolbar(self.menu)
        self.addToolBar(self.toolbar)
        self.model_picker, self.model_picker_b = (
            self.toolbar.model_picker,
            self.toolbar.model_picker_b,
        )
        self.send_to = self.toolbar.send_to
        self._build_central()
        self.status = StatusBar(self.engine.rss_bytes)
        self.setStatusBar(self.status)
        self.state_label = self.status.state_label
        self.chat = ChatController(
            {"a": self.pane_a, "b": self.pane_b}, self.composer, self.engine,
            lambda: self.comparing, self.toolbar.sides, self,
            models=lambda: model_choices(self.model_picker), backend_for=workspace.backend_for,
        )  # fmt: skip
        self.chat.attachments, self.chat.documents = self.attachments, workspace.documents
        self.params_dock = ParamsDock(workspace, [self.pane_a.service, self.pane_b.service],
                                      self.engine, self)  # fmt: skip
        self.params_panel = self.params_dock.panel
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.params_dock)
        self.params_dock.hide()  # closed until asked for (a saved layout may open it)
        self.addAction(self.params_dock.toggle)
        self.toolbar.add_params(self.params_dock.toggle)
        self.models = ModelChooser(
            workspace, {"a": self.pane_a, "b": self.pane_b}, self.toolbar, self.status,
            self.bridge, self,
        )  # fmt: skip
        self.dialogs = DialogOpener(workspace, lambda: self.service.params, self)
        self.presets_menu = PresetsMenu(
            workspace.presets, self.params_panel.params, self.model_picker.current_spec,
            self.composer.text, self,
        )  # fmt: skip
        self.composer.add_tool(self.presets_menu.button)
        self.composer.prompt_source = workspace.presets.matching
        self._build_history_dock()
        self.menu.fill(self.menuBar(), self.params_dock.toggle, self.history_toggle)
        self._connect()
        self.status.show_private(workspace.private_mode)
        self.set_compare(False)
        self.refresh_models(select_default=True)
        if workspace.settings_notice:
            self.chat_view.add_notice(workspace.settings_notice)

    # ----- what callers and tests know the window by

    @property
    def service(self) -> ChatService:
        return self.pane_a.service

    @property
    def chat_view(self) -> ChatView:
        return self.pane_a.view

    @property
    def generating(self) -> bool:
        return self.chat.generating

    @property
    def stop_clicked_at(self) -> float | None:
        return self.chat.stop_clicked_at

    @property
    def comparing(self) -> bool:
        return self.menu.compare.isChecked()

    # ----- construction

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.columns.addWidget(self.pane_a)
        self.columns.addWidget(self.pane_b)
        self.columns.setChildrenCollapsible(False)
        for pane in (self.pane_a, self.pane_b):
            pane.setMinimumWidth(240)
        self.verdict_label = VerdictTable()
        self.verdict_label.hide()
        self.composer = Composer()
        self.attachments = AttachmentBar()
        self._drops = FileDrops(self.composer.editor, self.attachments)
        layout.addWidget(self.columns, 1)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.attachments)
        layout.addWidget(self.composer)
        self.setCentralWidget(central)
        self.composer.editor.setFocus()

    def _build_history_dock(self) -> None:
        self.sidebar: HistorySidebar | None = None
        self.history_toggle: QAction | None = None
        self.history_dock: HistoryDock | None = None
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
        self.history_dock = HistoryDock(store, self)
        self.sidebar, self.history_toggle = self.history_dock.sidebar, self.history_dock.toggle
        self.sidebar.open_requested.connect(self.open_conversation)
        self.sidebar.deleted.connect(self._on_conversation_deleted)
        self.sidebar.failed.connect(self.show_error)
        self.addDockWidget(HistoryDock.area(), self.history_dock)
        self.addAction(self.history_toggle)
        self.resizeDocks([self.history_dock], [250], Qt.Orientation.Horizontal)
        undo = QAction("Undo delete", self)
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        undo.triggered.connect(lambda _c=False: self.status.undo())
        self.addAction(undo)

    def _connect(self) -> None:
        menu = self.menu
        for action, slot in (
            (menu.new_chat, self.new_chat), (menu.open_file, self.models.open_file),
            (menu.import_conversation, self.import_conversation), (menu.quit, self.close),
            (menu.about, self.dialogs.about), (menu.providers, self.dialogs.providers),
            (menu.models, self.dialogs.models), (menu.ledger, self.dialogs.ledger),
            (menu.local_api, self.dialogs.local_api),
            (menu.documents, self.dialogs.documents),
            (menu.search, self._focus_search),
            (menu.arena, self.dialogs.arena), (menu.usage, self.dialogs.usage),
        ):  # fmt: skip
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        menu.private.toggled.connect(self.set_private_mode)
        menu.private.triggered.connect(lambda checked: self.status.say_private(checked))
        menu.compare.toggled.connect(self.set_compare)
        for theme, action in menu.themes.items():
            action.triggered.connect(lambda _checked=False, t=theme: self.set_theme(t))
        for pane in (self.pane_a, self.pane_b):
            pane.view.link_hovered.connect(self.status.show_link)
            pane.view.link_activated.connect(self.dialogs.open_link)
            pane.view.example_chosen.connect(self._on_example)
        self.dialogs.models_changed.connect(self.refresh_models)
        self.chat.failed.connect(self.show_error)
        self.models.failed.connect(self.show_error)
        self.models.notice.connect(self.chat_view.add_notice)
        self.chat.answered.connect(self._on_answered)
        self.chat.forked.connect(lambda _id: self._on_answered())
        self.chat.undo_offered.connect(self.status.offer_undo)
        self.chat.verdict_changed.connect(self._show_verdict)
        self.presets_menu.chosen.connect(self.apply_preset)
        self.bridge.engine_state.connect(self.status.show_engine_state)
        self.bridge.load_progress.connect(self.status.show_load_progress)

    # ----- conversations

    def _focus_search(self) -> None:
        if self.history_dock is not None:
            self.history_dock.focus_search()

    def open_conversation(self, conversation_id: int, message_id: int = 0) -> None:
        """Show a stored conversation in column A and continue it from there."""
        if self._scroll_to_hit(conversation_id, message_id):
            return
        if self._open_pair(conversation_id, message_id):
            return
        if self.chat.open(conversation_id, message_id) and self.sidebar is not None:
            self.sidebar.current_id = conversation_id
            self._highlight_search()
        if self.chat.answering_elsewhere:
            alerts.info(
                self, "The answer in the other conversation goes on; it is saved there.", 6000
            )

    def _open_pair(self, conversation_id: int, message_id: int) -> bool:
        """A conversation of a Compare pair opens Compare, both columns filled (while an
        answer streams, only column A changes)."""
        if self.sidebar is None or self.generating:
            return False
        try:
            pair = self.sidebar.store.compare_pair(conversation_id)
        except TandemError as exc:
            self.show_error(exc)
            return False
        if pair is None:
            return False
        a, b = pair
        self.set_compare(True)
        focus = (message_id, 0) if conversation_id == a else (0, message_id)
        if self.chat.open_pair(a, b, focus):
            self.sidebar.current_id = a
            self._highlight_search()
            self.pane_b.view.highlight(self.sidebar.search.text().strip())
        return True

    def _scroll_to_hit(self, conversation_id: int, message_id: int) -> bool:
        """A search hit in the conversation already open: go to it, no reload."""
        if conversation_id != self.service.conversation_id or not message_id:
            return False
        if not self.chat_view.scroll_to(message_id):
            return False
        self._highlight_search()
        return True

    def _highlight_search(self) -> None:
        query = self.sidebar.search.text().strip() if self.sidebar is not None else ""
        self.chat_view.highlight(query)

    def _on_conversation_deleted(self, conversation_id: int, title: str) -> None:
        if self.service.conversation_id == conversation_id:
            if not self.chat.answering_elsewhere:
                self.stop()  # its answer has nowhere left to go
            self.new_chat()
        sidebar = self.sidebar
        self.status.offer_undo(
            f"Deleted “{title}”.",
            lambda: sidebar.undo_delete() if sidebar is not None else None,
            f"Restored “{title}”.",
        )

    def import_conversation(self, path: str | None = None) -> int | None:
        """A conversation exported as JSON becomes a new conversation, opened."""
        return None if self.sidebar is None else self.sidebar.import_file(path)

    def new_chat(self) -> None:
        """An empty conversation; an answer being written goes on in its own."""
        self.chat.clear()
        if self.sidebar is not None:
            self.sidebar.current_id = None
            self.sidebar.list.clearSelection()
        self.composer.editor.setFocus()
        if self.chat.answering_elsewhere:
            alerts.info(
                self, "The answer in the other conversation goes on; it is saved there.", 6000
            )

    def stop(self) -> None:
        self.chat.stop()

    def _on_answered(self) -> None:
        if self.sidebar is not None:
            self.sidebar.current_id = self.service.conversation_id
            self.sidebar.refresh()
        self.status.update_ram()

    def _on_example(self, text: str) -> None:
        self.composer.set_text(text)
        self.composer.editor.setFocus()

    def _show_verdict(self, verdict: object) -> None:
        if isinstance(verdict, Verdict) and self.comparing:
            self.verdict_label.show_verdict(verdict)
        else:
            self.verdict_label.clear()
        self.verdict_label.setVisible(bool(self.verdict_label.text()))

    # ----- models, private mode, compare

    def refresh_models(self, select_default: bool = False) -> None:
        self.models.refresh(select_default)

    def load_model(self, path: Path) -> None:
        """Make the local file `path` model A and load it in the background."""
        self.models.choose("a", f"local:{path}")

    def choose_model(self, side: str, spec: str) -> None:
        self.models.choose(side, spec)

    def apply_preset(self, preset: object) -> None:
        """Column A answers with the preset's system prompt, parameters and model."""
        if not isinstance(preset, Preset):
            return
        Presets.apply(preset, self.service)
        self.params_panel.set_params(self.service.params)  # shown, and shared with B
        if preset.model and preset.model != self.model_picker.current_spec():
            self.models.choose("a", preset.model)
        alerts.info(self, f"Preset “{preset.name}” chosen.")

    def set_private_mode(self, private: bool) -> None:
        self.workspace.set_private_mode(private)
        self.workspace.save(dataclasses.replace(self.workspace.settings, private_mode=private))
        if self.menu.private.isChecked() != private:
            self.menu.private.setChecked(private)
        self.models.rebuild_cloud()
        self.status.show_private(private)

    def set_compare(self, on: bool) -> None:
        """Show or hide column B; the window keeps its size (the columns share it)."""
        if self.menu.compare.isChecked() != on:
            self.menu.compare.setChecked(on)
        width = self.width()
        self.toolbar.set_comparing(on)
        self.pane_b.setVisible(on)
        if on:
            self.models.ensure_chosen("b")
            half = max(1, self.columns.width() // 2)
            self.columns.setSizes([half, half])
        self.verdict_label.setVisible(on and bool(self.verdict_label.text()))
        if self.isVisible() and not self.isMaximized() and self.width() != width:
            self.resize(width, self.height())

    def set_theme(self, theme: Theme) -> None:
        """Colour the window light, dark or as the system does; remembered."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.menu.themes[theme].setChecked(True)
        for pane in (self.pane_a, self.pane_b):
            pane.view.restyle()
        self.toolbar.restyle()
        self.workspace.save(dataclasses.replace(self.workspace.settings, theme=theme))

    # ----- dialogs, links, errors

    @property
    def model_manager(self) -> ModelManager | None:
        return self.dialogs.model_manager

    def about_text(self) -> str:
        return self.dialogs.about_text()

    def show_error(self, error: object) -> None:
        """The one place an error reaches the user: a notice in the chat and the status bar."""
        message = error.message if isinstance(error, TandemError) else f"Unexpected error: {error}"
        self.chat_view.add_notice(message)
        alerts.warning(self, message)

    # ----- window state

    def restore_window_state(self) -> None:
        state = self.workspace.settings.window
        if state.geometry:
            self.restoreGeometry(QByteArray.fromBase64(state.geometry.encode()))
        if state.state:
            self.restoreState(QByteArray.fromBase64(state.state.encode()))

    def _save_window_state(self) -> None:
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
        self.params_dock.flush()
        self._save_window_state()
        self.dialogs.shutdown()
        if self.sidebar is not None:
            self.sidebar.close_store()
        self.status.stop()
        self.workspace.shutdown()
        super().closeEvent(event)
