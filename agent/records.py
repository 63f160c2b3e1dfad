"""Plain records passed between layers: knowledge files -> records -> index -> answers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.answer.reasons import Reason


@dataclass(frozen=True)
class Term:
    """One glossary row: an abbreviation (with its spelling variants) and its names, or a term and its definition."""

    abbreviations: tuple[str, ...]  # spelling variants as written, first is the main one; may be empty
    english: str  # English full name, may be empty
    chinese: str  # Chinese explanation (or the Chinese term itself, 星河令牌), may be empty
    aliases: tuple[str, ...] = ()  # further names (a second translation column)
    definition: str = ""  # what the term means, in sentences ("内部积分凭证，可兑换……")
    category: str = ""
    note: str = ""
    source: str = ""  # file path relative to the knowledge folder
    sheet: str = ""
    row: int = 0  # 1-based row number as a spreadsheet program shows it

    @property
    def abbreviation(self) -> str:
        return self.abbreviations[0] if self.abbreviations else ""

    @property
    def location(self) -> str:
        return f"{self.sheet} row {self.row}" if self.sheet else f"row {self.row}"


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ pair, with the other ways people ask the same question."""

    question: str
    answer: str
    similar: tuple[str, ...] = ()
    category: str = ""
    source: str = ""
    sheet: str = ""
    row: int = 0

    @property
    def location(self) -> str:
        return f"{self.sheet} row {self.row}" if self.sheet else f"row {self.row}"


@dataclass(frozen=True)
class Section:
    """A run of text read from a document, before splitting, with where it was found."""

    text: str
    location: str  # "p. 3", "slide 2", "sheet 价格", "售后流程 > 职责", ...


@dataclass(frozen=True)
class Passage:
    """A retrievable piece of a document."""

    text: str
    source: str  # file path relative to the knowledge folder
    location: str


@dataclass(frozen=True)
class Source:
    """Where an answer came from, as shown to users and scored by eval."""

    source: str
    location: str
    score: float
    text: str = ""  # the passage, FAQ answer or glossary row behind it


ROUTES = ("term", "fact", "doc", "tool")  # the glossary, a stored FAQ answer, the documents, or a tool's result


@dataclass
class Answer:
    text: str
    route: str  # one of ROUTES
    reason: str
    confidence: float  # the estimated chance that the answer is right (see docs/benchmarks.md)
    sources: list[Source] = field(default_factory=list)
    latency_ms: float = 0.0
    llm: str = "none"
    abstained: bool = False  # the knowledge holds no answer; the text says so
    tentative: bool = False  # a likely FAQ entry's answer, offered as "您问的是不是…" for the asker to confirm
    suggestions: list[str] = field(default_factory=list)  # "您是不是想问": FAQ questions or terms to ask instead
    lead: str = ""  # the sentences that answer the question (for term and fact answers, the answer itself)
    rewritten: str = ""  # the standalone question a follow-up was understood as; empty when asked as is
    answer_id: str = ""  # set when the answer is written to the question log, so feedback can name it
    reasons: list[Reason] = field(default_factory=list)  # `reason` as codes, worded by each surface (agent.answer.reasons)


@dataclass(frozen=True)
class SearchHit:
    """A passage found by retrieval, with the scores that ranked it."""

    passage: Passage
    score: float  # fused rank score; higher is better
    lexical_score: float = 0.0  # BM25
    dense_score: float = 0.0  # cosine similarity, 0 when the dense leg did not run
