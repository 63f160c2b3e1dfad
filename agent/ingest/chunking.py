"""Split located sections into passages sized for the embedding model, each keeping its location.

Passages never cross sections, so every passage can be cited by the page, slide, sheet or heading
it came from. Splits prefer paragraph, then line, then sentence ends (Chinese full-width marks
first, then English), then clauses and words, and only as a last resort single characters.

The splitting is langchain-text-splitters' RecursiveCharacterTextSplitter (separators kept at the end of their
piece, pieces merged up to the size with the overlap), written out here because it was all that package gave
the runtime, which it cost about 45 MB with langchain-core and langsmith. tests/test_chunking.py checks that
both cut every text the same way.
"""
from __future__ import annotations

from agent.records import Passage, Section

PASSAGE_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "? ", "! ", ";", " ", ""]


def split_sections(sections: list[Section], source: str, chunk_size: int, chunk_overlap: int) -> list[Passage]:
    """Passages of at most `chunk_size` characters, neighbours sharing up to `chunk_overlap` characters.

    `source` is the document's path relative to the knowledge folder, stored on every passage.
    """
    return [
        Passage(text=text, source=source, location=section.location)
        for section in sections
        for text in split_text(section.text, chunk_size, chunk_overlap)
        if text.strip()
    ]


def split_text(text: str, size: int, overlap: int, separators: list[str] = PASSAGE_SEPARATORS) -> list[str]:
    """Cut at the first separator the text holds; pieces still too long are cut at the separators after it."""
    separator, finer = separators[-1], []
    for number, candidate in enumerate(separators):
        if not candidate:
            separator = candidate
            break
        if candidate in text:
            separator, finer = candidate, separators[number + 1:]
            break
    chunks: list[str] = []
    short: list[str] = []
    for piece in _pieces(text, separator):
        if len(piece) < size:
            short.append(piece)
            continue
        chunks += _merged(short, size, overlap)
        short = []
        chunks += split_text(piece, size, overlap, finer) if finer else [piece]
    return chunks + _merged(short, size, overlap)


def _pieces(text: str, separator: str) -> list[str]:
    """The text cut after each separator, which stays at the end of its piece; no empty pieces."""
    if not separator:
        return list(text)
    parts = text.split(separator)
    return [piece for piece in [part + separator for part in parts[:-1]] + parts[-1:] if piece]


def _merged(pieces: list[str], size: int, overlap: int) -> list[str]:
    """Neighbouring pieces joined into chunks of at most `size` characters; each new chunk starts with the last
    pieces of the one before, up to `overlap` characters of them."""
    chunks: list[str] = []
    current: list[str] = []
    total = 0
    for piece in pieces:
        if current and total + len(piece) > size:
            chunks.append("".join(current).strip())
            while total > overlap or (total + len(piece) > size and total > 0):
                total -= len(current.pop(0))
        current.append(piece)
        total += len(piece)
    if current:
        chunks.append("".join(current).strip())
    return [chunk for chunk in chunks if chunk]
