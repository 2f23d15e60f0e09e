"""Text Tandem did not write never becomes Qt rich text: titles, model names, provider
errors, file names and tooltips hold HTML here, and Qt must never load what it names.

A FIFO stands in for the file an `<img src=…>` names: Qt opening it would block the
window for ever, so a watcher thread opens its other end (which also unblocks Qt) and
records that it happened.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import QEvent, Qt, QUrl
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QLabel, QToolTip

from tests.ui.conftest import wait_until_done

# Should Qt ever read /dev/zero again it never returns to Python: a thread ends the test.
pytestmark = pytest.mark.timeout(120, method="thread")

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"
PASSWD = '<img src="file:///etc/passwd">'


class FifoTrap:
    """A FIFO that records whether anyone opened it for reading."""

    def __init__(self, path) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader
                continue
            self.opened = True
            os.close(fd)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def trap(tmp_path):
    fifo = FifoTrap(tmp_path / "trap.fifo")
    yield fifo
    fifo.close()
    assert not fifo.opened, "Qt opened a file named in outside text"


class _ErrorServer:
    """A provider on loopback whose every error message is HTML."""

    def __init__(self, message: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _fail(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.dumps({"error": {"message": message, "type": "error"}}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._fail()

            def do_POST(self) -> None:
                self._fail()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _img(trap) -> str:
    return f'<img src="{trap.path}">'


@pytest.fixture
def hostile_window(qtbot, installed_default, fault_server, trap):
    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    server = _ErrorServer(f"Bad request {PASSWD} {_img(trap)} <b>x</b>")
    setup = Workspace()
    setup.add_provider("named", "openai", fault_server.url, f"{_img(trap)}<b>x</b>", key=KEY)
    setup.add_provider("failing", "openai", server.url, "fail", key=KEY)
    (installed_default.parent / "<b>x.gguf").write_bytes(b"not a model")
    win = MainWindow(Workspace())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state_label.text() == "Engine: ready", timeout=60_000)
    yield win
    win.close()
    server.close()


def _send(qtbot, window, text):
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)


def _outside(text: str) -> bool:
    return "<img" in text or "<b>x" in text


def _check_labels() -> list[str]:
    """Every label on screen that would render outside text as HTML."""
    bad = []
    for top in QApplication.topLevelWidgets():
        for label in [top, *top.findChildren(QLabel)]:
            if not isinstance(label, QLabel):
                continue
            if label.textFormat() != Qt.TextFormat.PlainText and _outside(label.text()):
                bad.append(f"{label.objectName() or type(label.parent()).__name__}: {label.text()}")
    return bad


def _hover(qtbot, view, rect) -> str:
    point = rect.center()
    event = QHelpEvent(QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point))
    QApplication.sendEvent(view.viewport(), event)
    qtbot.wait(50)
    return QToolTip.text()


def test_no_label_renders_outside_text_as_html(qtbot, hostile_window, trap, dialogs):
    window = hostile_window
    store = window.workspace.history()
    store.create_conversation("<b>x</b>")
    window.refresh_models()
    window.choose_model("a", f"named:{_img(trap)}<b>x</b>")
    _send(qtbot, window, "hello")
    named = window.chat_view.messages[-1]
    assert "<img" in named.header.text()  # shown as the text it is
    window.choose_model("a", "failing:fail")
    _send(qtbot, window, "again")
    failed = window.chat_view.messages[-1]
    assert PASSWD in failed.error_label.text() or "&lt;img" in failed.error_label.text()
    cid = window.service.conversation_id
    store.rename(cid, _img(trap))
    window.sidebar.refresh()
    window.new_chat()
    window.open_conversation(cid)  # the stored model name and error, shown again
    assert len(window.chat_view.messages) == 4
    stored_error = window.chat_view.messages[-1].error_label
    assert PASSWD in stored_error.text()
    assert stored_error.textFormat() == Qt.TextFormat.PlainText

    window.sidebar.search.setText("hello")
    window.sidebar.refresh()  # a search hit: title and snippet in our own markup
    window.sidebar.search.setText("")
    window.sidebar.refresh()
    listed = window.sidebar.list
    for row in range(listed.count()):
        tip = _hover(qtbot, listed, listed.visualItemRect(listed.item(row)))
        assert not tip or tip.startswith("<qt>")

    window.dialogs.models()  # the model manager, with a file named like markup
    manager = window.model_manager
    manager.tabs.setCurrentIndex(2)
    manager.refresh_installed()
    manager._show_error(f"Could not read {_img(trap)}")
    from app.ui.dialogs.ledger import LedgerDialog
    from app.ui.dialogs.providers import ProvidersDialog

    ledger = LedgerDialog(window.workspace.ledger.records(), True, window)
    qtbot.addWidget(ledger)
    ledger.show()
    providers = ProvidersDialog(window.workspace, window)
    qtbot.addWidget(providers)
    providers.preset.setCurrentIndex(providers.preset.findData("custom"))
    providers.base_url.setText(window.workspace.providers()[-1].base_url)
    providers.key.setText(KEY)
    providers.show()
    with qtbot.waitSignal(providers.models_listed, timeout=10_000):
        providers.list_button.click()
    assert "<img" in providers.error.text()
    window.dialogs.about()
    window.dialogs.open_link(QUrl("https://x.example/<b>x</b>"))

    assert _check_labels() == []
    assert dialogs["formats"]
    assert all(f == Qt.TextFormat.PlainText for f in dialogs["formats"])
    _title, about = next(shown for shown in dialogs["shown"] if shown[0] == "About Tandem")
    assert "<img" not in about
    for picker in (window.model_picker, window.model_picker_b):
        for row in range(picker.count()):
            tip = picker.itemData(row, Qt.ItemDataRole.ToolTipRole) or ""
            assert not tip or tip.startswith("<qt>")
    table = manager.installed_table
    for row in range(table.rowCount()):
        assert table.item(row, 0).toolTip().startswith("<qt>")
    assert any("<b>x" in table.item(r, 0).text() for r in range(table.rowCount()))


def test_an_imported_title_made_of_html_opens_and_hovers(qtbot, window, trap, tmp_path):
    store = window.workspace.history()
    cid = store.create_conversation("plain")
    store.add_message(cid, "user", "a question")
    store.add_message(cid, "assistant", "an answer", model="some-model")
    data = store.export_json(cid)
    data["title"] = f"{_img(trap)} <img src=/dev/zero> <b>x</b>"
    for message in data["messages"]:
        if message.get("model"):
            message["model"] = _img(trap)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    store.delete_conversation(cid)

    new_id = window.import_conversation(str(path))
    assert new_id is not None
    assert window.chat_view.messages[-1].header.text() == _img(trap)
    listed = window.sidebar.list
    assert listed.count() == 1
    assert listed.item(0).text().startswith(_img(trap))
    tip = _hover(qtbot, listed, listed.visualItemRect(listed.item(0)))
    assert tip.startswith("<qt>")
    assert "&lt;img" in tip
    assert _check_labels() == []
