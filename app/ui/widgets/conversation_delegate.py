"""How one conversation looks in the sidebar: its title, and under it, smaller, when it
was last used and with which model."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

SUBTITLE_ROLE = Qt.ItemDataRole.UserRole + 2


def when(moment: datetime, now: datetime | None = None) -> str:
    """`14:05` today, `Mon 14:05` this week, `3 Nov` this year, else `3 Nov 2025`."""
    now = now or datetime.now(moment.tzinfo)
    if moment.date() == now.date():
        return f"{moment:%H:%M}"
    if 0 < (now.date() - moment.date()).days < 7:
        return f"{moment:%a %H:%M}"
    if moment.year == now.year:
        return f"{moment.day} {moment:%b}"
    return f"{moment.day} {moment:%b %Y}"


class ConversationDelegate(QStyledItemDelegate):
    """Draws an item's text, and its SUBTITLE_ROLE text in a second, muted line."""

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        title = QFont(option.font)
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        return title, small

    def sizeHint(  # noqa: N802 - Qt override
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        title, small = self._fonts(option)
        height = QFontMetrics(title).height() + 10
        if index.data(SUBTITLE_ROLE):
            height += QFontMetrics(small).height() + 2
        return QSize(160, height)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        subtitle = str(index.data(SUBTITLE_ROLE) or "")
        if not subtitle:
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        text = option.text
        option.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        rect: QRect = option.rect.adjusted(8, 5, -8, -5)
        title_font, small = self._fonts(option)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = option.palette
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setFont(title_font)
        painter.setPen(palette.color(role))
        line = QFontMetrics(title_font)
        shown = line.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect.x(), rect.y() + line.ascent(), shown)
        painter.setFont(small)
        muted = palette.color(role if selected else QPalette.ColorRole.PlaceholderText)
        painter.setPen(muted)
        small_line = QFontMetrics(small)
        shown = small_line.elidedText(subtitle, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect.x(), rect.y() + line.height() + 2 + small_line.ascent(), shown)
        painter.restore()
