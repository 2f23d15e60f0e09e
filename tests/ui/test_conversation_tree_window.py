"""The conversation tree in the real window: regenerate on the same and another model,
edit and resend, fork, copy, delete with undo, and a reasoning model's thinking shown
collapsed and kept out of the next request. The local model is the real default model;
the "other model" is llama-cpp-python's own server on loopback, the reasoning model a
loopback server streaming `reasoning_content`."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

from app.core.events import Delta
from app.core.messages import MessageStatus
from tests.fault_server import THOUGHTS
from tests.ui.conftest import wait_until_done

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def tree_window(qtbot, installed_default, llama_server, fault_server):
    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    setup = Workspace()
    setup.add_provider("loop", "custom", llama_server, "default", trusted=True)
    setup.add_provider("thinker", "openai", fault_server.url, "reasoning", key=KEY)
    win = MainWindow(Workspace())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state_label.text() == "Engine: ready", timeout=60_000)
    win.params_panel.temperature.setValue(0.0)
    win.params_panel.max_tokens.setValue(8)
    yield win
    win.close()


def _send(qtbot, window, text):
    window.composer.editor.setFocus()
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)


def _last(window):
    return window.chat_view.messages[-1]


def test_regenerate_on_the_same_and_another_model_keeps_every_version(qtbot, tree_window):
    window = tree_window
    _send(qtbot, window, "Say hello.")
    first = _last(window)
    assert first.action_row.isVisible()
    assert not first.versions.isVisible()  # one version: nothing to switch
    local_stats, local_name = first.stats_label.text(), first.header.text()

    first.action_row.buttons["regenerate"].click()  # the same model
    wait_until_done(qtbot, window)
    second = _last(window)
    assert second.versions.label.text() == "2/2"
    assert second.header.text() == local_name

    second.action_row._fill_models()
    menu = {a.text(): a for a in second.action_row.models_menu.actions()}
    other = next(a for label, a in menu.items() if label.startswith("loop:default"))
    assert other.isEnabled()
    other.trigger()
    wait_until_done(qtbot, window)
    third = _last(window)
    assert third.versions.label.text() == "3/3"
    assert third.header.text() == "loop:default"
    assert third.status is MessageStatus.COMPLETE
    assert "no API cost" not in third.stats_label.text()  # its own facts: a server's
    assert len(window.chat_view.messages) == 2  # one path shown: question and one answer

    third.versions.previous.click()
    shown = _last(window)
    assert shown.versions.label.text() == "2/3"
    shown.versions.previous.click()
    shown = _last(window)
    assert shown.versions.label.text() == "1/3"
    assert shown.stats_label.text() == local_stats  # each version keeps its facts
    assert not shown.versions.previous.isEnabled()

    # The version shown is remembered: reopened, the conversation shows it again.
    cid = window.service.conversation_id
    window.new_chat()
    window.open_conversation(cid)
    assert _last(window).versions.label.text() == "1/3"
    assert _last(window).stats_label.text() == local_stats


def test_edit_and_resend_makes_a_branch_and_the_old_one_stays(qtbot, tree_window):
    window = tree_window
    _send(qtbot, window, "Name a colour.")
    question = window.chat_view.messages[-2]
    old_answer = _last(window).text
    question.action_row.buttons["edit"].click()
    assert window.composer.text() == "Name a colour."
    window.composer.set_text("Name a fruit.")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)
    edited = window.chat_view.messages[-2]
    assert edited.text == "Name a fruit."
    assert edited.versions.label.text() == "2/2"
    assert len(window.chat_view.messages) == 2
    edited.versions.previous.click()
    assert [m.text for m in window.chat_view.messages] == ["Name a colour.", old_answer]


def test_fork_copy_and_delete_with_undo(qtbot, tree_window):
    window = tree_window
    _send(qtbot, window, "Say **hello**.")
    question, answer = window.chat_view.messages[-2:]
    question.action_row.copy_markdown.trigger()
    assert QGuiApplication.clipboard().text() == "Say **hello**."
    question.action_row.copy_plain.trigger()
    assert QGuiApplication.clipboard().text() == "Say hello."

    original = window.service.conversation_id
    answer.action_row.buttons["fork"].click()
    assert window.service.conversation_id not in (None, original)
    assert [m.text for m in window.chat_view.messages] == ["Say **hello**.", answer.text]
    assert window.sidebar.list.count() == 2

    window.chat_view.messages[0].action_row.buttons["delete"].click()
    assert window.chat_view.messages == []
    assert window.service.conversation.messages == []
    undo = next(
        b for b in window.status.findChildren(QPushButton) if b.text().replace("&", "") == "Undo"
    )
    undo.click()
    assert [m.text for m in window.chat_view.messages] == ["Say **hello**.", answer.text]
    stored = window.workspace.history().get_conversation(window.service.conversation_id)
    assert len(stored.messages) == 2


def test_reasoning_is_collapsed_while_streaming_and_not_sent_back(qtbot, tree_window, fault_server):
    window = tree_window
    window.params_panel.max_tokens.setValue(64)
    window.choose_model("a", "thinker:reasoning")
    seen = []
    apply = window.pane_a.apply

    def watching(event):
        apply(event)
        if isinstance(event, Delta) and window.pane_a.reply is not None:
            block = window.pane_a.reply.reasoning
            seen.append((event.reasoning, block.isVisible(), block.expanded, block.toggle.text()))

    window.pane_a.apply = watching
    _send(qtbot, window, "Hello")
    thinking = [s for s in seen if s[0]]
    assert thinking, "the reasoning streamed live"
    assert all(visible and not expanded for _r, visible, expanded, _t in thinking)
    assert all(label == "Thinking…" for *_x, label in thinking)
    reply = _last(window)
    assert reply.reasoning.toggle.text().startswith("Thought for ")
    assert reply.reasoning.toggle.text().endswith(" s")
    assert not reply.reasoning.body.isVisible()
    assert "reasoning" not in reply.text
    reply.reasoning.set_expanded(True)
    assert reply.reasoning.body.isVisible()
    assert reply.reasoning.body.toPlainText() == "".join(THOUGHTS)
    assert "(9 reasoning)" in reply.stats_label.text()

    _send(qtbot, window, "Again")
    sent = json.dumps(json.loads(fault_server.bodies[-1])["messages"])
    assert "Hello from the fault server" in sent
    for thought in THOUGHTS:
        assert thought.strip() not in sent
