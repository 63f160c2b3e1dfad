"""`python -m bench.guard`: the real local model answering CMRC2018 dev questions end to end, and what the
grounding guard (agent/answer/grounding.py) does with its answers.

The first `--articles` CMRC2018 dev articles are indexed as `bench quality` indexes them (one .txt each), and a
seeded sample of `--questions` of their questions is asked through KnowledgeService.stream with
KB_LLM_LOCAL_PATH=`--model` (default gemma-3-270m), as `python -m agent ask` would. For each question routed to
the documents it records: the time to the first streamed text (first token), the generated text before the
guard, whether the guard kept it or why it quoted the passages instead, and whether the kept answer and the
extractive lead hold a gold answer span (compared as `bench lead` compares them: case, width and spaces folded).
A question whose answer raises is a crash; one that takes longer than the time limit plus `HANG_MARGIN_S` is a
hang. `--budget-s` stops asking new questions after that much wall time, so a run fits a time box.

`--arm plain` asks the model apart from Qwen-Agent: the same system prompt and fenced passages as the assistant's
prompt, but without the tool descriptions Qwen-Agent's function-calling prompt adds, streamed by the local backend
and judged by the same guard (a leak or loop stops it as in the assistant). It shows what the tool descriptions
cost a small model; the answers people get are the default arm's.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path

from agent.answer.grounding import check_grounding, check_partial
from bench import report
from bench.lead import GoldQuestion, holds, load_gold
from bench.quality import CMRC_DEV, CmrcSet, offline_settings, write_knowledge

log = logging.getLogger(__name__)

SAMPLE_SEED = 7
HANG_MARGIN_S = 30.0
KINDS = {  # the reason codes (agent.answer.reasons) that say the passages were quoted -> a short name
    "generated_template_tokens": "template tokens", "generated_empty": "empty", "generated_loop": "loop",
    "generated_no_citation": "no citation", "generated_unsupported": "unsupported", "generated_timeout": "time limit",
    "llm_failed": "llm failed",
}


def _sample(questions: list[GoldQuestion], size: int) -> list[GoldQuestion]:
    if size >= len(questions):
        return questions
    return sorted(random.Random(SAMPLE_SEED).sample(questions, size), key=questions.index)


def _kind(reasons) -> str:
    """'' for a kept answer, else the short name of why the guard (or the time limit, or a failing LLM) quoted
    the passages."""
    return next((KINDS[reason.code] for reason in reasons if reason.code in KINDS), "")


def ask_one(service, question: GoldQuestion, timeout_s: float) -> dict:
    """One question through the service's stream, timed; the generated text is the last streamed text before
    the guard's verdict."""
    started = time.perf_counter()
    first_ms, generated, given, answer, error = None, "", [], None, ""
    try:
        for answer in service.stream(question.text):
            if answer.route == "doc" and not answer.abstained and not _kind(answer.reasons) and answer.text:
                first_ms = first_ms if first_ms is not None else (time.perf_counter() - started) * 1000
                generated, given = answer.text, [source.text for source in answer.sources]
    except Exception as exc:  # a crash is a finding, not the end of the run
        error = f"{type(exc).__name__}: {exc}"[:200]
    seconds = time.perf_counter() - started
    row = {"question": question.text, "gold": list(question.answers), "seconds": round(seconds, 2),
           "first_token_ms": None if first_ms is None else round(first_ms), "error": error,
           "hang": seconds > timeout_s + HANG_MARGIN_S}
    if answer is None:
        return {**row, "outcome": "crash" if error else "no answer"}
    generated_route = answer.route == "doc" and not answer.abstained
    kind = _kind(answer.reasons) if generated_route else ""
    row.update(route=answer.route, abstained=answer.abstained, reason=answer.reason, generated=generated,
               lead_holds=holds(answer.lead, question.answers) if generated_route else None)
    if error:
        row["outcome"] = "crash"
    elif not generated_route:
        row["outcome"] = "not generated"
    elif kind:
        row["outcome"], row["rejected_for"] = "quoted", kind
    else:
        row["outcome"] = "kept"
        row["kept_holds"] = holds(answer.text, question.answers)
    if generated_route and generated:  # each sentence's support, against the passages the model was given
        row["support"] = [round(s.support, 2) for s in check_grounding(generated, given).sentences]
    return row


def ask_plain(service, question: GoldQuestion, timeout_s: float) -> dict:
    """One question decided by the service, its passages given to the model without Qwen-Agent's tool prompt."""
    from agent.answer.assistant import SYSTEM_PROMPT
    from agent.answer.lead import passage_excerpts
    from agent.answer.replies import document_lead, fenced_passages
    from agent.llm import local

    started = time.perf_counter()
    row = {"question": question.text, "gold": list(question.answers), "first_token_ms": None, "error": ""}
    try:
        _, decision, answer = service.decide(question.text)
        if answer is not None:
            return {**row, "outcome": "not generated", "seconds": round(time.perf_counter() - started, 2),
                    "hang": False}
        settings = service.settings  # the passages and excerpts the assistant gives a local model
        hits = decision.hits[:settings.llm_passages] if settings.llm_passages else decision.hits
        excerpts = passage_excerpts(question.text, hits, settings.llm_passage_chars, service.kb) \
            if settings.llm_passage_chars else None
        prompt = f"参考资料：\n{fenced_passages(hits, excerpts)}\n\n问题：{question.text}"  # as the assistant asks
        tokenizer, model = local.load_chat_model(service.settings.llm_local_path)
        text, verdict = "", None
        config = {"max_new_tokens": service.settings.llm_max_new_tokens, "max_time": timeout_s}
        for text in local._stream(tokenizer, model, [{"role": "system", "content": SYSTEM_PROMPT},
                                                     {"role": "user", "content": prompt}], config):
            if row["first_token_ms"] is None and text:
                row["first_token_ms"] = round((time.perf_counter() - started) * 1000)
            if not check_partial(text).grounded:
                verdict = check_partial(text)
                break
        passages = [hit.passage.text for hit in hits]
        verdict = verdict or check_grounding(text, passages)
        lead = document_lead(question.text, decision.hits, service.kb)
    except Exception as exc:  # a crash is a finding, not the end of the run
        return {**row, "outcome": "crash", "error": f"{type(exc).__name__}: {exc}"[:200],
                "seconds": round(time.perf_counter() - started, 2), "hang": False}
    seconds = time.perf_counter() - started
    row.update(seconds=round(seconds, 2), hang=seconds > timeout_s + HANG_MARGIN_S, generated=text,
               lead_holds=holds(lead, question.answers), route="doc", abstained=False,
               support=[round(sentence.support, 2) for sentence in verdict.sentences])
    if verdict.grounded:
        return {**row, "outcome": "kept", "kept_holds": holds(text, question.answers)}
    return {**row, "outcome": "quoted", "rejected_for": _kind([verdict.reason_clause()])}


def run(questions: int, articles: int, work: Path, model: str, max_new_tokens: int, timeout_s: float,
        budget_s: float | None, arm: str = "service") -> dict:
    import torch

    from agent.answer.service import KnowledgeService

    torch.set_num_threads(2)
    texts, gold = load_gold(CMRC_DEV)
    chosen = dict(list(texts.items())[:articles])
    sample = _sample([q for q in gold if q.article in chosen], questions)
    folder = work / f"cmrc2018-first-{articles}"
    write_knowledge(CmrcSet(chosen, []), folder / "knowledge")
    settings = dataclasses.replace(offline_settings(folder / "knowledge", folder / "index"), llm_local_path=model,
                                   llm_max_new_tokens=max_new_tokens, llm_timeout_s=timeout_s)
    started = time.perf_counter()
    service = KnowledgeService(settings)
    index_s = time.perf_counter() - started
    started = time.perf_counter()
    assert service.assistant.llm is not None  # loads the model (dequantised once into a cache folder, then read)
    load_s = time.perf_counter() - started
    rows, run_started = [], time.perf_counter()
    for number, question in enumerate(sample, 1):
        if budget_s is not None and time.perf_counter() - run_started > budget_s:
            break
        rows.append(ask_plain(service, question, timeout_s) if arm == "plain" else ask_one(service, question, timeout_s))
        log.info("%d/%d %s %s", number, len(sample), rows[-1]["outcome"], rows[-1].get("rejected_for", ""))
    return {"environment": report.environment(), "arm": arm, "model": model, "max_new_tokens": max_new_tokens,
            "timeout_s": timeout_s, "articles": len(chosen), "questions_planned": len(sample),
            "index_s": round(index_s, 1), "model_load_s": round(load_s, 1),
            "wall_s": round(time.perf_counter() - run_started, 1), "summary": summary(rows), "rows": rows}


def summary(rows: list[dict]) -> dict:
    generated = [r for r in rows if r["outcome"] in ("kept", "quoted")]
    kept = [r for r in generated if r["outcome"] == "kept"]
    first = [r["first_token_ms"] for r in generated if r["first_token_ms"] is not None]
    reasons: dict[str, int] = {}
    for row in generated:
        if row["outcome"] == "quoted":
            reasons[row["rejected_for"]] = reasons.get(row["rejected_for"], 0) + 1
    return {
        "asked": len(rows), "generated": len(generated), "kept": len(kept),
        "kept_share": round(len(kept) / len(generated), 3) if generated else None,
        "rejected_for": dict(sorted(reasons.items(), key=lambda item: -item[1])),
        "kept_holds_gold": sum(bool(r.get("kept_holds")) for r in kept),
        "lead_holds_gold_on_kept": sum(bool(r["lead_holds"]) for r in kept),
        "lead_holds_gold_on_generated": sum(bool(r["lead_holds"]) for r in generated),
        "first_token_ms": report.percentiles(first) if first else None,
        "seconds_per_question": round(statistics.fmean(r["seconds"] for r in rows), 1) if rows else None,
        "crashes": sum(r["outcome"] == "crash" for r in rows), "hangs": sum(r["hang"] for r in rows),
        "not_generated": sum(r["outcome"] == "not generated" for r in rows),
    }


def markdown(result: dict, command: str) -> str:
    s = result["summary"]
    generated, kept = s["generated"], s["kept"]
    first = s["first_token_ms"]
    plain = result.get("arm") == "plain"
    how = ("decided by `KnowledgeService.decide`, their passages given to the model with the assistant's system "
           "prompt but without Qwen-Agent's tool descriptions, streamed by the local backend and judged by the "
           f"same guard; `{result['model']}`" if plain else
           f"asked through `KnowledgeService.stream` with `KB_LLM_LOCAL_PATH={result['model']}`")
    lines = [
        "### The same model without the tool prompt (`python -m bench.guard --arm plain`)" if plain else
        "## A real local model behind document answers, and the grounding guard (`python -m bench.guard`)",
        "",
        report.environment_markdown(result["environment"]),
        "",
        f"`{command}`: the first {result['articles']} CMRC2018 dev articles indexed as in `bench quality`, a seeded "
        f"sample of their questions {how}"
        f" (greedy, at most {result['max_new_tokens']} new tokens, `KB_LLM_TIMEOUT_S={result['timeout_s']:g}`). "
        f"{s['asked']} of the {result['questions_planned']} planned questions were asked in {result['wall_s']:.0f} s "
        f"(model loaded in {result['model_load_s']:.0f} s); {s['not_generated']} were not routed to a generated "
        "answer (abstained, or answered from the glossary or FAQ).",
        "",
        report.markdown_table(["", "n", "share"], [
            ["generated answers", generated, None],
            ["kept by the guard", kept, s["kept_share"]],
            *[[f"quoted instead: {name}", count, round(count / generated, 3) if generated else None]
              for name, count in s["rejected_for"].items()],
        ]),
        "",
        (f"Gold answer span held: by {s['kept_holds_gold']} of the {kept} kept answers, against "
         f"{s['lead_holds_gold_on_kept']} of the extractive leads for the same questions; " if kept else
         "No generated answer was kept, so none was shown; ") +
        f"the extractive lead holds a gold span for {s['lead_holds_gold_on_generated']} of all {generated} "
        "questions the model answered.",
        "",
        (f"First streamed text, from the question (routing and reading the prompt with its passages"
         f"{'' if plain else ' and the tool descriptions'}): p50 {first['p50'] / 1000:.1f} s, p95 {first['p95'] / 1000:.1f} s; "
         if first else "No streamed text was timed; ") +
        f"{s['seconds_per_question']} s per question on average. Crashes: {s['crashes']}. Hangs (over the time "
        f"limit + {HANG_MARGIN_S:g} s): {s['hangs']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.guard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=100, help="questions to sample (default 100)")
    parser.add_argument("--articles", type=int, default=40, help="first N CMRC2018 dev articles indexed (default 40)")
    report.add_local_model_arguments(parser, max_new_tokens=64)
    parser.add_argument("--timeout-s", type=float, default=60.0, help="KB_LLM_TIMEOUT_S (default 60)")
    parser.add_argument("--budget-s", type=float, help="ask no new question after this many seconds")
    parser.add_argument("--arm", choices=("service", "plain"), default="service",
                        help="service: KnowledgeService end to end (default); plain: the model without the tool prompt")
    args = parser.parse_args(argv)
    report.configure_logging(logging.INFO)
    result = run(args.questions, args.articles, Path(args.work), args.model, args.max_new_tokens, args.timeout_s,
                 args.budget_s, args.arm)
    command = "python -m bench.guard " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.write_docs:
        report.write_docs_section(Path(args.docs), "guard" if args.arm == "service" else "guard-plain",
                                  markdown(result, command.strip()))
    print(json.dumps(result, ensure_ascii=False) if args.json else markdown(result, command.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
