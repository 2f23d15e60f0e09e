"""The window as a new user meets it: compare, totals, opening while streaming, import,
a refused model file, long text, copy, search, About, and the facts under each answer."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog

from app.core.messages import MessageStatus
from app.core.stats import AnswerStats, FinishReason
from tests.ui.conftest import wait_until_done


def _send(qtbot, window, text):
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)


def _stats(**changes) -> AnswerStats:
    base = {
        "model": "m", "backend": "local", "host": None, "privacy": "on this device",
        "finish_reason": FinishReason.STOP, "time_to_first_token_s": 0.17,
        "tokens_per_s": 103.0, "prompt_tokens_per_s": 400.0, "prompt_tokens": 12,
        "completion_tokens": 40,
    }  # fmt: skip
    base.update(changes)
    return AnswerStats(**base)


def _stored_conversation(window, title, answers):
    """A conversation in the history: one question and answer per stats given."""
    store = window.sidebar.store
    cid = store.create_conversation(title)
    for i, stats in enumerate(answers):
        store.add_message(cid, "user", f"question {i} of {title}")
        mid = store.add_message(
            cid, "assistant", "", model=stats.model, backend=stats.backend, status="streaming"
        )
        store.finish_message(mid, f"answer {i} of {title}", "complete", stats)
    window.sidebar.refresh()
    return cid


def _notices(pane):
    return [m.error_label.text() for m in pane.view.messages if m.role == "notice"]


# 1
def test_compare_first_send_uses_the_model_b_shows(qtbot, window):
    window.params_panel.max_tokens.setValue(6)
    window.compare_action.trigger()
    assert window.model_picker_b.currentText()  # B shows a model
    assert window.pane_b.service.backend is not None
    _send(qtbot, window, "Say hi")
    assert not _notices(window.pane_a)
    assert window.pane_a.view.messages[-1].status is MessageStatus.COMPLETE
    assert window.pane_b.view.messages[-1].status is MessageStatus.COMPLETE


# 2
def test_compare_leaves_the_window_width_and_a_usable_sidebar(qtbot, window):
    window.resize(1100, 760)
    qtbot.waitUntil(lambda: window.width() == 1100)
    window.compare_action.trigger()
    QApplication.processEvents()
    assert window.pane_b.isVisible()
    assert window.width() == 1100
    assert window.history_dock.width() >= 180
    window.compare_action.trigger()
    QApplication.processEvents()
    assert window.width() == 1100
    assert window.history_dock.minimumWidth() >= 180


# 4
def test_header_totals_follow_the_conversation_opened(qtbot, window):
    cloud = _stats(model="gpt-x", backend="cloud", host="api.example.com",
                   privacy="sent to api.example.com", cost_usd=0.0012)  # fmt: skip
    local = _stats(cloud_equivalent_usd=0.003, cloud_equivalent_model="gpt-x")
    first = _stored_conversation(window, "first", [cloud, cloud])
    second = _stored_conversation(window, "second", [local])
    window.open_conversation(first)
    assert "spent $0.0024" in window.pane_a.title.text()
    window.open_conversation(second)
    assert "spent $0 " in window.pane_a.title.text()
    assert "saved $0.003" in window.pane_a.title.text()
    window.new_chat()
    assert "saved $0 " in window.pane_a.title.text()
    window.open_conversation(first)
    assert "spent $0.0024" in window.pane_a.title.text()


# 5
def test_opening_another_conversation_keeps_the_answer_streaming_into_its_own(qtbot, window):
    other = _stored_conversation(window, "other", [_stats()])
    window.params_panel.max_tokens.setValue(120)
    window.composer.set_text("Write a long story about a lighthouse keeper.")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(window.chat_view.messages[-1].text), timeout=60_000)
    streaming_id = window.service.conversation_id
    window.open_conversation(other)
    assert window.chat_view.messages[-1].text == "answer 0 of other"
    wait_until_done(qtbot, window)
    stored = window.sidebar.store.get_conversation(streaming_id).messages[-1]
    assert stored.status == "complete"
    assert len(stored.content) > 20
    assert window.chat_view.messages[-1].text == "answer 0 of other"  # nothing leaked in
    window.open_conversation(streaming_id)
    assert window.chat_view.messages[-1].status is MessageStatus.COMPLETE
    assert "(stopped)" not in window.chat_view.messages[-1].header.text()


# 6
def test_file_import_conversation_opens_a_dialog_and_imports(qtbot, window, monkeypatch, tmp_path):
    cid = _stored_conversation(window, "exported", [_stats()])
    path = tmp_path / "exported.json"
    window.sidebar.store.export_file(cid, path, "json")
    asked: list[str] = []

    def choose(*args, **kwargs):
        asked.append("asked")
        return str(path), "JSON (*.json)"

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    window.menu.import_conversation.trigger()
    assert asked
    assert window.service.conversation_id not in (None, cid)
    assert window.chat_view.messages[-1].text == "answer 0 of exported"


# 7
def test_a_refused_model_file_is_not_selected_and_says_why_where_it_was_chosen(
    qtbot, window, monkeypatch, tmp_path, dialogs
):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"<html><body>404 not found</body></html>" * 50)
    before = window.model_picker.current_spec()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    window.open_file_action.trigger()
    qtbot.waitUntil(lambda: bool(dialogs["shown"]), timeout=30_000)
    _title, text = dialogs["shown"][-1]
    assert "broken.gguf" in text or "web page" in text
    assert window.model_picker.current_spec() == before
    assert str(bad) not in window.service.backend.model_path.as_posix()
    assert not _notices(window.pane_a)


# 8
def test_long_lines_wrap_status_messages_keep_clear_of_the_labels(qtbot, window):
    widget = window.chat_view.add_message("user", "You", "x" * 20_000)
    QApplication.processEvents()
    assert not widget.body.horizontalScrollBar().isVisible()
    assert widget.body.document().size().width() <= widget.body.viewport().width() + 1
    status = window.status
    status.showMessage("a very long status message " * 40)
    QApplication.processEvents()
    message = status.message_label
    assert message.geometry().right() < status.privacy_label.geometry().left()
    status.offer_undo("Deleted “Some conversation”.", lambda: None, "Restored.")
    QApplication.processEvents()
    undo = status.findChild(type(status.undo_button), "undoButton")
    assert undo is not None
    assert undo.isVisible()
    assert not undo.geometry().intersects(message.geometry())


# 9
def test_copy_link_says_copied_and_shows_no_internal_address(qtbot, window):
    widget = window.chat_view.add_message("assistant", "model", "```\nprint('hi')\n```")
    body = widget.body
    url = next(u for u in _anchors(body) if u.startswith("tandem-copy:"))
    body.highlighted.emit(QUrl(url))
    assert "tandem-copy" not in window.status.currentMessage()
    body.anchorClicked.emit(QUrl(url))
    assert QGuiApplication.clipboard().text().strip() == "print('hi')"
    assert "Copied" in window.status.currentMessage()
    assert "Copied" in body.toPlainText()


def _anchors(body):
    html = body.toHtml()
    import re

    return re.findall(r'href="([^"]+)"', html)


# 10
def test_a_search_hit_in_the_open_conversation_scrolls_to_it_and_highlights(qtbot, window):
    store = window.sidebar.store
    cid = store.create_conversation("long one")
    for i in range(30):
        word = "zebracorn" if i == 3 else "filler"
        store.add_message(cid, "user", f"line {i} {word} text " + "padding " * 40)
    window.sidebar.refresh()
    window.open_conversation(cid)
    QApplication.processEvents()
    window.sidebar.search.setText("zebracorn")
    window.sidebar.refresh()
    hit = window.sidebar.list.item(0)
    window.sidebar.list.itemActivated.emit(hit)
    target = next(m for m in window.chat_view.messages if "zebracorn" in m.text)
    qtbot.waitUntil(lambda: _in_view(window.chat_view, target), timeout=5_000)
    marks = target.body.extraSelections()
    assert marks
    first = marks[0]
    cursor = first.cursor
    assert cursor.selectedText().lower() == "zebracorn"


def _in_view(view, widget):
    top = widget.mapTo(view.viewport(), QPoint(0, 0)).y()
    return -widget.height() < top < view.viewport().height()


# 11
def test_about_names_the_parameter_count_from_the_file(window):
    text = window.about_text()
    assert "135M" in text
    assert "256M" not in text


# 12 and the three facts
def test_the_three_chips_under_an_answer(qtbot, window):
    window.params_panel.max_tokens.setValue(8)
    _send(qtbot, window, "Say hi")
    reply = window.chat_view.messages[-1]
    chips = reply.chips
    assert chips.isVisible()
    assert " s · " in chips.speed.text()
    assert "tok/s" in chips.speed.text()
    assert chips.privacy.text().endswith("on this device")
    assert chips.cost.text().startswith("free")
    assert "e-" not in chips.cost.text()
    chips.speed.click()
    details = chips.details_text()
    assert "in the prompt" in details
    assert "Wh" in details
    assert "model file" in details.lower()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chips_are_readable_in_each_theme(qtbot, window, theme):
    from app.store.settings import Theme

    window.set_theme(Theme(theme))
    reply = window.chat_view.add_message("assistant", "m", "hello")
    reply.finish(MessageStatus.COMPLETE, _stats(cost_usd=0.0))
    for chip in (reply.chips.speed, reply.chips.privacy, reply.chips.cost):
        fg, bg = chip.colours()
        assert _contrast(QColor(fg), QColor(bg)) >= 4.5, (theme, chip.text(), fg, bg)


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_private_badge_in_the_toolbar_and_its_notice(qtbot, window):
    badge = window.toolbar.private_badge
    assert "Private" in badge.text()
    window.private_action.trigger()
    assert "Cloud allowed" in badge.text()
    assert "Cloud" in window.status.currentMessage()
    window.private_action.trigger()
    assert "Private" in window.status.currentMessage()
    assert not window.private_action.shortcut().isEmpty()


def test_every_control_is_reachable_by_tab_and_named(qtbot, window):
    reply = window.chat_view.add_message("assistant", "model", "```\ncode\n```")
    qtbot.waitUntil(reply.body.isVisible)
    window.composer.editor.setFocus()
    qtbot.waitUntil(lambda: window.composer.editor.hasFocus())
    seen = []
    for _ in range(80):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        if widget is None or widget in seen:
            continue
        seen.append(widget)
    buttons = [window.toolbar.widgetForAction(a) for a in (window.new_chat_action,
                                                           window.compare_action)]  # fmt: skip
    for wanted in [*buttons, window.toolbar.private_badge, window.model_picker,
                   window.sidebar.search, window.sidebar.list,
                   window.presets_menu.button]:  # fmt: skip
        assert wanted in seen, wanted
    bodies = [m.body for m in window.chat_view.messages]
    assert any(w in bodies for w in seen)
    unnamed = [w for w in seen if not (w.accessibleName() or _text_of(w))]
    assert not unnamed, unnamed


def _text_of(widget):
    text = getattr(widget, "text", None)
    return text() if callable(text) and isinstance(text(), str) else ""


def test_f2_renames_and_delete_can_be_undone_with_ctrl_z(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    cid = _stored_conversation(window, "keyboard", [_stats()])
    sidebar = window.sidebar
    sidebar.list.setFocus()
    sidebar.list.setCurrentRow(0)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Renamed", True))
    qtbot.keyClick(sidebar.list, Qt.Key.Key_F2)
    assert sidebar.store.get_conversation(cid).title == "Renamed"
    sidebar.list.setCurrentRow(0)
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Delete)
    assert not [c for c in sidebar.store.list_conversations() if c.id == cid]
    assert window.status.undo_button.isVisible()
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [c for c in sidebar.store.list_conversations() if c.title == "Renamed"]


def test_new_chat_while_an_answer_streams_keeps_it_streaming_into_its_own(qtbot, window):
    window.params_panel.max_tokens.setValue(120)
    window.composer.set_text("Write a long story about a lighthouse keeper.")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(window.chat_view.messages[-1].text), timeout=60_000)
    streaming_id = window.service.conversation_id
    window.new_chat_action.trigger()
    assert window.service.conversation_id is None
    assert not [m for m in window.chat_view.messages if m.role != "notice"]
    assert window.chat.answering_elsewhere
    wait_until_done(qtbot, window)
    stored = window.sidebar.store.get_conversation(streaming_id).messages[-1]
    assert stored.status == "complete"
    assert len(stored.content) > 20
    assert not [m for m in window.chat_view.messages if m.role != "notice"]  # nothing leaked
    window.open_conversation(streaming_id)
    last = window.chat_view.messages[-1]
    assert last.status is MessageStatus.COMPLETE
    assert "(stopped)" not in last.header.text()
