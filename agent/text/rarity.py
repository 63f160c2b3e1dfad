"""How specific a Chinese word is, in general use: the inverse document frequency that jieba ships for its
keyword extraction (jieba/analyse/idf.txt, counted by jieba's authors over a large general corpus). 话费 (9.5)
is more specific than 报销 (8.5), and 报销 than 材料 (5.7) or 准备 (5.0). Read from jieba's package once, when
first needed.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _table() -> dict[str, float]:
    import jieba

    table: dict[str, float] = {}
    with open(Path(jieba.__file__).parent / "analyse" / "idf.txt", encoding="utf-8") as lines:
        for line in lines:
            word, _, value = line.rstrip("\n").rpartition(" ")
            if word:
                table[word] = float(value)
    return table


def known_rarity(word: str) -> float | None:
    """The word's general inverse document frequency; None for a word the table lacks (a name, a term, or a
    piece jieba cut out of a longer phrase, such as 前要 from 出车前要), whose specificity is unknown."""
    return _table().get(word)


@lru_cache(maxsize=1)
def median_rarity() -> float:
    """The table's median: what jieba's keyword extraction gives a word the table lacks."""
    values = sorted(_table().values())
    return values[len(values) // 2] if values else 1.0
