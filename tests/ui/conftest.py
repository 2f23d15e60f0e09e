from __future__ import annotations

import pytest
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox


@pytest.fixture(autouse=True)
def dialogs(monkeypatch):
    """No modal dialog ever blocks a test; what they would have shown is recorded."""
    shown: list[tuple[str, str]] = []
    formats: list[object] = []  # the text format of each message box, as shown

    def exec_box(box):
        shown.append((box.windowTitle(), box.text()))
        formats.append(box.textFormat())
        yes = box.button(QMessageBox.StandardButton.Yes)
        (yes or box.buttons()[0]).click()  # yes, or the first option
        return 0

    opened: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", exec_box)
    monkeypatch.setattr(
        QMessageBox, "about", lambda _parent, title, text: shown.append((title, text))
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    return {"shown": shown, "opened": opened, "formats": formats}


@pytest.fixture
def window(qtbot, installed_default):
    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    win = MainWindow(Workspace())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state_label.text() == "Engine: ready", timeout=60_000)
    yield win
    win.close()


def wait_until_done(qtbot, window, timeout_ms: int = 90_000) -> None:
    """Wait for the answer to end; on a timeout, say where every thread was."""
    import faulthandler
    import sys

    from pytestqt.exceptions import TimeoutError as QtTimeout

    try:
        qtbot.waitUntil(lambda: not window.generating, timeout=timeout_ms)
    except QtTimeout:
        sys.stderr.write(f"engine state: {window.engine.state}, pid {window.engine.pid}\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        raise
