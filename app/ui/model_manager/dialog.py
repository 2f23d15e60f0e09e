"""The model manager: the catalog with fit labels, the download queue, installed models.

Downloads run on the library's DownloadQueue (its own worker thread); its progress comes
back here as a queued signal. Imports copy on a plain thread for the same reason. The
models folder is watched, so files that appear or leave show up without a refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core import units
from app.core.errors import TandemError
from app.core.reach import MODEL_HUB_URL, NetworkPolicy
from app.library.catalog import CatalogModel, load_catalog
from app.library.download_queue import DownloadQueue
from app.library.downloads import DownloadProgress, DownloadState
from app.library.hardware import (
    Fit,
    FitLabel,
    Hardware,
    assess_fit,
    detect_hardware,
    estimate_for_catalog,
    estimate_for_file,
)
from app.library.import_model import ImportMode, ImportResult, import_gguf
from app.library.installed import InstalledModel, list_installed, remove_model
from app.library.watcher import FolderWatcher
from app.store.ledger import Ledger
from app.store.paths import AppPaths
from app.ui import alerts
from app.ui.bridge import Task
from app.ui.model_manager.download_row import DownloadRow
from app.ui.theme import colour, text_style

CATALOG_COLUMNS = ("Model", "Family", "Params", "Quant", "Size", "Context", "RAM need", "Fit",
                   "Licence")  # fmt: skip
INSTALLED_COLUMNS = ("Model", "Size", "Architecture", "Quant", "Context", "Status")
SIZE_LIMITS = (("Any size", None), ("Under 1 GB", 1e9), ("Under 3 GB", 3e9), ("Under 6 GB", 6e9))
FIT_MEANINGS = {FitLabel.FITS: "good", FitLabel.TIGHT: "caution", FitLabel.TOO_BIG: "error"}
_ROLE = Qt.ItemDataRole.UserRole


class ModelManager(QDialog):
    """Signals:
    installed(Path): a model finished downloading or importing and is ready to load.
    removed(Path): an installed model was deleted.

    Closing the dialog hides it; downloads go on. Call `shutdown()` when the app quits:
    it pauses the running download, whose partial file resumes next time.
    """

    installed = Signal(object)
    removed = Signal(object)
    _progress = Signal(object)  # DownloadProgress, from the download worker thread

    def __init__(
        self,
        paths: AppPaths,
        on_installed: Callable[[Path], None] | None = None,
        parent: QWidget | None = None,
        *,
        gpu_offload_supported: bool | None = None,
        context_length: int | None = None,
        is_private: Callable[[], bool] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(980, 600)
        self.paths = paths
        self.models_dir = paths.models_dir
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._on_installed = on_installed
        self._is_private = is_private
        self.context_length = context_length
        self.catalog = load_catalog()
        self.hardware = detect_hardware(gpu_offload_supported)
        self._fits: dict[str, Fit] = {}
        self._rows: dict[str, DownloadRow] = {}
        self._import_task: Task | None = None

        self.hardware_label = QLabel()
        self.hardware_label.setAccessibleName("This computer")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_catalog(), "Catalog")
        self.tabs.addTab(self._build_downloads(), "Downloads")
        self.tabs.addTab(self._build_installed(), "Installed")
        layout = QVBoxLayout(self)
        layout.addWidget(self.hardware_label)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

        self._progress.connect(self._on_progress)
        self.queue = DownloadQueue(
            self.models_dir,
            self._progress.emit,
            on_request=None if ledger is None else ledger.append,
            policy=self._policy,
        )
        for job in self.queue.jobs():  # downloads left paused by an earlier run
            self._on_progress(job)
        self._watcher = FolderWatcher(self.models_dir)
        self._fs_watcher = QFileSystemWatcher([str(self.models_dir)], self)
        self._fs_watcher.directoryChanged.connect(self._on_folder_changed)
        self._poll = QTimer(self)
        self._poll.setInterval(3000)  # files still being copied in change size, not the folder
        self._poll.timeout.connect(self._on_folder_changed)
        self._poll.start()
        self.set_hardware(self.hardware)
        self.refresh_installed()

    # ----- building

    def _build_catalog(self) -> QWidget:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search models, families, uses…")
        self.search.setAccessibleName("Search the catalog")
        self.family = QComboBox()
        self.family.setAccessibleName("Family")
        self.family.addItem("All families", "")
        for family in self.catalog.families:
            self.family.addItem(family, family)
        self.size_limit = QComboBox()
        self.size_limit.setAccessibleName("Size")
        for label, limit in SIZE_LIMITS:
            self.size_limit.addItem(label, limit)
        self.fits_only = QCheckBox("Only models that fit")
        self.table = QTableWidget(0, len(CATALOG_COLUMNS))
        self.table.setAccessibleName("Catalog")
        self.table.setHorizontalHeaderLabels(CATALOG_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = QLabel("Choose a model to see what it is good for.")
        self.detail.setWordWrap(True)
        self.detail.setMinimumHeight(48)
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        for signal in (self.search.textChanged, self.family.currentIndexChanged,
                       self.size_limit.currentIndexChanged, self.fits_only.toggled):  # fmt: skip
            signal.connect(self.refresh_catalog)
        self.table.itemSelectionChanged.connect(self._on_catalog_selection)
        self.table.itemDoubleClicked.connect(lambda _item: self.download_selected())
        self.download_button.clicked.connect(self.download_selected)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.family)
        filters.addWidget(self.size_limit)
        filters.addWidget(self.fits_only)
        bottom = QHBoxLayout()
        bottom.addWidget(self.detail, 1)
        bottom.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignTop)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        return page

    def _build_downloads(self) -> QWidget:
        self.downloads_empty = QLabel("No downloads. Choose a model in the Catalog tab.")
        self.downloads_box = QVBoxLayout()
        self.downloads_box.addWidget(self.downloads_empty)
        self.downloads_box.addStretch(1)
        inner = QWidget()
        inner.setLayout(self.downloads_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(self.clear_finished)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(scroll, 1)
        layout.addWidget(clear, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _build_installed(self) -> QWidget:
        self.installed_table = QTableWidget(0, len(INSTALLED_COLUMNS))
        self.installed_table.setAccessibleName("Installed models")
        self.installed_table.setHorizontalHeaderLabels(INSTALLED_COLUMNS)
        self.installed_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.installed_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.installed_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.installed_table.verticalHeader().hide()
        self.installed_table.horizontalHeader().setStretchLastSection(True)
        self.import_button = QPushButton("Import GGUF…")
        self.link_instead = QCheckBox("Link instead of copying")
        self.link_instead.setToolTip(
            "Uses no extra space; the original file must stay where it is."
        )
        self.show_button = QPushButton("Show in folder")
        self.delete_button = QPushButton("Delete")
        self.import_button.clicked.connect(self.import_file)
        self.show_button.clicked.connect(self.show_in_folder)
        self.delete_button.clicked.connect(self.delete_selected)
        self.folder_label = QLabel(f"Models folder: {self.models_dir}")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.link_instead)
        buttons.addStretch(1)
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.delete_button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.installed_table, 1)
        layout.addLayout(buttons)
        return page

    # ----- catalog

    def set_hardware(self, hardware: Hardware) -> None:
        """Recompute every fit label for `hardware` (e.g. once the engine reports its GPU)."""
        self.hardware = hardware
        self._fits = {
            e.id: assess_fit(estimate_for_catalog(e, self.context_length), hardware)
            for e in self.catalog.models
        }
        self.hardware_label.setText(f"This computer: {hardware.describe()}")
        self.refresh_catalog()

    def visible_models(self) -> list[CatalogModel]:
        limit = self.size_limit.currentData()
        models = self.catalog.search(
            self.search.text(), self.family.currentData() or None,
            int(limit) if limit else None,
        )  # fmt: skip
        if self.fits_only.isChecked():
            models = [m for m in models if self._fits[m.id].label is FitLabel.FITS]
        return models

    def refresh_catalog(self) -> None:
        selected = self.selected_catalog_model()
        models = self.visible_models()
        self.table.setRowCount(len(models))
        for row, entry in enumerate(models):
            fit = self._fits[entry.id]
            installed = (self.models_dir / entry.file).exists()
            size = ("~" if entry.size_approximate else "") + units.size(entry.size_bytes)
            values = (entry.name + ("  ✓" if installed else ""), entry.family,
                      units.parameters(entry.parameters), entry.quantization, size,
                      f"{entry.context_length:,}", units.size(fit.ram_needed_bytes), str(fit.label),
                      entry.license)  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(_ROLE, entry.id)
                item.setToolTip(f"{entry.good_for}\n{fit.reason}")
                self.table.setItem(row, column, item)
            fit_item = self.table.item(row, CATALOG_COLUMNS.index("Fit"))
            if fit_item is not None:
                fit_item.setForeground(QBrush(QColor(colour(FIT_MEANINGS[fit.label]))))
                bold = fit_item.font()
                bold.setBold(True)
                fit_item.setFont(bold)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if selected is not None:
            self.select_catalog_model(selected.id)
        self._on_catalog_selection()

    def select_catalog_model(self, model_id: str) -> bool:
        for row in range(self.table.rowCount()):
            if self._id_at(self.table, row) == model_id:
                self.table.selectRow(row)
                return True
        return False

    def selected_catalog_model(self) -> CatalogModel | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self.catalog.by_id(self._id_at(self.table, rows[0].row()))

    @staticmethod
    def _id_at(table: QTableWidget, row: int) -> str:
        item = table.item(row, 0)
        return "" if item is None else str(item.data(_ROLE))

    def fit_of(self, model_id: str) -> Fit:
        return self._fits[model_id]

    def _on_catalog_selection(self) -> None:
        entry = self.selected_catalog_model()
        if entry is None:
            self.detail.setText("Choose a model to see what it is good for.")
            self.download_button.setEnabled(False)
            return
        fit = self._fits[entry.id]
        fit_colour = colour(FIT_MEANINGS[fit.label])
        gpu = "" if fit.gpu_layers == 0 else (
            " Suggested GPU layers: " + ("all" if fit.gpu_layers < 0 else str(fit.gpu_layers)) + "."
        )  # fmt: skip
        self.detail.setText(
            f"<b>{entry.name}</b> — {entry.good_for}<br>"
            f"<span style='color:{fit_colour}'>{fit.reason}</span>{gpu}<br>"
            f"<small>{entry.repo} · {entry.file}</small>"
        )
        installed = (self.models_dir / entry.file).exists()
        busy = entry.id in self._rows and not self._rows[entry.id].state.finished
        self.download_button.setText("Installed" if installed else "Download")
        self.download_button.setEnabled(not installed and not busy and entry.downloadable)

    # ----- downloads

    def download_selected(self) -> None:
        entry = self.selected_catalog_model()
        if entry is not None:
            self.download(entry)

    def download(self, entry: CatalogModel) -> bool:
        """Queue `entry`, after saying whether it fits; False if the person declined."""
        if not self._policy().may_reach(MODEL_HUB_URL).allowed:
            self._show_error(
                "Private mode is on: downloading would connect to Hugging Face. Turn private "
                "mode off to download models; importing a file you have works offline."
            )
            return False
        fit = self._fits[entry.id]
        if fit.label is FitLabel.TOO_BIG and not alerts.ask(
            self, "Model too big", f"{entry.name}: {fit.reason}\n\nDownload it anyway?"
        ):
            return False
        self._show_status(f"{entry.name}: {fit.reason}")
        self.queue.enqueue(entry)
        self.tabs.setCurrentIndex(1)
        return True

    def _row(self, model_id: str) -> DownloadRow | None:
        row = self._rows.get(model_id)
        entry = self.catalog.by_id(model_id)
        if row is None and entry is not None:
            row = DownloadRow(entry)
            row.pause_clicked.connect(self._on_pause_clicked)
            row.cancel_clicked.connect(self.queue.cancel)
            self._rows[model_id] = row
            self.downloads_box.insertWidget(self.downloads_box.count() - 1, row)
            self.downloads_empty.hide()
        return row

    def _on_progress(self, progress: DownloadProgress) -> None:
        row = self._row(progress.model_id)
        if row is None:
            return
        row.show_progress(progress)
        if progress.state is DownloadState.DONE and progress.path is not None:
            self.refresh_installed()
            self.refresh_catalog()
            self._announce(progress.path)
        elif progress.state is DownloadState.FAILED:
            self._show_error(progress.message)
        elif progress.state.finished or progress.state is DownloadState.PAUSED:
            self._on_catalog_selection()

    def _on_pause_clicked(self, model_id: str) -> None:
        row = self._rows.get(model_id)
        if row is not None and row.state is DownloadState.PAUSED:
            self.queue.resume(model_id)
        else:
            self.queue.pause(model_id)

    def download_row(self, model_id: str) -> DownloadRow | None:
        return self._rows.get(model_id)

    def clear_finished(self) -> None:
        self.queue.clear_finished()
        for model_id, row in list(self._rows.items()):
            if row.state.finished:
                row.deleteLater()
                del self._rows[model_id]
        self.downloads_empty.setVisible(not self._rows)

    # ----- installed

    def refresh_installed(self) -> None:
        models = list_installed(self.models_dir)
        self.installed_models = models
        self.installed_table.setRowCount(len(models))
        for row, m in enumerate(models):
            info = m.info
            if m.problem:
                status = m.problem
            else:
                assert info is not None
                fit = assess_fit(estimate_for_file(info, self.context_length), self.hardware)
                status = str(fit.label) + (" · link" if m.linked_to else "")
            values = (m.id, units.size(m.size_bytes), info.architecture if info else "?",
                      (info.quantization or "?") if info else "?",
                      f"{info.context_length:,}" if info and info.context_length else "?",
                      status)  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(_ROLE, str(m.path))
                item.setToolTip(str(m.path) + (f"\n→ {m.linked_to}" if m.linked_to else ""))
                self.installed_table.setItem(row, column, item)
        self.installed_table.resizeColumnsToContents()
        self.installed_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch
        )

    def selected_installed(self) -> InstalledModel | None:
        rows = self.installed_table.selectionModel().selectedRows()
        if not rows:
            return None
        path = self._id_at(self.installed_table, rows[0].row())
        return next((m for m in self.installed_models if str(m.path) == path), None)

    def select_installed(self, model_id: str) -> bool:
        for row, m in enumerate(self.installed_models):
            if m.id == model_id:
                self.installed_table.selectRow(row)
                return True
        return False

    def _on_folder_changed(self, *_args: object) -> None:
        if self._watcher.poll():
            self.refresh_installed()
            self.refresh_catalog()

    def import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            mode = ImportMode.LINK if self.link_instead.isChecked() else ImportMode.COPY
            self.import_path(Path(path), mode)

    def import_path(self, path: Path, mode: ImportMode = ImportMode.COPY) -> None:
        """Check and copy (or link) `path` on a worker thread; `installed` follows."""
        self._show_status(f"Checking and importing {path.name}…")
        self.import_button.setEnabled(False)

        task = Task(lambda: import_gguf(path, self.models_dir, mode))
        task.succeeded.connect(self._on_imported)
        task.failed.connect(self._on_import_failed)
        self._import_task = task.start()

    def _on_import_failed(self, error: Exception) -> None:
        if not isinstance(error, TandemError):
            error = TandemError(f"Importing the model failed: {error}")
        self._on_imported(error)

    def _on_imported(self, result: ImportResult | TandemError) -> None:
        self.import_button.setEnabled(True)
        if isinstance(result, TandemError):
            self._show_error(result.message)
            return
        path = result.path
        warnings = " ".join(result.warnings)
        self.refresh_installed()
        self.refresh_catalog()
        self.tabs.setCurrentIndex(2)
        self._show_status(f"Imported {path.name}. {warnings}".strip())
        self._announce(path)

    def show_in_folder(self) -> None:
        chosen = self.selected_installed()
        folder = chosen.path.parent if chosen else self.models_dir
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def delete_selected(self) -> None:
        chosen = self.selected_installed()
        if chosen is None:
            self._show_error("Choose an installed model to delete.")
            return
        what = "the link to" if chosen.linked_to else "the file of"
        if not alerts.ask(
            self,
            "Delete model",
            f"Delete {what} {chosen.id} ({units.size(chosen.size_bytes)})? This cannot be undone.",
        ):
            return
        try:
            removed = remove_model(str(chosen.path), self.models_dir)
        except TandemError as exc:
            self._show_error(exc.message)
            return
        self.refresh_installed()
        self.refresh_catalog()
        self._show_status(f"Deleted {removed.path.name}.")
        self.removed.emit(removed.path)

    # ----- shared

    def _announce(self, path: Path) -> None:
        self.installed.emit(path)
        if self._on_installed is not None:
            self._on_installed(path)

    def _policy(self) -> NetworkPolicy:
        return NetworkPolicy(private_mode=self._is_private is not None and self._is_private())

    def _show_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)

    def _show_error(self, text: str) -> None:
        self.status.setStyleSheet(text_style("error"))
        self.status.setText(text)

    def shutdown(self) -> None:
        """Pause the running download (it resumes next time) and stop the worker."""
        self._poll.stop()
        self.queue.shutdown()
