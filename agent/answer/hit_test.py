"""命中测试 (hit test): how the router sees a question, for knowledge owners. How it was understood (terms
named, unknown abbreviations, whether it asks only a meaning, whether meaning by vectors was used), every
candidate it weighed with its score (glossary terms by name, by spelling and by meaning; FAQ entries with their
calibrated chance; passages with their fused, BM25 and cosine scores and the chance they answer), and the
decision with its reason. It reads the router as it answers and changes nothing: no answer is written, nothing
is logged."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from agent.answer.evidence import FaqCandidate
from agent.answer.router import RouteDecision, Router
from agent.answer.understand import Understanding
from agent.records import SearchHit, Term

TERMS_BY_MEANING = 3  # glossary terms closest in meaning, shown beside those the question names


@dataclass(frozen=True)
class TermCandidate:
    term: Term
    score: float  # 1.0 for a name in the question; a spelling ratio; or a cosine
    found_by: str  # "name" | "spelling" | "meaning"
    written: str = ""  # how the question wrote it (name and spelling)


@dataclass
class HitTest:
    question: str
    understanding: Understanding
    decision: RouteDecision
    terms: list[TermCandidate] = field(default_factory=list)
    faq: list[FaqCandidate] = field(default_factory=list)
    passages: list[SearchHit] = field(default_factory=list)
    passage_chance: float = 0.0  # the calibrated chance that the passages answer the question
    passage_evidence: dict[str, float] = field(default_factory=dict)
    by_meaning: bool = False  # whether meanings were compared: the question's vector and every stored vector there


def hit_test(router: Router, question: str, k: int = 5) -> HitTest:
    question = (question or "").strip()
    understanding = router.understand(question)
    hits, chance, evidence = router.passages(understanding, k)
    return HitTest(question, understanding, router.route(question, k), term_candidates(router, understanding),
                   router.faq_candidates(understanding), hits, round(chance, 3),
                   {name: round(float(value), 3) for name, value in evidence.items()},
                   by_meaning=understanding.vector is not None and router.kb.vectors_complete)


def term_candidates(router: Router, understanding: Understanding) -> list[TermCandidate]:
    """Terms the question names, glossary abbreviations spelt like its unknown ones, and the terms closest in
    meaning to the question (cosine to the term's names)."""
    found: list[TermCandidate] = []
    for mention in understanding.mentions:
        found += [TermCandidate(term, 1.0, "name", mention.text) for term in mention.terms]
    kb = router.kb
    for unknown in understanding.unknown_terms:
        for name in router.closest_terms([unknown.text]):
            ratio = difflib.SequenceMatcher(None, unknown.text.upper(), name.upper()).ratio()
            found += [TermCandidate(term, round(ratio, 3), "spelling", unknown.text)
                      for term in kb.terms if term.abbreviation == name]
    vectors = kb.term_vectors
    if understanding.vector is not None and vectors is not None and len(vectors) == len(kb.terms):
        cosines = vectors @ understanding.vector
        for number in np.argsort(-cosines)[:TERMS_BY_MEANING]:
            found.append(TermCandidate(kb.terms[int(number)], round(float(cosines[number]), 3), "meaning"))
    unique: dict[tuple, TermCandidate] = {}
    for candidate in found:  # one line per term: its strongest evidence
        key = (candidate.term.source, candidate.term.sheet, candidate.term.row)
        unique.setdefault(key, candidate)
    return list(unique.values())
