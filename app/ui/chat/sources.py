"""The sources under an answer: the passages it was given, numbered as the prompt
numbered them, each opening its passage. They come from what was retrieved, never from
what the model wrote."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.ui.chat.message_widget import MessageWidget
from app.ui.widgets.plain import escape, plain_label, show_markup


def _where(source: dict[str, object]) -> str:
    page = source.get("page")
    return Path(str(source.get("file", ""))).name + (f", page {page}" if page else "")


class SourcesWidget(QWidget):
    """Signals:
    opened(int): the person opened source number N (from 1).
    """

    opened = Signal(int)

    def __init__(self, sources: list[dict[str, object]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sources = sources
        self.setAccessibleName("Sources")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(plain_label("Sources"))
        self.rows: list[QLabel] = []
        for number, source in enumerate(sources, start=1):
            row = QLabel()
            row.setWordWrap(True)
            excerpt = str(source.get("excerpt", ""))[:160]
            show_markup(
                row,
                f"<a href='{number}'>[{number}] {escape(_where(source))}</a> "
                f"<span>{escape(excerpt)}</span>",
            )
            row.linkActivated.connect(lambda link: self._open(int(link)))
            layout.addWidget(row)
            self.rows.append(row)
        self.last_dialog: PassageDialog | None = None

    def _open(self, number: int) -> None:
        self.opened.emit(number)
        self.last_dialog = PassageDialog(self.sources[number - 1], number, self)
        self.last_dialog.open()


class PassageDialog(QDialog):
    """One source: where it is, and the passage itself (read again from the file)."""

    def __init__(self, source: dict[str, object], number: int, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Source [{number}]: {_where(source)}")
        self.resize(640, 420)
        self.where = plain_label(f"{source.get('file', '')}" + (
            f" · page {source['page']}" if source.get("page") else ""
        ))  # fmt: skip
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setPlainText(_passage(source))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


def _passage(source: dict[str, object]) -> str:
    """The passage's characters, read from the document again; the excerpt if it is gone."""
    from app.core.errors import DocumentRefused
    from app.library.documents.parse import parse_document

    start, end = source.get("start"), source.get("end")
    try:
        document = parse_document(Path(str(source.get("file", ""))))
    except DocumentRefused:
        return str(source.get("excerpt", ""))
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(document.text):
        return document.text[start:end]
    return str(source.get("excerpt", ""))


def show_sources(message: QWidget, sources: list[dict[str, object]]) -> SourcesWidget | None:
    """Put the sources under an answer's widget (nothing when there are none)."""
    layout = message.layout()
    if not sources or layout is None:
        return None
    widget = SourcesWidget(sources, message)
    if isinstance(message, MessageWidget):
        message.add_block(widget, above=False)  # under the chips, with the version switch
    else:
        layout.addWidget(widget)
    message.setProperty("hasSources", True)
    return widget
