"""Loading glossaries: the company's 序号/缩略语/英文全称/中文解释 sheet, its messier cousins, and term–definition
lists (术语/定义) whose terms have no abbreviation at all (内购, 星河令牌)."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from agent.ingest.columns import (Layout, Role, SheetKind, SheetLayout, looks_like_abbreviation, looks_like_category,
                                  looks_like_chinese_name, looks_like_definition, looks_like_english_name, sheet_layout)
from agent.ingest.sheets import Sheet, cell, readable_sheets
from agent.records import Term
from agent.text.normalize import fold_compact, has_cjk

_CATEGORY_WORDS = ("类别", "分类", "类型", "所属类别", "领域", "category", "type", "domain")
GLOSSARY_SHEET = SheetKind(
    roles=(
        Role("abbreviation", "缩略语", ("缩略语", "缩写", "简称", "外语词缩略语", "缩略词", "英文缩写", "缩写词", "简写",
                                        "代号", "abbreviation", "abbr", "abbr.", "acronym", "short form", "short name"),
             looks_like_abbreviation),
        Role("english", "英文全称", ("英文全称", "全称", "外语词全称", "英文名称", "英文", "英文名", "full name", "fullname",
                                      "english", "english name", "full form", "expansion", "stands for"),
             looks_like_english_name, distinct=True),
        Role("chinese", "中文名称", ("中文解释", "中文释义", "释义", "中文译名", "中文名称", "中文名", "中文", "中文含义",
                                      "中文全称", "译名", "含义", "解释", "meaning", "description", "chinese",
                                      "chinese name"),
             looks_like_chinese_name, distinct=True),
        Role("term", "术语", ("术语", "名词", "词条", "词汇", "专业术语", "术语名称", "名称", "关键词", "专有名词", "概念",
                                "term", "word", "name", "keyword", "concept", "glossary term")),
        Role("definition", "定义", ("定义", "说明", "释义", "解释", "含义", "描述", "术语解释", "名词解释", "术语定义",
                                      "详细说明", "概念说明", "definition", "description", "explanation", "meaning"),
             looks_like_definition),
        Role("alias", "别名", ("或译为", "中文译名2", "别名", "其他译名", "又称", "同义词", "alias", "also known as",
                                 "synonym")),
        Role("category", "类别", _CATEGORY_WORDS, looks_like_category),
        Role("note", "备注", ("备注", "说明", "注释", "附注", "note", "remark", "comment")),
    ),
    # Two names (an abbreviation and what it stands for), or a name and its definition.
    required=tuple(frozenset(pair) for pair in (
        ("abbreviation", "english"), ("abbreviation", "chinese"), ("english", "chinese"), ("term", "definition"),
        ("abbreviation", "definition"), ("chinese", "definition"), ("english", "definition"), ("term", "english"),
        ("term", "chinese"), ("term", "abbreviation"))),
    needs="需要两列名称（缩略语/缩写/Abbreviation、英文全称/Full name、中文解释/Meaning 中任两列），"
          "或一列术语（术语/名词/Term）加一列定义（定义/释义/说明/Definition）；"
          "没有表头时，缩略语应为大写字母，定义应为完整的句子",
    header_hint="two of 缩略语/Abbreviation, 英文全称/Full name, 中文解释/Meaning, or 术语/Term and 定义/Definition",
)

# One cell may hold several spellings: "APP App app", "P/E PER", "DAPP/ Dapp", "P+R P&R".
# A slash splits only when spaced ("DAPP/ Dapp"), so "P/E" and "TCP/IP" stay whole.
_VARIANT_SPLIT = re.compile(r"\s*[,，、;；]\s*|\s+/\s*|\s*/\s+|\s+")


def split_variants(cell_text: str) -> tuple[str, ...]:
    """The spellings of one abbreviation cell, in order, without repeats."""
    text = unicodedata.normalize("NFKC", cell_text).strip()
    variants: list[str] = []
    for part in _VARIANT_SPLIT.split(text):
        part = part.strip()
        if part and part not in variants:
            variants.append(part)
    return tuple(variants)


def load_glossary(path: Path, source: str, max_rows: int = 200_000,
                  layouts: list[SheetLayout] | None = None) -> tuple[list[Term], list[str]]:
    """Terms from every readable sheet of a glossary file, each with its source, sheet and row; plus warnings.
    `layouts`, when given, receives what was understood of each sheet."""
    terms: list[Term] = []
    warnings: list[str] = []
    for sheet, layout in readable_sheets(path, GLOSSARY_SHEET, max_rows, warnings):
        sheet_terms = _sheet_terms(sheet, layout, source, warnings)
        terms.extend(sheet_terms)
        if layouts is not None:
            layouts.append(sheet_layout(sheet.name, layout, len(sheet_terms)))
    return terms, warnings


def _sheet_terms(sheet: Sheet, layout: Layout, source: str, warnings: list[str]) -> list[Term]:
    columns = layout.columns
    header = [fold_compact(c) for c in sheet.rows[layout.header_index]] if layout.header_index is not None else None
    terms = []
    for index in range(layout.start_index, len(sheet.rows)):
        row = sheet.rows[index]
        row_number = index + 1
        if header is not None and [fold_compact(c) for c in row] == header:
            continue  # a repeated header row
        abbreviation_cell = cell(row, columns.get("abbreviation"))
        english = _one_line(unicodedata.normalize("NFKC", cell(row, columns.get("english"))))
        chinese = _one_line(cell(row, columns.get("chinese")))
        alias = _one_line(cell(row, columns.get("alias")))
        definition = cell(row, columns.get("definition"))
        term_name = _one_line(cell(row, columns.get("term")))
        aliases = [alias] if alias else []
        if term_name:  # a term column names the term in whichever script it is written
            if has_cjk(term_name):
                aliases += [chinese] if chinese else []
                chinese = term_name
            elif not abbreviation_cell and "english" not in columns and looks_like_abbreviation(term_name):
                abbreviation_cell = term_name
            elif not english:
                english = unicodedata.normalize("NFKC", term_name)
        if not (abbreviation_cell or english or chinese or definition or aliases):
            continue
        variants = split_variants(abbreviation_cell)
        if not (english or chinese or aliases or definition):
            warnings.append(f"sheet '{sheet.name}' row {row_number}: '{abbreviation_cell}' has no English or "
                            "Chinese name; skipped")
            continue
        if not variants and not ((english and chinese) or aliases or definition):
            warnings.append(f"sheet '{sheet.name}' row {row_number}: only one name and no abbreviation; skipped")
            continue
        if not (variants or english or chinese):
            warnings.append(f"sheet '{sheet.name}' row {row_number}: a definition without a term; skipped")
            continue
        if not chinese and aliases:
            chinese, aliases = aliases[0], aliases[1:]
        terms.append(Term(
            abbreviations=variants,
            english=english,
            chinese=chinese,
            aliases=tuple(aliases),
            definition=definition,
            category=cell(row, columns.get("category")),
            note=cell(row, columns.get("note")),
            source=source,
            sheet=sheet.name,
            row=row_number,
        ))
    return terms


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))
