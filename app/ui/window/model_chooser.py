"""Which model each column talks to: the pickers' lists, the default at start, a file
opened from disk, and loading a local model in the background."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.backends.local.supervisor import LoadedModel, LocalBackend
from app.core.errors import TandemError
from app.library.installed import list_installed
from app.services.models import default_model_spec
from app.services.workspace import Workspace
from app.ui import alerts
from app.ui.bridge import Bridge, Task
from app.ui.chat.pane import ChatPane
from app.ui.window.status_bar import StatusBar
from app.ui.window.toolbar import MainToolbar


class ModelChooser(QObject):
    """Signals:
    failed(object): a TandemError to show.
    notice(str): something to say in the chat (no model installed yet).
    """

    failed = Signal(object)
    notice = Signal(str)

    def __init__(
        self,
        workspace: Workspace,
        panes: dict[str, ChatPane],
        toolbar: MainToolbar,
        status: StatusBar,
        bridge: Bridge,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.workspace = workspace
        self.engine = workspace.engine()
        self.panes = panes
        self.toolbar = toolbar
        self.status = status
        self.bridge = bridge
        self._load_task: Task | None = None
        # What each column used before a local file started loading, to go back to when
        # the file is refused: (spec, backend, name).
        self._before: dict[str, tuple[str, object, str]] = {}
        self._loading_side = "a"
        for side in panes:
            picker = toolbar.picker(side)
            picker.picked.connect(lambda spec, side=side: self.choose(side, spec))
        toolbar.model_picker.open_file_requested.connect(self.open_file)

    def refresh(self, select_default: bool = False) -> None:
        models_dir = self.workspace.paths.models_dir
        local = list_installed(models_dir)
        providers = self.workspace.providers()
        for side in self.panes:
            self.toolbar.picker(side).populate(local, providers, self.workspace.private_mode)
        if not select_default:
            return
        spec = default_model_spec(self.workspace.settings, models_dir)
        if spec is not None:
            self.choose("a", spec)
        else:
            self.notice.emit(
                "No model is installed yet. Run `tandem-cli models fetch-default`, or open "
                "a .gguf file with “Open GGUF file…”."
            )

    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._parent,
            "Open a GGUF model",
            str(Path.home()),
            "GGUF models (*.gguf);;All files (*)",
        )
        if path:
            self.choose("a", f"local:{Path(path)}")

    def choose(self, side: str, spec: str) -> None:
        """Switch a column to another model; its conversation goes on. A model that cannot
        be used is never selected: the column keeps the one it had, and says why."""
        pane = self.panes[side]
        picker = self.toolbar.picker(side)
        try:
            backend = self.workspace.backend_for(spec)
        except TandemError as exc:
            picker.forget(spec)
            self._refuse(exc)
            return
        before = pane.service.backend
        self._before[side] = (
            picker.current_spec(),
            before,
            before.name if before is not None else "",
        )
        picker.select(spec)
        pane.service.backend = backend
        pane.set_name(backend.name)
        if isinstance(backend, LocalBackend):
            self._loading_side = side
            self._load_local(backend)

    def ensure_chosen(self, side: str) -> None:
        """A column whose picker shows a model uses that model (compare just turned on)."""
        if self.panes[side].service.backend is not None:
            return
        picker = self.toolbar.picker(side)
        spec = picker.shown_spec() or self.toolbar.picker("a").current_spec()
        if spec:
            self.choose(side, spec)

    def _refuse(self, error: object) -> None:
        """Say why a model was refused, there and then: the person just chose it."""
        message = error.message if isinstance(error, TandemError) else str(error)
        alerts.refuse(self._parent, "This model cannot be used", message)

    def rebuild_cloud(self) -> None:
        """Build the cloud columns' backends again (private mode changed)."""
        for side in self.panes:
            picker = self.toolbar.picker(side)
            picker.set_private(self.workspace.private_mode)
            spec = picker.current_spec()
            if spec and not spec.startswith("local:"):
                self.choose(side, spec)

    def _load_local(self, backend: LocalBackend) -> None:
        params = self.panes["a"].service.params
        self.status.start_loading()
        progress = self.bridge.load_progress.emit
        task = Task(lambda: self.engine.load(backend.model_path, params, on_progress=progress))
        task.succeeded.connect(self._on_loaded)
        task.failed.connect(self._on_load_failed)
        self._load_task = task.start()

    def _on_loaded(self, loaded: LoadedModel) -> None:
        self.status.end_loading()
        self.status.update_ram()
        alerts.info(self._parent, f"Loaded {Path(str(loaded.path)).name}")

    def _on_load_failed(self, error: object) -> None:
        self.status.end_loading()
        side = self._loading_side
        picker = self.toolbar.picker(side)
        refused = picker.current_spec()
        spec, backend, name = self._before.pop(side, ("", None, ""))
        pane = self.panes[side]
        pane.service.backend = backend  # type: ignore[assignment]
        pane.set_name(name or ("A" if side == "a" else "B"))
        picker.forget(refused)
        if spec:
            picker.select(spec)
        if isinstance(backend, LocalBackend):
            self._load_local(backend)  # the model it had before, back in the engine
        self._refuse(error)
