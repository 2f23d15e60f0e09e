"""Add a cloud provider: preset, address, model, trust, and a key that goes to the keychain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TandemError
from app.core.providers import PRESETS
from app.ui import alerts
from app.ui.bridge import Task
from app.ui.theme import text_style
from app.ui.widgets.plain import plain_label

if TYPE_CHECKING:
    from app.core.providers import ProviderConfig
    from app.services.workspace import Workspace


class ProvidersDialog(QDialog):
    """Signals:
    models_listed(object): the provider's model names, or the TandemError that stopped
        the listing (from the listing thread).
    """

    models_listed = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("Add a cloud provider")
        self.preset = QComboBox()
        for preset in PRESETS.values():
            self.preset.addItem(preset.name, preset.id)
        self.name = QLineEdit()
        self.base_url = QLineEdit()
        self.model = QLineEdit()
        self.trusted = QCheckBox("Trusted: allowed in private mode (your own server)")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("kept in the system keychain, never in a file")
        self.key_state = QLabel()
        self.error = plain_label()  # the provider's own words
        self.error.setWordWrap(True)
        self.error.setStyleSheet(text_style("error"))
        self.list_button = QPushButton("List models")
        self.list_button.setAccessibleName("List the provider's models")
        self.list_button.setToolTip("Ask the provider which models it offers (/models)")
        self.list_button.clicked.connect(self.list_models)
        self.models = QComboBox()
        self.models.setAccessibleName("Models the provider offers")
        self.models.hide()
        self.models.activated.connect(lambda i: self.model.setText(self.models.itemText(i)))
        self.models_listed.connect(self._on_models_listed)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.list_button)
        form = QFormLayout()
        for label, widget in (
            ("Preset", self.preset),
            ("Name", self.name),
            ("Base URL", self.base_url),
            ("Model", self.model),
            ("API key", self.key),
        ):
            widget.setAccessibleName(label)
            form.addRow(label, model_row if widget is self.model else widget)
            if widget is self.model:
                form.addRow("", self.models)  # the listed models, under the field they fill
        form.addRow("", self.key_state)
        form.addRow("", self.trusted)
        self.trusted.setAccessibleName("Trusted host")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.preset.currentIndexChanged.connect(self._on_preset)
        self._on_preset()

    def load(self, provider: ProviderConfig) -> None:
        """Edit `provider`: its fields filled in; the key stays unless a new one is typed."""
        self.setWindowTitle(f"Edit {provider.name}")
        index = self.preset.findData(provider.preset)
        if index >= 0:
            self.preset.setCurrentIndex(index)
        self.name.setText(provider.name)
        self.name.setReadOnly(True)  # the key is kept under this name
        self.base_url.setText(provider.base_url)
        self.model.setText(provider.default_model or "")
        self.trusted.setChecked(provider.trusted)
        self._show_key_state()

    def keep_for_this_run(self, message: str) -> bool:
        return alerts.ask(
            self, "No keychain", f"{message}\n\nKeep the key in memory until Tandem closes?"
        )

    def list_models(self) -> None:
        """Ask the provider for its models in the background; the list appears below."""
        from app.core.providers import ProviderConfig, check_base_url

        try:
            provider = ProviderConfig(
                self.name.text().strip() or str(self.preset.currentData()),
                str(self.preset.currentData()),
                check_base_url(self.base_url.text()),
                trusted=self.trusted.isChecked(),
            )
            backend = self.workspace.cloud_backend(
                provider, "", key=self.key.text().strip() or None
            )
        except TandemError as exc:
            self.error.setText(exc.message)
            return
        self.error.setText("")
        self.list_button.setEnabled(False)
        self.list_button.setText("Listing…")

        task = Task(lambda: self.workspace.list_models(backend))
        task.succeeded.connect(self.models_listed)
        task.failed.connect(self._on_list_failed)
        self._list_task = task.start()

    def _on_list_failed(self, error: Exception) -> None:
        if not isinstance(error, TandemError):
            error = TandemError(f"Listing the models failed: {error}")
        self.models_listed.emit(error)

    def _on_models_listed(self, result: list[str] | TandemError) -> None:
        self.list_button.setEnabled(True)
        self.list_button.setText("List models")
        if isinstance(result, TandemError):
            self.error.setText(result.message)
            return
        names = list(result)
        self.models.clear()
        self.models.addItems(names)
        self.models.setVisible(bool(names))
        if not names:
            self.error.setText("The provider listed no models; type the model's name.")
        elif self.model.text() not in names:
            self.model.setText(names[0])

    def _on_preset(self) -> None:
        preset = PRESETS[str(self.preset.currentData())]
        self.name.setText(preset.id)
        self.base_url.setText(preset.base_url)
        self.model.setText(preset.example_model)
        self._show_key_state()

    def _show_key_state(self) -> None:
        from app.core.providers import ProviderConfig

        probe = ProviderConfig(self.name.text(), str(self.preset.currentData()), "")
        has = self.workspace.has_key(probe)
        self.key_state.setText("A key is set." if has else "No key is set.")

    def _save(self) -> None:
        from app.store.secrets import NoKeyringError

        name, key = self.name.text().strip(), self.key.text().strip() or None
        try:
            self.workspace.add_provider(
                name,
                str(self.preset.currentData()),
                self.base_url.text().strip() or None,
                self.model.text().strip() or None,
                self.trusted.isChecked(),
                None,
            )
            if key:
                try:
                    self.workspace.set_key(name, key)
                except NoKeyringError as exc:
                    if not self.keep_for_this_run(exc.message):
                        self.error.setText(exc.message + " The key was not kept.")
                        return
                    self.workspace.set_key(name, key, session_only=True)
        except TandemError as exc:
            self.error.setText(exc.message)
            return
        self.key.clear()
        self.accept()
