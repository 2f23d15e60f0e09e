"""File > Documents…: add a folder, see the progress, the collection and the refusals."""

from __future__ import annotations

import pytest

from app.services.workspace import Workspace
from app.ui.dialogs.documents import DocumentsDialog
from tests.doc_files import write_docx, write_pdf, write_scanned_pdf


@pytest.fixture
def workspace(installed_embedder):
    ws = Workspace()
    yield ws
    ws.shutdown()


def test_adding_a_folder_indexes_it_in_the_background_with_progress(
    qtbot, workspace, tmp_path, dialogs
):
    folder = tmp_path / "papers"
    folder.mkdir()
    write_pdf(folder / "report.pdf", ["Sales rose in spring. " * 30, "Costs fell. " * 40])
    write_docx(folder / "memo.docx", [("Memo", ["The office moves in May."])])
    write_scanned_pdf(folder / "scan.pdf")
    (folder / "notes.md").write_text("# Notes\n\nCall the plumber on Monday.\n")
    dialog = DocumentsDialog(workspace.documents)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "hybrid" in dialog.mode_label.text()
    seen: list[int] = []
    dialog.bar.valueChanged.connect(seen.append)

    with qtbot.waitSignal(dialog.indexed, timeout=120_000) as ended:
        dialog.add_paths("papers", [folder])
        assert dialog.busy
        assert dialog.bar.isVisible()
        assert not dialog.add_button.isEnabled()  # one run at a time
    report = ended.args[0]
    assert report.indexed == 3
    assert max(seen) == 4  # the bar counted every file
    assert not dialog.bar.isVisible()
    assert "Refused scan.pdf: is a PDF without a text layer" in dialog.status.text()
    assert dialog.table.rowCount() == 1
    assert [dialog.table.item(0, c).text() for c in range(5)] == [
        "papers", "3/4", "1", dialog.table.item(0, 3).text(), "hybrid",
    ]  # fmt: skip
    assert int(dialog.table.item(0, 3).text()) >= 4

    (folder / "notes.md").write_text("# Notes\n\nCall the electrician on Tuesday.\n")
    with qtbot.waitSignal(dialog.indexed, timeout=60_000) as again:
        dialog.reindex("papers")
    assert (again.args[0].indexed, again.args[0].unchanged) == (1, 3)

    dialog.table.selectRow(0)
    dialog.remove_button.click()  # the confirmation's first option is Remove
    assert dialog.table.rowCount() == 0
    assert dialogs["shown"][-1][0] == "Remove collection"
    assert workspace.documents.collections() == []


def test_without_an_embedding_model_the_dialog_says_keywords_only(qtbot, tmp_path):
    ws = Workspace()
    try:
        dialog = DocumentsDialog(ws.documents)
        qtbot.addWidget(dialog)
        assert "keywords (BM25) alone" in dialog.mode_label.text()
    finally:
        ws.shutdown()


def test_the_ledger_dialog_lists_the_passages_a_request_carried(qtbot):
    from app.core.privacy import RequestRecord, SentPassage
    from app.ui.dialogs.ledger import COLUMNS, LedgerDialog

    record = RequestRecord(
        time="2026-12-01T10:00:00+00:00", provider="openai", host="api.openai.com",
        model="gpt-4o-mini", bytes_sent=4100, bytes_received=900, outcome="ok",
        left_device=True,
        passages=(SentPassage("report.pdf", 3, 812), SentPassage("notes.md", None, 1204)),
    )  # fmt: skip
    dialog = LedgerDialog([record], private=False)
    qtbot.addWidget(dialog)
    column = COLUMNS.index("Document passages")
    assert dialog.table.item(0, column).text() == "report.pdf p.3 (812 B); notes.md (1,204 B)"
