"""View > Local API: the switch, the address and key to give other tools, and what they asked.

The server itself is started through `app.server.start_server` in a worker thread, after
the window is up (never on its start-up path), on the window's own workspace and engine.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services.workspace import Workspace
from app.ui import theme
from app.ui.bridge import Task

if TYPE_CHECKING:
    from app.server import LocalServer

COLUMNS = ("Time", "Client", "Request", "Model", "Status", "Tokens", "Bytes in/out")
_REFRESH_MS = 500
_START_AFTER_SHOW_MS = 1500


class LocalApiSwitch(QObject):
    """The window's server: on, off, and why it could not start.

    Signals:
        changed(): the server started, stopped, or failed to start.
    """

    changed = Signal()

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.server: LocalServer | None = None
        self.error = ""
        self.starting = False
        from app.services.local_api import DEFAULT_PORT

        self.port = DEFAULT_PORT

    @property
    def on(self) -> bool:
        return self.server is not None and self.server.running

    def start_later(self) -> None:
        """Start after the window is shown, when the settings say it was left on."""
        if self.workspace.settings.local_api_on:
            QTimer.singleShot(_START_AFTER_SHOW_MS, self.start)

    def start(self) -> None:
        if self.on or self.starting:
            return
        from app.server import start_server

        self.starting = True
        self.error = ""
        port = self.port
        task = Task(lambda: start_server(self.workspace, port=port))
        task.succeeded.connect(self._on_started)
        task.failed.connect(self._on_failed)
        task.start()
        self._remember(True)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self._remember(False)
        self.changed.emit()

    def shutdown(self) -> None:
        """The window closes: stop serving, but keep the setting for next time."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _remember(self, on: bool) -> None:
        if self.workspace.settings.local_api_on != on:
            settings = dataclasses.replace(self.workspace.settings, local_api_on=on)
            self.workspace.save(settings)

    def _on_started(self, server: Any) -> None:
        self.starting = False
        self.server = server
        self.changed.emit()

    def _on_failed(self, error: Any) -> None:
        self.starting = False
        self.error = str(getattr(error, "message", None) or error)
        self._remember(False)
        self.changed.emit()


class LocalApiDialog(QDialog):
    def __init__(self, switch: LocalApiSwitch, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.switch = switch
        self.setWindowTitle("Local API")
        self.resize(860, 520)
        self.enabled = QCheckBox("Serve an OpenAI-compatible API on this computer")
        self.enabled.setToolTip(
            "Editors, agents and scripts on this computer can use your local models "
            "with the address and key below."
        )
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Base URL")
        self.copy_url = QPushButton("Copy")
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName("API key")
        self.show_key = QPushButton("Show")
        self.show_key.setCheckable(True)
        self.copy_key = QPushButton("Copy key")
        self.save_chats = QCheckBox("Keep chats that arrive through the API in the history")
        self.save_chats.setChecked(switch.workspace.settings.api_save_chats)
        self.state = QLabel()
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setWordWrap(True)
        self.served = QLabel()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Requests served")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)

        grid = QGridLayout()
        grid.addWidget(QLabel("Base URL"), 0, 0)
        grid.addWidget(self.url, 0, 1)
        grid.addWidget(self.copy_url, 0, 2)
        grid.addWidget(QLabel("API key"), 1, 0)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.show_key)
        grid.addLayout(key_row, 1, 1)
        grid.addWidget(self.copy_key, 1, 2)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addWidget(self.state)
        layout.addLayout(grid)
        layout.addWidget(self.save_chats)
        layout.addWidget(self.served)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

        self.enabled.toggled.connect(self._on_toggled)
        self.copy_url.clicked.connect(lambda: self._copy(self.url.text()))
        self.copy_key.clicked.connect(lambda: self._copy(self.key.text()))
        self.show_key.toggled.connect(self._on_show_key)
        self.save_chats.toggled.connect(self._on_save_chats)
        switch.changed.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(_REFRESH_MS)
        self.refresh()

    def refresh(self) -> None:
        switch = self.switch
        server = switch.server if switch.on else None
        self.enabled.blockSignals(True)
        self.enabled.setChecked(server is not None or switch.starting)
        self.enabled.blockSignals(False)
        self.url.setText(server.base_url if server else "")
        self.key.setText(server.key if server else "")
        for widget in (self.copy_url, self.copy_key, self.show_key):
            widget.setEnabled(server is not None)
        if switch.error:
            self.state.setText(switch.error)
            self.state.setStyleSheet(f"color: {theme.colour('error')}")
        else:
            self.state.setStyleSheet("")
            if server is not None:
                self.state.setText(
                    "Serving on this computer only. Give tools the base URL and the key; "
                    "each request is in the privacy ledger."
                )
            else:
                self.state.setText("Starting…" if switch.starting else "Off.")
        requests = server.requests() if server else []
        self.served.setText(f"Requests served: {server.served if server else 0}")
        self._fill(list(reversed(requests)))

    def _fill(self, requests: list[Any]) -> None:
        self.table.setRowCount(len(requests))
        for row, r in enumerate(requests):
            tokens = f"{r.prompt_tokens} → {r.completion_tokens}" if r.completion_tokens else ""
            values = (r.time, r.client, r.endpoint, r.model, r.status, tokens,
                      f"{r.bytes_in:,} / {r.bytes_out:,}")  # fmt: skip
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        if requests:
            self.table.resizeColumnsToContents()

    def _on_toggled(self, on: bool) -> None:
        if on:
            self.switch.start()
        else:
            self.switch.stop()
        self.refresh()

    def _on_show_key(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.key.setEchoMode(mode)
        self.show_key.setText("Hide" if shown else "Show")

    def _on_save_chats(self, on: bool) -> None:
        workspace = self.switch.workspace
        workspace.save(dataclasses.replace(workspace.settings, api_save_chats=on))

    @staticmethod
    def _copy(text: str) -> None:
        clipboard = QApplication.clipboard()
        if text and clipboard is not None:
            clipboard.setText(text)
