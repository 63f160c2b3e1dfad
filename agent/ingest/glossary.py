"""Loading abbreviation glossaries: the company's 序号/缩略语/英文全称/中文解释 sheet and its messier cousins."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from agent.text.normalize import fold_compact
from agent.ingest.sheets import Sheet, cell, headed_sheets
from agent.records import Term

GLOSSARY_HEADERS: dict[str, set[str]] = {
    "abbreviation": {"缩略语", "缩写", "简称", "外语词缩略语", "缩略词", "英文缩写", "缩写词",
                     "abbreviation", "abbreviations", "abbr", "abbr.", "acronym", "short form"},
    "english": {"英文全称", "全称", "外语词全称", "英文名称", "英文", "full name", "fullname",
                "english", "english name", "full form", "expansion"},
    "chinese": {"中文解释", "中文释义", "释义", "中文译名", "中文名称", "中文名", "中文", "中文含义",
                "含义", "解释", "meaning", "description", "chinese", "chinese name", "definition"},
    "alias": {"或译为", "中文译名2", "别名", "其他译名", "又称", "alias", "aliases", "also known as"},
    "category": {"类别", "分类", "category", "type"},
    "note": {"备注", "说明", "note", "notes", "remark", "remarks", "comment"},
}
# A header row names at least two of the three core columns.
_REQUIRED = [{"abbreviation", "english"}, {"abbreviation", "chinese"}, {"english", "chinese"}]

# One cell may hold several spellings: "APP App app", "P/E PER", "DAPP/ Dapp", "P+R P&R".
# A slash splits only when spaced ("DAPP/ Dapp"), so "P/E" and "TCP/IP" stay whole.
_VARIANT_SPLIT = re.compile(r"\s*[,，、;；]\s*|\s+/\s*|\s*/\s+|\s+")
_HEADER_KEYS = {fold_compact(w) for words in GLOSSARY_HEADERS.values() for w in words}


def split_variants(cell_text: str) -> tuple[str, ...]:
    """The spellings of one abbreviation cell, in order, without repeats."""
    text = unicodedata.normalize("NFKC", cell_text).strip()
    variants: list[str] = []
    for part in _VARIANT_SPLIT.split(text):
        part = part.strip()
        if part and part not in variants:
            variants.append(part)
    return tuple(variants)


def load_glossary(path: Path, source: str, max_rows: int = 200_000) -> tuple[list[Term], list[str]]:
    """Terms from every sheet of a glossary file, each with its source, sheet and row; plus warnings."""
    terms: list[Term] = []
    warnings: list[str] = []
    hint = "words such as 缩略语/Abbreviation, 英文全称/Full name, 中文解释/Meaning"
    for sheet, header in headed_sheets(path, GLOSSARY_HEADERS, _REQUIRED, hint, max_rows, warnings):
        terms.extend(_sheet_terms(sheet, header.row_index, header.columns, source, warnings))
    return terms, warnings


def _sheet_terms(sheet: Sheet, header_row: int, columns: dict[str, int], source: str,
                 warnings: list[str]) -> list[Term]:
    terms = []
    for index in range(header_row + 1, len(sheet.rows)):
        row = sheet.rows[index]
        row_number = index + 1
        abbreviation_cell = cell(row, columns.get("abbreviation"))
        english = _one_line(unicodedata.normalize("NFKC", cell(row, columns.get("english"))))
        chinese = _one_line(cell(row, columns.get("chinese")))
        alias = _one_line(cell(row, columns.get("alias")))
        if not (abbreviation_cell or english or chinese):
            continue
        if fold_compact(abbreviation_cell or english or chinese) in _HEADER_KEYS:
            continue  # a repeated header row
        variants = split_variants(abbreviation_cell)
        if not (english or chinese or alias):
            warnings.append(f"sheet '{sheet.name}' row {row_number}: '{abbreviation_cell}' has no English or "
                            "Chinese name; skipped")
            continue
        if not variants and not ((english and chinese) or alias):
            warnings.append(f"sheet '{sheet.name}' row {row_number}: only one name and no abbreviation; skipped")
            continue
        terms.append(Term(
            abbreviations=variants,
            english=english,
            chinese=chinese or alias,
            aliases=(alias,) if alias and chinese else (),
            category=cell(row, columns.get("category")),
            note=cell(row, columns.get("note")),
            source=source,
            sheet=sheet.name,
            row=row_number,
        ))
    return terms


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))
