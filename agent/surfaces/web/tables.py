"""What the knowledge tab lists: every knowledge file with how it was read, the glossary and the FAQ
(filtered by a search box), and the blank glossary template people fill in."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill

from agent.text.normalize import fold
from agent.records import FaqEntry, Term
from agent.surfaces.web.render import format_time, where_text

# The reference layout the glossary loader recognises; the header words stay Chinese in every language.
TEMPLATE_HEADER = ("序号", "缩略语", "英文全称", "中文解释")
TEMPLATE_WIDTHS = {"A": 8, "B": 16, "C": 40, "D": 36}


def files_table(file_reports: dict[str, dict], labels: dict[str, str]) -> pd.DataFrame:
    columns = [labels[c] for c in ("col_file", "col_kind", "col_status", "col_terms", "col_faq", "col_chunks",
                                   "col_understood", "col_warnings", "col_error", "col_modified")]
    rows = []
    for path, report in sorted(file_reports.items()):
        rows.append([path, labels.get(f"kind_{report.get('kind')}", report.get("kind", "")),
                     labels.get(f"status_{report.get('status')}", report.get("status", "")),
                     report.get("terms", 0), report.get("faq", 0), report.get("chunks", 0),
                     "\n".join(understood_sheet(sheet, labels) for sheet in report.get("sheets") or []),
                     "\n".join(report.get("warnings") or []), report.get("error") or "",
                     format_time(report.get("modified", 0.0))])
    return pd.DataFrame(rows, columns=columns)


def understood_sheet(sheet: dict, labels: dict[str, str]) -> str:
    """One sheet as the loader understood it (a SheetLayout from the file's report), so an owner can check
    which column was taken for what: 人事：第3行为表头，B列为问题、C列为答案，读取 12 条."""
    def named(roles) -> str:
        return labels["understood_separator"].join(
            labels["understood_column"].format(letter=sheet["columns"][role], role=labels.get(f"role_{role}", role))
            for role in roles if role in sheet["columns"])

    header = (labels["understood_header"].format(row=sheet["header_row"]) if sheet.get("header_row")
              else labels["understood_no_header"])
    inferred = labels["understood_inferred"].format(columns=named(sheet["inferred"])) if sheet.get("inferred") else ""
    return labels["understood_sheet"].format(sheet=sheet["sheet"], header=header, columns=named(sheet["columns"]),
                                             records=sheet.get("records", 0), inferred=inferred)


def glossary_table(terms: list[Term], query: str, labels: dict[str, str]) -> pd.DataFrame:
    columns = [labels[c] for c in ("col_abbreviation", "col_english", "col_chinese", "col_source")]
    rows = [[" / ".join(t.abbreviations), t.english, "；".join(x for x in (t.chinese, *t.aliases, t.definition) if x),
             where_text(t.source, t.location, labels)] for t in terms]
    return pd.DataFrame(_matching(rows, query), columns=columns)


def faq_table(entries: list[FaqEntry], query: str, labels: dict[str, str]) -> pd.DataFrame:
    columns = [labels[c] for c in ("col_question", "col_similar", "col_answer", "col_category", "col_source")]
    rows = [[e.question, "；".join(e.similar), e.answer, e.category, where_text(e.source, e.location, labels)]
            for e in entries]
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
