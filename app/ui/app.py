"""Start the window."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication

from app import __version__
from app.store.logs import setup_logging
from app.store.paths import app_paths

logger = logging.getLogger(__name__)


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    logger.error("unhandled error:\n%s", "".join(traceback.format_exception(kind, value, tb)))


def run_gui(argv: list[str]) -> int:
    paths = app_paths().ensure()
    setup_logging(paths.log_file)
    sys.excepthook = _excepthook
    app = QApplication(argv)
    app.setApplicationName("Tandem")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("tandem")
    from app.library.bundled import install_bundled_default
    from app.ui.selftest_window import app_icon

    app.setWindowIcon(app_icon())
    install_bundled_default(paths.models_dir)
    from app.services.workspace import Workspace
    from app.ui.theme import apply_theme
    from app.ui.window.main_window import MainWindow

    workspace = Workspace(paths)
    apply_theme(app, workspace.settings.theme)
    window = MainWindow(workspace)
    window.restore_window_state()
    window.show()
    return int(app.exec())
