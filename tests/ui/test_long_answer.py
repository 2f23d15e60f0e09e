"""Showing a stored answer stays responsive whatever its shape: a megabyte on one line."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize(
    "text",
    [("lorem ipsum dolor sit amet " * 40_000)[:1_000_000], "x" * 1_000_000],
    ids=["words", "no-spaces"],
)
def test_show_all_on_a_megabyte_single_line_answer_is_quick(qtbot, text):
    from PySide6.QtWidgets import QApplication

    from app.core.messages import MessageStatus
    from app.ui.chat.view import ChatView

    view = ChatView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    widget = view.add_message("assistant", "model", text)
    widget.finish(MessageStatus.COMPLETE, None)
    QApplication.processEvents()
    assert widget.more_label.isVisible()
    started = time.perf_counter()
    widget.more_label.linkActivated.emit("all")
    QApplication.processEvents()
    widget.body.document().size()  # the whole layout, as painting needs it
    QApplication.processEvents()
    elapsed = time.perf_counter() - started
    print(f"show all, {len(text):,} characters on one line: {elapsed:.2f} s")
    assert widget.body.toPlainText().replace("\n", "") == text
    assert elapsed < 3.0


def test_long_lines_are_broken_for_showing_without_losing_a_character():
    from app.ui.chat.message_widget import LINE_CHARS, chunk_lines

    text = "short\n" + "word " * 2_000 + "\n" + "y" * 5_000 + "\nend"
    shown = chunk_lines(text)
    assert all(len(line) <= LINE_CHARS for line in shown.split("\n"))
    assert shown.replace("\n", "") == text.replace("\n", "")
    assert shown.startswith("short\n")
    assert chunk_lines("one line") == "one line"
