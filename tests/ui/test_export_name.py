"""The export dialog's proposed file name, from a title anyone may have written."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.widgets.file_name import MAX_BYTES, export_file_name


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Trip to Lisbon", "Trip to Lisbon.md"),
        ("../../.bashrc", "bashrc.md"),
        ("/etc/passwd", "etc-passwd.md"),
        ('a\\b:c*d?e"f<g>h|i', "a-b-c-d-e-f-g-h-i.md"),
        ("..", "conversation.md"),
        ("...hidden", "hidden.md"),
        ("x\x00y\x1b[2J\nz\u202eq\u200b", "x y [2J zq.md"),
        ("CON", "conversation.md"),
        ("nul.txt", "conversation.md"),
        ("Com1", "conversation.md"),
        ("   ", "conversation.md"),
        (None, "conversation.md"),
        ("", "conversation.md"),
        ("Grüße 東京", "Grüße 東京.md"),
    ],
)
def test_titles_become_safe_file_names(title, expected):
    assert export_file_name(title, "md") == expected


def test_long_titles_are_bounded_in_characters_and_bytes():
    assert len(export_file_name("x" * 10_000, "json")) <= 60 + len(".json")
    name = export_file_name("東" * 500, "json")
    assert len(name.encode()) <= MAX_BYTES + len(".json")


def test_the_export_dialog_proposes_the_safe_name(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from app.store.history.store import HistoryStore
    from app.ui.widgets.history_sidebar import HistorySidebar

    store = HistoryStore(tmp_path / "history.sqlite3")
    cid = store.create_conversation("../../<b>x</b>\x1b]0;t\x07")
    proposed = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (proposed.append(a[2]), ("", ""))[1]
    )
    sidebar = HistorySidebar(store)
    qtbot.addWidget(sidebar)
    sidebar.export(cid, "md")
    assert Path(proposed[0]).parent == Path.home()
    name = Path(proposed[0]).name
    assert name.endswith(".md")
    assert ".." not in name
    assert "/" not in name
    assert all(c.isprintable() for c in name)
    store.close()
