"""File > Documents…: collections of the person's own files, indexed in the background.

The indexing runs in a worker (bridge.Task); its progress reaches the bar through a
queued signal, so the window keeps running. Whether search is hybrid or keywords only
is said, with what to do about it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TandemError
from app.services.documents import KEYWORDS_ONLY_NOTE, DocumentsService, IndexProgress, IndexReport
from app.ui import alerts
from app.ui.bridge import Task
from app.ui.widgets.plain import plain_label

COLUMNS = ("Collection", "Files indexed", "Refused", "Passages", "Search", "Folders")


class _Progress(QObject):
    """Carries progress from the worker to the GUI thread."""

    moved = Signal(object)


class DocumentsDialog(QDialog):
    """Signals:
    indexed(object): an indexing run ended, with its IndexReport.
    """

    indexed = Signal(object)

    def __init__(self, documents: DocumentsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.documents = documents
        self.setWindowTitle("Documents")
        self.resize(860, 420)
        self._task: Task | None = None
        self._progress = _Progress(self)
        self._progress.moved.connect(self._on_progress)

        self.mode_label = plain_label("")
        self.mode_label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Collections")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Indexing progress")
        self.bar.setVisible(False)
        self.status = plain_label("")
        self.status.setWordWrap(True)
        self.add_button = QPushButton("Add folder…")
        self.reindex_button = QPushButton("Reindex")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.reindex_button.clicked.connect(self._on_reindex_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        for button in (self.add_button, self.reindex_button, self.remove_button):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.refresh()

    @property
    def busy(self) -> bool:
        return self._task is not None

    def refresh(self) -> None:
        chosen = self.documents.embedding_model(fetch=False)
        if chosen is None:
            self.mode_label.setText(
                KEYWORDS_ONLY_NOTE + " The built-in model is fetched on the first indexing "
                "outside private mode."
            )
        else:
            self.mode_label.setText(
                f"Search is hybrid: keywords (BM25) and vectors from {chosen.entry.name}, "
                "run on this device. Your files never leave it unless you send a passage "
                "to a cloud model."
            )
        rows = self.documents.collections()
        self.table.setRowCount(len(rows))
        for number, r in enumerate(rows):
            if not r.chunks:
                search = "-"
            else:
                search = "hybrid" if r.with_vectors == r.chunks else "keywords only"
            values = (r.name, f"{r.indexed}/{r.files}", str(r.refused), f"{r.chunks:,}",
                      search, "; ".join(r.roots))  # fmt: skip
            for column, value in enumerate(values):
                self.table.setItem(number, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        for button in (self.reindex_button, self.remove_button):
            button.setEnabled(bool(rows) and not self.busy)
        self.add_button.setEnabled(not self.busy)

    def selected_collection(self) -> str | None:
        row = self.table.currentRow()
        if row < 0 and self.table.rowCount():
            row = 0
        item = self.table.item(row, 0) if row >= 0 else None
        return item.text() if item is not None else None

    # ----- work

    def add_paths(self, name: str, paths: list[Path]) -> None:
        """Add files or folders to a collection and index them in the background."""
        self._run(lambda: self.documents.add(name, paths, self._progress.moved.emit))

    def reindex(self, name: str) -> None:
        self._run(lambda: self.documents.sync(name, self._progress.moved.emit))

    def _run(self, work: object) -> None:
        if self.busy:
            return
        self.bar.setRange(0, 0)  # busy until the first file is counted
        self.bar.setVisible(True)
        self.status.setText("Looking for files…")
        task = Task(work)  # type: ignore[arg-type]
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        self._task = task.start()
        self.refresh()

    def _on_progress(self, progress: object) -> None:
        if not isinstance(progress, IndexProgress) or progress.finished:
            return
        self.bar.setRange(0, progress.total)
        self.bar.setValue(progress.done)
        self.status.setText(
            f"Indexing {progress.done} of {progress.total}: {Path(progress.current).name}"
        )
        self.refresh()  # the counts of the collection grow as its files are done

    def _on_done(self, report: object) -> None:
        self._task = None
        self.bar.setVisible(False)
        if isinstance(report, IndexReport):
            lines = [
                f"{report.collection}: {report.indexed} indexed, {report.unchanged} unchanged, "
                f"{report.removed} removed, {len(report.refused)} refused."
            ]
            lines += [f"Refused {r.message}" for r in report.refused[:8]]
            if len(report.refused) > 8:
                lines.append(f"…and {len(report.refused) - 8} more.")
            if report.keywords_only:
                lines.append(report.note)
            self.status.setText("\n".join(lines))
            self.indexed.emit(report)
        self.refresh()

    def _on_failed(self, exc: object) -> None:
        self._task = None
        self.bar.setVisible(False)
        message = exc.message if isinstance(exc, TandemError) else str(exc)
        self.status.setText(message)
        alerts.warning(self, message)
        self.refresh()

    # ----- buttons

    def _on_add_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if not folder:
            return
        name, ok = QInputDialog.getText(
            self, "Collection", "Add to the collection named:", text=Path(folder).name
        )
        if ok and name.strip():
            self.add_paths(name.strip(), [Path(folder)])

    def _on_reindex_clicked(self) -> None:
        name = self.selected_collection()
        if name is not None:
            self.reindex(name)

    def _on_remove_clicked(self) -> None:
        name = self.selected_collection()
        if name is None:
            return
        chosen = alerts.choose(
            self, "Remove collection",
            f"Forget the collection {name}? Your files are not touched.", ["Remove"],
        )  # fmt: skip
        if chosen == 0:
            self.documents.remove(name)
            self.status.setText(f"Removed {name}.")
            self.refresh()
