"""Conversations in the window: saved as they stream, listed, searched, reopened."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from app.core.messages import MessageStatus
from tests.ui.conftest import wait_until_done


def _send(qtbot, window, text):
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)


def test_a_conversation_is_listed_reopened_and_continued(qtbot, window):
    window.params_panel.max_tokens.setValue(12)
    window.params_panel.temperature.setValue(0.0)
    _send(qtbot, window, "Tell me about lighthouses")
    cid = window.service.conversation_id
    sidebar = window.sidebar
    assert sidebar.list.count() == 1
    assert sidebar.list.item(0).text().startswith("Tell me about lighthouses")

    window.new_chat()
    assert window.chat_view.messages == []
    sidebar.list.itemClicked.emit(sidebar.list.item(0))
    user, answer = window.chat_view.messages
    assert user.text == "Tell me about lighthouses"
    assert "tok/s" in answer.stats_label.text()
    assert window.service.conversation_id == cid

    _send(qtbot, window, "And why are they tall?")
    assert len(window.chat_view.messages) == 4
    stored = window.workspace.history().get_conversation(cid)
    assert [m.content for m in stored.messages][2] == "And why are they tall?"
    assert stored.messages[3].status == "complete"


def test_search_highlights_and_jumps_to_the_message(qtbot, window):
    window.params_panel.max_tokens.setValue(8)
    _send(qtbot, window, "Remember the word zanzibar please")
    stored = window.workspace.history().get_conversation(window.service.conversation_id)
    question_id = stored.messages[0].id
    window.new_chat()
    sidebar = window.sidebar
    qtbot.keyClicks(sidebar.search, "zanzibar")

    def hit_for_question():
        # The answer may repeat the word and be listed too: one row per message.
        items = [sidebar.list.item(i) for i in range(sidebar.list.count())]
        return next((i for i in items if i.data(Qt.ItemDataRole.UserRole + 1) == question_id),
                    None)  # fmt: skip

    qtbot.waitUntil(lambda: hit_for_question() is not None, timeout=3000)
    item = hit_for_question()
    label = sidebar.list.itemWidget(item)
    assert "<b>zanzibar</b>" in label.text()
    sidebar.list.itemActivated.emit(item)
    assert window.chat_view.messages[0].text == "Remember the word zanzibar please"


def test_delete_can_be_undone(qtbot, window):
    window.params_panel.max_tokens.setValue(4)
    _send(qtbot, window, "A conversation to delete")
    cid = window.service.conversation_id
    window.sidebar.delete(cid)
    assert window.sidebar.list.count() == 0
    assert window.chat_view.messages == []  # it was open: the window starts afresh
    window.sidebar.undo_delete()
    assert window.sidebar.list.count() == 1
    assert window.workspace.history().get_conversation(cid).messages


def test_a_megabyte_paste_is_stored_shown_quickly_and_searchable(qtbot, window):
    text = ("lorem ipsum dolor sit amet " * 40 + "\n") * 930 + "needle"
    assert len(text) > 1_000_000
    window.composer.set_text(text)
    started = time.perf_counter()
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    assert time.perf_counter() - started < 0.5  # the window does not freeze
    wait_until_done(qtbot, window)
    user, answer = window.chat_view.messages[-2:]
    assert user.more_label.isVisible()
    assert "context" in answer.error_label.text()
    hits = window.workspace.history().search("needle")
    assert hits[0].conversation_id == window.service.conversation_id
    stored = window.workspace.history().get_conversation(hits[0].conversation_id)
    assert stored.messages[0].content == text


def test_a_full_disk_keeps_the_text_in_the_composer(qtbot, window):
    store = window.workspace.history()
    store._writer.call(
        "test",
        lambda conn: conn.execute(
            "PRAGMA max_page_count = " + str(conn.execute("PRAGMA page_count").fetchone()[0])
        ),
    )
    window.composer.set_text("x" * 200_000)  # more than the free pages can take
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.generating, timeout=30_000)
    answer = window.chat_view.messages[-1]
    assert answer.status is MessageStatus.ERROR
    assert "disk is full" in answer.error_label.text()
    assert window.composer.text() == "x" * 200_000


def test_a_long_conversation_opens_with_a_window_of_messages(qtbot, window):
    store = window.workspace.history()
    cid = store.create_conversation("long one")
    for n in range(300):
        store.add_message(cid, "user" if n % 2 == 0 else "assistant", f"message number {n}")
    window.sidebar.refresh()
    started = time.perf_counter()
    window.open_conversation(cid)
    assert time.perf_counter() - started < 2.0
    view = window.chat_view
    assert len(view.messages) == 40
    assert view.messages[-1].text == "message number 299"
    view.show_earlier()
    assert len(view.messages) == 80
    assert view.messages[0].text == "message number 220"


def test_a_json_export_is_imported_from_the_window_and_opened(qtbot, window, tmp_path):
    import json

    window.params_panel.max_tokens.setValue(6)
    _send(qtbot, window, "A conversation to carry to another computer")
    cid = window.service.conversation_id
    exported = tmp_path / "carried.json"
    exported.write_text(json.dumps(window.workspace.history().export_json(cid)))
    window.new_chat()

    new_id = window.import_conversation(str(exported))
    assert new_id is not None
    assert new_id != cid
    assert window.sidebar.list.count() == 2
    assert window.service.conversation_id == new_id
    assert window.chat_view.messages[0].text == "A conversation to carry to another computer"


def test_a_file_that_is_not_an_export_is_refused_with_the_reason(qtbot, window, tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": "world"}')
    assert window.import_conversation(str(bad)) is None
    assert window.sidebar.list.count() == 0
    notice = window.chat_view.messages[-1].error_label.text()
    assert "not a Tandem conversation export" in notice
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert window.import_conversation(str(broken)) is None
    assert "Could not read broken.json" in window.chat_view.messages[-1].error_label.text()
