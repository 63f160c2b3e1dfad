"""Matching a question to FAQ entries, by their stored question and every similar question.

The score is an F-measure of shared content units weighted by how rare they are among the FAQ's own
questions: both the user's question and the stored one must be mostly covered, so a long document
question that shares one word with an FAQ does not match it. Scores lie in [0, 1], which lets one
threshold hold across FAQ sheets of any size. Synonyms are written one way on both sides first
(agent.text.synonyms), so that "门卡不见了" meets "门禁卡丢失".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from agent.records import FaqEntry
from agent.text.normalize import has_cjk
from agent.text.synonyms import canonical
from agent.text.units import content_units


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float
    matched_question: str  # the stored or similar question that matched best
    number: int = -1  # the entry's position in the matcher's list


class FaqMatcher:
    def __init__(self, entries: list[FaqEntry]):
        self.entries = entries
        self._units_by_entry: dict[int, set[str]] = {}
        self._probe_entry: list[int] = []
        self._probe_text: list[str] = []
        probe_units: list[set[str]] = []
        for number, entry in enumerate(entries):
            for question in (entry.question, *entry.similar):
                units = content_units(canonical(question))
                if units:
                    self._probe_entry.append(number)
                    self._probe_text.append(question)
                    probe_units.append(units)
        vocabulary: dict[str, int] = {}
        rows, columns = [], []  # (probe, unit) for every unit of every probe
        for row, units in enumerate(probe_units):
            for unit in units:
                rows.append(row)
                columns.append(vocabulary.setdefault(unit, len(vocabulary)))
        self._vocabulary = vocabulary
        rows, columns = np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64)
        order = np.argsort(columns, kind="stable")
        # An inverted index: the probes that hold each unit.
        self._probes_of_unit = np.split(rows[order], np.cumsum(np.bincount(columns, minlength=len(vocabulary)))[:-1])
        document_frequency = np.bincount(columns, minlength=len(vocabulary)).astype(np.float32)
        count = max(1, len(probe_units))
        self._idf = np.log((count + 1) / (document_frequency + 0.5)).astype(np.float32)
        self._unknown_idf = math.log((count + 1) / 0.5)
        self._probe_weight = np.bincount(rows, weights=self._idf[columns], minlength=len(probe_units)).astype(np.float32)

    def match(self, question: str, k: int = 3) -> list[FaqMatch]:
        """The best k entries (one score per entry: its best-matching question), best first."""
        units = content_units(canonical(question))
        if not units or not self._probe_text:
            return []
        known = [self._vocabulary[u] for u in units if u in self._vocabulary]
        query_weight = float(self._idf[known].sum()) + self._unknown_idf * (len(units) - len(known))
        overlap = np.zeros(len(self._probe_text), dtype=np.float32)
        for column in known:
            overlap[self._probes_of_unit[column]] += self._idf[column]
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(overlap > 0, 2 * overlap / (query_weight + self._probe_weight), 0.0)
        best: dict[int, tuple[float, int]] = {}
        for probe in np.argsort(-scores)[: 8 * k]:
            if scores[probe] <= 0:
                break
            entry = self._probe_entry[probe]
            if entry not in best:
                best[entry] = (float(scores[probe]), int(probe))
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        return [FaqMatch(self.entries[e], s, self._probe_text[p], e) for e, (s, p) in ranked]

    @cached_property
    def chinese_rows(self) -> np.ndarray:
        """For each stored and similar question, in the order of the index's FAQ vectors, whether it is Chinese."""
        return np.array([has_cjk(q) for entry in self.entries for q in (entry.question, *entry.similar)], dtype=bool)

    def coverage(self, question: str, number: int) -> float:
        """The rarity-weighted share of the question's content units that entry `number` has anywhere (its
        questions or its answer): low when the entry lacks what the question is about."""
        units = _question_units(question)
        if not units:
            return 0.0
        weights = {u: float(self._idf[self._vocabulary[u]]) if u in self._vocabulary else self._unknown_idf
                   for u in units}
        covered = units & self._entry_units(number)
        return sum(weights[u] for u in covered) / sum(weights.values())

    def _entry_units(self, number: int) -> set[str]:
        cached = self._units_by_entry.get(number)
        if cached is None:
            entry = self.entries[number]
            cached = content_units(canonical(" ".join((entry.question, *entry.similar, entry.answer))))
            self._units_by_entry[number] = cached
        return cached


@lru_cache(maxsize=64)
def _question_units(question: str) -> frozenset[str]:
    """A question's content units, once per question however many candidates it is weighed against."""
    return frozenset(content_units(canonical(question)))
