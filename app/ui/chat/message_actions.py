"""What a person can do with one message: regenerate it (on this or another model), edit
and resend it, fork the conversation there, copy it, delete it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QTextDocument
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QMenu, QToolButton, QWidget

# (label, spec, enabled) of each model a regeneration may use.
ModelChoice = tuple[str, str, bool]


def model_choices(picker: QComboBox) -> list[ModelChoice]:
    """The models a model picker offers (installed and cloud), as it offers them."""
    model = picker.model()
    found: list[ModelChoice] = []
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        spec = str(index.data(Qt.ItemDataRole.UserRole) or "")
        if not spec or spec.startswith("open-file") or ":" not in spec:
            continue
        enabled = bool(model.flags(index) & Qt.ItemFlag.ItemIsEnabled)
        found.append((str(index.data(Qt.ItemDataRole.DisplayRole)), spec, enabled))
    return found


def plain_text(markdown: str) -> str:
    """A message's Markdown as the plain text it reads as."""
    document = QTextDocument()
    document.setMarkdown(markdown)
    return document.toPlainText()


def copy_message(text: str, *, as_markdown: bool) -> None:
    QGuiApplication.clipboard().setText(text if as_markdown else plain_text(text))


class MessageActions(QWidget):
    """A row of small buttons under a message.

    Signals:
        requested(str, str): an action ("regenerate", "edit", "fork", "delete") and its
            argument (for "regenerate", the spec of another model, or "" for the same).
    """

    requested = Signal(str, str)

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageActions")
        self.choices: Callable[[], list[ModelChoice]] = list
        self._row = layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        if role == "assistant":
            regenerate = self._button("regenerate", "Regenerate", "Answer again, as a new version")
            regenerate.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            self.models_menu = QMenu(regenerate)
            self.models_menu.aboutToShow.connect(self._fill_models)
            regenerate.setMenu(self.models_menu)
        if role == "user":
            self._button("edit", "Edit", "Change this message and send it again, as a new branch")
        self._button("fork", "Fork", "Continue from here in a new conversation")
        copy = self._button("copy", "Copy", "Copy this message", emits=False)
        copy.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.copy_menu = QMenu(copy)
        self.copy_markdown = self.copy_menu.addAction("Copy as Markdown")
        self.copy_plain = self.copy_menu.addAction("Copy as plain text")
        copy.setMenu(self.copy_menu)
        self._button("delete", "Delete", "Delete this message and the replies below it")
        layout.addStretch(1)

    def _button(self, name: str, text: str, tip: str, *, emits: bool = True) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(text)
        button.setAutoRaise(True)
        if emits:
            button.clicked.connect(lambda _checked=False: self.requested.emit(name, ""))
        self._row.addWidget(button)
        self.buttons[name] = button
        return button

    def _fill_models(self) -> None:
        self.models_menu.clear()
        same = self.models_menu.addAction("With the same model")
        same.triggered.connect(lambda _c=False: self.requested.emit("regenerate", ""))
        self.models_menu.addSeparator()
        for label, spec, enabled in self.choices():
            action = self.models_menu.addAction(label)
            action.setEnabled(enabled)
            action.triggered.connect(lambda _c=False, s=spec: self.requested.emit("regenerate", s))
