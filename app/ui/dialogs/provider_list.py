"""The cloud providers set up so far: add, edit, remove, test the connection, replace
the key. The key itself is never shown; it lives in the keychain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TandemError
from app.core.providers import ProviderConfig
from app.ui import alerts
from app.ui.bridge import Task
from app.ui.theme import text_style
from app.ui.widgets.plain import plain_label

if TYPE_CHECKING:
    from app.services.workspace import Workspace


class ProviderList(QDialog):
    """Signals:
    changed(): a provider was added, edited or removed, or its key replaced.
    tested(str): the outcome of a connection test, as shown.
    """

    changed = Signal()
    tested = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("Cloud providers")
        self.list = QListWidget()
        self.list.setAccessibleName("Providers")
        self.list.currentRowChanged.connect(lambda _r: self._enable())
        self.list.itemActivated.connect(lambda _i: self.edit())
        self.add_button = self._button("&Add…", "Add a provider", self.add)
        self.edit_button = self._button("&Edit…", "Edit the provider", self.edit)
        self.remove_button = self._button("&Remove", "Remove the provider", self.remove)
        self.test_button = self._button("&Test connection", "Test the connection", self.test)
        self.key_button = self._button("Replace &key…", "Replace the API key", self.replace_key)
        self.outcome = plain_label()  # a provider's own words
        self.outcome.setWordWrap(True)
        self.outcome.setAccessibleName("Connection test result")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QVBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button,
                       self.test_button, self.key_button):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.outcome)
        layout.addWidget(close)
        self._task: Task | None = None
        self.tested.connect(self._on_tested)
        self.refresh()
        self.resize(560, 340)

    def _button(self, text: str, name: str, slot: object) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.clicked.connect(lambda _c=False: slot())  # type: ignore[operator]
        return button

    def refresh(self, select: str | None = None) -> None:
        self.list.clear()
        for provider in self.workspace.providers():
            where = "this device" if provider.on_device else provider.host
            model = provider.default_model or "no model chosen"
            item = QListWidgetItem(f"{provider.name} — {where} · {model}")
            item.setData(Qt.ItemDataRole.UserRole, provider.name)
            self.list.addItem(item)
            if provider.name == select:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self._enable()

    def _enable(self) -> None:
        chosen = self.current() is not None
        for button in (self.edit_button, self.remove_button, self.test_button, self.key_button):
            button.setEnabled(chosen)

    def current(self) -> ProviderConfig | None:
        item = self.list.currentItem()
        if item is None:
            return None
        name = str(item.data(Qt.ItemDataRole.UserRole))
        return next((p for p in self.workspace.providers() if p.name == name), None)

    def add(self) -> None:
        from app.ui.dialogs.providers import ProvidersDialog

        if ProvidersDialog(self.workspace, self).exec():
            self.refresh()
            self.changed.emit()

    def edit(self) -> None:
        from app.ui.dialogs.providers import ProvidersDialog

        provider = self.current()
        if provider is None:
            return
        dialog = ProvidersDialog(self.workspace, self)
        dialog.load(provider)
        if dialog.exec():
            self.refresh(provider.name)
            self.changed.emit()

    def remove(self) -> None:
        provider = self.current()
        if provider is None:
            return
        question = f"Remove {provider.name} and its key from the keychain?"
        if not alerts.ask(self, "Remove provider", question):
            return
        try:
            self.workspace.remove_provider(provider.name)
        except TandemError as exc:
            self._show(exc.message, error=True)
            return
        self.refresh()
        self._show(f"Removed {provider.name}.")
        self.changed.emit()

    def replace_key(self) -> None:
        provider = self.current()
        if provider is None:
            return
        key, ok = QInputDialog.getText(
            self, "Replace key", f"New API key for {provider.name}:", QLineEdit.EchoMode.Password
        )
        key = key.strip()
        if not ok or not key:
            return
        try:
            self.workspace.set_key(provider.name, key)
        except TandemError as exc:
            self._show(exc.message, error=True)
            return
        self._show(f"The key for {provider.name} was replaced.")
        self.changed.emit()

    def test(self) -> None:
        """Ask the provider for its models, in the background: the key and address work
        when it answers. Private mode blocks a provider that is not on this device."""
        provider = self.current()
        if provider is None:
            return
        try:
            backend = self.workspace.cloud_backend(provider, provider.default_model or "")
        except TandemError as exc:
            self.tested.emit(exc.message)
            return
        self.test_button.setEnabled(False)
        self._show(f"Connecting to {provider.host}…")
        task = Task(lambda: self.workspace.list_models(backend))
        task.succeeded.connect(
            lambda names: self.tested.emit(
                f"Connected to {provider.host}: {len(names)} models offered."
            )
        )
        task.failed.connect(
            lambda exc: self.tested.emit(
                exc.message if isinstance(exc, TandemError) else f"The test failed: {exc}"
            )
        )
        self._task = task.start()

    def _on_tested(self, text: str) -> None:
        self.test_button.setEnabled(self.current() is not None)
        self._show(text, error=not text.startswith("Connected"))

    def _show(self, text: str, *, error: bool = False) -> None:
        self.outcome.setText(text)
        self.outcome.setStyleSheet(text_style("error" if error else "good"))
