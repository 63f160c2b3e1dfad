"""Which column of a sheet holds what, recognised by meaning rather than by a fixed list of header words.

Knowledge owners head their columns as they please (标准问题, 用户问题, 问法, Q; 术语, 名词, 释义...), so a
header cell is scored against each role's vocabulary by the characters (Chinese) or words (English) they
share. When the header says too little, or there is none, the cells are the evidence: questions end in ？
or ask with 吗/怎么/如何, answers run long, abbreviations are Latin capitals. What was inferred from the
cells is reported, because a guess is something the owner should check.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from agent.text.normalize import fold, fold_compact, has_cjk

HEADER_SEARCH_ROWS = 30
ACCEPT_SCORE = 0.45  # a header cell names a role from this similarity on
EVIDENCE_SCORE = 0.6  # a column's cells show a role when this share of them look the part
MAX_HEADER_CHARS = 32  # a longer cell is content, never a column's name
SAMPLE_ROWS = 300  # cells looked at per column when inferring from content
MIN_DATA_ROWS = 2  # one row is too little evidence to guess columns from


@dataclass(frozen=True)
class Role:
    name: str
    label: str  # how a Chinese report names the column, e.g. 问题
    words: tuple[str, ...]  # header words, Chinese and English, in any case and width
    looks_like: Callable[[str], bool] | None = None  # does one cell look like this role's content?
    distinct: bool = False  # its cells differ from row to row (a question, a term name)


@dataclass(frozen=True)
class SheetKind:
    """The roles of one kind of sheet and which sets of them make a readable sheet."""

    roles: tuple[Role, ...]
    required: tuple[frozenset[str], ...]  # the sheet is readable when it has every role of one set
    needs: str  # what an unreadable sheet needs, in the owner's words
    header_hint: str  # the same, briefly, in English

    def role(self, name: str) -> Role:
        return next(r for r in self.roles if r.name == name)


@dataclass(frozen=True)
class Layout:
    """Where a sheet's records are: the header row (if any) and the column of each role."""

    header_index: int | None  # index into the sheet's rows; None when the sheet has no header row
    start_index: int  # first data row
    columns: dict[str, int]  # role name -> column index
    inferred: tuple[str, ...] = ()  # roles found from the cells, not from the header

    def letters(self) -> dict[str, str]:
        return {role: get_column_letter(col + 1) for role, col in self.columns.items()}


@dataclass(frozen=True)
class SheetLayout:
    """What was understood of one sheet, kept in the file's report for the knowledge tab."""

    sheet: str
    header_row: int  # as a spreadsheet program numbers it; 0 when there is none
    columns: dict[str, str]  # role name -> column letter
    inferred: tuple[str, ...]
    records: int


# ---- cell evidence ----------------------------------------------------------------------------------

_QUESTION_WORDS = re.compile(r"吗|么|如何|怎样|怎么|什么|哪|几|多少|是否|能否|可否|可以|为何|为什么|请问|有没有|多久|多长")
_ENGLISH_QUESTION = re.compile(r"^(how|what|why|when|where|who|which|can|could|do|does|did|is|are|should|will|may)\b",
                               re.IGNORECASE)
_SENTENCE_MARKS = re.compile(r"[。；;！!，,：:]")
_ABBREVIATION = re.compile(r"^[A-Za-z][A-Za-z0-9&/+.\-]{0,14}$")
_LIST_SEPARATORS = re.compile(r"[\n|｜;；／、]")


def looks_like_question(text: str) -> bool:
    text = text.strip()
    if not text or len(text) > 80:
        return False
    return text[-1] in "?？" or bool(_QUESTION_WORDS.search(text)) or bool(_ENGLISH_QUESTION.match(text))


def looks_like_question_list(text: str) -> bool:
    """Several ways of asking in one cell, or a single question."""
    parts = [p for p in _LIST_SEPARATORS.split(text) if p.strip()]
    return len(parts) > 1 or looks_like_question(text)


def looks_like_answer(text: str) -> bool:
    text = text.strip()
    return (len(text) >= 12 or bool(_SENTENCE_MARKS.search(text))) and text[-1:] not in "?？"


def looks_like_abbreviation(text: str) -> bool:
    first = unicodedata.normalize("NFKC", text).split()[0] if text.strip() else ""
    return bool(_ABBREVIATION.match(first)) and sum(ch.isupper() for ch in first) >= 2


def looks_like_english_name(text: str) -> bool:
    text = unicodedata.normalize("NFKC", text).strip()
    return not has_cjk(text) and len(text.split()) >= 2 and sum(ch.isalpha() for ch in text) >= len(text) * 0.6


def looks_like_chinese_name(text: str) -> bool:
    text = text.strip()
    return has_cjk(text) and len(text) <= 16 and not _SENTENCE_MARKS.search(text)


def looks_like_definition(text: str) -> bool:
    text = text.strip()
    return len(text) >= 15 or bool(_SENTENCE_MARKS.search(text))


def looks_like_category(text: str) -> bool:
    text = text.strip()
    return 0 < len(text) <= 8 and not looks_like_question(text)


# ---- header words ---------------------------------------------------------------------------------------

_BRACKETED = re.compile(r"[（(【\[<《].*?[)）】\]>》]")
_DECORATION = re.compile(r"^[\d.、\s]+|[*＊:：#№\s]+$|^[*＊]+")
_RUNS = re.compile(r"[\u3400-\u9fff]+|[a-z][a-z0-9 .'&-]*")


def _header_forms(text: str) -> set[str]:
    """The ways one header cell may name a role: whole, and each Chinese or English run of it
    ("问题 Question" names both), without brackets ("问题（必填）"), numbering or a trailing colon."""
    folded = fold(text)
    folded = _BRACKETED.sub("", folded).strip() or folded
    folded = _DECORATION.sub("", folded).strip()
    forms = {folded} | {run.strip() for run in _RUNS.findall(folded)}
    return {form for form in forms if form}


def _words(text: str) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in re.findall(r"[a-z0-9]+", text)]


def similarity(form: str, word: str) -> float:
    """How nearly a header form says a vocabulary word: 1 when equal, less for containment and overlap."""
    if fold_compact(form) == fold_compact(word):
        return 1.0
    if has_cjk(form) or has_cjk(word):
        form, word = fold_compact(form), fold_compact(word)
        if len(word) >= 2 and word in form:
            return 0.6 + 0.3 * len(word) / len(form)  # 相似问题 says 问题, less than it says 相似问题
        if len(form) >= 2 and form in word:
            return 0.5 + 0.3 * len(form) / len(word)
        if min(len(form), len(word)) < 2:
            return 0.0
        dice = 2 * len(set(form) & set(word)) / (len(set(form)) + len(set(word)))
        return 0.8 * dice if dice >= 0.6 else 0.0  # 答复内容 is 回复内容; 客户端 is no 客户问题
    form_words, vocabulary_words = _words(form), _words(word)
    if not form_words or not vocabulary_words or len(fold_compact(word)) < 2:
        return 0.0  # single letters (Q, A) count only when equal
    if set(vocabulary_words) <= set(form_words):
        return 0.6 + 0.3 * len(vocabulary_words) / len(form_words)
    shared = len(set(form_words) & set(vocabulary_words))
    return 0.8 * 2 * shared / (len(set(form_words)) + len(set(vocabulary_words)))


def header_score(cell_text: str, role: Role) -> float:
    forms = _header_forms(cell_text)
    return max((similarity(form, word) for form in forms for word in role.words), default=0.0)


# ---- assignment ------------------------------------------------------------------------------------------


def _assign(scores: dict[tuple[str, int], float], kind: SheetKind, taken: dict[str, int]) -> dict[str, int]:
    """Best-first: the highest-scoring (role, column) pair wins, each role and column used once. When that
    leaves the sheet unreadable, the roles of a required set choose first (问法 | 回复 | 扩展问法: 问法 is then
    the question; 名词 | 说明: 说明 is the definition, not a note)."""
    columns = _best_first(scores, dict(taken))
    if _readable(columns, kind):
        return columns
    for needed in kind.required:
        trial = dict(taken)
        for role in sorted(needed - trial.keys()):
            options = [(score, -col) for (r, col), score in scores.items()
                       if r == role and score >= ACCEPT_SCORE and col not in trial.values()]
            if options:
                trial[role] = -max(options)[1]
        if needed <= trial.keys():
            return _best_first(scores, trial)
    return columns


def _best_first(scores: dict[tuple[str, int], float], columns: dict[str, int]) -> dict[str, int]:
    for (role, col), score in sorted(scores.items(), key=lambda item: -item[1]):
        if score >= ACCEPT_SCORE and role not in columns and col not in columns.values():
            columns[role] = col
    return columns


def _readable(columns: dict[str, int], kind: SheetKind) -> bool:
    return any(needed <= columns.keys() for needed in kind.required)


def _header_columns(row: list[str], kind: SheetKind) -> dict[str, int]:
    scores = {(role.name, col): header_score(text, role)
              for col, text in enumerate(row) if 0 < len(text) <= MAX_HEADER_CHARS for role in kind.roles}
    return _assign(scores, kind, {})


def _content_scores(rows: list[list[str]], kind: SheetKind, free: list[int]) -> dict[tuple[str, int], float]:
    scores = {}
    for col in free:
        cells = [row[col] for row in rows if col < len(row) and row[col]]
        if len(cells) < max(MIN_DATA_ROWS, len(rows) // 3):
            continue  # a mostly empty column says too little
        for role in kind.roles:
            if role.looks_like is None:
                continue
            share = sum(map(role.looks_like, cells)) / len(cells)
            if role.distinct and len(set(cells)) < 0.8 * len(cells):
                share *= 0.5
            if role.name == "category" and len(set(cells)) > 0.5 * len(cells):
                share = 0.0  # a category repeats
            scores[(role.name, col)] = share if share >= EVIDENCE_SCORE else 0.0
    return scores


def find_layout(rows: list[list[str]], kind: SheetKind) -> Layout | None:
    """The header row whose words name a readable set of roles; failing that, the roles its words do name
    completed from what the cells below look like. None when neither makes the sheet readable."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = _header_columns(row, kind)
        if _readable(columns, kind):
            return _with_content_checks(Layout(index, index + 1, columns), rows, kind)
        if columns and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    return _inferred_layout(rows, kind, best)


def _inferred_layout(rows: list[list[str]], kind: SheetKind, header: tuple[int, dict[str, int]] | None
                     ) -> Layout | None:
    if header is None:
        first = next((i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if sum(bool(c) for c in row) >= 2), None)
        if first is None:
            return None
        header_index, named = first, {}
    else:
        header_index, named = header
    # A first row that names nothing may be data or a header of unfamiliar words: it is sampled too.
    sample_from = header_index + 1 if named else header_index
    sample = [row for row in rows[sample_from:header_index + 1 + SAMPLE_ROWS] if any(row)]
    if len(sample) < MIN_DATA_ROWS:
        return None
    width = max(len(row) for row in sample + [rows[header_index]])
    free = [col for col in range(width) if col not in named.values()]
    columns = _assign(_content_scores(sample, kind, free), kind, named)
    if not _readable(columns, kind):
        return None
    inferred = tuple(role for role in columns if role not in named)
    if _row_fits(rows[header_index], columns, kind):
        return Layout(None, header_index, columns, inferred)  # no header at all: the first row is already data
    return Layout(header_index, header_index + 1, columns, inferred)


def _row_fits(row: list[str], columns: dict[str, int], kind: SheetKind) -> bool:
    """Does this row look like data in every inferred column (and so is no header of unfamiliar words)?"""
    for role, col in columns.items():
        looks_like = kind.role(role).looks_like
        text = row[col] if col < len(row) else ""
        if looks_like is not None and text and not looks_like(text):
            return False
    return True


def _with_content_checks(layout: Layout, rows: list[list[str]], kind: SheetKind) -> Layout:
    """A header may name a role its cells contradict: 释义 over sentences is a definition, not a Chinese name."""
    columns = dict(layout.columns)
    names = {"abbreviation", "english", "term"}
    if "chinese" in columns and "definition" not in columns and names & columns.keys():
        cells = [row[columns["chinese"]] for row in rows[layout.start_index:layout.start_index + SAMPLE_ROWS]
                 if columns["chinese"] < len(row) and row[columns["chinese"]]]
        if cells and sum(map(looks_like_definition, cells)) >= EVIDENCE_SCORE * len(cells) \
                and sum(map(looks_like_chinese_name, cells)) < 0.5 * len(cells):
            columns["definition"] = columns.pop("chinese")
    return Layout(layout.header_index, layout.start_index, columns, layout.inferred)


def describe_inferred(layout: Layout, kind: SheetKind) -> str:
    """The owner's note, e.g. 按内容推断：B列为问题，C列为答案."""
    letters = layout.letters()
    found = "，".join(f"{letters[role]}列为{kind.role(role).label}" for role in layout.inferred)
    header = "无表头" if layout.header_index is None else f"第{layout.header_index + 1}行表头未能全部识别"
    return f"按内容推断：{found}（{header}）"


def sheet_layout(name: str, layout: Layout, records: int) -> SheetLayout:
    header_row = 0 if layout.header_index is None else layout.header_index + 1
    return SheetLayout(name, header_row, layout.letters(), layout.inferred, records)
