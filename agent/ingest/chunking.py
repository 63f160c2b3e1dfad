"""Split located sections into passages sized for the embedding model, each keeping its location.

Passages never cross sections, so every passage can be cited by the page, slide, sheet or heading
it came from. Splits prefer paragraph, then line, then sentence ends (Chinese full-width marks
first, then English), then clauses and words, and only as a last resort single characters.
"""
from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from agent.records import Passage, Section

PASSAGE_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "? ", "! ", ";", " ", ""]


def split_sections(sections: list[Section], source: str, chunk_size: int, chunk_overlap: int) -> list[Passage]:
    """Passages of at most `chunk_size` characters, neighbours sharing up to `chunk_overlap` characters.

    `source` is the document's path relative to the knowledge folder, stored on every passage.
    """
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=PASSAGE_SEPARATORS,
        keep_separator="end",  # a sentence keeps its own full stop instead of lending it to the next passage
    )
    return [
        Passage(text=text, source=source, location=section.location)
        for section in sections
        for text in splitter.split_text(section.text)
        if text.strip()
    ]
