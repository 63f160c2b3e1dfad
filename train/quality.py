"""Quality checks for instruction/input/output JSONL, before any row reaches training.

The company's hand-made rows carried invented links, document titles and page numbers; a model
trained on them repeats them as facts. A reference is only allowed when the glossary itself holds
it. Duplicates waste steps; one question with two answers teaches the model to guess.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from agent.text.normalize import fold_compact

INVALID_JSON = "invalid_json"
EMPTY_FIELD = "empty_field"
URL = "url"
DOCUMENT_REFERENCE = "document_reference"
PAGE_REFERENCE = "page_reference"
DUPLICATE_INSTRUCTION = "duplicate_instruction"
CONFLICTING_ANSWERS = "conflicting_answers"

REQUIRED_FIELDS = ("instruction", "output")
TEXT_FIELDS = ("instruction", "input", "output")

_URL_END = r"[^\s，。、；：）)》」\"'<>]+"
_URL = re.compile(rf"(?:https?|ftp)://{_URL_END}|www\.{_URL_END}", re.IGNORECASE)
_DOCUMENT = re.compile(r"《[^《》\n]{1,80}》")
_PAGE = re.compile(
    r"第\s*[0-9０-９一二三四五六七八九十百千两〇零]+\s*页"  # 第12页
    r"|(?<![A-Za-z])(?:pages?|pp?\.)\s*\d+",  # page 12, p. 12
    re.IGNORECASE,
)
_REFERENCE_KINDS = (
    (URL, _URL, "link"),
    (DOCUMENT_REFERENCE, _DOCUMENT, "document title"),
    (PAGE_REFERENCE, _PAGE, "page reference"),
)


@dataclass(frozen=True)
class Issue:
    line: int  # 1-based line in the checked file
    kind: str
    message: str


@dataclass
class CheckReport:
    rows_read: int = 0
    issues: list[Issue] = field(default_factory=list)
    clean_rows: list[dict] = field(default_factory=list)  # the rows --fix keeps, in file order

    @property
    def ok(self) -> bool:
        return not self.issues

    def count(self, kind: str) -> int:
        return sum(1 for issue in self.issues if issue.kind == kind)


def check_lines(lines: Iterable[str], glossary_texts: Iterable[str] = ()) -> CheckReport:
    """Check JSONL lines; rows with any issue are left out of `clean_rows`."""
    allowed = fold_compact(" ".join(glossary_texts))
    report = CheckReport()
    parsed: list[tuple[int, dict]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        report.rows_read += 1
        row_issues, row = _row_issues(number, line, allowed)
        report.issues.extend(row_issues)
        if not row_issues:
            parsed.append((number, row))
    rejected = _duplicates_and_conflicts(parsed, report)
    report.clean_rows = [row for number, row in parsed if number not in rejected]
    report.issues.sort(key=lambda issue: issue.line)
    return report


def _row_issues(number: int, line: str, allowed: str) -> tuple[list[Issue], dict]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return [Issue(number, INVALID_JSON, f"not valid JSON ({exc.msg} at column {exc.colno})")], {}
    if not isinstance(row, dict):
        return [Issue(number, INVALID_JSON, "a line must hold one JSON object")], {}
    issues = []
    for name in REQUIRED_FIELDS:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            issues.append(Issue(number, EMPTY_FIELD, f"'{name}' is missing or empty"))
    if "input" in row and not isinstance(row["input"], str):
        issues.append(Issue(number, EMPTY_FIELD, "'input' must be text (it may be empty)"))
    for name in TEXT_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            issues.extend(_invented_references(number, name, value, allowed))
    return issues, row


def _invented_references(number: int, field_name: str, text: str, allowed: str) -> list[Issue]:
    issues = []
    for kind, pattern, what in _REFERENCE_KINDS:
        for match in pattern.finditer(text):
            if fold_compact(match.group()) not in allowed:
                issues.append(Issue(number, kind, f"{what} {match.group()!r} in '{field_name}' is not in the glossary"))
    return issues


def _duplicates_and_conflicts(parsed: list[tuple[int, dict]], report: CheckReport) -> set[int]:
    """Later copies of a question are duplicates; a question with differing answers is a conflict."""
    by_question: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for number, row in parsed:
        by_question[question_key(row["instruction"] + "\n" + row.get("input", ""))].append((number, row))
    rejected: set[int] = set()
    for rows in by_question.values():
        answers = {fold_compact(row["output"]) for _, row in rows}
        if len(answers) > 1:
            lines = ", ".join(str(number) for number, _ in rows)
            for number, row in rows:
                message = f"{row['instruction']!r} has {len(answers)} different answers (lines {lines})"
                report.issues.append(Issue(number, CONFLICTING_ANSWERS, message))
                rejected.add(number)
            continue
        first = rows[0][0]
        for number, row in rows[1:]:
            report.issues.append(Issue(number, DUPLICATE_INSTRUCTION, f"{row['instruction']!r} repeats line {first}"))
            rejected.add(number)
    return rejected


def question_key(question: str) -> str:
    """Questions that differ only in spacing are the same; a change of case or width is a new spelling."""
    return "".join(unicodedata.normalize("NFC", question).split())


def check_file(path: Path, glossary_texts: Iterable[str] = (), fix: bool = False) -> CheckReport:
    """Check a JSONL file; with fix=True rewrite it holding only the clean rows."""
    path = Path(path)
    report = check_lines(path.read_text(encoding="utf-8").splitlines(), glossary_texts)
    if fix and not report.ok:
        _write_atomically(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in report.clean_rows))
    return report


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    shutil.copymode(path, temporary)
    os.replace(temporary, path)


def format_report(report: CheckReport, name: str = "", fixed: bool = False, max_lines: int = 50) -> str:
    """A report a person reads: totals per kind, then the first issues with their line numbers."""
    title = f"{name}: " if name else ""
    if report.ok:
        return f"{title}{report.rows_read} rows, no issues"
    kinds = sorted({issue.kind for issue in report.issues})
    removed = report.rows_read - len(report.clean_rows)
    lines = [
        f"{title}{report.rows_read} rows, {len(report.issues)} issues in {removed} rows"
        + (f" (removed; {len(report.clean_rows)} rows kept)" if fixed else ""),
        "  " + ", ".join(f"{kind}: {report.count(kind)}" for kind in kinds),
    ]
    lines.extend(f"  line {issue.line}: [{issue.kind}] {issue.message}" for issue in report.issues[:max_lines])
    if len(report.issues) > max_lines:
        lines.append(f"  ... and {len(report.issues) - max_lines} more")
    return "\n".join(lines)
