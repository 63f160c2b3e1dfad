"""Fixes made from the app, written to workbooks that knowledge owners own: `faq/补充问答.xlsx` and
`glossary/补充术语.xlsx` in the knowledge folder. Nobody's original sheet is ever written.

The files are plain sheets the FAQ and glossary readers load like any other (a header of 问题/相似问题/答案/分类
or 缩略语/英文全称/中文名称/定义), so an owner may open, correct or move their rows in Excel. Similar questions
for an entry of another file are a row here with that entry's question and answer and the new ways of asking:
the readers load it as one more entry that gives the same answer. Writes are serialised per file, across
threads and processes, and land atomically, so two owners fixing at once lose neither fix and the watcher
never reads half a workbook."""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import openpyxl

from agent.ingest.columns import SheetKind, find_layout
from agent.ingest.faq import FAQ_SHEET, split_similar
from agent.ingest.glossary import GLOSSARY_SHEET
from agent.records import FaqEntry
from agent.text.normalize import clean_cell

FAQ_FILE = "faq/补充问答.xlsx"
GLOSSARY_FILE = "glossary/补充术语.xlsx"
FAQ_HEADER = {"question": "问题", "similar": "相似问题", "answer": "答案", "category": "分类"}
GLOSSARY_HEADER = {"abbreviation": "缩略语", "english": "英文全称", "chinese": "中文名称", "definition": "定义"}
SHEET_TITLE = "补充"
MAX_FIELD_CHARS = 5000

_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


class FixRefused(ValueError):
    """The fix cannot be written as asked; the message says why, in the owner's words."""


@dataclass(frozen=True)
class Written:
    path: str  # relative to the knowledge folder
    row: int  # as a spreadsheet program numbers it
    added: bool  # a new row (False: an existing row of this file was extended)


def add_faq_entry(knowledge_dir: Path, question: str, answer: str, similar: list[str] = (),
                  category: str = "") -> Written:
    """A new FAQ entry; the same question already in the supplement file gets the new answer instead."""
    question, answer = _field(question, "问题"), _field(answer, "答案")
    if not question:
        raise FixRefused("问题不能为空 / the question is empty")
    if not answer:
        raise FixRefused("答案不能为空 / the answer is empty")
    similar = _new_questions(similar, [question])
    with _workbook(knowledge_dir / FAQ_FILE, FAQ_SHEET, FAQ_HEADER) as (sheet, columns):
        row = _find_row(sheet, columns, {"question": question})
        if row is None:
            return Written(FAQ_FILE, _append(sheet, columns, {"question": question, "answer": answer,
                                                              "similar": "\n".join(similar), "category": category}),
                           True)
        known = split_similar(_text(sheet, row, columns["similar"]))
        _set(sheet, row, columns["answer"], answer)
        _set(sheet, row, columns["similar"], "\n".join(known + _new_questions(similar, [question, *known])))
        return Written(FAQ_FILE, row, False)


def add_similar_questions(knowledge_dir: Path, entry: FaqEntry, similar: list[str]) -> Written:
    """The questions as new ways of asking `entry`: on its own row when it is in the supplement file, else on a
    row of the supplement file that repeats its question and answer."""
    new = _new_questions(similar, [entry.question, *entry.similar])
    if not new:
        raise FixRefused("没有新的相似问题 / no new similar question (empty, or the entry already has them)")
    with _workbook(knowledge_dir / FAQ_FILE, FAQ_SHEET, FAQ_HEADER) as (sheet, columns):
        row = _find_row(sheet, columns, {"question": entry.question, "answer": entry.answer})
        if row is None:
            return Written(FAQ_FILE, _append(sheet, columns, {"question": entry.question, "answer": entry.answer,
                                                              "similar": "\n".join(new), "category": entry.category}),
                           True)
        known = split_similar(_text(sheet, row, columns["similar"]))
        _set(sheet, row, columns["similar"], "\n".join(known + _new_questions(new, known)))
        return Written(FAQ_FILE, row, False)


def add_term(knowledge_dir: Path, abbreviation: str = "", english: str = "", chinese: str = "",
             definition: str = "") -> Written:
    """A glossary row: two names (an abbreviation, its English or Chinese name) or a name and its definition,
    as the glossary reader needs; the same names already in the supplement file are updated instead."""
    values = {"abbreviation": _field(abbreviation, "缩略语"), "english": _field(english, "英文全称"),
              "chinese": _field(chinese, "中文名称"), "definition": _field(definition, "定义")}
    names = [values[n] for n in ("abbreviation", "english", "chinese") if values[n]]
    if not names:
        raise FixRefused("术语需要名称：缩略语、英文全称或中文名称至少填一项 / a term needs a name")
    if len(names) < 2 and not values["definition"]:
        raise FixRefused("只有一个名称：请再填写另一个名称或定义 / give a second name or a definition")
    key = {n: values[n] for n in ("abbreviation", "english", "chinese")}
    with _workbook(knowledge_dir / GLOSSARY_FILE, GLOSSARY_SHEET, GLOSSARY_HEADER) as (sheet, columns):
        row = _find_row(sheet, columns, key)
        if row is None:
            return Written(GLOSSARY_FILE, _append(sheet, columns, values), True)
        _set(sheet, row, columns["definition"], values["definition"])
        return Written(GLOSSARY_FILE, row, False)


def _field(text: str | None, name: str) -> str:
    text = clean_cell(text or "").strip()
    if len(text) > MAX_FIELD_CHARS:
        raise FixRefused(f"{name}超过 {MAX_FIELD_CHARS} 字 / {name} is longer than {MAX_FIELD_CHARS} characters")
    return text


def _new_questions(questions, known: list[str]) -> list[str]:
    """The questions, one line each, without blanks, repeats or those already known."""
    seen = {" ".join(q.split()) for q in known}
    new = []
    for question in questions or ():
        for line in split_similar(_field(question, "相似问题")):
            if line not in seen:
                seen.add(line)
                new.append(line)
    return new


@contextmanager
def _workbook(path: Path, kind: SheetKind, header: dict[str, str]) -> Iterator[tuple[object, dict[str, int]]]:
    """The supplement workbook's first sheet and its columns (0-based), under the file's lock, saved
    atomically when the block ends without error. A missing file is created with `header`."""
    with _locked(path):
        if path.exists():
            try:
                workbook = openpyxl.load_workbook(path)
            except Exception as exc:
                raise FixRefused(f"{path.name} 无法打开（{type(exc).__name__}），请先修复或移走它 / "
                                 f"{path.name} cannot be opened") from exc
            sheet = workbook.worksheets[0]
            rows = [[clean_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            layout = find_layout(rows, kind)
            columns = dict(layout.columns) if layout is not None and layout.header_index == 0 else {}
            missing = [label for role, label in header.items() if role not in columns and role != "category"]
            if missing:
                raise FixRefused(f"{path.name} 的表头已被改动，缺少列：{'、'.join(missing)} / "
                                 f"{path.name} lacks the columns {', '.join(missing)}")
        else:
            workbook = openpyxl.Workbook()
            sheet = workbook.active
            sheet.title = SHEET_TITLE
            sheet.append(list(header.values()))
            for letter, width in zip("ABCD", (30, 40, 60, 12)):
                sheet.column_dimensions[letter].width = width
            columns = {role: number for number, role in enumerate(header)}
        yield sheet, columns
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            workbook.save(temporary)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer per file: a lock per path within the process and a lock file (hidden, so never read as
    knowledge) across processes."""
    key = path.resolve()
    with _thread_locks_guard:
        lock = _thread_locks.setdefault(key, threading.Lock())
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock, open(path.with_name(f".{path.name}.lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _text(sheet, row: int, column: int | None) -> str:
    return "" if column is None else clean_cell(sheet.cell(row=row, column=column + 1).value)


def _set(sheet, row: int, column: int | None, text: str) -> None:
    """Written as text, never as a formula: an answer that starts with "=" stays the owner's words."""
    if column is None:
        return
    target = sheet.cell(row=row, column=column + 1)
    target.value = text or None
    if text:
        target.data_type = "s"


def _find_row(sheet, columns: dict[str, int], values: dict[str, str]) -> int | None:
    for row in range(2, sheet.max_row + 1):
        if all(_text(sheet, row, columns.get(role)) == value for role, value in values.items()):
            return row
    return None


def _append(sheet, columns: dict[str, int], values: dict[str, str]) -> int:
    row = sheet.max_row + 1
    while row > 2 and not any(_text(sheet, row - 1, c) for c in columns.values()):
        row -= 1  # fill blank rows at the end instead of leaving a gap
    for role, text in values.items():
        _set(sheet, row, columns.get(role), text)
    return row
