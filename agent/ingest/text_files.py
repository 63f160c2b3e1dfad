"""Turn the bytes of a plain-text file into text, whether it was saved as UTF-8 or as GBK/GB18030.

Chinese Windows tools still save text in GBK, and a short GBK file is easily mistaken for Korean
or Big5 by detectors, so once UTF-8 has failed a valid GB18030 reading wins for East Asian text.
"""
from __future__ import annotations

import unicodedata

import charset_normalizer

from agent.ingest.errors import KnowledgeFileError

_SIMPLIFIED_CHINESE_ENCODINGS = {"gb2312", "gbk", "gb18030"}


def decode_text(data: bytes) -> str:
    """Decode a file's bytes as UTF-8 (with or without BOM), else as their detected encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise KnowledgeFileError(
            "could not tell which text encoding this file uses; save it as UTF-8 and add it again"
        )
    gb18030_reads_it = any(match.encoding in _SIMPLIFIED_CHINESE_ENCODINGS for match in matches)
    if gb18030_reads_it and _has_east_asian_characters(str(best)):
        return data.decode("gb18030")
    return str(best)


def _has_east_asian_characters(text: str) -> bool:
    return any(unicodedata.east_asian_width(character) in ("W", "F") for character in text)
