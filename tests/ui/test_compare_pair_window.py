"""A Compare exchange is one entry in the sidebar, and opening it opens Compare."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.widgets.conversation_delegate import SUBTITLE_ROLE
from app.ui.widgets.history_sidebar import ID_ROLE
from tests.ui.conftest import wait_until_done


def _entries(sidebar):
    items = [sidebar.list.item(i) for i in range(sidebar.list.count())]
    return [(int(i.data(ID_ROLE) or 0), i.data(SUBTITLE_ROLE) or "") for i in items]


def test_a_compare_pair_is_one_entry_that_opens_both_columns(qtbot, window):
    sidebar = window.sidebar
    window.params_panel.max_tokens.setValue(6)
    window.compare_action.trigger()
    window.composer.set_text("Name a colour of the zeppelin")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)
    a_id = window.pane_a.service.conversation_id
    b_id = window.pane_b.service.conversation_id
    assert a_id
    assert b_id
    assert a_id != b_id
    assert sidebar.store.compare_pairs() == {a_id: b_id}
    entries = _entries(sidebar)
    assert [cid for cid, _ in entries] == [a_id]  # one entry for the pair
    names = [window.pane_a.service.backend.name, window.pane_b.service.backend.name]
    assert f"{names[0]} vs {names[1]}" in entries[0][1]
    assert "Compare:" in sidebar.list.item(0).data(Qt.ItemDataRole.AccessibleTextRole)
    answers = [p.service.conversation.messages[-1].content for p in (window.pane_a,
                                                                        window.pane_b)]  # fmt: skip

    window.new_chat_action.trigger()
    window.compare_action.trigger()  # off
    assert not window.comparing
    assert not window.pane_a.view.messages
    sidebar.list.setFocus()
    sidebar.list.setCurrentRow(0)
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert window.comparing
    assert window.pane_b.isVisible()
    for pane, cid, answer in ((window.pane_a, a_id, answers[0]),
                              (window.pane_b, b_id, answers[1])):  # fmt: skip
        assert pane.service.conversation_id == cid
        shown = [m for m in pane.view.messages if m.role != "notice"]
        assert [m.role for m in shown] == ["user", "assistant"]
        assert shown[-1].text == answer
    assert window.verdict_label.isVisible()  # the verdict of the pair's last answers

    # Search finds the question in both; the hit in B's conversation opens the pair too.
    window.new_chat_action.trigger()
    window.compare_action.trigger()
    sidebar.search.setText("zeppelin")
    sidebar.refresh()
    hits = _entries(sidebar)
    assert {cid for cid, _ in hits} == {a_id, b_id}  # (an answer may hold the word too)
    row = [cid for cid, _ in hits].index(b_id)
    sidebar._on_activated(sidebar.list.item(row))
    assert window.comparing
    assert window.pane_a.service.conversation_id == a_id
    assert window.pane_b.service.conversation_id == b_id
    assert window.pane_b.view.highlight("zeppelin") > 0
    sidebar.search.setText("")
    sidebar.refresh()

    # A plain conversation stays a plain entry, and opens without Compare.
    window.compare_action.trigger()
    window.new_chat_action.trigger()
    window.composer.set_text("Say hi")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)
    plain = window.service.conversation_id
    assert [cid for cid, _ in _entries(sidebar)] == [plain, a_id]
    window.open_conversation(plain)
    assert not window.comparing
