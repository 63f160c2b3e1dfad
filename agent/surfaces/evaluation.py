"""`python -m agent eval`: route accuracy, answer accuracy and retrieval quality over a JSONL case set.

A case may carry `"history": ["earlier question", ...]`: those are asked first, in order, in one conversation
(each answer joins the history as the web chat adds it), and only the last question is scored. Such a case
may also say whether the last question should be understood through the conversation
(`"expect_rewritten": true`) or asked as it is (`false`).

A tentative answer ("您问的是不是「…」", the entry's answer below) is not a direct answer: `answer_accuracy` counts
direct answers only, `answered_with_tentative` counts a tentative answer that names the right entry too, and a
tentative answer to a question that should be abstained on is wrong in both."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.text.normalize import fold_compact
from agent.records import ROUTES, Answer


@dataclass(frozen=True)
class Case:
    question: str
    expect_route: str | None = None
    expect_contains: tuple[str, ...] = ()
    expect_any: tuple[str, ...] = ()
    expect_source: str | None = None
    expect_abstain: bool | None = None
    history: tuple[str, ...] = ()  # earlier questions of the same conversation, asked first
    expect_rewritten: bool | None = None  # whether the question should be rewritten from the conversation
    expect_lead_any: tuple[str, ...] = ()  # the lead holds one of these, compared as expect_any


class CaseFileError(Exception):
    pass


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            question = data["question"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CaseFileError(f"{path}:{number}: not a case with a \"question\" ({exc})") from exc
        route = data.get("expect_route")
        if route is not None and route not in ROUTES:
            raise CaseFileError(f"{path}:{number}: expect_route must be one of {', '.join(ROUTES)}")
        abstain = data.get("expect_abstain")
        if abstain is not None and not isinstance(abstain, bool):
            raise CaseFileError(f"{path}:{number}: expect_abstain must be true or false")
        history = data.get("history") or []
        if not isinstance(history, list) or not all(isinstance(turn, str) for turn in history):
            raise CaseFileError(f"{path}:{number}: history must be a list of earlier questions")
        rewritten = data.get("expect_rewritten")
        if rewritten is not None and not isinstance(rewritten, bool):
            raise CaseFileError(f"{path}:{number}: expect_rewritten must be true or false")
        lead_any = data.get("expect_lead_any") or []
        if not isinstance(lead_any, list) or not all(isinstance(text, str) for text in lead_any):
            raise CaseFileError(f"{path}:{number}: expect_lead_any must be a list of texts")
        cases.append(Case(question, route, tuple(data.get("expect_contains") or ()),
                          tuple(data.get("expect_any") or ()), data.get("expect_source"), abstain,
                          tuple(history), rewritten, expect_lead_any=tuple(lead_any)))
    return cases


@dataclass
class _Result:
    case: Case
    answer: Answer
    latency_ms: float
    route_ok: bool | None = None
    answer_ok: bool | None = None
    abstain_ok: bool | None = None
    lead_ok: bool | None = None
    tentative_ok: bool | None = None  # a tentative answer holding what the case expects
    rewrite_ok: bool | None = None
    source_rank: int | None = None  # 1-based rank of the expected source among the sources
    problems: list[str] = field(default_factory=list)


def evaluate(ask, cases: list[Case]) -> dict:
    """Run every case through `ask(question) -> Answer` and score it; a case with a history is asked as the
    last turn of its conversation, through `ask(question, history)`."""
    results = []
    for case in cases:
        history = conversation(ask, case.history)
        started = time.perf_counter()
        answer = ask(case.question, history) if case.history else ask(case.question)
        results.append(_score(case, answer, (time.perf_counter() - started) * 1000))
    summary = _summary(results)
    summary["by_route"] = {route: _summary([r for r in results if r.case.expect_route == route], brief=True)
                           for route in ROUTES}
    if any(r.case.history for r in results):
        summary["conversations"] = _conversations(results)
    summary["failures"] = [{"question": r.case.question, "expected": _expected(r.case),
                            "got": {"route": r.answer.route, "answer": r.answer.text[:300], "lead": r.answer.lead,
                                    "abstained": r.answer.abstained, "rewritten": r.answer.rewritten,
                                    "sources": [s.source for s in r.answer.sources[:5]], "problems": r.problems},
                            **({"history": list(r.case.history)} if r.case.history else {})}
                           for r in results if False in (r.route_ok, r.answer_ok, r.abstain_ok, r.rewrite_ok, r.lead_ok)]
    return summary


def judged(case: Case, answer: Answer) -> tuple[bool, bool]:
    """Whether `answer` is right in content (it holds what the case expects, from the expected source, and does
    not answer a question it should abstain on) and whether it is right in every respect eval checks (route,
    rewriting and lead too). A document answer that quotes the FAQ entry a paraphrase asks about is right in
    content although the case expected the stored-answer route."""
    result = _score(case, answer, 0.0)
    content = result.tentative_ok if answer.tentative else result.answer_ok
    return content is not False and result.abstain_ok is not False, not result.problems


def conversation(ask, questions: tuple[str, ...] | list[str]) -> list[dict]:
    """Ask `questions` in order in one conversation, as the web chat does: each turn is given the last
    messages before it, and its question and answer text join the history. Returns the history the next
    question is asked with."""
    from agent.answer.conversation import MAX_MESSAGES  # the web chat passes the same number of messages

    history: list[dict] = []
    for question in questions:
        answer = ask(question, history[-MAX_MESSAGES:])
        history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    return history[-MAX_MESSAGES:]


def _conversations(results: list[_Result]) -> dict:
    """Over the cases asked in a conversation: how often the question was rewritten when it should have
    been (a follow-up understood) and left alone when it should have been (a new topic)."""
    judged = [r for r in results if r.case.history]
    followups = [r for r in judged if r.case.expect_rewritten is True]
    new_topics = [r for r in judged if r.case.expect_rewritten is False]
    return {"cases": len(judged),
            "rewritten_when_due": _rate([bool(r.answer.rewritten) for r in followups]),
            "left_alone_when_due": _rate([not r.answer.rewritten for r in new_topics])}


def _score(case: Case, answer: Answer, latency_ms: float) -> _Result:
    result = _Result(case, answer, latency_ms)
    if case.expect_abstain is not None:
        result.abstain_ok = answer.abstained == case.expect_abstain
        if not result.abstain_ok:
            result.problems.append("answered, expected to abstain" if case.expect_abstain else "abstained")
    if case.expect_route:
        result.route_ok = answer.route == case.expect_route
        if not result.route_ok:
            result.problems.append(f"route {answer.route}, expected {case.expect_route}")
    if case.expect_rewritten is not None:
        result.rewrite_ok = bool(answer.rewritten) == case.expect_rewritten
        if not result.rewrite_ok:
            result.problems.append(f"rewritten as {answer.rewritten!r}, expected to be asked as it is"
                                   if answer.rewritten else "not rewritten from the conversation")
    text = fold_compact(answer.text)
    if case.expect_source:
        wanted = fold_compact(case.expect_source)
        ranks = [n for n, s in enumerate(answer.sources, 1) if fold_compact(s.source).endswith(wanted)]
        result.source_rank = ranks[0] if ranks else None
        if not ranks:
            result.problems.append(f"source {case.expect_source} not among the sources")
    if case.expect_contains or case.expect_any or case.expect_source:
        missing = [s for s in case.expect_contains if fold_compact(s) not in text]
        any_ok = not case.expect_any or any(fold_compact(s) in text for s in case.expect_any)
        result.problems += [f"answer lacks {s!r}" for s in missing]
        if not any_ok:
            result.problems.append(f"answer has none of {list(case.expect_any)}")
        result.answer_ok = not missing and any_ok and (not case.expect_source or result.source_rank is not None)
        if answer.tentative:
            result.tentative_ok, result.answer_ok = result.answer_ok, False
            result.problems.append("answered tentatively (asked to confirm)")
    if case.expect_lead_any:
        lead = fold_compact(answer.lead)
        result.lead_ok = any(fold_compact(wanted) in lead for wanted in case.expect_lead_any)
        if not result.lead_ok:
            result.problems.append(f"lead has none of {list(case.expect_lead_any)}")
    return result


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _latency(results: list[_Result]) -> dict:
    if not results:
        return {"p50": None, "p95": None}
    values = np.array([r.latency_ms for r in results])
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


def _summary(results: list[_Result], brief: bool = False) -> dict:
    summary = {
        "cases": len(results),
        "route_accuracy": _rate([r.route_ok for r in results if r.route_ok is not None]),
        "answer_accuracy": _rate([r.answer_ok for r in results if r.answer_ok is not None]),
        "answered_with_tentative": _rate([bool(r.answer_ok or r.tentative_ok) for r in results if r.answer_ok is not None]),
        "tentative_answers": sum(r.answer.tentative for r in results),
        "latency_ms": _latency(results),
    }
    if brief:
        return summary
    ranked = [r for r in results if r.case.expect_source and r.case.expect_route in (None, "doc")]
    summary["hit_at_1"] = _rate([r.source_rank == 1 for r in ranked])
    summary["hit_at_5"] = _rate([r.source_rank is not None and r.source_rank <= 5 for r in ranked])
    summary["mrr"] = round(sum(1 / r.source_rank if r.source_rank else 0 for r in ranked) / len(ranked), 4) \
        if ranked else None
    summary["abstention"] = _abstention(results)
    summary["lead_accuracy"] = _rate([r.lead_ok for r in results if r.lead_ok is not None])
    order = ["cases", "route_accuracy", "answer_accuracy", "answered_with_tentative", "tentative_answers", "lead_accuracy",
             "abstention", "hit_at_1", "hit_at_5", "mrr", "latency_ms"]
    return {key: summary[key] for key in order}


def _abstention(results: list[_Result]) -> dict:
    """Over the cases that say whether to abstain: precision (of the abstentions, how many were due) and
    recall (of the questions that should be abstained on, how many were)."""
    judged = [r for r in results if r.case.expect_abstain is not None]
    abstained = [r for r in judged if r.answer.abstained]
    due = [r for r in judged if r.case.expect_abstain]
    return {"cases": len(judged), "precision": _rate([bool(r.case.expect_abstain) for r in abstained]),
            "recall": _rate([r.answer.abstained for r in due])}


def _expected(case: Case) -> dict:
    return {k: v for k, v in {"route": case.expect_route, "contains": list(case.expect_contains),
                              "any": list(case.expect_any), "source": case.expect_source,
                              "abstain": case.expect_abstain, "lead_any": list(case.expect_lead_any),
                              "rewritten": case.expect_rewritten}.items() if v is not None and v != [] and v != ()}


def format_table(summary: dict) -> str:
    def show(value) -> str:
        return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = [f"{'':6} {'cases':>5} {'route':>6} {'answer':>6} {'+tent.':>6} {'p50 ms':>8} {'p95 ms':>8}"]
    for name, part in [("all", summary), *summary["by_route"].items()]:
        lines.append(f"{name:6} {part['cases']:5} {show(part['route_accuracy']):>6} {show(part['answer_accuracy']):>6} "
                     f"{show(part['answered_with_tentative']):>6} "
                     f"{show(part['latency_ms']['p50']):>8} {show(part['latency_ms']['p95']):>8}")
    abstention = summary["abstention"]
    if abstention["cases"]:
        lines.append(f"abstention ({abstention['cases']} cases): precision {show(abstention['precision'])}  "
                     f"recall {show(abstention['recall'])}")
    talks = summary.get("conversations")
    if talks:
        lines.append(f"conversations ({talks['cases']} cases): rewritten when due {show(talks['rewritten_when_due'])}  "
                     f"left alone when due {show(talks['left_alone_when_due'])}")
    if summary.get("lead_accuracy") is not None:
        lines.append(f"lead holds the expected text: {show(summary['lead_accuracy'])}")
    lines.append(f"retrieval (doc cases): hit@1 {show(summary['hit_at_1'])}  hit@5 {show(summary['hit_at_5'])}  "
                 f"MRR {show(summary['mrr'])}")
    for failure in summary["failures"]:
        lines.append(f"✗ {failure['question']}: {'; '.join(failure['got']['problems'])}")
    return "\n".join(lines)
