"""The first step of answering: what the question names and what it asks.

Glossary terms are found by their names (agent.answer.terms); words written like abbreviations that the
glossary lacks ("ESS", "QPS") are kept too, because a question about an unknown term must not be answered
from passages that merely share its other words. Whether the question asks only for a meaning is decided
fast when nothing but a common way of asking is left around the terms, and otherwise by the term-intent
classifier on the question with its terms masked (its wording, and the embedder's vector when the wording
leaves it unsure). The question's own vector is computed only when something reads it (FAQ and documents).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from agent.answer.term_intent import TermIntent, mask
from agent.answer.terms import COMMON_WORDS, GlossaryMatcher, Mention
from agent.text.normalize import fold, has_cjk

# What a question that asks only for a term's meaning, full name, Chinese name or abbreviation commonly
# contains besides the term. When nothing else is left the answer is certain without the classifier,
# which keeps the glossary route free of the embedder's 30 ms; every other wording goes to the classifier.
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
# Written like an abbreviation: capitals (digits and & allowed), or two or more capitals in a mixed word.
_ABBREVIATION_LIKE = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][A-Z0-9&]{1,9}|[A-Z][a-z]*[A-Z][A-Za-z]*)(?![A-Za-z0-9])")


@dataclass(frozen=True)
class UnknownTerm:
    """A word written like an abbreviation that no glossary row names."""

    text: str
    start: int
    end: int


@dataclass
class Understanding:
    question: str
    mentions: list[Mention]
    unknown_terms: list[UnknownTerm]
    asks_meaning: float  # the chance that the question asks only for a meaning or a name (0 without terms)
    # An English question's words with the Chinese words of the knowledge they may stand for (agent.text.bilingual).
    translations: dict[str, list[str]] = field(default_factory=dict)
    # Gives the question's own vector, or None without an embedder; called once, when `vector` is first read.
    embed_question: Callable[[], np.ndarray | None] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def vector(self) -> np.ndarray | None:
        """The question's own vector; None without an embedder. Computed on first use, so a question the
        glossary answers never waits for an embedding it does not need."""
        return self.embed_question() if self.embed_question is not None else None

    @property
    def english(self) -> bool:
        return not has_cjk(self.question)

    @property
    def matching_text(self) -> str:
        """The question as its words are compared with Chinese knowledge: an English question with the words
        the dictionary found written in Chinese after it."""
        chinese = [word for words in self.translations.values() for word in words]
        return " ".join((self.question, *chinese)) if chinese else self.question

    @property
    def translated_words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(word for words in self.translations.values() for word in words))


def understand(question: str, glossary: GlossaryMatcher, embed, intent: TermIntent | None,
               translate=None) -> Understanding:
    """`embed(text)` gives a query vector or None; `intent` is None when no embedder works; `translate(question)`
    gives an English question's words in Chinese (agent.text.bilingual.chinese_words)."""
    mentions = glossary.find(question)
    unknown = unknown_terms(question, mentions)
    if mentions and not unknown and asks_only_meaning(question, mentions):
        return Understanding(question, mentions, unknown, 1.0, embed_question=lambda: embed(question))
    asks = 0.0
    if (mentions or unknown) and intent is not None:
        spans = [(m.start, m.end) for m in mentions] + [(u.start, u.end) for u in unknown]
        asks = intent.asks_meaning(mask(question, spans), embed)
    elif unknown and asks_only_meaning(question, [_as_mention(u) for u in unknown]):
        asks = 1.0  # without an embedder the plain ways of asking still count
    translations = translate(question) if translate is not None and not has_cjk(question) else {}
    return Understanding(question, mentions, unknown, asks, translations, lambda: embed(question))


def unknown_terms(question: str, mentions: list[Mention]) -> list[UnknownTerm]:
    """Abbreviation-like words outside every glossary mention; English words in capitals ("WHAT") are not."""
    taken = [(m.start, m.end) for m in mentions]
    found = []
    for match in _ABBREVIATION_LIKE.finditer(question):
        start, end = match.span()
        if any(s < end and start < e for s, e in taken) or match.group().lower() in COMMON_WORDS:
            continue
        found.append(UnknownTerm(match.group(), start, end))
    return found


def asks_only_meaning(question: str, mentions: list[Mention]) -> bool:
    """True when nothing is left of the question once the terms and the common ways of asking for a
    meaning are taken out."""
    rest, last = [], 0
    for mention in sorted(mentions, key=lambda m: m.start):
        rest.append(question[last:mention.start])
        last = mention.end
    rest.append(question[last:])
    return not _PUNCTUATION.sub("", without_ways_of_asking(" ".join(rest)))


def without_ways_of_asking(text: str) -> str:
    """The folded text with the common ways of asking for a meaning or a name taken out: the Chinese phrases
    wherever they stand, the English words as whole words."""
    remainder = _MEANING_RE.sub(" ", fold(text))
    return _ASCII_WORD.sub(lambda word: " " if word.group().strip("'") in _ASCII_MEANING else word.group(), remainder)


def _as_mention(term: UnknownTerm) -> Mention:
    return Mention(term.text, term.start, term.end, "abbreviation", ())
