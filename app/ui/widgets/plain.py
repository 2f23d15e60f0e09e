"""Text Tandem did not write, shown as text: never parsed as Qt rich text.

A QLabel in its default AutoText mode, a tooltip and a message box all render anything
that looks like HTML, and Qt's HTML loads `<img src=…>` from local files (a device or a
FIFO hangs or kills the window). So provider errors, model names, titles, file names and
hosts go through here: into a PlainText label, or escaped into our own markup.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def escape(text: str) -> str:
    """`text` as a piece of our own rich-text markup (line breaks kept)."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that shows its text as it is, whatever it holds."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


def show_plain(label: QLabel, text: str) -> None:
    """Show `text` in `label` as plain text (also if the label showed markup before)."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)


def show_markup(label: QLabel, markup: str) -> None:
    """Show our own markup; every outside piece of it must have gone through `escape`."""
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setText(markup)


def tooltip(text: str) -> str:
    """A tooltip that shows `text` as it is.

    Qt renders a tooltip as rich text when its first line looks like HTML, so the text is
    escaped and wrapped in a rich-text marker: the entities then read as the characters.
    """
    return f"<qt>{escape(text)}</qt>" if text else ""
