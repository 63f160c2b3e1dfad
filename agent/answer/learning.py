"""Learning the FAQ decision from the company's own questions (`kb learn`).

The question log holds labelled pairs of a question and an FAQ entry: 是 / 👍 on a stored answer says the entry
answers the question, 不是 / 👎 says it does not, and a stored question asked right after an abstention or a
rejected answer in the same conversation (a clicked suggestion) says that entry answers the question before it.

A confirmed wording joins its entry's questions inside the decision, as a similar question does: the FAQ model
then reads a new question against the ways this company's people actually ask. A wording rejected for an entry
is never answered with that entry again. Neither touches the knowledge files: a wording becomes a similar question
there only when an owner approves it in 待完善. What was learned lives beside the index (`learned_faq.json`),
survives re-indexing, and follows its entry by the entry's stored question.

Measured on a small company FAQ (tests/test_learning.py): clicked wordings as learned questions moved held-out
paraphrases from abstained to answered and took direct answers away from near misses, where a Platt rescaling of
the calibrated chance fitted on the same labels raised near misses as much as paraphrases.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from agent.memory.question_log import LoggedQuestion
from agent.records import FaqEntry
from agent.text.normalize import fold_compact

log = logging.getLogger(__name__)

LEARNED_FILE = "learned_faq.json"
CLICK_WITHIN_S = 600  # a stored question asked this soon after an unanswered one in a conversation was clicked
LEARN_AFTER = 10  # the app learns again once the log holds this many labels more than it last learned from
LEARN_EVERY_S = 60.0  # how often the app looks


@dataclass(frozen=True)
class Label:
    question: str
    entry: str  # the entry's stored question
    right: bool
    why: str  # "rated up" | "rated down" | "clicked"


@dataclass(frozen=True)
class Learned:
    """Wordings confirmed and rejected per entry (by its stored question), as `kb learn` last saved them."""

    right: dict[str, tuple[str, ...]] = field(default_factory=dict)
    wrong: dict[str, frozenset[str]] = field(default_factory=dict)  # folded wordings
    stamp: int = 0  # the file's modification time, so a view is rebuilt when it changes
    labels: int = 0  # how many labels of the log it was learned from
    learned_at: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)  # how the answers to the logged questions changed

    def rejects(self, question: str, entry: FaqEntry) -> bool:
        return fold_compact(question) in self.wrong.get(entry.question, frozenset())


def labels_from_log(rows: list[LoggedQuestion], faq: list[FaqEntry]) -> list[Label]:
    """The labelled pairs in the log, oldest first; rows that name no entry of this FAQ give none."""
    entry_at = {(e.source, e.location): e.question for e in faq}
    stored = {fold_compact(e.question): e.question for e in faq}
    labels: list[Label] = []
    before: dict[str, LoggedQuestion] = {}  # the previous question of each conversation
    for row in sorted(rows, key=lambda r: r.asked_at):
        answered = entry_at.get((row.sources[0].get("source"), row.sources[0].get("location"))) \
            if row.route == "fact" and row.sources and not row.abstained else None
        if answered is not None and row.rating in ("up", "down"):
            labels.append(Label(row.asked, answered, row.rating == "up", f"rated {row.rating}"))
        earlier = before.get(row.conversation_id) if row.conversation_id else None
        clicked = stored.get(fold_compact(row.question))
        if earlier is not None and clicked is not None and row.asked_at - earlier.asked_at <= CLICK_WITHIN_S and \
                (earlier.abstained or earlier.rating == "down") and fold_compact(earlier.asked) != fold_compact(clicked):
            labels.append(Label(earlier.asked, clicked, True, "clicked"))
        if row.conversation_id:
            before[row.conversation_id] = row
    return labels


def learned_from(labels: list[Label]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per entry, the wordings confirmed and rejected; the latest label of a (wording, entry) pair wins."""
    latest: dict[tuple[str, str], Label] = {}
    for label in labels:
        latest[(fold_compact(label.question), label.entry)] = label
    right: dict[str, list[str]] = {}
    wrong: dict[str, list[str]] = {}
    for label in latest.values():
        (right if label.right else wrong).setdefault(label.entry, []).append(label.question)
    return right, wrong


def save(index_dir: Path, labels: list[Label], changes: dict[str, int] | None = None) -> Path:
    right, wrong = learned_from(labels)
    path = Path(index_dir) / LEARNED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps({"learned_at": time.time(), "labels": len(labels), "changes": changes or {},
                                     "right": right, "wrong": wrong}, ensure_ascii=False, indent=1) + "\n",
                         encoding="utf-8")
    temporary.replace(path)
    return path


_read: dict[Path, Learned] = {}


def load(index_dir: Path) -> Learned | None:
    """What `kb learn` saved for this index, read again when the file changes; None when nothing was learned or
    the file cannot be read (said in the log)."""
    path = Path(index_dir) / LEARNED_FILE
    try:
        stamp = path.stat().st_mtime_ns
        if path not in _read or _read[path].stamp != stamp:
            found = json.loads(path.read_text(encoding="utf-8"))
            _read[path] = Learned({e: tuple(w) for e, w in found.get("right", {}).items()},
                                  {e: frozenset(map(fold_compact, w)) for e, w in found.get("wrong", {}).items()},
                                  stamp, int(found.get("labels", 0)), float(found.get("learned_at", 0.0)),
                                  dict(found.get("changes", {})))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError, TypeError) as error:
        log.warning("what was learned from the question log is not used: %s: %s", path, error)
        return None
    return _read[path]


def with_learned(faq: list[FaqEntry], vectors: np.ndarray | None, answer_vectors: np.ndarray | None,
                 learned: Learned, embed_questions, embed_passages) -> tuple:
    """The FAQ with each entry's confirmed wordings among its similar questions; its question vectors in the same
    order (rows grouped by entry, as agent.index.vectors.faq_question_rows lays them out) and their owners; its
    passage vectors (an entry's questions and answer, as the index embeds them) with the changed entries
    embedded again; and the learned wordings, which are never shown as the matched question. `embed_questions`
    and `embed_passages` (texts -> unit rows, or None without an embedder) make the new rows."""
    from agent.index.build import faq_passage

    entries, owners, rows, added, changed = [], [], [], [], []
    start = 0
    for number, entry in enumerate(faq):
        own = 1 + len(entry.similar)
        known = {fold_compact(q) for q in (entry.question, *entry.similar)}
        extra = [w for w in dict.fromkeys(learned.right.get(entry.question, ())) if fold_compact(w) not in known]
        entries.append(replace(entry, similar=(*entry.similar, *extra)) if extra else entry)
        owners += [number] * (own + len(extra))
        rows.append(("kb", start, start + own))
        if extra:
            rows.append(("new", len(added), len(added) + len(extra)))
            added += extra
            changed.append(number)
        start += own
    if vectors is None or not added:
        return entries, vectors if not added else None, owners, answer_vectors, set(added)
    new = embed_questions(added)
    if new is None:  # no embedder now: the words alone decide, with the learned wordings among them
        return entries, None, owners, None, set(added)
    parts = [(vectors if kind == "kb" else new)[a:b] for kind, a, b in rows]
    if answer_vectors is not None:
        passages = embed_passages([faq_passage(entries[n]).text for n in changed])
        answer_vectors = answer_vectors.copy()
        if passages is None:
            answer_vectors = None
        else:
            answer_vectors[changed] = passages
    return entries, np.concatenate(parts).astype(vectors.dtype, copy=False), owners, answer_vectors, set(added)


@dataclass
class LearnReport:
    labels: list[Label]
    changes: dict[str, int]  # "before -> after" for the knowledge's own logged questions, e.g. "abstained -> fact"


def learn(router, rows: list[LoggedQuestion]) -> LearnReport:
    """Save what the log's labels teach this knowledge base (router: agent.answer.router.Router) and say how the
    answers to its own logged questions change."""
    labels = labels_from_log(rows, router.kb.faq)
    questions = list(dict.fromkeys(r.asked for r in rows))
    before = {q: _kind(router.route(q)) for q in questions}
    path = save(router.kb.settings.index_dir, labels)
    after = {q: _kind(router.route(q)) for q in questions}
    changes: dict[str, int] = {}
    for question, kind in before.items():
        if after[question] != kind:
            key = f"{kind} -> {after[question]}"
            changes[key] = changes.get(key, 0) + 1
    save(path.parent, labels, changes)  # again, with what changed, for 统计
    return LearnReport(labels, changes)


class LearningLoop:
    """The app's learning, off the request path: every `every_s` it reads the log and learns again once it holds
    `after` labels more than what was last learned from (`kb learn` does the same at once)."""

    def __init__(self, service, question_log, every_s: float = LEARN_EVERY_S, after: int = LEARN_AFTER):
        self.service, self.question_log, self.every_s, self.after = service, question_log, every_s, after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> LearnReport | None:
        """One look: the report when it learned, else None. A failure is logged and the app goes on."""
        try:
            router = self.service.router
            rows = self.question_log.rows()
            labels = labels_from_log(rows, router.kb.faq)
            known = load(router.kb.settings.index_dir)
            if len(labels) - (known.labels if known else 0) < self.after:
                return None
            report = learn(router, rows)
        except Exception as error:  # a locked log or a failing index never stops the app
            log.warning("learning from the question log failed: %s: %s", type(error).__name__, error)
            return None
        log.info("learned from %d labels; answers changed: %s", len(report.labels), report.changes or "none")
        return report

    def start(self) -> "LearningLoop":
        def run():
            while not self._stop.wait(self.every_s):
                self.check()

        self._thread = threading.Thread(target=run, name="kb-learning", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def _kind(decision) -> str:
    if decision.abstained:
        return "abstained"
    return f"{decision.route} (tentative)" if decision.tentative else decision.route
