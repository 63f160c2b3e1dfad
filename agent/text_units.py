"""Content units of a short text for comparing questions: Chinese characters and character pairs,
and Latin words, leaving out function words. Shared-character matching lets "年休假在哪里提交申请"
meet "年假如何申请？" although jieba cuts them into different words."""
from __future__ import annotations

import re

from agent.kb.normalize import fold

# Interrogatives, particles and pronouns: they say how a question is asked, not what it is about.
STOP_CHARS = frozenset("的了是吗呢吧啊呀么什怎哪谁几请问我你您他她它们这那个一下在有和与或及要该应可以能如何样办到得着过就都也还很")
STOP_WORDS = frozenset(
    "a an the is are was were be been to of in on at for and or what which who whom how why when where "
    "does do did can could should would will i me my we our you your it its this that with by from about "
    "please tell get there any some".split()
)
_PIECES = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[0-9a-z]+(?:[.+&/-][0-9a-z]+)*")


def content_units(text: str) -> set[str]:
    units: set[str] = set()
    for piece in _PIECES.findall(fold(text)):
        if piece[0].isascii():
            if piece not in STOP_WORDS:
                units.add(piece)
            continue
        kept = [ch if ch not in STOP_CHARS else "" for ch in piece]
        units.update(ch for ch in kept if ch)
        units.update(a + b for a, b in zip(kept, kept[1:]) if a and b)
    return units
