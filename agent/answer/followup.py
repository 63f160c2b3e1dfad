"""Follow-up questions by conversation state: a question that leans on the conversation is decided as the
standalone question it stands for; a question on a new topic is left as it is.

The conversation keeps what it is about (`State`): the last standalone question, its decision (the terms,
the FAQ entry or the passages that answered it) and the meanings of the last ambiguous term. A question is
read against that state by three moves, each giving a candidate standalone question:

- fill or replace a slot: what the question says takes the place of the part of the earlier question most
  like it in meaning (a term for a term, a code for a code, a word for a word), or, when it asks only for a
  name, asks that name of the earlier topic;
- pick a meaning: a meaning counted by its order becomes that meaning's name;
- refer: a referring word becomes the earlier topic, or the topic goes before a question with no subject.

The question as asked and its candidate are both decided by the router, the same understanding and
calibrated confidence that answer any question, and one rule chooses between them. The candidate must still
answer what the user typed (`covers_own_words`); then the more the question leans on the conversation, the
less likely than the question's own answer the candidate may be: a fragment or an ordinal is taken whenever
the candidate is answered, a question that refers back or has no subject when the candidate is likelier, and
a question with a subject of its own only when the candidate is likelier by GAIN (so a new topic the
knowledge cannot answer stays an abstention). With an LLM configured it rewrites first
(agent.answer.llm_rewrite), and the rule is used when its rewrite loses the question.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from agent.answer.conversation import earlier_questions, recent_messages
from agent.answer.followup_wording import (EN_LEAD, EN_QUESTION, EN_WORD, ZH_LEAD, ZH_QUESTION, fragment,
                                           has_subject, own_words, pick_meaning, points_back, referring, replace_spans, subject,
                                           tidy)
from agent.answer.router import FACT, RouteDecision, Router
from agent.answer.terms import Mention
from agent.answer.understand import asks_only_meaning
from agent.records import Term
from agent.text.normalize import fold, has_cjk
from agent.text.stopwords import STOPWORDS
from agent.text.units import content_units

log = logging.getLogger(__name__)

CACHE_SIZE = 512  # earlier turns as understood, so a conversation's turns are routed once each
COVERED = 0.5  # share of the user's own content words that the candidate's answer must contain
GAIN = 0.15  # a question with a subject of its own: how much likelier its candidate must be
SIBLING = 0.86  # least cosine for a word of the earlier question to be a slot a fragment may fill
SLOTS = 3  # slots a fragment may fill, closest first; the router decides which reading is likeliest
_EN_ARTICLE = re.compile(r"^(?:the|its|their)\s+", re.I)
_EN_PREPOSITION = re.compile(r"^(?:for|in|on|at|of|about|to|with|from|by)\s+", re.I)
_CODE = re.compile(r"^[A-Za-z]{0,3}\d{1,4}(?:\.\d+)?(?:[A-Za-z]{0,2}|%)$")  # P1, Q4, 2026, L3, 90%


@dataclass(frozen=True)
class State:
    """What the conversation is about after a turn: its standalone question, its decision (terms, FAQ
    entry, passages) and the meanings of the last ambiguous term named so far (what "the second" counts)."""

    standalone: str
    decision: RouteDecision
    meanings: tuple[Term, ...] = ()

    def topic(self, english: bool) -> str:
        """What the conversation is about: its terms, else the words its question opens with."""
        names = list(dict.fromkeys([m.text.strip() for m in self.decision.mentions]
                                   + [u.text for u in self.decision.unknown_terms]))
        return (" and " if english else "、").join(names[:2]) if names else subject(self.standalone, english)


@dataclass
class Resolution:
    """The question to decide (the standalone one when rewritten), the rewrite ("" when asked as it is),
    its decision, and the move that made the rewrite."""

    question: str
    rewritten: str
    decision: RouteDecision
    how: str = ""  # fragment | ordinal | refer | subject | llm; "" when left alone


class FollowUps:
    """Reads questions against the conversation state, for one router (one index generation)."""

    def __init__(self, router: Router):
        self.router = router
        self._states: OrderedDict[tuple[str, str], State] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, question: str, history=None, llm: Callable[[list[dict], str], str] | None = None) -> Resolution:
        """The question to decide and its decision. `llm(messages, question)` returns an LLM's rewrite
        (raising when it fails); without it, or when its rewrite loses the question, the rule rewrites."""
        own = self.router.route(question)
        state = None
        for asked in earlier_questions(history):  # each earlier turn read in the light of the one before
            state = self._state(asked, state)
        if state is None:
            return Resolution(question, "", own)
        resolution = None
        if llm is not None and (points_back(question) or not (own.mentions or own.unknown_terms)):
            from agent.answer.llm_rewrite import llm_resolution

            resolution = llm_resolution(self.router, question, own, recent_messages(history), llm)
        resolution = resolution or self.by_rule(question, own, state)
        self._store((state.standalone, question), _state_after(resolution, state))
        return resolution

    def _state(self, asked: str, before: State | None) -> State:
        key = (before.standalone if before else "", asked)
        with self._lock:
            known = self._states.get(key)
        if known is None:
            own = self.router.route(asked)
            resolution = self.by_rule(asked, own, before) if before else Resolution(asked, "", own)
            known = _state_after(resolution, before)
            self._store(key, known)
        return known

    def _store(self, key: tuple[str, str], state: State) -> None:
        with self._lock:
            self._states[key] = state
            self._states.move_to_end(key)
            while len(self._states) > CACHE_SIZE:
                self._states.popitem(last=False)

    # --- the rule: one candidate, decided and chosen ---------------------------------------------------

    def by_rule(self, question: str, own: RouteDecision, state: State) -> Resolution:
        leaning = self._leans(question, own, state)
        if leaning is None:
            return Resolution(question, "", own)
        candidates, how, margin = leaning
        decided = [(self.router.route(c), c) for c in dict.fromkeys(candidates) if c and fold(c) != fold(question)]
        valid = [(d, c) for d, c in decided if not d.abstained and (
            covers_own_words(question, d, self.router, all_words=how == "fragment")
            or how == "subject" and d.confidence >= FACT)]
        if not valid:
            return Resolution(question, "", own)
        decision, candidate = max(valid, key=lambda pair: pair[0].confidence)  # the likeliest reading
        if own.abstained and margin <= 0 or not own.abstained and decision.confidence > own.confidence + margin:
            return Resolution(candidate, candidate, decision, how)
        return Resolution(question, "", own)

    def _leans(self, question: str, own: RouteDecision, state: State) -> tuple[list[str], str, float] | None:
        """The candidate standalone questions, the move that made them and the margin by which the likeliest
        must be likelier than the question as asked (-1: a fragment or an ordinal points back whatever the
        question answers alone); None when the question stands on its own."""
        english = not has_cjk(question)
        text, how = question.strip(), ""
        picked = pick_meaning(text, english, state.meanings, state.standalone)
        if picked is not None:
            text, how = picked, "ordinal"
        rest = fragment(text, english)
        if rest is not None:
            return [tidy(c, english) for c in self._fill(rest, state, english)], how or "fragment", -1.0
        if how:
            return [tidy(text, english)], how, -1.0
        if own.mentions or own.unknown_terms:
            return None  # it names its own term: what it refers to is that term
        topic = state.topic(english)
        body = (EN_LEAD if english else ZH_LEAD).sub("", text, count=1)
        spans = referring(body, english)
        if topic and spans:
            return [tidy(replace_spans(body, spans, topic), english)], "refer", 0.0
        if not topic or fold(topic).replace(" ", "") in fold(text).replace(" ", ""):
            return None
        leans = body != text or not english and not has_subject(text)
        candidate = f"About {topic}: {body[:1].upper()}{body[1:]}" if english else f"{topic}，{body}"
        return [candidate], "subject", 0.0 if leans else GAIN

    def _fill(self, rest: str, state: State, english: bool) -> list[str]:
        """The earlier question with the fragment in each slot like it, or the fragment's name asked of the
        earlier topic; the fragment before the earlier question when no slot is like it."""
        earlier = state.standalone
        spans = referring(rest, english)  # "它的中文意思", "its Chinese name": the referring word goes
        core = (rest[spans[0][1]:] if spans and spans[0][0] == 0 else rest).strip().removeprefix("的")
        if asks_only_meaning(core, []) and core.strip():
            topic = state.topic(english)
            if english:
                return [f"What is {topic} {core}?" if _EN_PREPOSITION.match(core) else
                        f"What is the {_EN_ARTICLE.sub('', core)} of {topic}?"]
            return [f"{topic}的{core.removesuffix('的')}是什么？"]
        if not english and core.endswith("的") and len(core) > 1:
            return [core[:-1] + earlier]  # a modifier ("临时的") goes before what it modifies
        core = _EN_PREPOSITION.sub("", core) if english else core
        slots = self._slots_like(core, earlier, state.decision, english)
        if not slots:
            return [f"{earlier.rstrip('?？ ')} {core}?" if english else core + earlier]
        return [earlier[:start] + core + earlier[end:] for start, end in slots]

    def _slots_like(self, core: str, earlier: str, decision: RouteDecision, english: bool) -> list[tuple[int, int]]:
        """The spans of the earlier question the fragment may fill: a term for a term, a code for a code,
        else the SLOTS words closest in meaning at SIBLING or more (in spelling without an embedder)."""
        terms, words = _slots(earlier, decision, english)
        if terms and self.router.glossary.find(core) or terms and decision.unknown_terms and core.isascii():
            return terms[:1]
        coded = [(s, e) for s, e in terms + words if _CODE.match(core) and _CODE.match(earlier[s:e])]
        if coded or not terms + words:
            return coded[:1]
        spans = terms + words
        texts = [earlier[s:e] for s, e in spans]
        vectors = self.router.kb.query_vectors([core, *texts]) if self.router.kb.embedder_name else None
        if vectors is None:
            likeness, floor = np.array([len(set(core) & set(t)) / len(set(core) | set(t)) for t in texts]), 1e-9
        else:
            likeness, floor = vectors[1:] @ vectors[0], SIBLING
        return [spans[i] for i in np.argsort(-likeness)[:SLOTS] if likeness[i] >= floor]


def _state_after(resolution: Resolution, before: State | None) -> State:
    meanings = ambiguous_meanings(resolution.decision.mentions) or (before.meanings if before else ())
    return State(resolution.question, resolution.decision, meanings)


def _slots(text: str, decision: RouteDecision, english: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The slots of an earlier question: its term mentions, and its content words and pairs of adjacent
    ones ("一线城市", "regular staff"), jieba's single characters in a row joined ("年" + "假")."""
    terms = [(m.start, m.end) for m in [*decision.mentions, *decision.unknown_terms] if text[m.start:m.end] == m.text]
    free = lambda s, e: not any(a < e and s < b for a, b in terms)  # noqa: E731
    if english:
        found = [(m.start(), m.end()) for m in EN_WORD.finditer(text) if m.group().lower() not in STOPWORDS
                 and not EN_QUESTION.fullmatch(m.group()) and free(*m.span())]
    else:
        import jieba

        found = []
        for word, start, end in jieba.tokenize(text):
            if not free(start, end) or word in STOPWORDS or ZH_QUESTION.fullmatch(word) or not word.strip() \
                    or not any(ch.isalnum() for ch in word):
                continue
            if len(word) == 1 and found and found[-1][1] == start and end - found[-1][0] <= 2 \
                    and len(text[found[-1][0]:found[-1][1]]) == 1:
                found[-1] = (found[-1][0], end)
            else:
                found.append((start, end))
    pairs = [(a, d) for (a, b), (c, d) in zip(found, found[1:]) if text[b:c] in ("", " ")]
    return sorted(terms), found + pairs


def ambiguous_meanings(mentions: list[Mention]) -> tuple[Term, ...]:
    """The meanings of the last mention with several, in the order the glossary answer lists them."""
    for mention in reversed(mentions):
        meanings = tuple(dict.fromkeys(mention.terms))
        if len({(t.english, t.chinese) for t in meanings}) > 1:
            return meanings
    return ()


# --- does the candidate still answer what the user typed ------------------------------------------------


def evidence_text(decision: RouteDecision) -> str:
    """What answers a decision: the glossary rows, the FAQ entry, or the first passages."""
    if decision.abstained:
        return ""
    if decision.route == "term":
        return " ".join(" ".join((*t.abbreviations, t.english, t.chinese, *t.aliases, t.definition))
                        for t in decision.terms)
    if decision.route == "fact" and decision.faq is not None:
        return " ".join((decision.faq.entry.question, *decision.faq.entry.similar, decision.faq.entry.answer))
    return " ".join(h.passage.text for h in decision.hits[:3])


def covers_own_words(question: str, decision: RouteDecision, router: Router, all_words: bool = False) -> bool:
    """Whether what answers the candidate still answers what the user typed (it must not answer the
    earlier question instead): a glossary answer names every term the user named (and, for a fragment,
    `all_words`, holds its other words: "年假" after a question about a term is not about that term); an
    FAQ entry or passages hold at least half of the user's other words (evidence.passage_relevance).
    English words are not looked for in Chinese evidence."""
    from agent.answer.evidence import passage_relevance

    named = [m.text for m in router.glossary.find(question)]
    if decision.route == "term" and not {fold(n) for n in named} <= {fold(m.text) for m in decision.mentions}:
        return False
    if decision.route == "term" and not all_words:
        return True
    words = own_words(question)
    for name in named:
        words = fold(words).replace(fold(name), " ")
    text = evidence_text(decision)
    if not content_units(words) or (not has_cjk(question) and has_cjk(text)):
        return True
    return passage_relevance(words, [], text) >= COVERED
