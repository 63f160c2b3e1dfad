"""`python -m bench lead`: how often the lead of a document answer (agent/answer/lead.py) holds CMRC2018's
gold answer span, beside the baseline "first sentence of the best passage".

Every CMRC2018 dev article is a .txt file in a knowledge folder under bench/.work (the one `bench quality`
uses), each question is routed as `python -m agent ask` routes it, and its lead is chosen from the route's
passages by the code an answer without an LLM runs (agent.answer.lead.choose_lead). A lead holds the answer
when one of the question's gold spans is in it, compared as eval compares expect_any (case, width and
spaces folded). The weights are chosen on the trial set (`--sweep`), never on dev.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from agent.answer.lead import LeadWeights, SentenceVectors, choose_lead, lead_text, passage_units
from agent.answer.router import Router
from agent.text.normalize import fold_compact
from bench import report
from bench.quality import (CASES_DIR, CMRC_DEV, CMRC_TRIAL, SAMPLE_KNOWLEDGE, CmrcSet, loaded_index, offline_settings,
                           write_knowledge)

log = logging.getLogger(__name__)

SAMPLE_SEED = 7
SWEEP = {  # one change at a time from the defaults, on the trial set
    "dense": (0.0, 0.25, 0.5, 1.0, 2.0),
    "embedded": (4, 8),
    "rank_penalty": (0.0, 0.05, 0.1),
    "margin": (0.0, 0.1, 0.15, 0.2),
    "passages": (1, 3, 5),
    "focus": (0.0, 0.25, 0.5, 0.75, 1.0),
}


@dataclass(frozen=True)
class GoldQuestion:
    text: str
    answers: tuple[str, ...]
    article: str


def load_gold(path: Path) -> tuple[dict[str, str], list[GoldQuestion]]:
    """A CMRC2018 set's articles (file name -> text, as bench quality writes them) and its questions with
    their gold answer spans."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, questions = {}, []
    for article in data:
        name = f"{article['id']}.txt"
        articles[name] = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        questions += [GoldQuestion(q["question"], tuple(dict.fromkeys(a["text"] for a in q["answers"] if a["text"])),
                                   name) for p in article["paragraphs"] for q in p["qas"]]
    return articles, questions


def holds(text: str, answers: tuple[str, ...]) -> bool:
    folded = fold_compact(text)
    return any(fold_compact(answer) in folded for answer in answers)


@dataclass
class Routed:
    question: GoldQuestion
    hits: list
    route_ms: float


def _index(path: Path, folder: Path):
    """The set's articles indexed with their vectors, in the folder `bench quality` uses for them."""
    articles, questions = load_gold(path)
    write_knowledge(CmrcSet(articles, []), folder / "knowledge")
    kb = loaded_index(offline_settings(folder / "knowledge", folder / "index"))
    return kb, questions


def _sample(questions: list[GoldQuestion], size: int | None) -> list[GoldQuestion]:
    if size is None or size >= len(questions):
        return questions
    return sorted(random.Random(SAMPLE_SEED).sample(questions, size), key=questions.index)


def _route(router: Router, questions: list[GoldQuestion], desc: str) -> list[Routed]:
    routed = []
    for question in tqdm(questions, desc=desc, unit="q", file=sys.stderr, leave=False):
        started = time.perf_counter()
        decision = router.route(question.text)
        routed.append(Routed(question, [] if decision.abstained or decision.route != "doc" else decision.hits,
                             (time.perf_counter() - started) * 1000))
    return routed


def score(routed: list[Routed], kb, weights: LeadWeights, vectors: SentenceVectors, desc: str = "") -> dict:
    """Lead and baseline accuracy over routed questions, with the lead's size and cost."""
    lead_ok = first_ok = passages_ok = 0
    chars, units, lead_ms = [], [], []
    for item in tqdm(routed, desc=desc or "leads", unit="q", file=sys.stderr, leave=False):
        started = time.perf_counter()
        chosen = choose_lead(item.question.text, item.hits, kb, weights, vectors)
        lead_ms.append((time.perf_counter() - started) * 1000)
        lead = lead_text(chosen, cite=False)
        first = passage_units(item.hits[0].passage.text)[0].text if item.hits else ""
        lead_ok += holds(lead, item.question.answers)
        first_ok += holds(first, item.question.answers)
        passages_ok += any(holds(h.passage.text, item.question.answers) for h in item.hits[:weights.passages])
        chars.append(len(lead))
        units.append(len(chosen))
    count = max(1, len(routed))
    return {"questions": len(routed), "lead_accuracy": round(lead_ok / count, 4),
            "first_sentence_accuracy": round(first_ok / count, 4),
            "passages_hold_answer": round(passages_ok / count, 4),
            "lead_chars_mean": round(statistics.fmean(chars), 1) if chars else None,
            "lead_units_mean": round(statistics.fmean(units), 2) if units else None,
            "lead_ms": report.percentiles(lead_ms)}


def sweep(routed: list[Routed], kb) -> list[dict]:
    """Each weight varied alone from the defaults; sentence vectors are computed once and shared."""
    vectors = SentenceVectors(kept=10**6)
    rows = []
    variants = [("defaults", LeadWeights())]
    variants += [(f"{name}={value:g}", dataclasses.replace(LeadWeights(), **{name: value}))
                 for name, values in SWEEP.items() for value in values if value != getattr(LeadWeights(), name)]
    for name, weights in variants:
        rows.append({"variant": name, **score(routed, kb, weights, vectors, desc=name)})
    return rows


SAMPLE_CASE_FILES = ("sample.jsonl", "validation/docs.jsonl")


def sample_cases(work: Path) -> list[dict]:
    """On the sample knowledge (`knowledge/`, no LLM): of the document cases of each file that name the text a
    right answer holds (expect_any), how many are answered with a lead that holds it, as eval's
    expect_lead_any would score them."""
    from agent.answer.service import KnowledgeService
    from agent.surfaces.evaluation import load_cases

    service = KnowledgeService(offline_settings(SAMPLE_KNOWLEDGE, work / "sample-index"))
    rows = []
    for name in SAMPLE_CASE_FILES:
        cases = [c for c in load_cases(CASES_DIR / name) if c.expect_route == "doc" and c.expect_any]
        answers = [service.ask(c.question) for c in cases]
        rows.append({"cases_file": f"bench/cases/{name}", "cases": len(cases),
                     "lead_holds": sum(holds(a.lead, c.expect_any) for c, a in zip(cases, answers)),
                     "answer_holds": sum(holds(a.text, c.expect_any) for c, a in zip(cases, answers))})
    return rows


def run(work: Path, questions: int | None, trial_questions: int | None, with_sweep: bool) -> dict:
    import torch

    torch.set_num_threads(1)  # as bench quality: one intra-op thread on a small shared machine
    result = {"environment": report.environment(), "weights": dataclasses.asdict(LeadWeights())}
    if with_sweep:
        kb, trial = _index(CMRC_TRIAL, work / "cmrc2018-trial")
        routed = _route(Router(kb), _sample(trial, trial_questions), "routing trial questions")
        result["sweep"] = {"set": "CMRC2018 trial", "questions": len(routed), "rows": sweep(routed, kb)}
    kb, dev = _index(CMRC_DEV, work / "cmrc2018")
    sample = _sample(dev, questions)
    routed = _route(Router(kb), sample, "routing dev questions")
    result["dev"] = {"set": "CMRC2018 dev", "articles": len({q.article for q in dev}), "questions_in_set": len(dev),
                     "routed_doc": round(sum(bool(r.hits) for r in routed) / max(1, len(routed)), 4),
                     "route_ms": report.percentiles([r.route_ms for r in routed]),
                     **score(routed, kb, LeadWeights(), SentenceVectors(), desc="dev leads")}
    result["sample_cases"] = sample_cases(work)
    return result


def markdown(result: dict) -> str:
    dev = result["dev"]
    sample = ("every question" if dev["questions"] == dev["questions_in_set"]
              else f"a seeded sample of {dev['questions']} of its {dev['questions_in_set']:,} questions")
    lines = [
        "## Answers without an LLM: the lead (`python -m bench lead`)",
        "",
        report.environment_markdown(result["environment"]),
        "",
        f"**{dev['set']}**: all {dev['articles']} articles indexed as in `bench quality`, {sample}, each routed as "
        "`python -m agent ask` routes it; the lead is chosen from the route's passages by the code an answer "
        "without an LLM runs. A lead holds the answer when one of the question's gold spans is in it (compared "
        "as eval's expect_any). Baseline: the first sentence of the best passage.",
        "",
        report.markdown_table(
            ["what is shown", "holds the gold answer", "mean length"],
            [["the lead (1–3 sentences)", dev["lead_accuracy"],
              f"{dev['lead_chars_mean']:.0f} chars, {dev['lead_units_mean']:.2f} sentences"],
             ["first sentence of the best passage (baseline)", dev["first_sentence_accuracy"], "1 sentence"],
             [f"the {result['weights']['passages']} passages the lead is chosen from (upper bound)",
              dev["passages_hold_answer"], "≤300 chars each"]]),
        "",
        f"Routed to the documents: {dev['routed_doc']:.1%}. Choosing the lead took {dev['lead_ms']['p50']:.0f} ms at "
        f"p50 and {dev['lead_ms']['p95']:.0f} ms at p95 (at most {result['weights']['embedded']} sentences embedded "
        "per question, sentence vectors kept between questions), beside routing's "
        f"{dev['route_ms']['p50']:.0f} ms / {dev['route_ms']['p95']:.0f} ms.",
    ]
    if result.get("sample_cases"):
        lines += ["", "**On the sample knowledge** (`knowledge/`, no LLM): document cases that name the text a right "
                      "answer holds (expect_any), scored on the lead as eval's `expect_lead_any` would be, and on "
                      "the whole answer text:", "",
                  report.markdown_table(["cases", "n", "lead holds it", "answer text holds it"],
                                        [[r["cases_file"], r["cases"], r["lead_holds"], r["answer_holds"]]
                                         for r in result["sample_cases"]])]
    if result.get("sweep"):
        tuned = result["sweep"]
        lines += ["", f"**Choosing the weights** on {tuned['set']} ({tuned['questions']} questions; each weight "
                      f"varied alone from the defaults {result['weights']}):", "",
                  report.markdown_table(["variant", "lead holds answer", "baseline", "mean chars", "mean sentences"],
                                        [[r["variant"], r["lead_accuracy"], r["first_sentence_accuracy"],
                                          f"{r['lead_chars_mean']:.0f}", f"{r['lead_units_mean']:.2f}"]
                                         for r in tuned["rows"]])]
    return "\n".join(lines)


def main(args) -> int:
    result = run(Path(args.work), args.questions, args.trial_questions, args.sweep)
    if args.write_docs:
        report.write_docs_section(Path(args.docs), "lead", markdown(result))
    print(json.dumps(result, ensure_ascii=False) if args.json else markdown(result))
    return 0
