"""Routing a question to the cheapest correct answer without an LLM call:
`term` (the glossary answers), `fact` (a stored FAQ answer), or `doc` (retrieved passages)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.answer.faq_match import FaqMatch, FaqMatcher
from agent.index.knowledge_base import KnowledgeBase
from agent.text.normalize import fold
from agent.records import SearchHit, Term
from agent.answer.terms import GlossaryMatcher, Mention
from agent.text.units import content_units

FAQ_THRESHOLD = 0.40  # F-measure of shared content units; see docs/benchmarks.md for how it holds up
# Share of the question a passage covers (see passage_relevance). When no passage among the first
# RELEVANCE_DEPTH reaches it, a document answer abstains; at or above it, an FAQ entry found by search through its answer is answered as a fact.
RELEVANCE_THRESHOLD = 0.4
RELEVANCE_DEPTH = 3  # a question's parts may be answered by different passages among the first few

# What a question that asks only for a term's meaning, full name, Chinese name or abbreviation may
# contain besides the term itself. Anything left over ("负责哪些事情", "会取代人类的工作吗") makes it
# a question about more than the meaning.
_MEANING_PHRASES = sorted("""
请问 你好 您好 想问一下 想问 问一下 我想知道 想知道 能告诉我 告诉我 请解释 解释一下 解释 介绍一下
是什么意思 什么意思 啥意思 是什么 是啥 指的是什么 指的是 指什么 代表什么 代表的是 代表 表示什么 表示
的意思 意思 的含义 含义 意义 中文全称 中文名称 中文名 中文含义 中文意思 中文解释 中文释义 中文 英文全称 英文全名 英文名称
英文名 英文缩写 英文 全称 全名 全拼 缩写 缩略语 简称 缩写词 是哪个词 哪个词 什么是 何为 何谓 叫什么 怎么说
职位 岗位 角色 分别 和 与 及 以及 是 的 呢 吗 嘛 啊 呀 哈 一下 什么 啥 指 哪个 哪些 有 个 词 术语 这个 那个
what's whats what is are does do did stand stands standing for the a an mean means meaning meanings of
abbreviation abbreviated acronym short full name form chinese english define definition explain tell me
please can could you expand expansion in term called and or
""".split(), key=len, reverse=True)
_MEANING_RE = re.compile("|".join(re.escape(p) for p in _MEANING_PHRASES if not p.isascii()))
_ASCII_WORD = re.compile(r"[a-z']+")
_ASCII_MEANING = {p for p in _MEANING_PHRASES if p.isascii()}
_PUNCTUATION = re.compile(r"[\W_]+")


@dataclass
class RouteDecision:
    route: str  # term | fact | doc
    reason: str
    confidence: float
    mentions: list[Mention] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    faq: FaqMatch | None = None
    hits: list[SearchHit] = field(default_factory=list)
    relevance: float = 0.0


class Router:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.glossary = GlossaryMatcher(kb.terms)
        self._faq: FaqMatcher | None = None
        self._faq_by_place = {(e.source, e.location): e for e in kb.faq}

    @property
    def faq(self) -> FaqMatcher:
        if self._faq is None:  # built on first use, so a glossary answer never waits for it
            self._faq = FaqMatcher(self.kb.faq)
        return self._faq

    def route(self, question: str, k: int = 5) -> RouteDecision:
        mentions = self.glossary.find(question)
        if mentions and asks_only_meaning(question, mentions):
            terms = _unique(t for m in mentions for t in m.terms)
            names = "、".join(dict.fromkeys(m.text.strip() for m in mentions))
            ambiguous = any(len({(t.english, t.chinese) for t in m.terms}) > 1 for m in mentions)
            reason = f"asks what the glossary term {names} means" + (" (several meanings)" if ambiguous else "")
            return RouteDecision("term", reason, 0.9 if ambiguous else 0.97, mentions, terms)
        matches = [m for m in self.faq.match(question, k=3) if _mentions_covered(mentions, m.entry)]
        if matches and matches[0].score >= FAQ_THRESHOLD:
            best = matches[0]
            return RouteDecision("fact", f"matches the FAQ question “{best.matched_question}”",
                                 round(best.score, 3), mentions, faq=best)
        expansions = expansion_names(mentions)
        hits = self.kb.search(question, k=k, expansions=expansions)
        coverage = [passage_relevance(question, mentions, hit.passage.text) for hit in hits[:RELEVANCE_DEPTH]]
        relevance = max(coverage, default=0.0)
        entry = self._faq_by_place.get((hits[0].passage.source, hits[0].passage.location)) if hits else None
        if entry is not None and coverage[0] >= RELEVANCE_THRESHOLD:
            match = FaqMatch(entry, coverage[0], entry.question)
            return RouteDecision("fact", f"the FAQ entry “{entry.question}” answers it (found through its answer)",
                                 round(coverage[0] * 0.9, 3), mentions, faq=match, hits=hits, relevance=coverage[0])
        if mentions:
            reason = f"mentions {'、'.join(m.text.strip() for m in mentions)} but asks more than its meaning"
        else:
            reason = "no glossary term or FAQ entry answers it; searched the documents"
        return RouteDecision("doc", reason, round(relevance, 3), mentions, hits=hits, relevance=relevance)


def asks_only_meaning(question: str, mentions: list[Mention]) -> bool:
    """True when nothing is left of the question once the terms and the ways of asking
    for a meaning are taken out."""
    rest, last = [], 0
    for mention in mentions:
        rest.append(question[last:mention.start])
        last = mention.end
    rest.append(question[last:])
    remainder = _MEANING_RE.sub(" ", fold(" ".join(rest)))
    words = [w for w in _ASCII_WORD.findall(remainder) if w.strip("'") not in _ASCII_MEANING]
    remainder = _ASCII_WORD.sub(" ", remainder)
    return not words and not _PUNCTUATION.sub("", remainder)


def _mentions_covered(mentions: list[Mention], entry) -> bool:
    """An FAQ entry that never names a term the question asks about is not the answer to it."""
    text = fold(" ".join((entry.question, *entry.similar, entry.answer)))
    return all(names_in(text, [n for t in m.terms for n in (*t.abbreviations, t.english, t.chinese) if n])
               for m in mentions)


def names_in(folded_text: str, names: list[str]) -> bool:
    """Whether a folded text gives one of the names; a Latin name only as whole words, so "ED" is not
    found in "called", nor "AM" in "amount"."""
    compact = folded_text.replace(" ", "")
    for name in filter(None, (fold(n) for n in names)):
        if not name.isascii():
            found = name.replace(" ", "") in compact
        else:
            words = r"\s*".join(re.escape(word) for word in name.split())
            found = re.search(rf"(?<![0-9a-z]){words}(?![0-9a-z])", folded_text) is not None
        if found:
            return True
    return False


def expansion_names(mentions: list[Mention]) -> tuple[str, ...]:
    """Each mentioned term's other names, appended to the query before search."""
    names: list[str] = []
    for mention in mentions:
        for term in mention.terms:
            for name in (term.abbreviation, term.english, term.chinese):
                if name and fold(name) != fold(mention.text) and name not in names:
                    names.append(name)
    return tuple(names)


def passage_relevance(question: str, mentions: list[Mention], passage: str) -> float:
    """How much of the question the passage covers, in [0, 1]: the larger of the share of its content
    words (jieba words of two or more characters, and Latin words) found in the passage (a term counts under any of its names) and the share of its characters
    and character pairs found there (which forgives jieba cutting the two texts differently)."""
    from agent.text.stopwords import STOPWORDS

    text = fold(passage)
    rest, last = [], 0
    found = total = 0
    for mention in mentions:
        rest.append(question[last:mention.start])
        last = mention.end
        total += 1
        found += names_in(text, [n for t in mention.terms for n in (*t.abbreviations, t.english, t.chinese) if n])
    rest.append(question[last:])
    remainder = fold(" ".join(rest))
    words = {w for w in _content_tokenizer().lcut(remainder)
             if w.strip() and w not in STOPWORDS and not _PUNCTUATION.fullmatch(w) and not _single_hanzi(w)}
    compact = text.replace(" ", "")
    word_share = (found + sum(w in compact for w in words)) / (total + len(words)) if total + len(words) else 0.0
    units = content_units(remainder)
    unit_share = (found + len(units & content_units(passage))) / (total + len(units)) if total + len(units) else 0.0
    return max(word_share, unit_share)


def _single_hanzi(word: str) -> bool:
    """One-character Chinese words are mostly function words (里, 和, 把); the character share counts them."""
    return len(word) == 1 and not word.isascii()


def _content_tokenizer():
    import jieba

    return jieba.dt


def _unique(terms) -> list[Term]:
    seen: list[Term] = []
    for term in terms:
        if term not in seen:
            seen.append(term)
    return seen
