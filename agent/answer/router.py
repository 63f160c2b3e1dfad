"""Deciding how to answer a question without an LLM call: `term` (the glossary answers), `fact` (a stored
FAQ answer), `doc` (retrieved passages), or abstaining with suggestions ("您是不是想问").

understand (terms, unknown terms, whether it asks a meaning, its vector) -> candidates (glossary, FAQ entries
by words and by meaning, passages) -> decide, each candidate weighed by its calibrated chance of being right
(agent.answer.evidence). The thresholds below were chosen on bench/cases/tune (docs/benchmarks.md).
"""
from __future__ import annotations

import difflib
import threading
import logging
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path
from functools import cached_property

from agent.answer import evidence, learning
from agent.answer.evidence import FaqCandidate
from agent.answer.faq_match import FaqMatch, FaqMatcher
from agent.answer.pair_verifier import WEIGHTS, PairVerifier, load_verifier
from agent.answer.reasons import Reason, because, worded
from agent.answer.term_intent import TermIntent, background_vectors
from agent.answer.tool_intent import ToolIntents, ToolMatch
from agent.answer.terms import GlossaryMatcher, Mention
from agent.answer.understand import UnknownTerm, Understanding, understand
from agent.index.knowledge_base import KnowledgeBase
from agent.records import SearchHit, Term
from agent.text.bilingual import chinese_pairs, chinese_words, uses_word
from agent.text.normalize import fold

log = logging.getLogger(__name__)

ASKS_MEANING = 0.4  # term-intent probability above which a question about a term asks only its meaning
ANSWER = 0.4  # passages are given when their chance of answering reaches this
FACT = 0.8  # a stored answer, given word for word, must be likelier: a wrong one is worse than none
# FACT and ANSWER: the best score on tune that `python -m bench.calibrate --write` prints (a wrong stored answer
# counts as three mistakes) among the pairs with which `python -m agent eval bench/cases/tune/unanswerable.jsonl`
# still abstains on at least 95% (a tie goes to the pair with fewer wrong stored answers).
TENTATIVE = 0.6  # below FACT and at least this: answered as "您问的是不是「…」", the entry's answer below, to confirm
# TENTATIVE: the lowest threshold at which no tune question that should be abstained on was offered an entry
# (`python -m bench.calibrate --only faq_verified --also bench/cases/tune_knowledge --write`, with the verifier on:
# 0.6 offered the right entry for 18 questions and a wrong one for 1; 0.4 for 30 and 6, 2 of them to be abstained on).
SUGGEST = 0.1  # below TENTATIVE and at least this: offered as "您是不是想问"
VERIFIED = 2  # the most likely FAQ entries that the question-pair verifier reads
VERIFY_FLOOR = 0.02  # entries less likely than this are not worth the verifier's time
MAX_SUGGESTIONS = 3


@dataclass
class RouteDecision:
    route: str  # term | fact | doc | tool
    reasons: tuple[Reason, ...]  # why, as codes the surfaces word in their language (agent.answer.reasons)
    confidence: float  # the estimated chance that the answer is right
    mentions: list[Mention] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    faq: FaqMatch | None = None
    hits: list[SearchHit] = field(default_factory=list)
    abstained: bool = False
    suggestions: list[str] = field(default_factory=list)
    unknown_terms: list[UnknownTerm] = field(default_factory=list)  # asked about, not in the glossary
    tentative: bool = False  # a likely FAQ entry offered for confirmation ("您问的是不是…"), not a direct answer
    tool: ToolMatch | None = None  # the tool whose example questions the question matches (agent.answer.tool_intent)

    @property
    def reason(self) -> str:
        return worded(self.reasons)


class Router:
    def __init__(self, kb: KnowledgeBase, tools: Callable[[], list] = list):
        """`tools()`: the tool classes (agent.answer.tooling) whose example questions may decide a question,
        asked for on the first question (loading them loads Qwen-Agent)."""
        self.kb = kb
        self.glossary = GlossaryMatcher(kb.terms)
        self._faq: FaqMatcher | None = None
        self._tool_classes = tools
        self._learned_view: tuple | None = None  # the FAQ with learned wordings (agent.answer.learning), by file stamp
        self._view_lock = threading.Lock()

    @cached_property
    def tools(self) -> ToolIntents:
        return ToolIntents(self.kb, self._tool_classes())

    @property
    def faq(self) -> FaqMatcher:
        if self._faq is None:  # built on first use, so a glossary answer never waits for it
            self._faq = FaqMatcher(self.kb.faq)
        return self._faq

    @cached_property
    def intent(self) -> TermIntent | None:
        """The term-intent classifier for the index's embedder; None while no embedder works."""
        name = self.kb.embedder_name
        if name is None:
            return None
        return TermIntent.for_embedder(name, self.kb.query_vectors, self.kb.settings.index_dir)

    @cached_property
    def background(self):
        """Vectors of questions about anything, to tell how high a cosine is (agent.answer.evidence)."""
        name = self.kb.embedder_name
        return background_vectors(name, self.kb.query_vectors, self.kb.settings.index_dir) if name else None

    def understand(self, question: str) -> Understanding:
        return understand(question, self.glossary, self.kb.query_vector, self.intent, self.translate)

    def translate(self, question: str) -> dict[str, list[str]]:
        """An English question's words with the Chinese words of this knowledge they may stand for."""
        return chinese_words(question, lambda word: uses_word(self._chinese_pairs, word))

    @cached_property
    def _chinese_pairs(self) -> frozenset[str]:
        return chinese_pairs(p.text for p in self.kb.passages)

    def route(self, question: str, k: int = 5) -> RouteDecision:
        understanding = self.understand(question)
        if understanding.asks_meaning >= ASKS_MEANING:
            return self._term_decision(understanding)
        candidates = self.faq_candidates(understanding)
        best = candidates[0] if candidates else None
        tool = self.tools.best(understanding, self.background)
        if tool is not None and best is not None and tool.probability <= best.probability:
            tool = None  # a stored answer likelier than the tool is the answer
        if tool is not None and tool.probability >= FACT:
            return _tool_decision(tool, understanding)
        if best is not None and best.probability >= FACT:
            match = FaqMatch(best.entry, round(best.probability, 3), best.matched_question, best.number)
            return RouteDecision("fact", (because("faq_match", question=best.matched_question),),
                                 round(best.probability, 3), understanding.mentions, faq=match)
        hits, chance, features = self.passages(understanding, k)
        if tool is not None and tool.probability >= TENTATIVE and (chance < ANSWER or tool.probability >= chance):
            return _tool_decision(tool, understanding)
        if best is not None and best.probability >= TENTATIVE and (chance < ANSWER or best.probability >= chance):
            match = FaqMatch(best.entry, round(best.probability, 3), best.matched_question, best.number)
            others = [c.entry.question for c in candidates[1:] if c.probability >= SUGGEST][:MAX_SUGGESTIONS]
            return RouteDecision("fact", (because("faq_probable", question=best.matched_question),
                                          because("asked_to_confirm")),
                                 round(best.probability, 3), understanding.mentions, faq=match, suggestions=others,
                                 tentative=True)
        if hits and chance >= ANSWER:
            why = (because("mentions_more", terms="、".join(m.text.strip() for m in understanding.mentions))
                   if understanding.mentions else because("no_term_or_faq"))
            return RouteDecision("doc", (why, because("searched_documents")), round(chance, 3), understanding.mentions,
                                 hits=hits)
        coverage = f"{features['relevance']:.0%}"
        reason = (because("nothing_answers_faq", coverage=coverage, chance=f"{best.probability:.0%}") if best
                  else because("nothing_answers", coverage=coverage))
        suggestions = [c.entry.question for c in candidates if c.probability >= SUGGEST][:MAX_SUGGESTIONS]
        # The confidence of an abstention is the chance that nothing offered would have been right.
        return RouteDecision("doc", (reason,), round(1 - max(chance, best.probability if best else 0.0), 3),
                             understanding.mentions, hits=hits, abstained=True, suggestions=suggestions,
                             unknown_terms=understanding.unknown_terms)

    def passages(self, understanding: Understanding, k: int = 5) -> tuple[list[SearchHit], float, dict]:
        """The best passages, the chance that they answer the question, and the evidence for it."""
        expansions = expansion_names(understanding.mentions) + understanding.translated_words
        hits = self.kb.search(understanding.question, k=k, expansions=expansions)
        features = evidence.doc_features(understanding, hits, self.background)
        with_vectors = understanding.vector is not None and self.kb.vectors_complete
        model = evidence.doc_calibration(understanding.english, self.kb.embedder_name if with_vectors else None)
        chance = model.probability(features) if hits else 0.0
        return hits, chance, features

    def faq_candidates(self, understanding: Understanding, verify: bool = True,
                       learned: bool = True) -> list[FaqCandidate]:
        """FAQ entries near the question by words or by meaning, most likely right first; with `verify`, the
        likeliest read again by the question-pair verifier; with `learned`, read with what `kb learn` learned
        from this knowledge base's own labelled questions (agent.answer.learning)."""
        matcher, vectors, owners, answer_vectors, fit, wordings = self._faq_view(learned)
        if understanding.vector is None or vectors is None or answer_vectors is None or self.background is None:
            vectors = answer_vectors = None  # judged by words alone, with the fit made for that
        model = evidence.calibration("faq", self.kb.embedder_name if vectors is not None else None)
        candidates = evidence.faq_candidates(understanding, matcher, vectors, owners, answer_vectors,
                                             self.background if vectors is not None else None)
        entries = self.kb.faq  # as the owner wrote them: a learned wording is never shown as the matched question
        scored = [FaqCandidate(c.number, entries[c.number],
                               entries[c.number].question if c.matched_question in wordings else c.matched_question,
                               c.features, model.probability(c.features))
                  for c in candidates if fit is None or not fit.rejects(understanding.question, entries[c.number])]
        scored = sorted(scored, key=lambda c: -c.probability)
        if not verify:
            return scored
        return self._verified(understanding, scored, self.kb.embedder_name if vectors is not None else None)

    def _faq_view(self, learned: bool):
        """The FAQ as the decision reads it: its matcher, question vectors and their owners, passage vectors, and,
        where `kb learn` has saved labels for this index, what was learned and the learned wordings among the
        entries' questions."""
        fit = learning.load(self.kb.settings.index_dir) if learned else None
        vectors, answer_vectors = self.kb.faq_vectors, self.kb.faq_answer_vectors
        if fit is None:
            return self.faq, vectors, self.kb.faq_vector_owners, answer_vectors, None, set()
        key = (fit.stamp, vectors is not None, answer_vectors is not None)
        with self._view_lock:
            if self._learned_view is None or self._learned_view[0] != key:
                entries, *view = learning.with_learned(self.kb.faq, vectors, answer_vectors, fit,
                                                       self.kb.query_vectors, self.kb.passage_vectors)
                self._learned_view = (key, FaqMatcher(entries), *view)
            _, matcher, learned_vectors, owners, learned_answers, wordings = self._learned_view
        return matcher, learned_vectors, owners, learned_answers, fit, wordings

    @cached_property
    def verifier(self) -> PairVerifier | None:
        chosen = self.kb.settings.faq_verifier
        return None if chosen == "off" else load_verifier(WEIGHTS if chosen == "on" else Path(chosen))

    def _verified(self, understanding: Understanding, candidates: list[FaqCandidate],
                  embedder_name: str | None) -> list[FaqCandidate]:
        """The most likely entries read again by the question-pair verifier, their chance refitted over both
        (evidence.verified_calibration); the others as they were. Unchanged without a verifier or a fit for it."""
        model = evidence.verified_calibration(embedder_name, self.verifier)
        chosen = self.verifier_chances(understanding, candidates) if model is not None else []
        if not chosen:
            return candidates
        read = [evidence.with_verifier(c, chance, model, FACT) for c, chance in chosen]
        return sorted(read + candidates[len(chosen):], key=lambda c: -c.probability)

    def verifier_chances(self, understanding: Understanding,
                         candidates: list[FaqCandidate]) -> list[tuple[FaqCandidate, float]]:
        """The verifier's chance for each of the likeliest candidates worth reading; empty without a verifier."""
        chosen = [c for c in candidates[:VERIFIED] if c.probability >= VERIFY_FLOOR]
        if not chosen or self.verifier is None:
            return []
        chances = self.verifier.probabilities(understanding.question, [c.matched_question for c in chosen])
        return [(c, float(chance)) for c, chance in zip(chosen, chances)]

    def _term_decision(self, understanding: Understanding) -> RouteDecision:
        mentions = understanding.mentions
        unknown = "、".join(u.text for u in understanding.unknown_terms)
        if unknown and not any(m.terms for m in mentions):
            return RouteDecision("term", (because("term_unknown", terms=unknown),),
                                 round(understanding.asks_meaning, 3), mentions, abstained=True,
                                 unknown_terms=understanding.unknown_terms,
                                 suggestions=self.closest_terms([u.text for u in understanding.unknown_terms]))
        terms = _unique(t for m in mentions for t in m.terms)
        names = "、".join(dict.fromkeys(m.text.strip() for m in mentions))
        ambiguous = bool(evidence.ambiguous_mentions(mentions))
        reasons = (because("term_meanings" if ambiguous else "term_meaning", terms=names),)
        if unknown:  # "ERP和SAP是什么" with SAP missing: ERP is answered and SAP named as unknown
            reasons += (because("term_unknown", terms=unknown),)
        confidence = evidence.term_confidence(understanding.asks_meaning, ambiguous)
        return RouteDecision("term", reasons, round(confidence, 3), mentions, terms,
                             unknown_terms=understanding.unknown_terms)

    def closest_terms(self, names: list[str]) -> list[str]:
        """Glossary abbreviations spelt most like the unknown ones, for "您是不是想问"."""
        known = list(dict.fromkeys(t.abbreviation for t in self.kb.terms if t.abbreviation))
        found: list[str] = []
        for name in names:
            found += difflib.get_close_matches(name.upper(), [k.upper() for k in known], n=MAX_SUGGESTIONS, cutoff=0.5)
        spelling = {k.upper(): k for k in known}
        return [spelling[f] for f in dict.fromkeys(found)][:MAX_SUGGESTIONS]


def _tool_decision(tool: ToolMatch, understanding: Understanding) -> RouteDecision:
    """Run the tool; below FACT, asked as "您问的是不是「example」" with the tool's result below, to confirm."""
    tentative = tool.probability < FACT
    reasons = ((because("tool_probable", tool=tool.tool.name, question=tool.matched_question), because("asked_to_confirm"))
               if tentative else (because("tool_match", tool=tool.tool.name, question=tool.matched_question),))
    return RouteDecision("tool", reasons, tool.probability, understanding.mentions, tool=tool, tentative=tentative)


def expansion_names(mentions: list[Mention]) -> tuple[str, ...]:
    """Each mentioned term's other names, appended to the query before search."""
    names: list[str] = []
    for mention in mentions:
        for term in mention.terms:
            for name in (term.abbreviation, term.english, term.chinese):
                if name and fold(name) != fold(mention.text) and name not in names:
                    names.append(name)
    return tuple(names)


def _unique(terms) -> list[Term]:
    seen: list[Term] = []
    for term in terms:
        if term not in seen:
            seen.append(term)
    return seen
