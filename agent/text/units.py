"""Content units of a short text for comparing questions: Chinese characters and character pairs,
and Latin words, leaving out function words. Shared-character matching lets "年休假在哪里提交申请"
meet "年假如何申请？" although jieba cuts them into different words."""
from __future__ import annotations

import re

from agent.text.normalize import fold
from agent.text.stopwords import STOP_CHARS, STOPWORDS

_PIECES = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[0-9a-z]+(?:[.+&/-][0-9a-z]+)*")


def content_units(text: str) -> set[str]:
    units: set[str] = set()
    for piece in _PIECES.findall(fold(text)):
        if piece[0].isascii():
            if piece not in STOPWORDS:
                units.add(piece)
            continue
        kept = [ch if ch not in STOP_CHARS else "" for ch in piece]
        units.update(ch for ch in kept if ch)
        units.update(a + b for a, b in zip(kept, kept[1:]) if a and b)
    return units
