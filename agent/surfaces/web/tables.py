"""What the knowledge tab lists: every knowledge file with how it was read, the glossary and the FAQ
(filtered by a search box), and the blank glossary template people fill in."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill

from agent.text.normalize import fold
from agent.records import FaqEntry, Term
from agent.surfaces.web.render import format_time

# The reference layout the glossary loader recognises; the header words stay Chinese in every language.
TEMPLATE_HEADER = ("序号", "缩略语", "英文全称", "中文解释")
TEMPLATE_WIDTHS = {"A": 8, "B": 16, "C": 40, "D": 36}


def files_table(file_reports: dict[str, dict], labels: dict[str, str]) -> pd.DataFrame:
    columns = [labels[c] for c in ("col_file", "col_kind", "col_status", "col_terms", "col_faq", "col_chunks",
                                   "col_warnings", "col_error", "col_modified")]
    rows = []
    for path, report in sorted(file_reports.items()):
        rows.append([path, labels.get(f"kind_{report.get('kind')}", report.get("kind", "")),
                     labels.get(f"status_{report.get('status')}", report.get("status", "")),
                     report.get("terms", 0), report.get("faq", 0), report.get("chunks", 0),
                     "\n".join(report.get("warnings") or []), report.get("error") or "",
                     format_time(report.get("modified", 0.0))])
    return pd.DataFrame(rows, columns=columns)


def glossary_table(terms: list[Term], query: str, labels: dict[str, str]) -> pd.DataFrame:
    columns = [labels[c] for c in ("col_abbreviation", "col_english", "col_chinese", "col_source")]
    rows = [[" / ".join(t.abbreviations), t.english, "；".join(x for x in (t.chinese, *t.aliases) if x),
             f"{t.source} · {t.location}"] for t in terms]
    return pd.DataFrame(_matching(rows, query), columns=columns)


def faq_table(entries: list[FaqEntry], query: str, labels: dict[str, str]) -> pd.DataFrame:
    columns = [labels[c] for c in ("col_question", "col_similar", "col_answer", "col_category", "col_source")]
    rows = [[e.question, "；".join(e.similar), e.answer, e.category, f"{e.source} · {e.location}"] for e in entries]
    return pd.DataFrame(_matching(rows, query), columns=columns)


def _matching(rows: list[list[str]], query: str) -> list[list[str]]:
    """Rows containing every word of the query, ignoring case and full/half width."""
    words = fold(query or "").split()
    return [row for row in rows if all(w in fold(" ".join(map(str, row))) for w in words)]


def write_glossary_template(path: Path, labels: dict[str, str]) -> Path:
    """A blank glossary in the reference layout: a title row over 序号 / 缩略语 / 英文全称 / 中文解释."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "缩略语"
    sheet.append([labels["template_title"]])
    sheet.merge_cells("A1:D1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(list(TEMPLATE_HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for column, width in TEMPLATE_WIDTHS.items():
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
