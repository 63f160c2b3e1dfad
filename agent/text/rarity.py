"""How much a word says about what a text is about, in general Chinese: the inverse document frequency that
jieba ships for its keyword extraction (jieba/analyse/idf.txt, counted by jieba's authors over a large general
corpus). 报销 (8.5) says more than 准备 (5.0) or 公司 (3.5); a word the table lacks gets the table's median, as
jieba's own keyword extraction gives it. It is read from jieba's package once, when first needed.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, float], float]:
    import jieba

    table: dict[str, float] = {}
    with open(Path(jieba.__file__).parent / "analyse" / "idf.txt", encoding="utf-8") as lines:
        for line in lines:
            word, _, value = line.rstrip("\n").rpartition(" ")
            if word:
                table[word] = float(value)
    values = sorted(table.values())
    return table, values[len(values) // 2] if values else 1.0


def word_rarity(word: str) -> float:
    """The word's general inverse document frequency; the median for a word the table lacks."""
    table, median = _table()
    return table.get(word, median)


def unseen_word_rarity() -> float:
    """What a word the table lacks counts: its median (a glossary term or a name counts as much)."""
    return _table()[1]
