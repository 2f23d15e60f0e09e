"""Real document files for tests, written with real libraries (fpdf2, pypdf, python-docx)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def write_pdf(path: Path, pages: Sequence[str], title: str | None = None) -> Path:
    """A PDF with one page per text, each with a real text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        if title and number == 1:
            pdf.set_font("helvetica", style="B", size=16)
            pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF of drawings only, as a scanner without OCR makes: no text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(40, 40, 40)
        for row in range(30):
            pdf.rect(20, 20 + row * 8, 150 - (row * 7) % 60, 3, style="F")
    pdf.output(str(path))
    return path


def write_encrypted_pdf(path: Path, text: str, password: str = "s3cret") -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(path.with_name(path.stem + "-plain.pdf"), [text])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    with path.open("wb") as fh:
        writer.write(fh)
    plain.unlink()
    return path


def write_docx(path: Path, sections: Sequence[tuple[str, Sequence[str]]]) -> Path:
    """A Word file: each section a Heading 1 and its paragraphs, then a small table."""
    import docx

    document = docx.Document()
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Part", "Price"
    table.cell(1, 0).text, table.cell(1, 1).text = "Flux capacitor", "1.21 GW"
    document.save(str(path))
    return path
