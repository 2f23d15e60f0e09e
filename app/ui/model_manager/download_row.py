"""One download in the model manager's Downloads tab."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.core import units
from app.library.catalog import CatalogModel
from app.library.downloads import DownloadProgress, DownloadState
from app.ui.theme import text_style
from app.ui.widgets.plain import escape, plain_label, show_markup


def _time_left(seconds: float | None) -> str:
    return "" if seconds is None else f"{units.duration(seconds)} left"


def _describe(p: DownloadProgress) -> str:
    if p.state is DownloadState.DOWNLOADING and p.total_bytes:
        speed = units.speed(p.speed_bytes_per_s) if p.speed_bytes_per_s else ""
        parts = [
            f"{units.size(p.done_bytes)} of {units.size(p.total_bytes)}",
            speed,
            _time_left(p.eta_s),
        ]
        return " · ".join(x for x in parts if x)
    return p.message or str(p.state).capitalize()


class DownloadRow(QWidget):
    """One download: name, bar, bytes · speed · time left, Pause/Resume and Cancel.

    Signals:
        pause_clicked(str): Pause (or Resume, when paused) was pressed for this model id.
        cancel_clicked(str): Cancel was pressed for this model id.
    """

    pause_clicked = Signal(str)
    cancel_clicked = Signal(str)

    def __init__(self, entry: CatalogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_id = entry.id
        self.name = QLabel()
        show_markup(self.name, f"<b>{escape(entry.name)}</b>")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName(f"{entry.name} download progress")
        self.detail = plain_label("Waiting…")  # a failed download says the server's words
        self.detail.setWordWrap(True)
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.pause_button.clicked.connect(lambda: self.pause_clicked.emit(self.model_id))
        self.cancel_button.clicked.connect(lambda: self.cancel_clicked.emit(self.model_id))
        top = QHBoxLayout()
        top.addWidget(self.name, 1)
        top.addWidget(self.pause_button)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 8)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        self.state = DownloadState.QUEUED

    def show_progress(self, p: DownloadProgress) -> None:
        self.state = p.state
        if p.fraction is not None:
            self.bar.setValue(int(p.fraction * 1000))
        self.bar.setFormat(f"{(p.fraction or 0) * 100:.0f}%  {p.state}")
        self.detail.setText(_describe(p))
        self.detail.setStyleSheet(text_style("error" if p.state is DownloadState.FAILED else None))
        self.pause_button.setText("Resume" if p.state is DownloadState.PAUSED else "Pause")
        self.pause_button.setEnabled(
            not p.state.finished and p.state is not DownloadState.VERIFYING
        )
        self.cancel_button.setEnabled(not p.state.finished)
