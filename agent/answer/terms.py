"""Term understanding: which glossary terms a question mentions, by abbreviation (any spelling),
English full name or Chinese name, longest match first.

Abbreviations must not fire on ordinary words: in English text "it" is not IT and "am I allowed" is not
AM. A lower-case spelling counts only when the glossary lists it, or when it is not a common English
word; an upper-case or Chinese-embedded spelling always counts.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from agent.text.normalize import has_cjk
from agent.records import Term

# Common English words that are also typical abbreviations; written in lower case they are words.
COMMON_WORDS = frozenset(
    "a am an and any are as at be but by can do go he hr if in is it me my no not of oh ok on one or our "
    "pm so to up us we was who why how all app art bat bed box car cat cod con day did dim doc dog due "
    "end era eta etc eve far fee few fit for fun gap get got had has her him his hot its job key law "
    "let lot low man max may men min mix net new nor now off old out own pay per pro put ran raw red "
    "run sad saw say see set she sit six sky son sum sun tab tax ten the tip too top try two use via "
    "war way web who win yes yet you zip also back call care case cash chat code core data date deal "
    "desk done down easy edit else even exam fair fast file find fine form free full game gift give "
    "goal good half hand help here hold home hope idea info into item just keep kind last lead less "
    "life like line link list live load lock long look loss made mail main make many mark mass mean "
    "meet mind miss mode more most move much must name near need news next nice note once only open "
    "over page part pass past plan play plus post pull push rate read real rest role room rule safe "
    "sale same save seen self send ship shop show side sign site size some soon spec stop such sure "
    "take talk task team tell term test text than that them then they this time tool tour town true "
    "turn type unit upon user very view wait want week well went were what when will wish with word "
    "work year your".split()
)
_WORD_CHAR = re.compile(r"[0-9a-z]")


# A note in brackets after a name: "库存量单位（单品编码）", "Over-The-Counter (drug)".
_BRACKETED = re.compile(r"^(?P<name>[^（(]+?)\s*[（(](?P<note>[^）)]+)[）)]\s*$")
_NOTE_NOT_A_NAME = re.compile(r"[的“”\"'，,、；;。或]")
MIN_NOTE_NAME = 3  # a shorter note ("系统", "表", "防护") completes the name rather than naming the term


def name_variants(name: str) -> list[str]:
    """The ways a glossary name may be written in a question. A bracketed note is how sheets give a second
    name or a completion, and people write the name without it: "交货周期（前置时间）" is also "交货周期"
    and "前置时间", "损益（表）" also "损益" and "损益表". A note that reads as an explanation ("“国标”的拼音缩写")
    is not a name of its own."""
    name = name.strip()
    found = _BRACKETED.match(name)
    if not name or found is None:
        return [name] if name else []
    base, note = found.group("name").strip(), found.group("note").strip()
    joined = f"{base} {note}" if base[-1:].isascii() and note[:1].isascii() else base + note
    variants = [name, base, joined]
    if len(note) >= MIN_NOTE_NAME and has_cjk(note) and not _NOTE_NOT_A_NAME.search(note):
        variants.append(note)
    return list(dict.fromkeys(variants))


def term_names(term: Term) -> list[str]:
    """Every name a question may give the term by: abbreviations, English and Chinese names, aliases, and
    their variants."""
    names = [*term.abbreviations, *name_variants(term.english)]
    names += [variant for name in (term.chinese, *term.aliases) for variant in name_variants(name)]
    return list(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class Mention:
    """A stretch of the question naming glossary terms."""

    text: str  # as written in the question
    start: int
    end: int
    kind: str  # "abbreviation" | "english" | "chinese"
    terms: tuple[Term, ...]  # every term with that name (an ambiguous abbreviation has several)


@dataclass(frozen=True)
class _Name:
    kind: str
    written: tuple[str, ...]  # the spellings the glossary uses for this folded name
    terms: tuple[Term, ...]


def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).casefold()


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """Folded text with white space runs as one space, and for each folded character the index it came from."""
    folded, positions = [], []
    for index, ch in enumerate(text):
        if ch.isspace():
            if folded and folded[-1] != " ":
                folded.append(" ")
                positions.append(index)
            continue
        for out in _fold_char(ch):
            folded.append(out)
            positions.append(index)
    return "".join(folded), positions


def _fold_name(name: str) -> str:
    return fold_with_positions(name)[0]


class GlossaryMatcher:
    """Finds term mentions in one pass over the question: at each position, the longest known name."""

    def __init__(self, terms: list[Term]):
        collected: dict[str, dict] = {}
        for term in terms:
            names = [(a, "abbreviation") for a in term.abbreviations]
            names += [(variant, "english") for variant in name_variants(term.english)]
            names += [(variant, "chinese") for name in (term.chinese, *term.aliases) for variant in name_variants(name)]
            for written, kind in names:
                key = _fold_name(written)
                if len(key) < 2 and kind != "abbreviation" or not key:
                    continue
                entry = collected.setdefault(key, {"kind": kind, "written": [], "terms": []})
                if kind == "abbreviation":
                    entry["kind"] = "abbreviation"  # an abbreviation spelling rules on case, even if also a name
                if written not in entry["written"]:
                    entry["written"].append(written)
                if term not in entry["terms"]:
                    entry["terms"].append(term)
        self._names = {k: _Name(v["kind"], tuple(v["written"]), tuple(v["terms"])) for k, v in collected.items()}
        self._lengths = sorted({len(k) for k in self._names}, reverse=True)

    def find(self, question: str) -> list[Mention]:
        folded, positions = fold_with_positions(question)
        mentions: list[Mention] = []
        i = 0
        while i < len(folded):
            match = self._longest_at(question, folded, positions, i)
            if match is None:
                i += 1
                continue
            mentions.append(match)
            i += len(_fold_name(match.text)) or 1
        return mentions

    def _longest_at(self, question: str, folded: str, positions: list[int], i: int) -> Mention | None:
        for length in self._lengths:
            end = i + length
            if end > len(folded):
                continue
            name = self._names.get(folded[i:end])
            if name is None or not self._word_bounded(folded, i, end):
                continue
            start_char, end_char = positions[i], positions[end - 1] + 1
            written = question[start_char:end_char]
            if name.kind == "abbreviation" and not self._abbreviation_intended(written, name, question,
                                                                               start_char, end_char):
                continue
            return Mention(written, start_char, end_char, name.kind, name.terms)
        return None

    @staticmethod
    def _word_bounded(folded: str, start: int, end: int) -> bool:
        """Latin letters and digits must not continue the name on either side ("AM" is not in "AMOUNT")."""
        before = folded[start - 1] if start > 0 else ""
        after = folded[end] if end < len(folded) else ""
        if _WORD_CHAR.match(folded[start]) and before and _WORD_CHAR.match(before):
            return False
        if _WORD_CHAR.match(folded[end - 1]) and after and _WORD_CHAR.match(after):
            return False
        return True

    @staticmethod
    def _abbreviation_intended(written: str, name: _Name, question: str, start: int, end: int) -> bool:
        compact = unicodedata.normalize("NFKC", " ".join(written.split()))
        if compact in name.written or compact != compact.lower():
            return True  # a glossary spelling, or written with capitals
        if has_cjk(question[start - 1:start]) or has_cjk(question[end:end + 1]):
            return True  # "am是什么意思": next to Chinese it is no English word
        return compact.lower() not in COMMON_WORDS
