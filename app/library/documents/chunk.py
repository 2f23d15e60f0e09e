"""Passages cut along a document's structure, with overlap.

A passage never crosses a page or a heading: blocks of one section on one page are
packed up to `target_chars`; a block longer than that is cut at a sentence end (or a
space) near the limit. Consecutive passages of one section share about `overlap_chars`,
so that a sentence cut in two is whole in one of them. Every passage is a character
span of the document's text, so its text, file and page are what was read.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.library.documents.parse import Block, ParsedDocument

TARGET_CHARS = 900  # about 200 tokens: under the 512 a small embedding model takes
OVERLAP_CHARS = 150


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int  # its place in the document, from 0
    start: int  # character span in the document's text
    end: int
    page: int | None
    heading: str
    text: str

    @property
    def indexed_text(self) -> str:
        """What keyword and vector search see: the heading gives a passage its topic."""
        if self.heading and not self.text.startswith(self.heading):
            return f"{self.heading}\n{self.text}"
        return self.text


def _sections(blocks: tuple[Block, ...]) -> list[list[Block]]:
    """Runs of blocks on one page under one heading."""
    runs: list[list[Block]] = []
    for block in blocks:
        if runs and not block.is_heading:
            last = runs[-1][-1]
            if last.page == block.page and last.heading == block.heading:
                runs[-1].append(block)
                continue
        runs.append([block])
    return runs


def _cut_point(text: str, start: int, limit: int, floor: int) -> int:
    """Where to end a passage that starts at `start` and may not pass `limit`."""
    window = text[floor:limit]
    for mark in ("\n\n", ". ", "? ", "! ", ".\n", "\n", "; ", ", ", " "):
        found = window.rfind(mark)
        if found >= 0:
            return floor + found + len(mark)
    return limit


def _snap_forward(text: str, at: int, end: int) -> int:
    """The start of the next word at or after `at` (so an overlap starts on a word)."""
    if at <= 0 or text[at - 1].isspace():
        return at
    space = text.find(" ", at, end)
    return space + 1 if space >= 0 else at


def chunk_document(
    document: ParsedDocument,
    target_chars: int = TARGET_CHARS,
    overlap_chars: int = OVERLAP_CHARS,
) -> list[Chunk]:
    text = document.text
    chunks: list[Chunk] = []
    for run in _sections(document.blocks):
        section_start, section_end = run[0].start, run[-1].end
        page, heading = run[0].page, run[-1].heading
        # block ends are the preferred places to cut
        ends = [b.end for b in run]
        start = section_start
        while start < section_end:
            limit = min(start + target_chars, section_end)
            if limit == section_end:
                end = section_end
            else:
                fitting = [e for e in ends if start < e <= limit]
                if fitting and fitting[-1] - start >= target_chars // 3:
                    end = fitting[-1]
                else:
                    end = _cut_point(text, start, limit, start + target_chars // 2)
            piece = text[start:end].strip()
            if piece:
                lead = len(text[start:end]) - len(text[start:end].lstrip())
                real_start = start + lead
                chunks.append(
                    Chunk(len(chunks), real_start, real_start + len(piece), page, heading, piece)
                )
            if end >= section_end:
                break
            next_start = _snap_forward(text, max(end - overlap_chars, start + 1), end)
            start = next_start if next_start > start else end
    return chunks
