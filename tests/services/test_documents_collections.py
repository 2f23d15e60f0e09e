"""Collections: real files through the real parsers, the real embedding model, SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.services.documents import SearchMode
from app.services.workspace import Workspace
from tests.doc_files import write_docx, write_pdf, write_scanned_pdf

FILLER = (
    "The weekly meeting covered the schedule, the budget and the staffing plan. "
    "Nothing else of note was decided, and the minutes were approved. "
)


def make_collection(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["notes"] = folder / "a-notes.txt"
    files["notes"].write_text("Shopping list: apples, flour, eggs.\n\n" + FILLER * 3)
    files["guide"] = folder / "b-guide.md"
    files["guide"].write_text("# Garden guide\n\n## Roses\n\nPrune roses in March.\n\n" + FILLER)
    files["memo"] = write_docx(
        folder / "c-memo.docx", [("Office", ["The printer on floor two is broken.", FILLER])]
    )
    pages = [FILLER * 4 for _ in range(5)]
    pages[3] = (
        "Warranty terms. The dishwasher warranty lasts seven years from the date of "
        "purchase and covers the pump and the motor. " + FILLER * 2
    )
    files["manual"] = write_pdf(folder / "d-manual.pdf", pages, title="Dishwasher manual")
    files["page"] = folder / "e-page.html"
    files["page"].write_text("<h1>Recipes</h1><p>Bake the bread at 220 degrees.</p>")
    return files


@pytest.fixture
def workspace(installed_embedder):
    ws = Workspace()
    yield ws
    ws.shutdown()


def test_the_answer_in_the_fourth_file_is_found_on_its_page(workspace, tmp_path):
    make_collection(tmp_path / "docs")
    report = workspace.documents.add("home", [tmp_path / "docs"])
    assert report.indexed == 5
    assert not report.refused
    assert not report.keywords_only
    result = workspace.documents.search("How long is the dishwasher guaranteed?", "home")
    assert result.mode == SearchMode.HYBRID
    top = result.passages[0]
    assert Path(top.file).name == "d-manual.pdf"
    assert top.page == 4
    assert "seven years" in top.text
    # vectors alone find it too, though "guaranteed" is not a word of the passage
    vectors = workspace.documents.search("How long is it guaranteed?", "home", mode="vectors")
    assert any(p.page == 4 and p.file_name == "d-manual.pdf" for p in vectors.passages[:3])


def test_a_refused_file_does_not_stop_the_batch(workspace, tmp_path):
    folder = tmp_path / "docs"
    make_collection(folder)
    write_scanned_pdf(folder / "scan.pdf")
    report = workspace.documents.add("home", [folder, tmp_path / "nope.txt"])
    assert report.indexed == 5
    reasons = {r.file: r.reason for r in report.refused}
    assert "without a text layer" in reasons["scan.pdf"]
    assert reasons["nope.txt"] == "does not exist"
    (row,) = workspace.documents.collections()
    assert (row.indexed, row.refused) == (5, 1)


def test_changed_files_are_indexed_again_and_deleted_ones_removed(workspace, tmp_path):
    files = make_collection(tmp_path / "docs")
    docs = workspace.documents
    docs.add("home", [tmp_path / "docs"])
    # same content, new time: nothing to do
    os.utime(files["notes"], ns=(time.time_ns(), time.time_ns()))
    assert docs.sync("home").indexed == 0
    files["guide"].write_text("# Garden guide\n\nThe tulip bulbs go in the ground in October.\n")
    files["page"].unlink()
    report = docs.sync("home")
    assert (report.indexed, report.removed, report.unchanged) == (1, 1, 3)
    hit = docs.search("when to plant tulip bulbs", "home").passages[0]
    assert hit.file_name == "b-guide.md"
    assert "October" in hit.text
    assert all(p.file_name != "e-page.html" for p in docs.search("bread", "home").passages)


def test_without_an_embedding_model_retrieval_is_keywords_alone_and_says_so(tmp_path):
    ws = Workspace()
    ws.set_private_mode(True)  # the built-in model cannot be fetched
    try:
        make_collection(tmp_path / "docs")
        report = ws.documents.add("home", [tmp_path / "docs"])
        assert report.keywords_only
        assert "keywords (BM25) alone" in report.note
        result = ws.documents.search("dishwasher warranty", "home")
        assert result.mode == SearchMode.KEYWORDS
        assert "BM25" in result.note
        assert result.passages[0].page == 4
    finally:
        ws.shutdown()


_INDEX_SCRIPT = """
import sys
from pathlib import Path
from app.services.workspace import Workspace
ws = Workspace()
ws.documents.add("big", [Path(sys.argv[1])])
"""


def test_an_indexing_run_killed_with_sigkill_resumes_where_it_stopped(
    installed_embedder, tandem_home, tmp_path
):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(40):
        (folder / f"file-{n:03}.txt").write_text(
            f"Document {n}. " + f"Paragraph about subject {n} and its details. " * 40
        )
    db = tandem_home / "data" / "documents.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", _INDEX_SCRIPT, str(folder)], env=os.environ.copy()
    )

    def indexed() -> int:
        if not db.exists():
            return 0
        with sqlite3.connect(db, timeout=5) as conn:
            try:
                return conn.execute(
                    "SELECT COUNT(*) FROM files WHERE status = 'indexed'"
                ).fetchone()[0]
            except sqlite3.OperationalError:
                return 0

    deadline = time.monotonic() + 120
    while indexed() < 3 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    before = indexed()
    assert 3 <= before < 40, "the kill must land mid-way"

    ws = Workspace()
    try:
        report = ws.documents.sync("big")
        assert report.unchanged == before  # what was done stays done
        assert report.indexed == 40 - before
        (row,) = ws.documents.collections()
        assert row.indexed == 40
        assert row.chunks == row.with_vectors
        with sqlite3.connect(db) as conn:  # every file whole: no half-written passages
            counts = {c for (c,) in conn.execute("SELECT COUNT(*) FROM chunks GROUP BY file_id")}
        assert len(counts) == 1
        assert ws.documents.search("subject 37", "big").passages[0].file_name == "file-037.txt"
    finally:
        ws.shutdown()
