"""The Parameters dock: generation parameters and cost settings, applied to both columns
and saved a moment after the last change."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QWidget

from app.backends.local.supervisor import LocalEngine
from app.core.errors import TandemError
from app.core.messages import GenerationParams
from app.core.pricing import EnergyModel
from app.services.chat import ChatService, CostReference
from app.services.workspace import Workspace
from app.ui import alerts
from app.ui.widgets.params_panel import ParamsPanel


class ParamsDock(QDockWidget):
    def __init__(
        self,
        workspace: Workspace,
        services: list[ChatService],
        engine: LocalEngine,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Parameters", parent)
        self.setObjectName("paramsDock")
        self.workspace = workspace
        self.services = services
        self.engine = engine
        self.panel = ParamsPanel(services[0].params)
        self.panel.changed.connect(self._on_params_changed)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(800)
        self._save_timer.timeout.connect(self.save_now)
        settings = workspace.settings
        priced = [
            f"{provider}:{model}"
            for provider, models in sorted(workspace.prices.prices.items())
            for model in sorted(models)
        ]
        self.panel.set_costs(
            priced,
            settings.reference_cloud_model,
            settings.electricity_usd_per_kwh,
            settings.cpu_watts,
        )
        self.panel.costs_changed.connect(self._on_costs_changed)
        self.setWidget(self.panel)
        self.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.toggle = self.toggleViewAction()
        self.toggle.setShortcut(QKeySequence("Ctrl+P"))

    def _on_params_changed(self, params: GenerationParams) -> None:
        for service in self.services:
            service.params = params
        self._save_timer.start()

    def _on_costs_changed(self, reference: str, usd_per_kwh: float, watts: float) -> None:
        self.workspace.save(
            dataclasses.replace(
                self.workspace.settings,
                reference_cloud_model=reference,
                electricity_usd_per_kwh=usd_per_kwh,
                cpu_watts=watts,
            )
        )
        self.engine.energy = EnergyModel(cpu_watts=watts, usd_per_kwh=usd_per_kwh)
        for service in self.services:
            service.reference = CostReference(self.workspace.prices, reference)

    def save_now(self) -> None:
        try:
            self.workspace.save(
                dataclasses.replace(self.workspace.settings, generation=self.services[0].params)
            )
        except (OSError, TandemError) as exc:
            alerts.warning(self, f"Could not save the settings: {exc}")

    def flush(self) -> None:
        """Save a change still waiting for its timer (the window is closing)."""
        if self._save_timer.isActive():
            self._save_timer.stop()
            self.save_now()
