"""The window's actions and its menu bar. The actions decide nothing: the window connects
them to what they do."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenuBar

from app.store.settings import Theme

THEMES = ((Theme.SYSTEM, "&System colours"), (Theme.LIGHT, "&Light"), (Theme.DARK, "&Dark"))


class MainMenu:
    """Every action of the window, with its shortcut, and the menus that show them."""

    def __init__(self, window: QMainWindow, *, private: bool, theme: Theme) -> None:
        self._window = window
        keys = QKeySequence.StandardKey
        self.new_chat = self._action("&New chat", keys.New)
        self.new_chat.setToolTip("Start a new conversation (Ctrl+N)")
        self.open_file = self._action("&Open GGUF file…", keys.Open)
        self.import_conversation = self._action("&Import conversation…")
        self.quit = self._action("&Quit", keys.Quit)
        self.about = self._action("&About Tandem")
        self.providers = self._action("Cloud &providers…")
        self.models = self._action("&Models…", QKeySequence("Ctrl+Shift+M"))
        self.ledger = self._action("Privacy &ledger…")
        self.arena = self._action("&Arena…")
        self.usage = self._action("&Usage…")
        self.local_api = self._action("Local AP&I…")
        self.documents = self._action("&Documents…")
        self.search = self._action("&Search conversations", keys.Find)
        self.private = self._action("&Private mode", QKeySequence("Ctrl+Shift+P"))
        self.private.setCheckable(True)
        self.private.setChecked(private)
        self.private.setToolTip(
            "Private mode: nothing leaves this device; cloud models are unavailable"
        )
        self.compare = self._action("&Compare", QKeySequence("Ctrl+K"))
        self.compare.setCheckable(True)
        self.compare.setToolTip("Send each message to two models at once (Ctrl+K)")
        self.themes: dict[Theme, QAction] = {}
        group = QActionGroup(window)
        for choice, label in THEMES:
            action = QAction(label, group)
            action.setCheckable(True)
            action.setChecked(theme is choice)
            self.themes[choice] = action

    def _action(
        self, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        self._window.addAction(action)  # its shortcut works wherever the focus is
        return action

    def fill(
        self,
        menus: QMenuBar,
        params_toggle: QAction,
        history_toggle: QAction | None,
    ) -> None:
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.new_chat)
        file_menu.addAction(self.open_file)
        file_menu.addAction(self.models)
        file_menu.addAction(self.providers)
        file_menu.addAction(self.documents)
        if history_toggle is not None:
            file_menu.addAction(self.import_conversation)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(params_toggle)
        if history_toggle is not None:
            view_menu.addAction(history_toggle)
        view_menu.addAction(self.compare)
        view_menu.addAction(self.private)
        view_menu.addAction(self.ledger)
        view_menu.addAction(self.arena)
        view_menu.addAction(self.usage)
        view_menu.addAction(self.local_api)
        theme_menu = view_menu.addMenu("&Theme")
        for action in self.themes.values():
            theme_menu.addAction(action)
        menus.addMenu("&Help").addAction(self.about)
