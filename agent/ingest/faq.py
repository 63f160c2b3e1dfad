"""Loading FAQ sheets: a question, its answer, and the other ways people ask it, however the sheet is laid
out (标准问题/标准答案/相似问题, 用户问题/解答, Q/A, or no header at all)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.ingest.columns import (Role, SheetKind, SheetLayout, looks_like_answer, looks_like_category,
                                  looks_like_question, looks_like_question_list, sheet_layout)
from agent.ingest.sheets import cell, readable_sheets
from agent.records import FaqEntry

FAQ_SHEET = SheetKind(
    roles=(
        Role("question", "问题", ("问题", "标准问题", "标准问", "标准问法", "标准问句", "用户问题", "常见问题", "客户问题",
                                   "咨询问题", "问题描述", "主问题", "问", "提问", "问句", "question", "standard question",
                                   "q", "faq", "query", "ask"),
             looks_like_question, distinct=True),
        Role("answer", "答案", ("答案", "标准答案", "回答", "答", "解答", "答复", "回复", "回复内容", "答案内容", "说明",
                                 "处理方法", "解决方法", "解决方案", "解决办法", "answer", "a", "reply", "response",
                                 "solution"),
             looks_like_answer),
        Role("similar", "相似问题", ("相似问题", "相似问法", "相似问", "相似问句", "其他问法", "扩展问题", "扩展问法",
                                      "近义问法", "同义问法", "问法", "其他问题", "关联问题", "similar questions", "similar",
                                      "alternative questions", "paraphrase", "variant", "other phrasings"),
             looks_like_question_list),
        Role("category", "分类", ("分类", "类别", "类型", "业务分类", "问题分类", "所属分类", "模块", "主题",
                                   "category", "type", "topic", "module"),
             looks_like_category),
    ),
    required=(frozenset({"question", "answer"}),),
    needs="需要问题列和答案列：表头写“问题/标准问题/Question”和“答案/标准答案/Answer”等；"
          "没有表头时，问题应以“？”结尾或含“吗/怎么/如何”，答案应为完整的句子",
    header_hint="问题/question and 答案/answer",
)
# Several ways of asking in one cell: new lines, bars, semicolons, full-width slashes or 、.
_SIMILAR_SPLIT = re.compile(r"[\n|｜;；／、]+")


@dataclass
class _Entry:
    question: str
    answer: str
    similar: list[str] = field(default_factory=list)
    category: str = ""
    row: int = 0


def split_similar(cell_text: str) -> list[str]:
    return [s.strip() for s in _SIMILAR_SPLIT.split(cell_text) if s.strip()]


def load_faq(path: Path, source: str, max_rows: int = 200_000,
             layouts: list[SheetLayout] | None = None) -> tuple[list[FaqEntry], list[str]]:
    """FAQ entries from every readable sheet, with source, sheet and row; plus warnings. `layouts`, when
    given, receives what was understood of each sheet."""
    entries: list[FaqEntry] = []
    warnings: list[str] = []
    for sheet, layout in readable_sheets(path, FAQ_SHEET, max_rows, warnings):
        columns = layout.columns
        found: list[_Entry] = []
        previous: _Entry | None = None  # the entry on the row just above, which a row of similar questions extends
        for index in range(layout.start_index, len(sheet.rows)):
            row = sheet.rows[index]
            question, answer = cell(row, columns["question"]), cell(row, columns["answer"])
            similar = split_similar(cell(row, columns.get("similar")))
            if not question and similar and previous is not None and answer in ("", previous.answer):
                previous.similar += similar  # the standard question's cell is merged over the rows below
                continue
            if not question and not answer:
                previous = None
                continue
            if not question or not answer:
                warnings.append(f"sheet '{sheet.name}' row {index + 1}: question or answer is empty; skipped")
                previous = None
                continue
            previous = _Entry(question, answer, similar, cell(row, columns.get("category")), index + 1)
            found.append(previous)
        entries += [FaqEntry(question=e.question, answer=e.answer, similar=tuple(dict.fromkeys(e.similar)),
                             category=e.category, source=source, sheet=sheet.name, row=e.row) for e in found]
        if layouts is not None:
            layouts.append(sheet_layout(sheet.name, layout, len(found)))
    return entries, warnings
