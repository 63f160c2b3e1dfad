"""待完善: the logged questions the knowledge did not answer well, grouped by meaning, and the fixes knowledge
owners make from them.

A question needs work when it abstained, was rated 👎, or was answered with a confidence below LOW_CONFIDENCE,
and no fix has been made for it since. Questions are grouped by meaning with the index's embedder: a question
joins the group it stands closest to when its cosine to the group's questions stands GROUP_STANDING standard
deviations above its cosines to background questions about anything (agent.answer.term_intent), the scale the
router already judges FAQ cosines on, so the bar does not depend on one embedder's band of raw cosines. With no
embedder working, questions group by their normalised text. Groups come most asked first, then newest.

A fix is written to the owners' supplement workbooks (agent/ingest/supplements.py), re-indexed at once, kept in
the fix history with its date, and the questions it answers leave the list."""
from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from agent.answer.hit_test import HitTest, hit_test
from agent.answer.router import RouteDecision
from agent.answer.service import KnowledgeService
from agent.ingest import supplements
from agent.ingest.supplements import FixRefused, Written
from agent.memory.question_log import COLUMNS, LoggedQuestion, QuestionLog
from agent.records import FaqEntry
from agent.text.normalize import fold, has_cjk

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 0.5  # an answer below this is as likely wrong as right: the owner should look at it
GROUP_STANDING = 5.0  # standard deviations above background questions (see docs in README, 知识维护)
MAX_GROUPS = 50
MAX_OPEN_ROWS = 2000  # the newest questions needing work that are grouped: enough to show what matters most
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass
class QuestionGroup:
    questions: list[str]  # the distinct wordings, most asked first
    count: int  # how often the group's questions were asked
    newest: float  # when the newest was asked (Unix time)
    answer_ids: list[str]  # the log rows of the group
    row_questions: list[str]  # the wording each of those rows asked, in the same order
    why: dict[str, int]  # {"abstained", "down", "low_confidence"}: how many rows for each reason
    comments: list[str] = field(default_factory=list)  # feedback comments, newest first
    candidates: HitTest | None = None  # what the assistant weighed for the group's first question

    @property
    def question(self) -> str:
        return self.questions[0]

    @property
    def id(self) -> str:
        """Stable while the group's oldest row stays in it: the id API clients name a group by."""
        return min(self.answer_ids)


@dataclass
class FixResult:
    written: Written
    fixed: int  # log rows that left the list
    decision: RouteDecision | None  # how `question` is answered now
    question: str = ""  # the fix's first question (or the new term's name)
    refresh_error: str = ""  # the re-index failed: the file is written, the index still has the old knowledge
    history_error: str = ""  # the fix history could not be written (the fix itself stands)


def needs_work(row: LoggedQuestion) -> bool:
    return row.fixed_at is None and any(ch.isalnum() for ch in row.asked) and \
        (row.abstained or row.rating == "down" or row.confidence < LOW_CONFIDENCE)


def normalised(text: str) -> str:
    return _NOT_WORD.sub("", fold(text))


class Review:
    def __init__(self, service: KnowledgeService, question_log: QuestionLog):
        self.service = service
        self.log = question_log

    # ---- the list ---------------------------------------------------------------------------------------

    def groups(self, limit: int = MAX_GROUPS, with_candidates: bool = True) -> list[QuestionGroup]:
        """The groups of questions that need work, most asked first, then newest. MemoryUnavailable when the
        log cannot be read."""
        rows = [row for row in self.log.open_rows(LOW_CONFIDENCE, MAX_OPEN_ROWS) if needs_work(row)]
        groups = group_questions(rows, self._vectors)[:limit]
        if with_candidates:
            for group in groups:
                self.weigh(group)
        return groups

    def weigh(self, group: QuestionGroup) -> HitTest:
        """What the assistant weighs for the group's first question now (kept in group.candidates)."""
        group.candidates = hit_test(self.service.router, group.question)
        return group.candidates

    def _vectors(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """The texts' vectors and, per text, its background cosines' mean and spread; None without an embedder."""
        router = self.service.router
        try:
            vectors = router.kb.query_vectors(texts)
            background = router.background if vectors is not None else None
        except Exception as exc:  # an endpoint gone down: group by text
            log.warning("grouping by text: %s", exc)
            return None
        if vectors is None or background is None:
            return None
        scale = np.zeros((len(texts), 2), dtype=np.float32)
        for number, text in enumerate(texts):  # against questions of its own language, as the router does
            reference = background[0][background[1] == has_cjk(text)] @ vectors[number]
            scale[number] = reference.mean(), reference.std() + 1e-6
        return vectors, scale

    # ---- fixes ------------------------------------------------------------------------------------------

    def create_faq(self, question: str, answer: str, similar: list[str] = (), answer_ids: list[str] = (),
                   user: str | None = None) -> FixResult:
        """A new FAQ entry in 补充问答.xlsx (FixRefused for an empty question or answer, or a question another
        file already holds: add similar questions to that entry instead)."""
        existing = self._entry_with_question(question)
        if existing is not None and existing.source != supplements.FAQ_FILE:
            raise FixRefused(f"“{existing.question}”已是 {existing.source} {existing.location} 的问题，请把新问法加为"
                             f"它的相似问题 / that question is already an entry of {existing.source}")
        written = supplements.add_faq_entry(self.service.settings.knowledge_dir, question, answer, list(similar))
        content = {"question": question.strip(), "answer": answer.strip(), "similar": list(similar)}
        return self._after_fix("faq", written, content, [question, *similar], answer_ids, user)

    def add_similar(self, entry: int | str, similar: list[str], answer_ids: list[str] = (),
                    user: str | None = None) -> FixResult:
        """The questions as similar questions of an FAQ entry, named by its number in the index or its question."""
        target = self.find_entry(entry)
        written = supplements.add_similar_questions(self.service.settings.knowledge_dir, target, list(similar))
        content = {"question": target.question, "source": target.source, "similar": list(similar)}
        return self._after_fix("similar", written, content, list(similar), answer_ids, user)

    def add_term(self, abbreviation: str = "", english: str = "", chinese: str = "", definition: str = "",
                 answer_ids: list[str] = (), user: str | None = None) -> FixResult:
        written = supplements.add_term(self.service.settings.knowledge_dir, abbreviation, english, chinese, definition)
        content = {"abbreviation": abbreviation.strip(), "english": english.strip(), "chinese": chinese.strip(),
                   "definition": definition.strip()}
        return self._after_fix("term", written, content, [], answer_ids, user)

    def find_entry(self, entry: int | str) -> FaqEntry:
        faq = self.service.kb.faq
        if isinstance(entry, int) or (isinstance(entry, str) and entry.strip().isdigit()):
            number = int(entry)
            if not 0 <= number < len(faq):
                raise FixRefused(f"没有编号为 {number} 的问答 / no FAQ entry number {number}")
            return faq[number]
        found = self._entry_with_question(str(entry or ""))
        if found is None:
            raise FixRefused(f"没有问题为“{entry}”的问答 / no FAQ entry asks {entry!r}")
        return found

    def _entry_with_question(self, question: str) -> FaqEntry | None:
        wanted = normalised(question)
        if not wanted:
            return None
        matches = [e for e in self.service.kb.faq if normalised(e.question) == wanted]
        originals = [e for e in matches if e.source != supplements.FAQ_FILE]
        return (originals or matches or [None])[0]

    def _after_fix(self, kind: str, written: Written, content: dict, questions: list[str], answer_ids,
                   user: str | None) -> FixResult:
        log.info("user %r added %s to %s row %d", user, kind, written.path, written.row)
        history_error = refresh_error = ""
        try:
            self.log.record_fix(kind, written.path, written.row, content, user)
        except Exception as exc:
            history_error = f"{type(exc).__name__}: {exc}"
            log.warning("fix history not written: %s", exc)
        try:
            self.service.refresh()
        except Exception as exc:  # the fix is in the file; the watcher or the next re-index picks it up
            refresh_error = f"{type(exc).__name__}: {exc}"
            log.exception("re-indexing after a fix failed")
        fixed = 0
        try:
            ids = set(answer_ids) | self._answered_by(kind, written, questions)
            fixed = self.log.mark_fixed(sorted(ids), f"{kind}: {written.path} row {written.row}")
        except Exception as exc:
            history_error = history_error or f"{type(exc).__name__}: {exc}"
            log.warning("questions not marked fixed: %s", exc)
        first = next((q for q in questions if q.strip()), content.get("abbreviation") or content.get("english")
                     or content.get("chinese") or "")
        decision = self.service.router.route(first) if first and not refresh_error else None
        return FixResult(written, fixed, decision, first, refresh_error, history_error)

    def _answered_by(self, kind: str, written: Written, questions: list[str]) -> set[str]:
        """Open log rows the fix answers: those asked in one of its wordings, or, for a term, those that now
        name it."""
        open_rows = [row for row in self.log.open_rows(LOW_CONFIDENCE, MAX_OPEN_ROWS) if needs_work(row)]
        wordings = {normalised(q) for q in questions} - {""}
        found = {row.id for row in open_rows if normalised(row.asked) in wordings}
        if kind == "term":
            glossary = self.service.router.glossary
            for row in open_rows:
                if any(t.source == written.path and t.row == written.row
                       for m in glossary.find(row.asked) for t in m.terms):
                    found.add(row.id)
        return found

    # ---- figures and export -----------------------------------------------------------------------------

    def figures(self, days: int = 30, now: float | None = None) -> dict:
        """Questions per day over the last `days`, answers by route, the abstention rate and the 👍/👎 rates."""
        now = time.time() if now is None else now
        rows = self.log.rows(since=now - days * 86400)
        per_day = Counter(time.strftime("%Y-%m-%d", time.localtime(row.asked_at)) for row in rows)
        routes = Counter("abstained" if row.abstained else row.route for row in rows)
        ratings = Counter(row.rating for row in rows if row.rating)
        rated = sum(ratings.values())
        return {"questions": len(rows), "per_day": dict(sorted(per_day.items())), "routes": dict(routes),
                "abstention_rate": round(routes["abstained"] / len(rows), 3) if rows else 0.0,
                "rated": rated, "up": ratings["up"], "down": ratings["down"],
                "up_rate": round(ratings["up"] / rated, 3) if rated else 0.0,
                "down_rate": round(ratings["down"] / rated, 3) if rated else 0.0,
                "open": sum(needs_work(row) for row in rows)}

    def csv(self) -> str:
        """The whole log as CSV, one row per question, newest first."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in self.log.rows():
            values = {**row.__dict__, "asked_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.asked_at)),
                      "sources": "; ".join(f"{s['source']} {s['location']}" for s in row.sources),
                      "abstained": int(row.abstained)}
            writer.writerow([_spreadsheet_safe(values[column]) for column in COLUMNS])
        return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value):
    """A cell a spreadsheet program will not run as a formula: one that starts like a formula, or with a tab or
    carriage return a spreadsheet may skip before it reads one (OWASP's CSV injection guidance)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return "" if value is None else value


def group_questions(rows: list[LoggedQuestion], vectors=None) -> list[QuestionGroup]:
    """Groups of rows asking the same thing, most asked first, then newest. `vectors(texts)` gives the texts'
    vectors and their background cosines' mean and spread, or None (then normalised text groups them)."""
    by_text: dict[str, list[LoggedQuestion]] = {}
    for row in rows:
        by_text.setdefault(normalised(row.asked), []).append(row)
    texts = sorted(by_text, key=lambda t: (-len(by_text[t]), -max(r.asked_at for r in by_text[t])))
    found = vectors([by_text[t][0].asked for t in texts]) if vectors is not None and texts else None
    members: list[list[int]] = []
    if found is None:
        members = [[number] for number in range(len(texts))]
    else:
        unit, scale = found
        for number in range(len(texts)):
            best, best_standing = None, GROUP_STANDING
            for group_number, group in enumerate(members):
                cosines = unit[group] @ unit[number]
                # Each side's standing above its own background; the lower of the two, averaged over the group.
                standing = np.minimum((cosines - scale[number, 0]) / scale[number, 1],
                                      (cosines - scale[group, 0]) / scale[group, 1]).mean()
                if standing >= best_standing:
                    best, best_standing = group_number, standing
            if best is None:
                members.append([number])
            else:
                members[best].append(number)
    groups = [_group([row for number in group for row in by_text[texts[number]]]) for group in members]
    return sorted(groups, key=lambda g: (-g.count, -g.newest))


def _group(rows: list[LoggedQuestion]) -> QuestionGroup:
    wordings = Counter(row.asked for row in rows)
    newest = {text: max(r.asked_at for r in rows if r.asked == text) for text in wordings}
    questions = sorted(wordings, key=lambda t: (-wordings[t], -newest[t]))
    why = {"abstained": sum(r.abstained for r in rows), "down": sum(r.rating == "down" for r in rows),
           "low_confidence": sum(not r.abstained and r.confidence < LOW_CONFIDENCE for r in rows)}
    comments = [r.comment for r in sorted(rows, key=lambda r: -r.asked_at) if r.comment]
    return QuestionGroup(questions, len(rows), max(r.asked_at for r in rows), [r.id for r in rows],
                         [r.asked for r in rows], why, comments)
