"""Supervised fine-tuning rows built only from glossary fields, split so evaluation stays honest.

Every answer is composed from the glossary (abbreviation, English full name, Chinese name), never
written by hand, so the rows cannot carry invented links, titles or page numbers. Terms are grouped
by abbreviation first, so an abbreviation with several meanings is always answered with all of them.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from agent.text.normalize import fold_compact
from agent.records import Term
from train.forms import ABOUT_ABBREVIATION, ABOUT_CHINESE, ABOUT_ENGLISH, EVAL, FORMS, TRAIN, VALID, QuestionForm
from train.quality import CheckReport, check_lines, question_key

GLOSSARY_EXTENSIONS = (".xlsx", ".xls", ".csv")
SPLIT_FILES = {TRAIN: "train.jsonl", VALID: "valid.jsonl", EVAL: "eval.jsonl"}
DATASET_INFO = "dataset.json"
MAX_CHINESE_SUBJECT = 24  # longer Chinese cells are explanations, not names anyone would ask about


@dataclass(frozen=True)
class Meaning:
    english: str
    chinese: str

    def describe(self) -> str:
        """'Account Manager（客户经理）', or whichever half the glossary has."""
        if self.english and self.chinese:
            return f"{self.english}（{self.chinese}）"
        return self.english or self.chinese


@dataclass(frozen=True)
class TermGroup:
    """Every glossary meaning of one abbreviation, across rows and files."""

    key: str  # the folded abbreviation, what the group is known by
    abbreviation: str  # as the glossary first writes it
    spellings: tuple[str, ...]  # every spelling variant the glossary lists
    meanings: tuple[Meaning, ...]

    def answer(self) -> str:
        if len(self.meanings) == 1:
            return f"{self.abbreviation}：{self.meanings[0].describe()}"
        listed = "；".join(f"{number}. {meaning.describe()}" for number, meaning in enumerate(self.meanings, 1))
        return f"{self.abbreviation} 有 {len(self.meanings)} 个含义：{listed}"

    def expected(self) -> tuple[str, ...]:
        """What a correct answer must contain: every meaning's English name (or Chinese, lacking one)."""
        return tuple(meaning.english or meaning.chinese for meaning in self.meanings)


@dataclass(frozen=True)
class TrainingRow:
    instruction: str
    output: str
    form: str  # QuestionForm.form_id
    split: str  # train | valid | eval
    heldout: bool  # the term itself never occurs in train or valid
    terms: tuple[str, ...]  # keys of the term groups the row is about
    expect: tuple[str, ...]  # strings a correct answer contains (scored after normalisation)
    input: str = ""

    def to_json(self) -> str:
        record = asdict(self)
        record["terms"] = list(self.terms)
        record["expect"] = list(self.expect)
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_dict(cls, record: dict) -> "TrainingRow":
        return cls(
            instruction=record["instruction"],
            output=record["output"],
            form=record.get("form", ""),
            split=record.get("split", ""),
            heldout=bool(record.get("heldout", False)),
            terms=tuple(record.get("terms", ())),
            expect=tuple(record.get("expect", ())),
            input=record.get("input", ""),
        )

    @property
    def question(self) -> str:
        return f"{self.instruction}\n{self.input}" if self.input else self.instruction


@dataclass
class Dataset:
    rows: list[TrainingRow]
    groups: list[TermGroup]
    heldout_terms: list[str]
    skipped_terms: int = 0  # glossary rows without an abbreviation or without any name

    def split(self, name: str) -> list[TrainingRow]:
        return [row for row in self.rows if row.split == name]


def group_terms(terms: Iterable[Term]) -> tuple[list[TermGroup], int]:
    """Group terms by folded abbreviation; identical meanings from several rows count once."""
    spellings: dict[str, list[str]] = defaultdict(list)
    meanings: dict[str, dict[str, Meaning]] = defaultdict(dict)
    skipped = 0
    for term in terms:
        if not term.abbreviation or not (term.english or term.chinese):
            skipped += 1
            continue
        key = fold_compact(term.abbreviation)
        for spelling in term.abbreviations:
            if spelling and spelling not in spellings[key]:
                spellings[key].append(spelling)
        meaning = Meaning(term.english, term.chinese)
        meaning_key = fold_compact(term.english or term.chinese)
        known = meanings[key].get(meaning_key)
        meanings[key][meaning_key] = meaning if known is None else _merged(known, meaning)
    groups = [
        TermGroup(key, spellings[key][0], tuple(spellings[key]), tuple(meanings[key].values())) for key in spellings
    ]
    return groups, skipped


def _merged(known: Meaning, other: Meaning) -> Meaning:
    """The first row's names, with blanks filled from a later row that has them."""
    return Meaning(known.english or other.english, known.chinese or other.chinese)


def build_dataset(terms: Iterable[Term], eval_terms_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Rows for every form and term, with a seeded, stable slice of terms held out of training entirely."""
    groups, skipped = group_terms(terms)
    heldout = {group.key for group in groups if is_heldout_term(group.key, eval_terms_fraction, seed)}
    rows: list[TrainingRow] = []
    for group in groups:
        for form in FORMS:
            if form.about == ABOUT_ABBREVIATION:
                rows.extend(_abbreviation_rows(group, form, group.key in heldout))
    for form in FORMS:
        if form.about == ABOUT_ENGLISH:
            rows.extend(_reverse_rows(groups, form, heldout, lambda meaning: meaning.english))
        elif form.about == ABOUT_CHINESE:
            rows.extend(_reverse_rows(groups, form, heldout, _short_chinese))
    return Dataset(rows=_deduplicated(rows), groups=groups, heldout_terms=sorted(heldout), skipped_terms=skipped)


def is_heldout_term(key: str, fraction: float, seed: int) -> bool:
    """A term's own hash decides, so adding terms to the glossary never moves an old term in or out."""
    digest = hashlib.sha256(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _split_for(form: QuestionForm, heldout: bool) -> str:
    return EVAL if heldout else form.use


def _abbreviation_rows(group: TermGroup, form: QuestionForm, heldout: bool) -> list[TrainingRow]:
    spellings = group.spellings if form.spelling == "as_written" else group.spellings[:1]
    return [
        TrainingRow(
            instruction=form.question(spelling),
            output=group.answer(),
            form=form.form_id,
            split=_split_for(form, heldout),
            heldout=heldout,
            terms=(group.key,),
            expect=group.expected(),
        )
        for spelling in spellings
    ]


def _short_chinese(meaning: Meaning) -> str:
    return meaning.chinese if len(meaning.chinese) <= MAX_CHINESE_SUBJECT else ""


def _reverse_rows(groups: list[TermGroup], form: QuestionForm, heldout: set[str], subject_of) -> list[TrainingRow]:
    """Questions naming a full name and asking for its abbreviation; one row per distinct name."""
    by_name: dict[str, list[tuple[TermGroup, Meaning]]] = defaultdict(list)
    names: dict[str, str] = {}
    for group in groups:
        for meaning in group.meanings:
            name = subject_of(meaning)
            if name and fold_compact(name) != group.key:
                by_name[fold_compact(name)].append((group, meaning))
                names.setdefault(fold_compact(name), name)
    rows = []
    for name_key, matches in by_name.items():
        keys = tuple(dict.fromkeys(group.key for group, _ in matches))
        is_heldout = any(key in heldout for key in keys)
        rows.append(
            TrainingRow(
                instruction=form.question(names[name_key]),
                output="；".join(f"{group.abbreviation}：{meaning.describe()}" for group, meaning in matches),
                form=form.form_id,
                split=_split_for(form, is_heldout),
                heldout=is_heldout,
                terms=keys,
                expect=tuple(dict.fromkeys(group.abbreviation for group, _ in matches)),
            )
        )
    return rows


def _deduplicated(rows: list[TrainingRow]) -> list[TrainingRow]:
    """One row per question; nothing asked in train is asked again, even respelled, in valid or eval."""
    order = {TRAIN: 0, VALID: 1, EVAL: 2}
    seen: set[str] = set()
    trained: set[str] = set()
    kept = []
    for row in sorted(rows, key=lambda row: order[row.split]):
        if question_key(row.question) in seen or (row.split != TRAIN and fold_compact(row.question) in trained):
            continue
        seen.add(question_key(row.question))
        if row.split == TRAIN:
            trained.add(fold_compact(row.question))
        kept.append(row)
    return kept


def without_quality_issues(dataset: Dataset, allowed_texts: Iterable[str]) -> tuple[Dataset, CheckReport]:
    """Run the same checks as `python -m train check` over every split and drop flagged rows."""
    report = check_lines([row.to_json() for row in dataset.rows], allowed_texts)
    clean = [TrainingRow.from_dict(record) for record in report.clean_rows]
    return Dataset(clean, dataset.groups, dataset.heldout_terms, dataset.skipped_terms), report


def glossary_texts(terms: Iterable[Term]) -> list[str]:
    """Every text a glossary row holds: what a training row may legitimately quote."""
    texts = []
    for term in terms:
        texts.extend([*term.abbreviations, term.english, term.chinese, *term.aliases, term.category, term.note])
    return [text for text in texts if text]


def glossary_files(knowledge_dir: Path) -> list[Path]:
    folder = Path(knowledge_dir) / "glossary"
    return sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix.lower() in GLOSSARY_EXTENSIONS)


@dataclass
class GlossaryLoad:
    terms: list[Term]
    sources: list[str]
    warnings: list[str]
    failures: list[str]  # "file: why", for files that could not be read at all


def load_knowledge_glossaries(knowledge_dir: Path) -> GlossaryLoad:
    """Every glossary under knowledge_dir/glossary, read by the same loader the assistant uses."""
    from agent.ingest.errors import KnowledgeFileError
    from agent.ingest.glossary import load_glossary

    loaded = GlossaryLoad([], [], [], [])
    for path in glossary_files(knowledge_dir):
        source = path.relative_to(knowledge_dir).as_posix()
        try:
            terms, warnings = load_glossary(path, source)
        except KnowledgeFileError as exc:
            loaded.failures.append(f"{source}: {exc}")
            continue
        loaded.terms.extend(terms)
        loaded.sources.append(source)
        loaded.warnings.extend(f"{source}: {warning}" for warning in warnings)
    return loaded


def write_dataset(dataset: Dataset, out_dir: Path, info: dict) -> dict:
    """Write one JSONL file per split plus dataset.json (counts, held-out terms, content hash)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    counts = {}
    for split, filename in SPLIT_FILES.items():
        rows = dataset.split(split)
        text = "".join(row.to_json() + "\n" for row in rows)
        (out_dir / filename).write_text(text, encoding="utf-8")
        digest.update(text.encode("utf-8"))
        counts[split] = len(rows)
    summary = {
        **info,
        "hash": digest.hexdigest(),
        "terms": len(dataset.groups),
        "ambiguous_terms": sum(1 for group in dataset.groups if len(group.meanings) > 1),
        "skipped_glossary_rows": dataset.skipped_terms,
        "heldout_terms": dataset.heldout_terms,
        "rows": counts,
        "rows_heldout_terms": sum(1 for row in dataset.rows if row.heldout),
        "forms": {split: sorted({row.form for row in dataset.split(split)}) for split in SPLIT_FILES},
    }
    (out_dir / DATASET_INFO).write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary


def read_rows(path: Path) -> list[TrainingRow]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [TrainingRow.from_dict(json.loads(line)) for line in lines if line.strip()]


def read_split(data_dir: Path, split: str) -> list[TrainingRow]:
    path = Path(data_dir) / SPLIT_FILES[split]
    return read_rows(path) if path.is_file() else []


def dataset_hash(data_dir: Path) -> str:
    info = Path(data_dir) / DATASET_INFO
    if info.is_file():
        return json.loads(info.read_text(encoding="utf-8")).get("hash", "")
    digest = hashlib.sha256()
    for filename in SPLIT_FILES.values():
        path = Path(data_dir) / filename
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# ---- incremental: the terms added since a date -------------------------------------------------------------


@dataclass
class AddedTerms:
    """The abbreviations (group keys) added to the glossary since a date, and how each was found."""

    keys: set[str]
    found_by: dict[str, str]  # key -> "app fix on DATE" | "FILE modified DATE"
    notes: list[str]  # what the rule could not use (the fix history unreadable, ...)


def terms_added_since(knowledge_dir: Path, terms: list[Term], since: float, fixes: list[dict] | None) -> AddedTerms:
    """Which glossary terms were added at or after `since` (Unix time).

    A spreadsheet keeps no date per row, so the rule is: a term added from the app's 待完善 page (its fix is kept
    with a date in the memory database; `fixes` are those records, None when the database cannot be read) is added
    on that date; every term of any other glossary file modified at or after `since` counts as added (a whole
    file, since its rows cannot be dated one by one: a few old terms of an edited file are taught again). The
    supplement file the app writes (glossary/补充术语.xlsx) is dated by the fix history alone, because each fix
    touches it; without a readable history it is treated like any other file."""
    from agent.ingest.supplements import GLOSSARY_FILE

    knowledge_dir = Path(knowledge_dir)
    added, found_by, notes = set(), {}, []
    if fixes is None:
        notes.append("the fix history could not be read: glossary/补充术语.xlsx is dated by its modification time")
    for fix in fixes or []:
        abbreviation = (fix.get("content") or {}).get("abbreviation", "")
        if fix.get("kind") == "term" and fix.get("fixed_at", 0) >= since and abbreviation:
            key = fold_compact(abbreviation)
            added.add(key)
            found_by.setdefault(key, f"app fix on {_day(fix['fixed_at'])}")
    for path in glossary_files(knowledge_dir):
        source = path.relative_to(knowledge_dir).as_posix()
        if (source == GLOSSARY_FILE and fixes is not None) or path.stat().st_mtime < since:
            continue
        for term in terms:
            if term.source == source and term.abbreviation:
                key = fold_compact(term.abbreviation)
                added.add(key)
                found_by.setdefault(key, f"{source} modified {_day(path.stat().st_mtime)}")
    known = {fold_compact(t.abbreviation) for t in terms if t.abbreviation}
    gone = sorted(added - known)
    if gone:
        notes.append(f"added since but no longer in the glossary: {', '.join(gone)}")
    return AddedTerms(added & known, {k: v for k, v in found_by.items() if k in known}, notes)


def incremental_dataset(dataset: Dataset, new_keys: set[str], replay_ratio: float, seed: int) -> tuple[Dataset, dict]:
    """The rows about the new terms, plus per split a seeded sample of the other terms' rows (`replay_ratio` per
    new row) so that `train lora --from-adapter` keeps rehearsing what the adapter knew."""
    import random

    rng = random.Random(seed)
    rows: list[TrainingRow] = []
    counts = {}
    for split in SPLIT_FILES:
        in_split = dataset.split(split)
        new = [row for row in in_split if set(row.terms) & new_keys]
        old = [row for row in in_split if not set(row.terms) & new_keys]
        replay = rng.sample(old, min(len(old), round(replay_ratio * len(new))))
        rows += new + replay
        counts[split] = {"new": len(new), "replayed": len(replay)}
    groups = [group for group in dataset.groups if group.key in new_keys]
    kept = Dataset(rows, groups, [key for key in dataset.heldout_terms if key in new_keys], dataset.skipped_terms)
    return kept, counts


def parse_since(text: str) -> float:
    """`2026-12-01` (local midnight) or an ISO date and time -> Unix time; ValueError names the expected form."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(f"--since {text!r} is not a date like 2026-12-01 or 2026-12-01T09:30") from None


def _day(timestamp: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d")
