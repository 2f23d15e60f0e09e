"""Where the user writes: Enter sends, Shift+Enter is a new line, Esc stops; "/" in an
empty composer lists the saved prompts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.widgets.plain import tooltip

TEXT_ROLE = Qt.ItemDataRole.UserRole
_PREVIEW_CHARS = 70
_ROWS_SHOWN = 6


class NamedText(Protocol):
    """A saved prompt as the list shows it."""

    @property
    def name(self) -> str: ...
    @property
    def text(self) -> str: ...


class PromptList(QListWidget):
    """The saved prompts matching what follows the "/", above the message box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Saved prompts")
        self.setAccessibleDescription("Enter inserts the prompt, Escape closes the list")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the message box
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.hide()

    def show_prompts(self, prompts: Sequence[NamedText]) -> None:
        self.clear()
        for prompt in prompts:
            preview = " ".join(prompt.text.split())
            if len(preview) > _PREVIEW_CHARS:
                preview = preview[: _PREVIEW_CHARS - 1] + "…"
            item = QListWidgetItem(f"{prompt.name} — {preview}")
            item.setData(TEXT_ROLE, prompt.text)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, prompt.name)
            item.setToolTip(tooltip(prompt.text[:2000]))
            self.addItem(item)
        if not prompts:
            item = QListWidgetItem("No saved prompt matches")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(item)
        else:
            self.setCurrentRow(0)
        rows = min(self.count(), _ROWS_SHOWN)
        self.setFixedHeight(rows * max(1, self.sizeHintForRow(0)) + 2 * self.frameWidth() + 2)
        self.show()

    def step(self, by: int) -> None:
        if self.count() and self.item(0).flags() & Qt.ItemFlag.ItemIsEnabled:
            self.setCurrentRow(max(0, min(self.count() - 1, self.currentRow() + by)))

    def chosen_text(self) -> str | None:
        item = self.currentItem()
        return None if item is None else item.data(TEXT_ROLE)


class _Editor(QPlainTextEdit):
    submit = Signal()
    escape = Signal()

    def __init__(self, prompts: PromptList) -> None:
        super().__init__()
        self._prompts = prompts
        self.insert_prompt: Callable[[], None] = lambda: None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if self._prompts.isVisible():
            if enter:
                self.insert_prompt()
                return
            if event.key() == Qt.Key.Key_Escape:
                self._prompts.hide()
                return
            if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                self._prompts.step(-1 if event.key() == Qt.Key.Key_Up else 1)
                return
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submit.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Signals:
    send_requested(str): the user sent this text.
    stop_requested(): the user pressed Stop or Esc while an answer streams.
    """

    send_requested = Signal(str)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt_list = PromptList()
        # The saved prompts whose name or text holds the words typed after "/".
        self.prompt_source: Callable[[str], Sequence[NamedText]] | None = None
        self.editor = _Editor(self.prompt_list)
        self.editor.insert_prompt = self.insert_prompt
        self._inserting = False
        self.editor.setAccessibleName("Message")
        self.editor.setPlaceholderText(
            "Message (Enter to send, Shift+Enter for a new line, / for a saved prompt)"
        )
        self.editor.setTabChangesFocus(True)
        self.editor.setFixedHeight(72)
        self.button = QPushButton("Send")
        self.button.setObjectName("sendButton")
        self.button.setAccessibleName("Send")
        self.button.setMinimumWidth(80)
        self.setStyleSheet(
            "QPlainTextEdit { border: 1px solid palette(mid); border-radius: 10px; "
            "padding: 4px 6px; background: palette(base); }"
            "QPlainTextEdit:focus { border: 1px solid palette(highlight); }"
            "QPushButton#sendButton { background: palette(highlight); "
            "color: palette(highlighted-text); border: none; border-radius: 10px; "
            "padding: 8px 16px; font-weight: 600; }"
            "QPushButton#sendButton:focus { border: 2px solid palette(text); }"
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 8)
        outer.setSpacing(4)
        outer.addWidget(self.prompt_list)
        self._row = QHBoxLayout()
        self._row.addWidget(self.editor, 1)
        self._row.addWidget(self.button)
        outer.addLayout(self._row)
        self.prompt_list.itemActivated.connect(lambda _item: self.insert_prompt())
        self.prompt_list.itemClicked.connect(lambda _item: self.insert_prompt())
        self.editor.textChanged.connect(self._on_text_changed)
        self.editor.submit.connect(self._on_submit)
        self.editor.escape.connect(self._on_escape)
        self.button.clicked.connect(self._on_button)
        self._generating = False

    @property
    def generating(self) -> bool:
        return self._generating

    def add_tool(self, widget: QWidget) -> None:
        """A small control beside Send (the preset chooser)."""
        self._row.insertWidget(self._row.count() - 1, widget)

    def _on_text_changed(self) -> None:
        text = self.text()
        listing = self.prompt_source is not None and text.startswith("/") and "\n" not in text
        if self._inserting or not listing:
            self.prompt_list.hide()
            return
        assert self.prompt_source is not None
        self.prompt_list.show_prompts(list(self.prompt_source(text[1:])))

    def insert_prompt(self) -> None:
        """The chosen saved prompt takes the place of the "/" and what follows it."""
        chosen = self.prompt_list.chosen_text()
        if chosen is None:
            return
        self.prompt_list.hide()
        self._inserting = True
        try:
            self.set_text(chosen)
        finally:
            self._inserting = False
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.editor.setFocus()

    def set_generating(self, generating: bool) -> None:
        self._generating = generating
        self.button.setText("Stop" if generating else "Send")
        self.button.setAccessibleName("Stop" if generating else "Send")
        self.button.setToolTip("Stop the answer (Esc)" if generating else "Send (Enter)")

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text)

    def _on_button(self) -> None:
        if self._generating:
            self.stop_requested.emit()
        else:
            self._on_submit()

    def _on_escape(self) -> None:
        if self._generating:
            self.stop_requested.emit()

    def _on_submit(self) -> None:
        if self._generating:
            return
        text = self.text()
        if text.strip():
            self.editor.clear()
            self.send_requested.emit(text)
