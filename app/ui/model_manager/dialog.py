"""The model manager: the catalog with fit labels, the download queue, installed models.

Each tab is its own widget (catalog_tab, downloads_tab, installed_tab) that says what the
person asked for with a signal; this dialog does it. Downloads run on the library's
DownloadQueue (its own worker thread), whose progress comes back as a queued signal;
imports run through bridge.Task. The models folder is watched, so files that appear or
leave show up without a refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QTabWidget, QVBoxLayout, QWidget

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
from app.ui.model_manager.catalog_tab import CATALOG_COLUMNS, CatalogTab
from app.ui.model_manager.download_row import DownloadRow
from app.ui.model_manager.downloads_tab import DownloadsTab
from app.ui.model_manager.installed_tab import INSTALLED_COLUMNS, InstalledTab
from app.ui.theme import text_style
from app.ui.widgets.plain import plain_label, show_plain

__all__ = ["CATALOG_COLUMNS", "INSTALLED_COLUMNS", "ModelManager"]

CATALOG, DOWNLOADS, INSTALLED = range(3)


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
        self._import_task: Task | None = None

        self.hardware_label = plain_label()  # device names come from the system
        self.hardware_label.setAccessibleName("This computer")
        self.status = plain_label()  # file names and download errors
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.downloads_tab = DownloadsTab()
        self.catalog_tab = CatalogTab(self.catalog, self.models_dir, self.downloads_tab.busy)
        self.installed_tab = InstalledTab(self.models_dir)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.catalog_tab, "Catalog")
        self.tabs.addTab(self.downloads_tab, "Downloads")
        self.tabs.addTab(self.installed_tab, "Installed")
        layout = QVBoxLayout(self)
        layout.addWidget(self.hardware_label)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        # The widgets by the names callers know.
        catalog, installed = self.catalog_tab, self.installed_tab
        self.search, self.family, self.size_limit = (
            catalog.search,
            catalog.family,
            catalog.size_limit,
        )
        self.fits_only, self.table, self.detail = catalog.fits_only, catalog.table, catalog.detail
        self.download_button = catalog.download_button
        self.installed_table, self.import_button = installed.table, installed.import_button
        self.link_instead, self.show_button = installed.link_instead, installed.show_button
        self.delete_button = installed.delete_button

        self.catalog_tab.download_requested.connect(self.download)
        self.downloads_tab.pause_requested.connect(self._on_pause_requested)
        self.downloads_tab.clear_requested.connect(self.clear_finished)
        self.installed_tab.import_requested.connect(self.import_file)
        self.installed_tab.show_requested.connect(self.show_in_folder)
        self.installed_tab.delete_requested.connect(self.delete_selected)
        self._progress.connect(self._on_progress)
        self.queue = DownloadQueue(
            self.models_dir,
            self._progress.emit,
            on_request=None if ledger is None else ledger.append,
            policy=self._policy,
        )
        self.downloads_tab.cancel_requested.connect(self.queue.cancel)
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

    # ----- catalog

    def set_hardware(self, hardware: Hardware) -> None:
        """Recompute every fit label for `hardware` (e.g. once the engine reports its GPU)."""
        self.hardware = hardware
        fits = {
            e.id: assess_fit(estimate_for_catalog(e, self.context_length), hardware)
            for e in self.catalog.models
        }
        self.hardware_label.setText(f"This computer: {hardware.describe()}")
        self.catalog_tab.set_fits(fits)

    def refresh_catalog(self) -> None:
        self.catalog_tab.refresh()

    def visible_models(self) -> list[CatalogModel]:
        return self.catalog_tab.visible_models()

    def select_catalog_model(self, model_id: str) -> bool:
        return self.catalog_tab.select(model_id)

    def selected_catalog_model(self) -> CatalogModel | None:
        return self.catalog_tab.selected()

    def fit_of(self, model_id: str) -> Fit:
        return self.catalog_tab.fits[model_id]

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
        fit = self.fit_of(entry.id)
        if fit.label is FitLabel.TOO_BIG and not alerts.ask(
            self, "Model too big", f"{entry.name}: {fit.reason}\n\nDownload it anyway?"
        ):
            return False
        self._show_status(f"{entry.name}: {fit.reason}")
        self.queue.enqueue(entry)
        self.tabs.setCurrentIndex(DOWNLOADS)
        return True

    def _on_progress(self, progress: DownloadProgress) -> None:
        entry = self.catalog.by_id(progress.model_id)
        if entry is None:
            return
        self.downloads_tab.show_progress(entry, progress)
        if progress.state is DownloadState.DONE and progress.path is not None:
            self.refresh_installed()
            self.refresh_catalog()
            self._announce(progress.path)
        elif progress.state is DownloadState.FAILED:
            self._show_error(progress.message)
        elif progress.state.finished or progress.state is DownloadState.PAUSED:
            self.catalog_tab.show_selection()

    def _on_pause_requested(self, model_id: str) -> None:
        row = self.downloads_tab.rows.get(model_id)
        if row is not None and row.state is DownloadState.PAUSED:
            self.queue.resume(model_id)
        else:
            self.queue.pause(model_id)

    def download_row(self, model_id: str) -> DownloadRow | None:
        return self.downloads_tab.rows.get(model_id)

    def clear_finished(self) -> None:
        self.queue.clear_finished()
        self.downloads_tab.remove_finished()

    # ----- installed

    def refresh_installed(self) -> None:
        models = list_installed(self.models_dir)
        self.installed_models = models
        statuses = []
        for m in models:
            if m.problem or m.info is None:
                statuses.append(m.problem or "?")
                continue
            fit = assess_fit(estimate_for_file(m.info, self.context_length), self.hardware)
            statuses.append(str(fit.label) + (" · link" if m.linked_to else ""))
        self.installed_tab.show_models(models, statuses)

    def selected_installed(self) -> InstalledModel | None:
        return self.installed_tab.selected()

    def select_installed(self, model_id: str) -> bool:
        return self.installed_tab.select(model_id)

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
        warnings = " ".join(result.warnings)
        self.refresh_installed()
        self.refresh_catalog()
        self.tabs.setCurrentIndex(INSTALLED)
        self._show_status(f"Imported {result.path.name}. {warnings}".strip())
        self._announce(result.path)

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
        show_plain(self.status, text)

    def _show_error(self, text: str) -> None:
        self.status.setStyleSheet(text_style("error"))
        show_plain(self.status, text)

    def shutdown(self) -> None:
        """Pause the running download (it resumes next time) and stop the worker."""
        self._poll.stop()
        self.queue.shutdown()
