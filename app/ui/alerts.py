"""Every message the window gives a person, modal or not, from one module.

Modal questions and notices go through here (one place for tests to patch, one look);
non-modal messages go to the window's status bar and the log, like a chat notice does.
Every text here may hold words Tandem did not write (a provider's error, a model or file
name), so message boxes show plain text; the status bar draws its message as plain text.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox, QStatusBar, QWidget

logger = logging.getLogger(__name__)


def message_box(
    parent: QWidget | None, title: str, text: str, icon: QMessageBox.Icon
) -> QMessageBox:
    """A message box that shows `text` as plain text, whatever it holds."""
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(icon)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    return box


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """A yes/no question; True for yes."""
    box = message_box(parent, title, text, QMessageBox.Icon.Question)
    yes = box.addButton(QMessageBox.StandardButton.Yes)
    box.addButton(QMessageBox.StandardButton.No)
    box.exec()
    return box.clickedButton() is yes


def refuse(parent: QWidget | None, title: str, text: str) -> None:
    """Something the person just chose cannot be used: say so at once, in a box."""
    logger.warning("refused: %s", text)
    box = message_box(parent, title, text, QMessageBox.Icon.Warning)
    box.addButton(QMessageBox.StandardButton.Ok)
    box.exec()


def about(parent: QWidget | None, title: str, text: str) -> None:
    """The About box: our own markup, every outside piece escaped (widgets.plain.escape)."""
    QMessageBox.about(parent, title, text)


def choose(
    parent: QWidget | None, title: str, text: str, options: list[str], *, warning: bool = True
) -> int | None:
    """Offer `options` and Cancel; the index of the chosen option, None for Cancel."""
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Question
    box = message_box(parent, title, text, icon)
    roles = [QMessageBox.ButtonRole.AcceptRole] + [QMessageBox.ButtonRole.ActionRole] * (
        len(options) - 1
    )
    buttons = [box.addButton(option, role) for option, role in zip(options, roles, strict=True)]
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return next((i for i, button in enumerate(buttons) if button is clicked), None)


def _status_bar_of(widget: QWidget | None) -> QStatusBar | None:
    window = widget.window() if widget is not None else None
    return window.statusBar() if isinstance(window, QMainWindow) else None


def info(widget: QWidget | None, text: str, timeout_ms: int = 4000) -> None:
    """A passing message in the window's status bar."""
    logger.info("status: %s", text)
    bar = _status_bar_of(widget)
    if bar is not None:
        bar.showMessage(text, timeout_ms)


def warning(widget: QWidget | None, text: str, timeout_ms: int = 8000) -> None:
    """Something went wrong that the person should notice, without stopping them."""
    logger.warning("shown to user: %s", text)
    bar = _status_bar_of(widget)
    if bar is not None:
        bar.showMessage(text, timeout_ms)
