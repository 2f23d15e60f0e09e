"""Attach files to a message in the window, and see the answer's sources under it."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.doc_files import write_pdf
from tests.ui.conftest import wait_until_done

FILLER = "General notes on the care of bicycles, with nothing specific in them. " * 10


def test_attach_ask_and_open_a_source_on_its_page(qtbot, window, installed_embedder, tmp_path):
    pages = [FILLER for _ in range(40)]
    pages[22] = "Tyre pressure. Inflate the road tyres to 6.5 bar before each ride. " + FILLER
    manual = write_pdf(tmp_path / "bike-manual.pdf", pages)
    window.params_panel.max_tokens.setValue(8)
    window.attachments.add([manual])
    assert "bike-manual.pdf" in window.attachments.label.text()
    window.composer.set_text("What tyre pressure should I use?")
    window.composer.button.click()
    qtbot.waitUntil(lambda: window.chat.generating, timeout=120_000)  # read, then sent
    wait_until_done(qtbot, window)
    assert window.attachments.paths == []  # they went with that message
    sources = window.pane_a.sources
    assert sources is not None
    assert sources.sources[0]["page"] == 23
    assert "[1] bike-manual.pdf, page 23" in sources.rows[0].text()
    sources.rows[0].linkActivated.emit("1")
    dialog = sources.last_dialog
    assert dialog is not None
    assert "page 23" in dialog.windowTitle()
    assert "Inflate the road tyres to 6.5 bar" in dialog.text.toPlainText()
    dialog.close()
    reply = window.pane_a.service.conversation.messages[-1]
    assert reply.stats is not None
    assert reply.stats.privacy == "on this device"


def test_a_file_dropped_on_the_message_is_attached(qtbot, window, tmp_path):
    note = tmp_path / "dropped.txt"
    note.write_text("Dropped here.")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(note))])
    viewport = window.composer.editor.viewport()
    drop = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    # Qt delivers a drop only during a real drag, so the drop goes to the handler itself
    assert window._drops.eventFilter(viewport, drop)
    assert drop.isAccepted()
    assert window.attachments.paths == [note]
    assert window.composer.text() == ""  # the path is not pasted as text


def test_an_unreadable_attachment_is_refused_and_kept(qtbot, window, tmp_path, dialogs):
    bad = tmp_path / "image.heic"
    bad.write_bytes(b"\x00binary")
    window.attachments.add([bad])
    window.composer.set_text("What is in it?")
    window.composer.button.click()
    qtbot.waitUntil(lambda: window.composer.text() == "What is in it?", timeout=30_000)
    assert window.attachments.paths == [bad]  # nothing lost: the message and the file
    assert not window.chat.generating
    assert window.pane_a.service.conversation.messages == []
