"""Files read as documents: their text, cut into blocks (headings, paragraphs), with pages.

Each format goes through a real parser: pypdf for PDF, python-docx for Word, Beautiful
Soup (on Python's own HTML parser) for HTML, markdown-it for Markdown. A file that cannot
be read raises DocumentRefused naming the file and the reason, so that a batch can go on
with the others.

A document's `text` is its blocks joined by blank lines; every block knows where it sits
in that text, so that a passage can point back to its characters.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import DocumentRefused

MAX_FILE_BYTES = 64 * 1024 * 1024
# A PDF whose pages give fewer characters than this on average has no text layer.
_MIN_CHARS_PER_PAGE = 8

TEXT_SUFFIXES = frozenset({".txt", ".text", ".rst", ".log", ".csv", ".tsv"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
CODE_SUFFIXES = frozenset({
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".java", ".kt", ".go", ".rs", ".rb", ".php", ".swift", ".m", ".scala", ".sh", ".bash",
    ".zsh", ".ps1", ".sql", ".r", ".jl", ".lua", ".pl", ".hs", ".ml", ".ex", ".exs", ".erl",
    ".clj", ".dart", ".vue", ".svelte", ".css", ".scss", ".toml", ".yaml", ".yml", ".json",
    ".ini", ".cfg", ".xml", ".tex", ".el", ".vim", ".zig", ".nim", ".f90", ".cmake", ".mk",
})  # fmt: skip
KNOWN_SUFFIXES = (
    TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | CODE_SUFFIXES | {".pdf", ".docx"}
)
_CODE_NAMES = frozenset({"makefile", "dockerfile", "readme", "license", "cmakelists.txt"})


@dataclass(frozen=True, slots=True)
class Block:
    """A heading, a paragraph, a code block, a table row: text that belongs together."""

    start: int  # character offsets in the document's text
    end: int
    page: int | None  # 1-based; None for formats without pages
    heading: str  # the heading this block sits under ("" before any)
    is_heading: bool = False


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    path: Path
    kind: str  # "text", "markdown", "code", "pdf", "docx", "html"
    text: str
    blocks: tuple[Block, ...]
    pages: int | None = None

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]


def document_kind(path: Path) -> str | None:
    """What a file is read as, by its name; None for a type this app does not read."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if suffix == ".docx":
        return "docx"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in CODE_SUFFIXES or path.name.lower() in _CODE_NAMES:
        return "code"
    return None


class _Builder:
    """Collects blocks into one text with offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.length = 0
        self.heading = ""

    def add(self, text: str, page: int | None = None, *, heading: bool = False) -> None:
        text = text.strip()
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        if heading:
            self.heading = " ".join(text.split())[:200]
        self.parts.append(text)
        self.blocks.append(Block(self.length, self.length + len(text), page, self.heading, heading))
        self.length += len(text)

    def document(self, path: Path, kind: str, pages: int | None = None) -> ParsedDocument:
        return ParsedDocument(path, kind, "".join(self.parts), tuple(self.blocks), pages)


def _paragraphs(text: str) -> Iterable[str]:
    """Paragraphs: runs of lines between blank lines."""
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            yield "\n".join(current)
            current = []
    if current:
        yield "\n".join(current)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    name = path.name
    try:
        info = path.stat()
    except OSError as exc:
        raise DocumentRefused(name, f"cannot be read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise DocumentRefused(name, "is not a regular file (a folder, device or pipe)")
    if info.st_size > max_bytes:
        raise DocumentRefused(
            name,
            f"is too large ({info.st_size / 1e6:.0f} MB; documents may be up to "
            f"{max_bytes / 1e6:.0f} MB)",
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentRefused(name, f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:  # it grew while we looked
        raise DocumentRefused(name, f"is too large (over {max_bytes / 1e6:.0f} MB)")
    return data


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentRefused(path.name, "looks like a binary file, not text")
    for encoding in (
        ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    ):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("cp1252", errors="replace")


def _plain(path: Path, data: bytes, kind: str) -> ParsedDocument:
    builder = _Builder()
    for paragraph in _paragraphs(_decode_text(path, data)):
        builder.add(paragraph)
    return builder.document(path, kind)


def _markdown(path: Path, data: bytes) -> ParsedDocument:
    from markdown_it import MarkdownIt

    text = _decode_text(path, data)
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    builder = _Builder()
    covered = 0
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        first, last = token.map
        if first < covered:
            continue
        covered = last
        if token.type == "heading_open":
            inline = tokens[index + 1].content if index + 1 < len(tokens) else ""
            builder.add(inline, heading=True)
        else:
            builder.add("\n".join(lines[first:last]))
    return builder.document(path, "markdown")


_HTML_BLOCKS = (
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "dt", "dd",
    "tr", "caption", "figcaption", "summary", "address",
)  # fmt: skip
_HTML_HIDDEN = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")


def _html(path: Path, data: bytes) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for hidden in soup.find_all(_HTML_HIDDEN):
        hidden.decompose()
    for line_break in soup.find_all("br"):
        line_break.replace_with("\n")
    builder = _Builder()
    for element in soup.find_all(_HTML_BLOCKS):
        if element.find_parent(_HTML_BLOCKS) is not None:
            continue  # its text is in the outer block
        if element.name == "pre":
            text = element.get_text()
        elif element.name == "tr":
            cells = (c.get_text(" ", strip=True) for c in element.find_all(("td", "th")))
            text = " | ".join(c for c in cells if c)
        else:
            text = " ".join(element.get_text().split())
        builder.add(text, heading=element.name in ("h1", "h2", "h3", "h4", "h5", "h6"))
    if not builder.blocks:  # text straight in <body> or <div>s
        for paragraph in _paragraphs(soup.get_text("\n")):
            builder.add(" ".join(paragraph.split()))
    return builder.document(path, "html")


def _docx(path: Path, data: bytes) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise DocumentRefused(path.name, "is not a readable Word (.docx) file") from exc
    except Exception as exc:
        raise DocumentRefused(path.name, f"is a damaged Word file ({type(exc).__name__})") from exc
    builder = _Builder()
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            from docx.text.paragraph import Paragraph

            paragraph = Paragraph(child, document)
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            is_heading = style.lower().startswith(("heading", "title"))
            builder.add(paragraph.text, heading=is_heading)
        elif tag == "tbl":
            from docx.table import Table

            for row in Table(child, document).rows:
                cells = dict.fromkeys(cell.text.strip() for cell in row.cells)
                builder.add(" | ".join(c for c in cells if c))
    return builder.document(path, "docx")


def _pdf(path: Path, data: bytes) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentRefused(path.name, "is an encrypted PDF (it needs a password)")
        pages = list(reader.pages)
    except DocumentRefused:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise DocumentRefused(path.name, f"is not a readable PDF ({exc})") from exc
    except Exception as exc:
        raise DocumentRefused(path.name, f"is a damaged PDF ({type(exc).__name__})") from exc
    builder = _Builder()
    total = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - one bad page does not lose the others
            text = ""
        total += len(text.strip())
        for paragraph in _paragraphs(text):
            builder.add(paragraph, number)
    if not pages:
        raise DocumentRefused(path.name, "is a PDF with no pages")
    if total < _MIN_CHARS_PER_PAGE * len(pages):
        raise DocumentRefused(
            path.name, "is a PDF without a text layer (a scan?); run it through OCR first"
        )
    return builder.document(path, "pdf", pages=len(pages))


def parse_document(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> ParsedDocument:
    """The file's text and blocks; DocumentRefused (naming the file) when it cannot be."""
    kind = document_kind(path)
    if kind is None:
        shown = path.suffix or "no extension"
        raise DocumentRefused(
            path.name,
            f"is of a type Tandem does not read ({shown}); it reads text, Markdown, "
            "source code, PDF, Word (.docx) and HTML",
        )
    data = _read_bytes(path, max_bytes)
    if kind == "pdf":
        document = _pdf(path, data)
    elif kind == "docx":
        document = _docx(path, data)
    elif kind == "html":
        document = _html(path, data)
    elif kind == "markdown":
        document = _markdown(path, data)
    else:
        document = _plain(path, data, kind)
    if not document.blocks:
        raise DocumentRefused(path.name, "has no text")
    return document


def file_fingerprint(path: Path) -> tuple[int, int]:
    """(size, mtime in ns): what tells a changed file before its hash is read."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns
