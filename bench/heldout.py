"""`python -m bench.heldout`: the test set (bench/cases/test), written before this round's work and never tuned on,
scored per knowledge base and per kind of question.

For each kind (paraphrase, near_miss, unrelated, term, doc, followup, english) it prints: direct answers right,
answers right counting tentative ones ("您问的是不是…" naming the right entry), abstained when due, and the
two failures that matter most for the FAQ decision: a direct stored answer where the question should be
abstained on (the worst failure: a wrong answer with the company's authority), and a tentative one there.
Then, per route, how often the answers shown at each confidence were right (`--reliability`): the confidence
is meant as the chance that the answer is right, on every route.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from agent.answer.service import KnowledgeService
from agent.settings import REPO_ROOT, Settings
from agent.surfaces.evaluation import conversation, judged, load_cases

TEST = REPO_ROOT / "bench" / "cases" / "test"
SETS = (("sample", REPO_ROOT / "knowledge", sorted((TEST / "sample").glob("*.jsonl"))),
        ("tune_knowledge", REPO_ROOT / "bench" / "cases" / "tune_knowledge", [TEST / "tune_knowledge_faq.jsonl"]),
        ("new_company", TEST / "new_company", [TEST / "new_company" / "cases.jsonl"]))
KINDS = ("paraphrase", "near_miss", "unrelated", "term", "doc", "followup", "english")
BINS = (0.9, 0.8, 0.6, 0.0)  # lower edges of the confidence bins, highest first


def score(service: KnowledgeService, files: list[Path], shown: list | None = None) -> dict[str, dict]:
    """Per kind: cases, direct answers right, right with tentative ones, abstained when due, and direct or
    tentative stored answers to questions that should be abstained on. Each answer given (not abstained) is
    added to `shown` as (route, confidence, right), a tentative one counting as right when it names the right
    entry and wrong when the question should be abstained on."""
    found: dict[str, dict] = {}
    for path in files:
        kinds = [json.loads(line).get("kind", "") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for kind, case in zip(kinds, load_cases(path)):
            history = conversation(service.ask, case.history) if case.history else None
            answer = service.ask(case.question, history) if history is not None else service.ask(case.question)
            right, _ = judged(case, answer)
            if shown is not None and not answer.abstained:
                shown.append((answer.route, answer.confidence, bool(right) and not case.expect_abstain))
            row = found.setdefault(kind, {"cases": 0, "direct": 0, "with_tentative": 0, "abstain_due": 0,
                                          "abstained": 0, "stored_when_due": 0, "tentative_when_due": 0})
            row["cases"] += 1
            if case.expect_abstain:
                row["abstain_due"] += 1
                row["abstained"] += answer.abstained
                row["stored_when_due"] += answer.route == "fact" and not answer.tentative and not answer.abstained
                row["tentative_when_due"] += answer.tentative
            else:
                row["direct"] += right and not answer.tentative
                row["with_tentative"] += right
    return found


def table(results: dict[str, dict[str, dict]]) -> str:
    lines = [f"{'set':15} {'kind':11} {'cases':>5} {'direct':>7} {'+tent.':>7} {'abstained':>9} "
             f"{'stored!':>7} {'tent.!':>6}"]
    for name, kinds in results.items():
        for kind in KINDS:
            row = kinds.get(kind)
            if not row:
                continue
            answerable = row["cases"] - row["abstain_due"]

            def rate(count, total):
                return f"{count / total:.3f}" if total else "—"

            lines.append(f"{name:15} {kind:11} {row['cases']:5} {rate(row['direct'], answerable):>7} "
                         f"{rate(row['with_tentative'], answerable):>7} {rate(row['abstained'], row['abstain_due']):>9} "
                         f"{row['stored_when_due']:7} {row['tentative_when_due']:6}")
    return "\n".join(lines)


def reliability(shown: list[tuple[str, float, bool]]) -> str:
    """Per route and confidence bin: answers shown and the share right, with a bar of that share."""
    lines = [f"{'route':6} {'confidence':>10} {'answers':>7} {'right':>6}"]
    for route in dict.fromkeys(r for r, _, _ in sorted(shown)):
        for n, low in enumerate(BINS):
            high = 1.0 if n == 0 else BINS[n - 1]
            got = [right for r, c, right in shown if r == route and low <= c and (c < high or n == 0)]
            if got:
                share = sum(got) / len(got)
                lines.append(f"{route:6} {f'{low:.1f}–{high:.1f}':>10} {len(got):7} {share:6.3f} {'█' * round(share * 20)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.heldout", description=__doc__)
    parser.add_argument("--only", choices=[name for name, *_ in SETS], action="append", help="only these sets")
    parser.add_argument("--index-root", type=Path, help="folder for the three indexes (default: beside each knowledge)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--reliability", action="store_true", help="also print confidence against accuracy per route")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    results, shown = {}, []
    for name, knowledge, files in SETS:
        if args.only and name not in args.only:
            continue
        index = args.index_root / name if args.index_root else None
        settings = Settings.from_env(knowledge, index) if index else Settings.from_env(knowledge)
        results[name] = score(KnowledgeService(settings), files, shown)
    if args.json:
        print(json.dumps({**results, "shown": shown} if args.reliability else results, ensure_ascii=False))
        return 0
    print(table(results))
    if args.reliability:
        print("\n" + reliability(shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
