"""Reading real files as documents, and cutting them into passages."""

from __future__ import annotations

import itertools
import os

import pytest

from app.core.errors import DocumentRefused, ExitCode
from app.library.documents.chunk import chunk_document
from app.library.documents.parse import parse_document
from tests.doc_files import write_docx, write_encrypted_pdf, write_pdf, write_scanned_pdf

LOREM = (
    "The committee met on a Tuesday to discuss the annual budget. Several members "
    "raised concerns about rising costs. "
) * 12


def test_a_multi_page_pdf_keeps_its_pages(tmp_path):
    pages = [f"Page {n} talks about topic number {n}. " + LOREM for n in range(1, 5)]
    pages[2] = "The secret launch code of the rocket is ORANGE-42. " + LOREM
    doc = parse_document(write_pdf(tmp_path / "report.pdf", pages, title="Annual report"))
    assert doc.kind == "pdf"
    assert doc.pages == 4
    chunks = chunk_document(doc)
    hit = [c for c in chunks if "ORANGE-42" in c.text]
    assert hit
    assert {c.page for c in hit} == {3}
    assert {c.page for c in chunks} == {1, 2, 3, 4}
    for chunk in chunks:  # the span is the text
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 900


def test_passages_overlap_and_follow_headings(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(
        "# Guide\n\nIntro.\n\n## Install\n\n" + LOREM * 2 + "\n\n## Use\n\nClick the button.\n"
    )
    chunks = chunk_document(parse_document(path))
    install = [c for c in chunks if c.heading == "Install"]
    assert len(install) >= 3
    for first, second in itertools.pairwise(install):
        assert second.start < first.end  # they overlap
    use = [c for c in chunks if c.heading == "Use"]
    assert len(use) == 1
    assert "Click the button." in use[0].text
    assert "Install" not in use[0].text  # a passage never crosses a heading


def test_a_docx_has_its_headings_paragraphs_and_table(tmp_path):
    path = write_docx(
        tmp_path / "notes.docx",
        [("Kitchen", ["The oven is set to 180 degrees."]), ("Garden", ["Water the roses."])],
    )
    doc = parse_document(path)
    chunks = chunk_document(doc)
    assert any(c.heading == "Garden" and "roses" in c.text for c in chunks)
    assert "Flux capacitor | 1.21 GW" in doc.text


def test_html_is_read_as_text_without_scripts_or_markup(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Caf&eacute; &amp; menu</h1>"
        "<p>Soup of the <b>day</b>: tomato.</p><ul><li>Bread &lt;fresh&gt;</li></ul>"
        "<table><tr><td>Tea</td><td>2 EUR</td></tr></table></body></html>"
    )
    doc = parse_document(path)
    assert "alert" not in doc.text
    assert "color" not in doc.text
    assert "Café & menu" in doc.text
    assert "Soup of the day: tomato." in doc.text
    assert "Bread <fresh>" in doc.text
    assert "Tea | 2 EUR" in doc.text
    assert chunk_document(doc)[0].heading == "Café & menu"


def test_source_code_and_text_are_read(tmp_path):
    code = tmp_path / "tool.py"
    code.write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    assert parse_document(code).kind == "code"
    assert "return a - b" in parse_document(code).text
    latin = tmp_path / "old.txt"
    latin.write_bytes("Caf\xe9 cr\xe8me".encode("cp1252"))
    assert parse_document(latin).text == "Café crème"


def test_a_scanned_pdf_is_refused_with_its_reason(tmp_path):
    with pytest.raises(DocumentRefused, match=r"scan\.pdf: .*without a text layer") as info:
        parse_document(write_scanned_pdf(tmp_path / "scan.pdf"))
    assert info.value.exit_code == ExitCode.DOCUMENT_REFUSED == 11


def test_an_encrypted_pdf_is_refused(tmp_path):
    path = write_encrypted_pdf(tmp_path / "locked.pdf", "Salaries of everyone.")
    with pytest.raises(DocumentRefused, match=r"locked\.pdf: .*encrypted"):
        parse_document(path)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(DocumentRefused, match=r"huge\.txt: is too large \(210 MB"):
        parse_document(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("setup.exe", b"MZ\x90\x00", r"type Tandem does not read \(\.exe\)"),
        ("blob.txt", b"\x00\x01\x02binary", "binary"),
        ("empty.md", b"   \n\n", "has no text"),
        ("fake.pdf", b"<html>not a pdf</html>", "not a readable PDF"),
        ("fake.docx", b"PK\x03\x04 broken zip", "Word"),
    ],
)
def test_bad_files_are_refused_with_their_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentRefused, match=reason) as info:
        parse_document(path)
    assert info.value.file == name


def test_a_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(DocumentRefused, match="not a regular file"):
        parse_document(fifo)
