"""The conversations: pinned first, then by last activity; search across every message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TandemError
from app.store.history.records import DeletedConversation
from app.store.history.store import HistoryStore
from app.ui.widgets.conversation_delegate import SUBTITLE_ROLE, ConversationDelegate, when
from app.ui.widgets.file_name import export_file_name
from app.ui.widgets.plain import escape, show_markup, tooltip

logger = logging.getLogger(__name__)

_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"
ID_ROLE = Qt.ItemDataRole.UserRole
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 1


class HistorySidebar(QWidget):
    """Signals:
    open_requested(int, int): open conversation (id, message id or 0).
    deleted(int, str): a conversation was deleted (id, title); the window offers Undo.
    failed(object): a TandemError to show.
    """

    open_requested = Signal(int, int)
    deleted = Signal(int, str)
    failed = Signal(object)

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all messages")
        self.search.setAccessibleName("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Conversations")
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setWordWrap(False)
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_menu)
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)
        for key, action in ((Qt.Key.Key_F2, self.rename), (QKeySequence.StandardKey.Delete,
                                                            self.delete)):  # fmt: skip
            shortcut = QShortcut(QKeySequence(key), self.list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda act=action: self._on_current(act))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self._open_first)
        self.current_id: int | None = None
        self.closed = False
        self.last_deleted: DeletedConversation | None = None
        self.refresh()

    def refresh(self) -> None:
        if self.closed:
            return
        query = self.search.text().strip()
        self.list.clear()
        try:
            if query:
                self._show_hits(query)
            else:
                self._show_conversations()
        except TandemError as exc:
            self.failed.emit(exc)

    def close_store(self) -> None:
        """The window is closing: nothing may touch the history after this."""
        self.closed = True
        self._debounce.stop()

    def _show_conversations(self) -> None:
        conversations = self.store.list_conversations()
        by_id = {info.id: info for info in conversations}
        # A Compare pair is one entry, column A's; a B whose A is itself a B stays apart.
        pairs = {a: b for a, b in self.store.compare_pairs().items() if a in by_id and b in by_id}
        pairs = {a: b for a, b in pairs.items() if a not in pairs.values()}
        for info in conversations:
            if info.id in pairs.values():
                continue
            title = info.title or "New conversation"
            item = QListWidgetItem(("★ " if info.pinned else "") + title)
            item.setData(ID_ROLE, info.id)
            item.setData(MESSAGE_ROLE, 0)
            updated = info.updated_at.astimezone()
            model = info.default_model or ""
            partner = by_id.get(pairs.get(info.id, 0))
            if partner is not None:
                updated = max(updated, partner.updated_at.astimezone())
                model = f"{model or 'model'} vs {partner.default_model or 'model'}"
            item.setData(SUBTITLE_ROLE, " · ".join(p for p in (when(updated), model) if p))
            kind = "Compare: " if partner is not None else ""
            item.setData(
                Qt.ItemDataRole.AccessibleTextRole,
                f"{kind}{title}, {when(updated)}" + (f", {model}" if model else ""),
            )
            lines = [f"{kind}{title}", model, f"{updated:%Y-%m-%d %H:%M}"]
            item.setToolTip(tooltip("\n".join(line for line in lines if line)))
            self.list.addItem(item)
            if self.current_id in (info.id, pairs.get(info.id)):
                self.list.setCurrentItem(item)

    def _show_hits(self, query: str) -> None:
        hits = self.store.search(query, limit=50, highlight=(_MARK_OPEN, _MARK_CLOSE))
        if not hits:
            item = QListWidgetItem("Nothing found")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
            return
        for hit in hits:
            snippet = escape(hit.snippet).replace(_MARK_OPEN, "<b>").replace(_MARK_CLOSE, "</b>")
            plain = hit.snippet.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
            title = hit.conversation_title or "New conversation"
            item = QListWidgetItem()
            item.setData(ID_ROLE, hit.conversation_id)
            item.setData(MESSAGE_ROLE, hit.message_id)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{title}: {plain}")
            label = QLabel()
            show_markup(label, f"<small>{escape(title)}</small><br>{snippet}")
            label.setWordWrap(True)
            label.setContentsMargins(4, 2, 4, 2)
            item.setSizeHint(label.sizeHint())
            self.list.addItem(item)
            self.list.setItemWidget(item, label)

    def _on_current(self, action: Callable[[int], None]) -> None:
        """F2 or Delete on the selected conversation."""
        item = self.list.currentItem()
        if item is not None and item.data(ID_ROLE):
            action(int(item.data(ID_ROLE)))

    def _open_first(self) -> None:
        item = self.list.item(0)
        if item is not None and item.data(ID_ROLE):
            self._on_activated(item)

    def _on_activated(self, item: QListWidgetItem) -> None:
        cid = item.data(ID_ROLE)
        if cid:
            self.current_id = int(cid)
            self.open_requested.emit(int(cid), int(item.data(MESSAGE_ROLE) or 0))

    # ----- actions on one conversation

    def _on_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or not item.data(ID_ROLE):
            return
        cid = int(item.data(ID_ROLE))
        menu = QMenu(self)
        menu.addAction("Open", lambda: self._on_activated(item))
        menu.addAction("Rename…", lambda: self.rename(cid))
        pinned = item.text().startswith("★ ")
        menu.addAction("Unpin" if pinned else "Pin", lambda: self.set_pinned(cid, not pinned))
        menu.addAction("Duplicate", lambda: self.duplicate(cid))
        menu.addAction("Export as Markdown…", lambda: self.export(cid, "md"))
        menu.addAction("Export as JSON…", lambda: self.export(cid, "json"))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete(cid))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _guard(self, action: Callable[[], object]) -> None:
        try:
            action()
        except TandemError as exc:
            self.failed.emit(exc)
        self.refresh()

    def rename(self, cid: int, title: str | None = None) -> None:
        if title is None:
            current = self.store.get_conversation(cid).title or ""
            title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=current)
            if not ok:
                return
        self._guard(lambda: self.store.rename(cid, title.strip() or None))

    def set_pinned(self, cid: int, pinned: bool) -> None:
        self._guard(lambda: self.store.set_pinned(cid, pinned))

    def duplicate(self, cid: int) -> None:
        self._guard(lambda: self.store.duplicate_conversation(cid))

    def delete(self, cid: int) -> None:
        def do() -> None:
            title = self.store.get_conversation(cid).title or "New conversation"
            self.last_deleted = self.store.delete_conversation(cid)
            self.deleted.emit(cid, title)

        self._guard(do)

    def undo_delete(self) -> None:
        deleted = self.last_deleted
        if deleted is not None:
            self.last_deleted = None
            self._guard(lambda: self.store.restore(deleted))

    def import_file(self, path: str | None = None) -> int | None:
        """Add a conversation exported as JSON (by Tandem, here or elsewhere) and open it."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import conversation", str(Path.home()), "JSON (*.json)"
            )
            if not path:
                return None
        imported: list[int] = []

        def do() -> None:
            imported.append(self.store.import_file(Path(path)))

        self._guard(do)
        if not imported:
            return None
        self.open_requested.emit(imported[0], 0)
        return imported[0]

    def export(self, cid: int, fmt: str) -> None:
        name = export_file_name(self.store.get_conversation(cid).title, fmt)
        suggested = str(Path.home() / name)
        kind = "Markdown (*.md)" if fmt == "md" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", suggested, kind)
        if not path:
            return

        self._guard(lambda: self.store.export_file(cid, Path(path), fmt))
