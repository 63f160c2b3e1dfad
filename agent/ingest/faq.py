"""Loading FAQ sheets: a question, its answer, and the other ways people ask it."""
from __future__ import annotations

import re
from pathlib import Path

from agent.ingest.sheets import cell, headed_sheets
from agent.records import FaqEntry

FAQ_HEADERS: dict[str, set[str]] = {
    "question": {"问题", "标准问题", "问", "提问", "question", "questions", "q"},
    "answer": {"答案", "回答", "答", "解答", "answer", "answers", "a"},
    "similar": {"相似问题", "相似问法", "相似问", "相似问句", "其他问法", "similar questions", "similar",
                "alternative questions"},
    "category": {"分类", "类别", "category", "type"},
}
_SIMILAR_SPLIT = re.compile(r"[\n|｜]+")


def load_faq(path: Path, source: str, max_rows: int = 200_000) -> tuple[list[FaqEntry], list[str]]:
    """FAQ entries from every sheet with a 问题/答案 header, with source, sheet and row; plus warnings."""
    entries: list[FaqEntry] = []
    warnings: list[str] = []
    hint = "问题/question and 答案/answer"
    for sheet, header in headed_sheets(path, FAQ_HEADERS, [{"question", "answer"}], hint, max_rows, warnings):
        columns = header.columns
        for index in range(header.row_index + 1, len(sheet.rows)):
            row = sheet.rows[index]
            question = cell(row, columns["question"])
            answer = cell(row, columns["answer"])
            if not question and not answer:
                continue
            if not question or not answer:
                warnings.append(f"sheet '{sheet.name}' row {index + 1}: question or answer is empty; skipped")
                continue
            similar_text = cell(row, columns.get("similar"))
            similar = tuple(s.strip() for s in _SIMILAR_SPLIT.split(similar_text) if s.strip())
            entries.append(FaqEntry(question=question, answer=answer, similar=similar,
                                    category=cell(row, columns.get("category")),
                                    source=source, sheet=sheet.name, row=index + 1))
    return entries, warnings
