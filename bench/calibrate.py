"""`python -m bench.calibrate`: fit the FAQ and document models of agent/answer/evidence.py on
bench/cases/tune over the sample knowledge, write agent/answer/data/calibration.json, and print how the
term-intent threshold does there. Only tune data is used: validation/ and unseen_knowledge/ stay for measuring.
The "tool" model is the FAQ model without the features that compare a question with an entry's answer, for
tools matched by their example questions (agent/answer/tool_intent.py). `--also FOLDER` fits on another knowledge folder too, with the cases in its cases.jsonl (such as
bench/cases/tune_knowledge, a second company's, or a company's own questions on its own knowledge). The FAQ
model in calibration.json was written by `--write --only faq --also bench/cases/tune_knowledge`, the document model
for Chinese questions ("doc", fitted on Chinese questions only) by `--write --only doc --also
bench/cases/tune_knowledge`. English questions keep "doc_english", which no command writes: the document model
fitted on 2026-12-02 over both languages, kept because every refit so far let unrelated English questions
through (docs/benchmarks.md, "Issue 28"). `--only term` measures, per band
of term-intent probability, how many glossary answers on tune were right; the glossary route's confidence is that
share, smoothed (evidence.term_confidence), written by `--write --only term --also bench/cases/tune_knowledge`.

A FAQ candidate is labelled right when the case expects a stored answer and the entry's answer holds the
case's expected words; each stored and similar question of the sample FAQ, asked as written, is a case
too (people copy them, and click them as suggestions), right for its own entry only. Passages are labelled right when the case expects a document answer and the first
three passages hold them, wrong when the case expects an abstention.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from agent.answer import evidence
from agent.answer.evidence import FaqCandidate
from agent.answer.router import ANSWER, ASKS_MEANING, FACT, Router
from agent.answer.service import KnowledgeService
from agent.settings import REPO_ROOT, Settings
from agent.surfaces.evaluation import Case, load_cases
from agent.text.normalize import fold_compact

TUNE = REPO_ROOT / "bench" / "cases" / "tune"
REGULARISATION = 1.0
# A tune question a person wrote weighs as much as this many of the FAQ model's rows made from the FAQ itself,
# which outnumber them about four to one and are mostly easier (10-fold cross-validation on tune: 1, 5 and 20
# were tried; docs/benchmarks.md).
CASE_WEIGHT = 5.0
VECTOR_FEATURES = {"cosine", "cosine_z", "cosine_bg", "answer_cosine", "margin", "answer_margin", "own_language_lead", "dense",
                   "dense_bg"}  # left out of the fit used when no embedder works


def holds_expected(case: Case, text: str) -> bool:
    folded = fold_compact(text)
    return all(fold_compact(s) in folded for s in case.expect_contains) and (
        not case.expect_any or any(fold_compact(s) in folded for s in case.expect_any))


def labelled_rows(router: Router, cases: list[Case]) -> tuple[list[dict], list[int], list[dict], list[int], list]:
    faq_rows, faq_labels, doc_rows, doc_labels, intents = [], [], [], [], []
    for case in cases:
        understanding = router.understand(case.question)
        if understanding.mentions or understanding.unknown_terms:
            intents.append((understanding.asks_meaning, case.expect_route == "term", case.question))
        for candidate in router.faq_candidates(understanding, learned=False):
            faq_rows.append(candidate.features)
            faq_labels.append(int(case.expect_route == "fact" and holds_expected(case, candidate.entry.answer)))
        if case.expect_route == "doc" or case.expect_abstain:
            hits, _, features = router.passages(understanding)
            doc_rows.append(features)
            right = case.expect_route == "doc" and holds_expected(
                case, " ".join(h.passage.text for h in hits[:evidence.RELEVANCE_DEPTH]))
            doc_labels.append(int(right))
    return faq_rows, faq_labels, doc_rows, doc_labels, intents


def held_out_rows(router: Router) -> tuple[list[dict], list[int]]:
    rows, labels = [], []
    for _, candidates, right in held_out_candidates(router):
        rows += [c.features for c in candidates]
        labels += right
    return rows, labels


def held_out_candidates(router: Router):
    """FAQ candidates for questions the FAQ does not hold as written, made from the FAQ itself: each stored
    or similar question asked with that one question taken out of its entry (a paraphrase whose entry is
    still there: right for its entry only), and asked with its whole entry taken out (a question close to
    the FAQ that it cannot answer: every candidate wrong)."""
    from dataclasses import replace

    from agent.answer.faq_match import FaqMatcher
    from agent.index.build import faq_passage

    kb = router.kb
    entries, owners = kb.faq, np.asarray(kb.faq_vector_owners)
    vectors, answers, background = kb.faq_vectors, kb.faq_answer_vectors, router.background
    for number, entry in enumerate(entries):
        asked = (entry.question, *entry.similar)
        own_rows = np.flatnonzero(owners == number)
        for position, question in enumerate(asked):
            understanding = router.understand(question)
            if len(asked) > 1:  # the question taken out of its entry
                rest = asked[:position] + asked[position + 1:]
                kept_entry = replace(entry, question=rest[0], similar=tuple(rest[1:]))
                changed = entries[:number] + [kept_entry] + entries[number + 1:]
                keep = np.ones(len(owners), dtype=bool)
                keep[own_rows[position]] = False
                changed_answers = None
                if answers is not None:
                    changed_answers = answers.copy()
                    changed_answers[number] = kb.passage_vectors([faq_passage(kept_entry).text])[0]
                candidates = evidence.faq_candidates(
                    understanding, FaqMatcher(changed), vectors[keep] if vectors is not None else None,
                    list(owners[keep]), changed_answers, background if vectors is not None else None)
                yield understanding, candidates, [int(c.number == number) for c in candidates]
            # the whole entry taken out
            others = entries[:number] + entries[number + 1:]
            keep = owners != number
            candidates = evidence.faq_candidates(
                understanding, FaqMatcher(others), vectors[keep] if vectors is not None else None,
                [o - (o > number) for o in owners[keep]],
                np.delete(answers, number, axis=0) if answers is not None else None,
                background if vectors is not None else None)
            yield understanding, candidates, [0] * len(candidates)


def verified_rows(router: Router, cases: list[Case]) -> tuple[list[dict], list[int], list[dict], list[int]]:
    """Rows for the model over the FAQ model's chance and the question-pair verifier's (evidence.VERIFIED_FEATURES),
    for the candidates the verifier reads: from the tune cases, then from the FAQ itself (held_out_candidates)."""
    model = evidence.calibration("faq", router.kb.embedder_name)
    asked_rows, asked_labels, held_rows, held_labels = [], [], [], []
    for case in cases:
        understanding = router.understand(case.question)
        for candidate, chance in router.verifier_chances(understanding, router.faq_candidates(understanding, verify=False, learned=False)):
            asked_rows.append(evidence.verified_features(candidate.probability, chance))
            asked_labels.append(int(case.expect_route == "fact" and holds_expected(case, candidate.entry.answer)))
    for understanding, candidates, right in held_out_candidates(router):
        scored = [(c, model.probability(c.features), label) for c, label in zip(candidates, right)]
        scored.sort(key=lambda item: -item[1])
        scored = [(FaqCandidate(c.number, c.entry, c.matched_question, c.features, p), label) for c, p, label in scored]
        labels = {id(c): label for c, label in scored}
        for candidate, chance in router.verifier_chances(understanding, [c for c, _ in scored]):
            held_rows.append(evidence.verified_features(candidate.probability, chance))
            held_labels.append(labels[id(candidate)])
    return asked_rows, asked_labels, held_rows, held_labels


def decisions(router: Router, cases: list[Case]) -> list[tuple[Case, float, bool, float, bool]]:
    """Per case not routed to the glossary: the best FAQ candidate's chance and whether it is right, and the
    passages' chance and whether they hold the answer, for choosing the router's thresholds."""
    rows = []
    for case in cases:
        understanding = router.understand(case.question)
        if understanding.asks_meaning >= ASKS_MEANING:
            continue
        candidates = router.faq_candidates(understanding)
        best = candidates[0] if candidates else None
        hits, chance, _ = router.passages(understanding)
        passages = " ".join(h.passage.text for h in hits[:evidence.RELEVANCE_DEPTH])
        rows.append((case, best.probability if best else 0.0,
                     bool(best) and case.expect_route == "fact" and holds_expected(case, best.entry.answer),
                     chance if hits else 0.0, case.expect_route in ("fact", "doc") and holds_expected(case, passages)))
    return rows


def threshold_table(rows: list[tuple[Case, float, bool, float, bool]]) -> list[str]:
    """Right decisions on tune for pairs of thresholds: a stored answer at `fact`, passages at `answer`,
    else an abstention. A wrong stored answer counts as three mistakes: given word for word, with the
    company's authority, it is worse than none."""
    unanswerable = [case for case, *_ in rows if case.expect_abstain]
    lines = [f"{'fact':>5} {'doc':>5} {'answered right':>15} {'wrong stored':>13} {'abstained right':>16} "
             f"{'of ' + str(len(unanswerable)):>6} {'score':>6}"]
    for fact in (0.4, 0.5, 0.6, 0.7, 0.8):
        for answer in (0.3, 0.4, 0.5, 0.6):
            right = wrong_stored = abstained = 0
            for case, chance_fact, fact_right, chance_doc, doc_right in rows:
                if chance_fact >= fact:
                    right += fact_right
                    wrong_stored += not fact_right
                elif chance_doc >= answer:
                    right += doc_right
                else:
                    abstained += bool(case.expect_abstain)
            score = right + abstained - 2 * wrong_stored
            lines.append(f"{fact:5.1f} {answer:5.1f} {right:15d} {wrong_stored:13d} {abstained:16d} "
                         f"{abstained / max(1, len(unanswerable)):6.2f} {score:6d}")
    return lines


def tentative_table(rows: list[tuple[Case, float, bool, float, bool]], fact: float, answer: float) -> list[str]:
    """With FACT and ANSWER as they are: what each tentative threshold adds below FACT (an entry offered as
    "您问的是不是…" where passages do not answer better), right entries offered against entries offered for a
    question that should be abstained on."""
    lines = [f"{'tentative':>9} {'offered right':>14} {'offered wrong':>14} {'on abstain-due':>15}"]
    for tentative in (0.3, 0.4, 0.5, 0.6, 0.7):
        right = wrong = due = 0
        for case, chance_fact, fact_right, chance_doc, _ in rows:
            if tentative <= chance_fact < fact and (chance_doc < answer or chance_fact >= chance_doc):
                right += fact_right
                wrong += not fact_right
                due += bool(case.expect_abstain)
        lines.append(f"{tentative:9.1f} {right:14d} {wrong:14d} {due:15d}")
    return lines


def fit(rows: list[dict], labels: list[int], features: tuple[str, ...], row_weights: list[float]) -> dict:
    from sklearn.linear_model import LogisticRegression

    matrix = np.array([[row[name] for name in features] for row in rows])
    # Fitted on standardised features, so the penalty weighs each feature alike whatever its range (cosines
    # span a few hundredths), then written back as weights on the raw features.
    mean, scale = matrix.mean(axis=0), matrix.std(axis=0) + 1e-9
    model = LogisticRegression(C=REGULARISATION, max_iter=5000).fit((matrix - mean) / scale, np.array(labels),
                                                                  sample_weight=np.array(row_weights))
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0]) - float(weights @ mean)
    return {"features": list(features), "weights": [round(float(w), 4) for w in weights],
            "bias": round(bias, 4), "rows": len(rows), "positives": int(sum(labels))}


def reliability(model: dict, rows: list[dict], labels: list[int]) -> list[str]:
    calibrated = evidence.Calibrated(tuple(model["features"]), tuple(model["weights"]), model["bias"])
    chances = np.array([calibrated.probability(row) for row in rows])
    lines = []
    for low in np.arange(0, 1, 0.2):
        inside = (chances >= low) & (chances < low + 0.2 + (low >= 0.8))
        if inside.any():
            lines.append(f"  {low:.1f}–{low + 0.2:.1f}: {inside.sum():4d} candidates, "
                         f"{np.mean(np.array(labels)[inside]):.2f} right")
    return lines


def reliability_of_answers(service: KnowledgeService, folder: Path) -> list[str]:
    """Confidence against measured accuracy over the answers (not the abstentions) to a case folder. `right`:
    the answer holds what the case expects (the chance that `confidence` estimates); `also routed`: it came by
    the expected route and passes every other check of eval too."""
    from agent.surfaces.evaluation import judged

    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for case in load_cases(path):
            if case.history:  # a follow-up is a question only inside its conversation
                continue
            answer = service.ask(case.question)
            if not answer.abstained:
                rows.append((answer.confidence, *judged(case, answer)))
    lines = [f"{'confidence':>12} {'answers':>8} {'right':>6} {'also routed':>12}"]
    for low in (0.0, 0.4, 0.6, 0.8, 0.9):
        high = {0.0: 0.4, 0.4: 0.6, 0.6: 0.8, 0.8: 0.9, 0.9: 1.01}[low]
        inside = [(right, strict) for confidence, right, strict in rows if low <= confidence < high]
        if inside:
            lines.append(f"{low:.1f}–{min(high, 1.0):.1f} {len(inside):8d} {sum(r for r, _ in inside) / len(inside):6.2f} "
                         f"{sum(s for _, s in inside) / len(inside):12.2f}")
    return lines


def tune_sets(service: KnowledgeService, also: list[Path]) -> list[tuple[KnowledgeService, list[Case]]]:
    """The knowledge bases to fit on, each with its tune cases: the sample knowledge with bench/cases/tune, and
    each folder of `also` (indexed beside the sample's index) with its cases.jsonl."""
    sample = [case for path in sorted(TUNE.glob("*.jsonl")) for case in load_cases(path)
              if not case.history]  # a follow-up is a question only inside its conversation
    index = service.settings.index_dir
    sets = [(service, sample)]
    for folder in also:
        other = KnowledgeService(Settings.from_env(folder, index.parent / f"{index.name}-{folder.resolve().name}"))
        sets.append((other, [case for case in load_cases(folder / "cases.jsonl") if not case.history]))
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calibrate", description=__doc__)
    parser.add_argument("--write", action="store_true", help="write agent/answer/data/calibration.json")
    parser.add_argument("--only", choices=("faq", "doc", "tool", "faq_verified", "term"),
                        help="write only this model; the others stay as they are in the file (faq_verified: the model "
                             "over the FAQ model's chance and the question-pair verifier's, fitted over the FAQ model "
                             "in the file)")
    parser.add_argument("--measure", type=Path, help="only print confidence against accuracy over the answers "
                                                    "to this folder of case files (e.g. bench/cases/validation)")
    parser.add_argument("--also", type=Path, action="append", default=[], metavar="FOLDER",
                        help="fit on this knowledge folder too, with the cases of its cases.jsonl (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    service = KnowledgeService(Settings.from_env())
    if args.measure:
        print("\n".join(reliability_of_answers(service, args.measure)))
        return 0
    embedder = service.kb.embedder_name
    if args.only == "faq_verified":
        return _fit_verified(service, args)
    if args.only == "term":
        return _fit_term(service, args)
    faq_rows, faq_labels, faq_weights, doc_rows, doc_labels, intents, decided = [], [], [], [], [], [], []
    for knowledge, cases in tune_sets(service, args.also):
        router = knowledge.router
        written = [Case(asked, "fact", expect_contains=(entry.answer,)) for entry in knowledge.kb.faq
                   for asked in (entry.question, *entry.similar)]
        asked, made = labelled_rows(router, cases), labelled_rows(router, written)
        held_rows, held_labels = held_out_rows(router)
        faq_rows += asked[0] + made[0] + held_rows
        faq_labels += asked[1] + made[1] + held_labels
        faq_weights += [CASE_WEIGHT] * len(asked[0]) + [1.0] * (len(made[0]) + len(held_rows))
        chinese = [(row, label) for row, label in zip(asked[2], asked[3]) if not row["english"]]
        doc_rows, doc_labels = doc_rows + [row for row, _ in chinese], doc_labels + [label for _, label in chinese]
        intents = intents + asked[4] + made[4]
        decided.append((router, cases))
    fits: dict[str, dict] = {"faq": {}, "tool": {}, "doc": {}}
    for kind, rows, labels, weights, features in (
            ("faq", faq_rows, faq_labels, faq_weights, evidence.FAQ_FEATURES),
            ("tool", faq_rows, faq_labels, faq_weights, evidence.TOOL_FEATURES),
            ("doc", doc_rows, doc_labels, [1.0] * len(doc_rows), evidence.DOC_FEATURES)):
        fits[kind][embedder] = fit(rows, labels, features, weights)
        fits[kind][evidence.WITHOUT_VECTORS] = fit(rows, labels, tuple(f for f in features if f not in VECTOR_FEATURES),
                                                   weights)
        print(f"{kind}: {len(rows)} {'Chinese questions' if kind == 'doc' else 'candidates'}, {sum(labels)} right; "
              f"fitted for {embedder}:")
        print("\n".join(reliability(fits[kind][embedder], rows, labels)))
    if args.write:
        kept = json.loads(Path(evidence.CALIBRATION).read_text(encoding="utf-8"))  # faq_verified stays as it is
        fits = {**kept, **{kind: fits[kind] for kind in fits if args.only in (None, kind)}}
        Path(evidence.CALIBRATION).write_text(json.dumps(fits, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {evidence.CALIBRATION.relative_to(REPO_ROOT)}")
        print("thresholds on tune (the router's are FACT and ANSWER):")
        print("\n".join(threshold_table([row for router, cases in decided for row in decisions(router, cases)])))
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        right = sum((p >= threshold) == wanted for p, wanted, _ in intents)
        print(f"term intent at {threshold:.2f}: {right}/{len(intents)} questions naming a term routed right")
    return 0


TERM_BANDS = (ASKS_MEANING, 0.7, 0.9)  # term-intent probabilities at which a band of glossary answers starts


def term_bands(sets) -> list[dict]:
    """Per band of term-intent probability for terms with one meaning, and in one band for terms with several
    (whose answer lists them all), how many of the tune questions answered from the glossary were answered right (the answer
    holds what the case expects, and the case wanted the glossary)."""
    from agent.answer.replies import answer_without_llm

    bands = [{"from": low, "ambiguous": False, "answers": 0, "right": 0} for low in TERM_BANDS]
    bands.append({"from": ASKS_MEANING, "ambiguous": True, "answers": 0, "right": 0})  # too few on tune to split
    for knowledge, cases in sets:
        for case in cases:
            understanding = knowledge.router.understand(case.question)
            decision = knowledge.router.route(case.question)
            if decision.route != "term" or decision.abstained:
                continue
            answer = answer_without_llm(decision, case.question, llm_configured=False)
            ambiguous = bool(evidence.ambiguous_mentions(decision.mentions))
            band = [b for b in bands if b["ambiguous"] == ambiguous and understanding.asks_meaning >= b["from"]][-1]
            band["answers"] += 1
            band["right"] += int(case.expect_route == "term" and holds_expected(case, answer.text))
    return bands


def _fit_term(service: KnowledgeService, args) -> int:
    bands = term_bands(tune_sets(service, args.also))
    for band in bands:
        print(f"term intent from {band['from']:.1f}{', several meanings' if band['ambiguous'] else ''}: "
              f"{band['right']}/{band['answers']} glossary answers right, "
              f"confidence {(band['right'] + 1) / (band['answers'] + 2):.3f}")
    if args.write:
        fits = json.loads(Path(evidence.CALIBRATION).read_text(encoding="utf-8"))
        fits["term"] = {"bands": bands}
        Path(evidence.CALIBRATION).write_text(json.dumps(fits, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {evidence.CALIBRATION.relative_to(REPO_ROOT)}")
    return 0


def _fit_verified(service: KnowledgeService, args) -> int:
    rows, labels, weights, decided = [], [], [], []
    for knowledge, cases in tune_sets(service, args.also):
        router = knowledge.router
        if router.verifier is None:
            print("error: the question-pair verifier did not load (see the warning above)", file=sys.stderr)
            return 1
        asked_rows, asked_labels, held_rows, held_labels = verified_rows(router, cases)
        rows += asked_rows + held_rows
        labels += asked_labels + held_labels
        weights += [CASE_WEIGHT] * len(asked_rows) + [1.0] * len(held_rows)
        decided.append((router, cases))
    model = fit(rows, labels, evidence.VERIFIED_FEATURES, weights)
    from sklearn.metrics import roc_auc_score

    for name in evidence.VERIFIED_FEATURES:
        print(f"AUC of {name} alone over these candidates: {roc_auc_score(labels, [row[name] for row in rows]):.3f}")
    print(f"faq_verified: {len(rows)} candidates read by the verifier, {sum(labels)} right; weights "
          f"{dict(zip(model['features'], model['weights']))}, bias {model['bias']}")
    print("\n".join(reliability(model, rows, labels)))
    if args.write:
        fits = json.loads(Path(evidence.CALIBRATION).read_text(encoding="utf-8"))
        fits.setdefault("faq_verified", {})[evidence.verified_key(service.kb.embedder_name, service.router.verifier)] = model
        Path(evidence.CALIBRATION).write_text(json.dumps(fits, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {evidence.CALIBRATION.relative_to(REPO_ROOT)}")
        print("thresholds on tune (the router's are FACT and ANSWER):")
        rows = [row for router, cases in decided for row in decisions(router, cases)]
        print("\n".join(threshold_table(rows)))
        print(f"tentative answers below FACT={FACT} (ANSWER={ANSWER}):")
        print("\n".join(tentative_table(rows, FACT, ANSWER)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
