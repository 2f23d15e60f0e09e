"""The window's dialogs: models, providers, the privacy ledger, About, and the question
before a link in an answer is opened."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from app.core.messages import GenerationParams
from app.services.workspace import Workspace
from app.ui import alerts
from app.ui.link_target import confirmation, link_target

if TYPE_CHECKING:
    from app.ui.dialogs.local_api import LocalApiSwitch
    from app.ui.model_manager.dialog import ModelManager


class DialogOpener(QObject):
    """Signals:
    models_changed(): a model was installed or removed, or the providers changed.
    """

    models_changed = Signal()

    def __init__(
        self, workspace: Workspace, params: Callable[[], GenerationParams], parent: QWidget
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.workspace = workspace
        self.engine = workspace.engine()
        self._params = params
        self.model_manager: ModelManager | None = None
        self.api_switch: LocalApiSwitch | None = None
        if workspace.settings.local_api_on:  # left on last time: started once the window shows
            self.local_api_switch().start_later()

    def models(self) -> None:
        """The model manager: catalog, downloads, installed models (kept while hidden)."""
        from app.library.hardware import detect_hardware
        from app.ui.model_manager.dialog import ModelManager

        loaded = self.engine.loaded
        offload = loaded.gpu_offload_supported if loaded else None
        if self.model_manager is None:
            self.model_manager = ModelManager(
                self.workspace.paths,
                on_installed=lambda _path: self.models_changed.emit(),
                parent=self._parent,
                gpu_offload_supported=offload,
                context_length=self._params().context_length,
                is_private=lambda: self.workspace.private_mode,
                ledger=self.workspace.ledger,
            )
            self.model_manager.removed.connect(lambda _path: self.models_changed.emit())
        self.model_manager.set_hardware(detect_hardware(offload))
        self.model_manager.show()
        self.model_manager.raise_()

    def providers(self) -> None:
        from app.ui.dialogs.provider_list import ProviderList

        dialog = ProviderList(self.workspace, self._parent)
        dialog.changed.connect(self.models_changed)
        dialog.exec()

    def ledger(self) -> None:
        from app.ui.dialogs.ledger import LedgerDialog

        records = self.workspace.ledger.records()
        LedgerDialog(records, self.workspace.private_mode, self._parent).exec()

    def arena(self) -> None:
        from app.ui.arena.window import ArenaWindow

        ArenaWindow(self.workspace, self._parent).show()

    def usage(self) -> None:
        import dataclasses

        from app.ui.dialogs.usage import UsageDialog

        workspace = self.workspace

        def save_budget(budget: float | None) -> None:
            workspace.save(dataclasses.replace(workspace.settings, monthly_budget_usd=budget))

        UsageDialog(
            workspace.paths.history_db, self._parent,
            budget_usd=workspace.settings.monthly_budget_usd, save_budget=save_budget,
        ).exec()  # fmt: skip

    def local_api_switch(self) -> LocalApiSwitch:
        from app.ui.dialogs.local_api import LocalApiSwitch

        if self.api_switch is None:
            self.api_switch = LocalApiSwitch(self.workspace, self)
        return self.api_switch

    def local_api(self) -> None:
        from app.ui.dialogs.local_api import LocalApiDialog

        LocalApiDialog(self.local_api_switch(), self._parent).exec()

    def documents(self) -> None:
        from app.ui.dialogs.documents import DocumentsDialog

        DocumentsDialog(self.workspace.documents, self._parent).exec()

    def about_text(self) -> str:
        from app.ui.dialogs.about import about_text

        loaded = self.engine.loaded
        info = self.engine.file_info(loaded.path) if loaded is not None else None
        return about_text(loaded, info)

    def about(self) -> None:
        alerts.about(self._parent, "About Tandem", self.about_text())

    def open_link(self, url: QUrl) -> None:
        """Open a link from an answer in the browser, after asking where it really goes;
        other schemes never. What opens is exactly the address that was checked."""
        address = bytes(url.toEncoded().data()).decode("ascii", "replace")
        target = link_target(address)
        if not target.openable:
            reason = target.warnings[-1] if target.warnings else ""
            alerts.warning(self._parent, f"Not opened: {target.address} {reason}".strip(), 6000)
            return
        question = confirmation(target)
        if self.workspace.private_mode:
            # The browser is not Tandem: its connections are outside private mode's guard.
            question += "\n\nYour web browser opens it; private mode covers only Tandem."
        if alerts.ask(self._parent, "Open link", question):
            QDesktopServices.openUrl(QUrl.fromEncoded(address.encode("ascii")))

    def shutdown(self) -> None:
        if self.api_switch is not None:
            self.api_switch.shutdown()
        if self.model_manager is not None:
            self.model_manager.shutdown()
