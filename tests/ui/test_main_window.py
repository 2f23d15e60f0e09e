"""The window with the real model: what a person sees and does."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

from app.core.messages import MessageStatus
from tests.ui.conftest import wait_until_done

ANSWER_TIMEOUT_MS = 90_000


def _send(qtbot, window, text):
    window.composer.editor.setFocus()
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)


def _wait_done(qtbot, window):
    wait_until_done(qtbot, window, ANSWER_TIMEOUT_MS)


def test_sending_a_message_shows_a_reply_with_its_stats_line(qtbot, window):
    window.params_panel.temperature.setValue(0.0)
    window.params_panel.max_tokens.setValue(40)
    _send(qtbot, window, "What is the capital of France?")
    assert window.generating
    assert window.composer.text() == ""
    _wait_done(qtbot, window)
    user, reply = window.chat_view.messages[-2:]
    assert user.text == "What is the capital of France?"
    assert reply.text.strip()
    assert reply.body.toPlainText().strip()
    assert reply.status is MessageStatus.COMPLETE
    stats = reply.stats_label.text()  # the facts in one line: copied, read aloud
    assert reply.chips.isVisible()
    assert reply.chips.accessibleDescription() == stats
    assert "s to first token" in stats
    assert "tok/s" in stats
    assert "on this device" in stats
    assert "no API cost" in stats
    assert reply.header.text() == "smollm2-135m-instruct-q4_1"


def test_shift_enter_is_a_new_line_not_a_send(qtbot, window):
    window.composer.editor.setFocus()
    qtbot.keyClicks(window.composer.editor, "first line")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.composer.editor, "second")
    assert window.composer.text() == "first line\nsecond"
    assert not window.generating
    assert window.chat_view.messages == []


def test_escape_stops_the_answer_and_keeps_it_marked_stopped(qtbot, window):
    # Greedy, this prompt runs to the token limit (1,500 tokens: about ten seconds here), so
    # the answer cannot end by itself before Escape reaches it.
    window.params_panel.temperature.setValue(0.0)
    window.params_panel.max_tokens.setValue(2000)
    _send(qtbot, window, "Write a long story about a lighthouse keeper and a storm.")
    reply = window.chat_view.messages[-1]
    qtbot.waitUntil(lambda: len(reply.text) > 10, timeout=ANSWER_TIMEOUT_MS)
    assert window.generating
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Escape)
    _wait_done(qtbot, window)
    assert time.perf_counter() - window.stop_clicked_at < 5
    assert reply.status is MessageStatus.STOPPED
    assert "(stopped)" in reply.header.text()
    assert "stopped" in reply.stats_label.text()
    assert reply.text
    assert window.service.conversation.messages[-1].status is MessageStatus.STOPPED


def test_corrupt_model_shows_its_error_and_the_window_survives(qtbot, window, tmp_path, dialogs):
    before = window.model_picker.current_spec()
    bad = tmp_path / "broken.gguf"
    bad.write_text("this is not a model")
    window.load_model(bad)
    qtbot.waitUntil(lambda: bool(dialogs["shown"]), timeout=10_000)
    assert "text file, not a GGUF model" in dialogs["shown"][-1][1]
    assert not window.chat_view.messages  # nothing written into the conversation
    assert window.model_picker.current_spec() == before  # the model it had goes on
    qtbot.waitUntil(lambda: window.state_label.text() == "Engine: ready", timeout=60_000)
    window.params_panel.max_tokens.setValue(8)
    _send(qtbot, window, "Hello again")
    _wait_done(qtbot, window)
    assert window.chat_view.messages[-1].status is MessageStatus.COMPLETE


def test_killing_the_engine_mid_answer_keeps_the_partial_answer(qtbot, window):
    window.params_panel.temperature.setValue(0.0)  # greedy: runs to the limit, see above
    window.params_panel.max_tokens.setValue(2000)
    _send(qtbot, window, "Write a long story about a lighthouse keeper and a storm.")
    reply = window.chat_view.messages[-1]
    qtbot.waitUntil(lambda: len(reply.text) > 10, timeout=ANSWER_TIMEOUT_MS)
    window.engine.kill()
    _wait_done(qtbot, window)
    assert reply.status is MessageStatus.INCOMPLETE
    assert reply.text
    assert "stopped unexpectedly" in reply.error_label.text()
    assert "crashed" in window.state_label.text()

    window.params_panel.max_tokens.setValue(8)
    reply.error_label.linkActivated.emit("retry")  # the Retry link under the answer
    assert window.generating
    _wait_done(qtbot, window)
    user, again = window.chat_view.messages[-2:]
    assert user.text == "Write a long story about a lighthouse keeper and a storm."
    assert again.status is MessageStatus.COMPLETE
    assert window.state_label.text() == "Engine: ready"


def test_stop_reaches_a_hung_engine_and_the_next_message_works(qtbot, window):
    import os
    import signal

    window.params_panel.temperature.setValue(0.0)
    window.params_panel.max_tokens.setValue(2000)
    _send(qtbot, window, "Write a long story about a lighthouse keeper and a storm.")
    reply = window.chat_view.messages[-1]
    qtbot.waitUntil(lambda: len(reply.text) > 10, timeout=ANSWER_TIMEOUT_MS)
    os.kill(window.engine.pid, signal.SIGSTOP)  # the engine hangs mid-answer
    stopped_at = time.perf_counter()
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Escape)
    _wait_done(qtbot, window)
    assert time.perf_counter() - stopped_at < 3
    assert reply.text  # what came before the hang stays
    assert "stopped responding" in reply.error_label.text()

    window.params_panel.max_tokens.setValue(8)
    _send(qtbot, window, "Say hello.")
    _wait_done(qtbot, window)
    assert window.chat_view.messages[-1].status is MessageStatus.COMPLETE
    assert window.state_label.text() == "Engine: ready"


def test_new_chat_clears_the_conversation(qtbot, window):
    window.params_panel.max_tokens.setValue(4)
    _send(qtbot, window, "Hi")
    _wait_done(qtbot, window)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.chat_view.messages == []
    assert window.service.conversation.messages == []


def test_links_open_only_after_a_click_and_show_the_real_url(qtbot, window, dialogs):
    reply = window.chat_view.add_message("assistant", "model")
    reply.set_text("See [the docs](https://example.org/real/path) ![x](https://evil.test/t.png)")
    html = reply.body.toHtml()
    assert "<img" not in html
    assert dialogs["opened"] == []
    from PySide6.QtCore import QUrl

    reply.body.anchorClicked.emit(QUrl("https://example.org/real/path"))
    assert "https://example.org/real/path" in dialogs["shown"][-1][1]
    assert dialogs["opened"] == ["https://example.org/real/path"]


def test_every_focusable_control_has_an_accessible_name(window):
    unnamed = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if isinstance(widget.parent(), QAbstractSpinBox):
            continue  # a spin box's inner editor; the spin box itself carries the name
        face = QAccessible.queryAccessibleInterface(widget)
        if face is None or not face.text(QAccessible.Text.Name).strip():
            unnamed.append(f"{type(widget).__name__} {widget.objectName()}")
    assert unnamed == []


def test_about_names_the_version_and_the_licences(window, dialogs):
    from app import __version__

    window.about_action.trigger()
    title, text = dialogs["shown"][-1]
    assert title == "About Tandem"
    assert __version__ in text
    for licence in ("LGPL", "MIT", "Apache-2.0"):
        assert licence in text
    # The hardware view: where llama.cpp runs and what is loaded (the window's fixture
    # loads the default model on this CPU-only build).
    assert "CPU threads" in text
    assert "llama.cpp runs on the CPU only" in text
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in text
    assert "on the CPU" in text


def test_the_model_manager_opens_from_the_window(qtbot, window):
    window.models_action.trigger()
    manager = window.model_manager
    assert manager.isVisible()
    window.models_action.trigger()
    assert window.model_manager is manager  # one manager; downloads carry on while hidden


def test_a_one_megabyte_paste_is_scanned_without_freezing_the_window(qtbot, window, monkeypatch):
    import itertools

    from PySide6.QtCore import QTimer

    asked: list[str] = []

    def ask(message):
        asked.append(message)
        return  # the person chooses not to send it

    monkeypatch.setattr(window.chat, "ask_about_sensitive", ask)

    class CloudColumn:  # what the scan asks of a backend: nothing is ever streamed here
        name = "a cloud model"
        leaves_device = True

    monkeypatch.setattr(window.pane_a.service, "backend", CloudColumn())
    key = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
    text = ("Here is my config, please review it. " * 28_000)[:1_000_000] + f"\napi_key={key}\n"
    window.composer.set_text(text)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    timer.start(10)  # the scan is under way now: the event loop must keep running
    qtbot.waitUntil(lambda: bool(asked), timeout=30_000)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert gaps, "the event loop never ran while the text was scanned"
    assert max(gaps) < 0.25, f"the window froze for {max(gaps):.2f} s"
    assert "key" in asked[0].lower()
    assert window.composer.text() == text  # not sent, and nothing lost
    assert window.composer.isEnabled()
    assert not window.generating
