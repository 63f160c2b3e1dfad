"""Honest scoring for the term model: does the answer contain the right expansion, asked how?

BLEU and ROUGE were near zero for every model and said nothing. Here an answer is right when,
after NFKC, case folding and removing spaces, it contains every expected expansion (or, for a
reverse question, the abbreviation). Accuracy is reported per question form and separately for
memorised phrasings, phrasings never trained on, terms never trained on, and well-known business
abbreviations that are in no glossary (train/data/common_abbreviations.jsonl, the only kind of term the
app asks the adapter about), for the base model and the adapter side by side, with the rates of leaked
special tokens and of repetition loops.
"""
from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from agent.llm.adapter_registry import ACCURACY_MEASURED_ON, read_manifest, write_manifest
from agent.text.normalize import fold, fold_compact
from train.dataset import TrainingRow, dataset_hash, read_rows, read_split
from train.forms import EVAL, TRAIN, VALID

logger = logging.getLogger(__name__)

MEMORISED_FORMS = "memorised_forms"
HELDOUT_FORMS = "heldout_forms"
HELDOUT_TERMS = "heldout_terms"
NEW_TERMS = "new_terms"
OLD_TERMS = "old_terms"
COMMON_ABBREVIATIONS = "common_abbreviations"
# Written by hand for issue 26: business abbreviations in general use (B2B, IPO, KYC, ...), each asked as
# "什么是X？" (what abbreviation_lookup asks), with its usual English full name as the expected answer.
# None is in knowledge/glossary (tests/test_term_model_gemma.py checks); a row whose term the training
# data holds is dropped when evaluating, so another company's glossary keeps the set unseen.
COMMON_ABBREVIATIONS_FILE = Path(__file__).resolve().parent / "data" / "common_abbreviations.jsonl"

SPECIAL_MARKER = re.compile(r"<\|[^<>|\n]{1,64}\|>|<｜[^<>｜\n]{1,64}｜>")  # ChatML and DeepSeek spellings
_SHORT_LOOP = re.compile(r"(.{2,}?)\1{3,}", re.DOTALL)  # a short unit four or more times in a row
_LONG_LOOP = re.compile(r"(.{8,}?)\1", re.DOTALL)  # a phrase said twice in a row


def has_leaked_token(reply: str) -> bool:
    return bool(SPECIAL_MARKER.search(reply))


def has_repetition(reply: str) -> bool:
    compact = "".join(reply.split())
    return bool(_SHORT_LOOP.search(compact) or _LONG_LOOP.search(compact))


def is_correct(reply: str, expected: tuple[str, ...]) -> bool:
    """Every expected string appears in the reply after NFKC and case folding, spacing ignored.

    An abbreviation or name must stand on its own: "SO" inside "SOP" or "AP" inside "APP" does not count.
    A hyphen counts as a space: "Business-to-Business" answers "Business to Business".
    """
    answer = fold(SPECIAL_MARKER.sub("", reply))
    return bool(expected) and all(_standalone(item).search(answer) for item in expected)


def _standalone(expected: str) -> re.Pattern:
    letters = fold_compact(expected)
    pattern = r"[\s-]*".join(re.escape(ch) for ch in letters)
    if letters[:1].isascii() and letters[:1].isalnum():
        pattern = r"(?<![a-z0-9])" + pattern
    if letters[-1:].isascii() and letters[-1:].isalnum():
        pattern += r"(?![a-z0-9])"
    return re.compile(pattern)


@dataclass(frozen=True)
class ScoredReply:
    row: TrainingRow
    reply: str
    correct: bool
    leaked: bool
    repeated: bool


def score(rows: list[TrainingRow], replies: list[str]) -> list[ScoredReply]:
    return [
        ScoredReply(row, reply, is_correct(reply, row.expect), has_leaked_token(reply), has_repetition(reply))
        for row, reply in zip(rows, replies)
    ]


def summarize(scored: list[ScoredReply]) -> dict:
    """Accuracy overall and per form, plus leak and repetition rates."""
    by_form: dict[str, list[ScoredReply]] = defaultdict(list)
    for item in scored:
        by_form[item.row.form].append(item)
    return {
        "rows": len(scored),
        "accuracy": _rate(scored, "correct"),
        "leaked_special_tokens_rate": _rate(scored, "leaked"),
        "repetition_rate": _rate(scored, "repeated"),
        "by_form": {
            form: {"rows": len(items), "accuracy": _rate(items, "correct")} for form, items in sorted(by_form.items())
        },
    }


def _rate(items: list[ScoredReply], flag: str) -> float | None:
    return round(sum(getattr(item, flag) for item in items) / len(items), 4) if items else None


def evaluation_sets(
    data_dir: Path,
    max_rows: int | None = None,
    seed: int = 0,
    new_terms: list[str] = (),
    unseen_file: Path | None = COMMON_ABBREVIATIONS_FILE,
) -> dict[str, list[TrainingRow]]:
    """Train phrasings (memorised), eval phrasings of trained terms, terms held out of training, and the
    common abbreviations of `unseen_file` that the data never names (all of them, never sampled)."""
    rng = random.Random(seed)
    eval_rows = read_split(data_dir, EVAL)
    train_rows = read_split(data_dir, TRAIN)
    sets = {
        MEMORISED_FORMS: train_rows,
        HELDOUT_FORMS: [row for row in eval_rows if not row.heldout],
        HELDOUT_TERMS: [row for row in eval_rows if row.heldout],
    }
    unseen = _unseen_rows(unseen_file, train_rows + read_split(data_dir, VALID) + eval_rows)
    if max_rows:
        new = set(new_terms)
        for name, rows in sets.items():
            always = [row for row in rows if new & set(row.terms)]  # every row of a new term is scored
            rest = [row for row in rows if not new & set(row.terms)]
            if len(rest) > max_rows:
                sets[name] = always + rng.sample(rest, max_rows)
    if unseen:
        sets[COMMON_ABBREVIATIONS] = unseen
    return sets


def _unseen_rows(path: Path | None, data_rows: list[TrainingRow]) -> list[TrainingRow]:
    if not path or not Path(path).is_file():
        return []
    known = {key for row in data_rows for key in row.terms}
    return [row for row in read_rows(path) if not known & set(row.terms)]


def evaluate_model(
    generator, sets: dict[str, list[TrainingRow]], use_adapter: bool, new_terms: list[str] = (), max_new_tokens: int = 96
) -> dict:
    """Summaries per set (and new/old terms for an incremental adapter), plus overall leak/repetition rates."""
    results: dict = {}
    everything: list[ScoredReply] = []
    for name, rows in sets.items():
        replies = generator.replies([row.question for row in rows], use_adapter=use_adapter, max_new_tokens=max_new_tokens)
        scored = score(rows, replies)
        results[name] = summarize(scored)
        results[name]["wrong_examples"] = [
            {"question": item.row.question, "expected": list(item.row.expect), "reply": item.reply}
            for item in scored if not item.correct
        ][:5]
        everything.extend(scored)
        if name == MEMORISED_FORMS and new_terms:
            new = set(new_terms)
            results[NEW_TERMS] = summarize([item for item in scored if new & set(item.row.terms)])
            results[OLD_TERMS] = summarize([item for item in scored if not new & set(item.row.terms)])
    results["leaked_special_tokens_rate"] = _rate(everything, "leaked")
    results["repetition_rate"] = _rate(everything, "repeated")
    return results


def bar_set(metrics: dict) -> str:
    """The set the adapter's bar is measured on: abbreviations in no glossary when they were asked, since the
    app asks the adapter only about abbreviations its glossary lacks; otherwise trained terms in new phrasings."""
    return COMMON_ABBREVIATIONS if (metrics.get(COMMON_ABBREVIATIONS) or {}).get("rows") else ACCURACY_MEASURED_ON


@dataclass
class EvaluationReport:
    base_model: str
    adapter: str
    dataset_hash: str
    sets: dict[str, int]  # rows per set
    base: dict
    adapter_metrics: dict | None

    def as_dict(self) -> dict:
        return {
            "base_model": self.base_model,
            "adapter": self.adapter,
            "dataset_hash": self.dataset_hash,
            "rows": self.sets,
            "base": self.base,
            "adapter_metrics": self.adapter_metrics,
        }


def run_evaluation(
    base: Path,
    data_dir: Path,
    adapter: Path | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    max_new_tokens: int = 96,
) -> EvaluationReport:
    """Evaluate base (and adapter), and record the adapter's figures in its manifest."""
    from train.generation import ReplyGenerator

    from train.lora import default_prompt_format

    manifest = read_manifest(adapter) if adapter else None
    new_terms = manifest.new_terms if manifest else []
    prompt_format = (manifest.hyperparameters.get("prompt_format") if manifest else "") or default_prompt_format(base)
    sets = evaluation_sets(data_dir, max_rows, seed, new_terms)
    generator = ReplyGenerator(base, adapter, prompt_format)
    base_metrics = evaluate_model(generator, sets, False, new_terms, max_new_tokens)
    adapter_metrics = evaluate_model(generator, sets, True, new_terms, max_new_tokens) if adapter else None
    report = EvaluationReport(
        base_model=str(base),
        adapter=str(adapter or ""),
        dataset_hash=dataset_hash(data_dir),
        sets={name: len(rows) for name, rows in sets.items()},
        base=base_metrics,
        adapter_metrics=adapter_metrics,
    )
    if manifest is not None:
        if manifest.dataset_hash and manifest.dataset_hash != report.dataset_hash:
            logger.warning("evaluating %s on data other than it was trained on (%s)", adapter, data_dir)
        manifest.metrics = {"base": base_metrics, "adapter": adapter_metrics, "rows": report.sets}
        manifest.accuracy_measured_on = bar_set(adapter_metrics)
        manifest.accuracy = adapter_metrics[manifest.accuracy_measured_on]["accuracy"]
        manifest.evaluated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest.eval_dataset_hash = report.dataset_hash
        write_manifest(adapter, manifest)
    return report
