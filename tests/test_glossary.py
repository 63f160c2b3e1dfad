"""Loading abbreviation glossaries as knowledge owners really keep them: title rows, varying header words,
extra columns, several spellings in one cell, several sheets, csv in GBK, and files that cannot be read."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from agent.ingest.errors import KnowledgeFileError
from agent.ingest.glossary import load_glossary, split_variants
from agent.index.build import ingest
from agent.index.knowledge_base import KnowledgeBase
from agent.settings import Settings

HEADER = ["序号", "缩略语", "英文全称", "中文解释"]
WAIYUCI_TSV = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "glossary" / \
    "waiyuci-batches-1-6.tsv"


def load(path: Path):
    return load_glossary(path, f"glossary/{path.name}")


def only_term(path: Path):
    terms, _ = load(path)
    assert len(terms) == 1, terms
    return terms[0]


def test_title_and_blank_rows_above_the_header_are_not_terms(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "术语.xlsx", {"术语": [
        ["XX公司术语表（2024版）"], ["维护部门：信息部"], [], HEADER, [1, "AM", "Account Manager", "客户经理"],
    ]})

    term = only_term(path)

    assert (term.abbreviation, term.english, term.chinese, term.row) == ("AM", "Account Manager", "客户经理", 5)


def test_a_merged_title_cell_above_the_header_is_ignored(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "术语.xlsx", {"术语": [
        ["XX公司缩略语对照表"], HEADER, [1, "SLA", "Service Level Agreement", "服务等级协议"],
    ]}, merged={"术语": ["A1:D1"]})

    term = only_term(path)

    assert (term.abbreviation, term.chinese, term.row) == ("SLA", "服务等级协议", 3)


@pytest.mark.parametrize("header", [
    *(["缩略语", english, "中文解释"] for english in ["英文全称", "全称", "外语词全称", "Full name", "English"]),
    *([abbreviation, "英文全称", "中文解释"] for abbreviation in ["缩写", "简称", "外语词缩略语", "Abbreviation", "Acronym"]),
    *(["缩略语", "英文全称", chinese] for chinese in ["中文释义", "释义", "中文译名", "Meaning", "Description"]),
    ["Acronym", "Full name", "Description"],
], ids="/".join)
def test_header_words_vary(tmp_path, write_workbook, header):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [header, ["ROI", "Return on Investment", "投资回报率"]]})

    term = only_term(path)

    assert (term.abbreviation, term.english, term.chinese) == ("ROI", "Return on Investment", "投资回报率")


def test_header_words_match_despite_case_spaces_and_full_width_letters(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [[" ABBREVIATION ", "Ｆｕｌｌ　Ｎａｍｅ", "中文 解释"],
                                                      ["ROI", "Return on Investment", "投资回报率"]]})

    assert only_term(path).chinese == "投资回报率"


def test_columns_may_come_in_any_order(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["中文解释", "备注", "英文全称", "缩略语"],
                                                      ["投资回报率", "", "Return on Investment", "ROI"]]})

    term = only_term(path)

    assert (term.abbreviation, term.english, term.chinese) == ("ROI", "Return on Investment", "投资回报率")


def test_category_and_note_columns_are_kept(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [[*HEADER, "类别", "备注"],
                                                      [1, "PO", "Purchase Order", "采购订单", "采购", "ERP 中的单据"]]})

    term = only_term(path)

    assert (term.category, term.note) == ("采购", "ERP 中的单据")


@pytest.mark.parametrize("second_translation", ["或译为", "中文译名2"])
def test_a_second_translation_column_becomes_an_alias(tmp_path, write_workbook, second_translation):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["外语词缩略语", "外语词全称", "中文译名", second_translation],
                                                      ["WTO", "World Trade Organization", "世界贸易组织", "世贸组织"]]})

    term = only_term(path)

    assert (term.chinese, term.aliases) == ("世界贸易组织", ("世贸组织",))


def test_terms_come_from_every_sheet_each_naming_its_sheet(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {
        "销售": [HEADER, [1, "AM", "Account Manager", "客户经理"]],
        "研发": [["说明：研发部常用缩写"], HEADER, [1, "PRD", "Product Requirements Document", "产品需求文档"]],
    })

    terms, _ = load(path)

    assert [(t.abbreviation, t.sheet, t.row) for t in terms] == [("AM", "销售", 2), ("PRD", "研发", 3)]


def test_stray_spaces_tabs_and_full_width_letters_are_cleaned(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [HEADER, [1, " ＡＭ\t", "  Account\t\tManager ", " 客户经理 "]]})

    term = only_term(path)

    assert (term.abbreviations, term.english, term.chinese) == (("AM",), "Account Manager", "客户经理")


@pytest.mark.parametrize("cell_text, variants", [
    ("APP App app", ("APP", "App", "app")),
    ("P/E PER", ("P/E", "PER")),
    ("DAPP/ Dapp", ("DAPP", "Dapp")),
    ("P+R P&R", ("P+R", "P&R")),
    ("TCP/IP", ("TCP/IP",)),
    ("KPI、ＫＰＩ", ("KPI",)),
    ("CRM，SCRM", ("CRM", "SCRM")),
])
def test_one_cell_may_hold_several_spellings(cell_text, variants):
    assert split_variants(cell_text) == variants


def test_a_cell_with_several_spellings_gives_one_term_holding_them_all(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [HEADER, [1, "P+R P&R", "Park and Ride", "停车换乘"]]})

    term = only_term(path)

    assert (term.abbreviation, term.abbreviations) == ("P+R", ("P+R", "P&R"))


def test_a_row_without_an_abbreviation_is_kept(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [HEADER, [1, "", "United Nations Secretariat", "联合国秘书处"]]})

    term = only_term(path)

    assert (term.abbreviations, term.english, term.chinese) == ((), "United Nations Secretariat", "联合国秘书处")


def test_a_row_without_an_english_name_is_kept(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [HEADER, [1, "KPI", "", "关键绩效指标"]]})

    term = only_term(path)

    assert (term.abbreviation, term.english, term.chinese) == ("KPI", "", "关键绩效指标")


def test_an_abbreviation_with_nothing_else_is_skipped_with_a_warning(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [HEADER, [1, "XYZ", "", ""], [2, "AM", "Account Manager", ""]]})

    terms, warnings = load(path)

    assert [t.abbreviation for t in terms] == ["AM"]
    assert any("row 2" in w and "XYZ" in w for w in warnings)


def test_the_same_abbreviation_with_two_meanings_keeps_both(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [
        HEADER, [1, "FTA", "Free Trade Agreement", "自由贸易协定"], [2, "FTA", "Free Trade Area", "自由贸易区"],
    ]})

    terms, _ = load(path)

    assert [(t.abbreviation, t.chinese, t.row) for t in terms] == [("FTA", "自由贸易协定", 2), ("FTA", "自由贸易区", 3)]


def test_every_term_keeps_its_source_file_sheet_and_row_as_excel_shows_it(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"IT术语": [
        ["IT部门术语"], [], [], HEADER, [1, "VPN", "Virtual Private Network", "虚拟专用网络"], [],
        [2, "SSO", "Single Sign-On", "单点登录"],
    ]})

    terms, _ = load_glossary(path, "glossary/IT/g.xlsx")

    assert [(t.source, t.sheet, t.row, t.location) for t in terms] == [
        ("glossary/IT/g.xlsx", "IT术语", 5, "IT术语 row 5"),
        ("glossary/IT/g.xlsx", "IT术语", 7, "IT术语 row 7"),
    ]


def test_a_repeated_header_row_further_down_is_not_a_term(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [
        HEADER, [1, "AM", "Account Manager", "客户经理"], HEADER, [2, "PO", "Purchase Order", "采购订单"],
    ]})

    terms, _ = load(path)

    assert [t.abbreviation for t in terms] == ["AM", "PO"]


def test_a_sheet_without_glossary_columns_is_skipped_with_a_warning(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {
        "术语": [HEADER, [1, "AM", "Account Manager", "客户经理"]],
        "修订记录": [["日期", "修改人", "内容"], ["2024-01-02", "张三", "新增 AM"]],
    })

    terms, warnings = load(path)

    assert [t.abbreviation for t in terms] == ["AM"]
    assert any("修订记录" in w for w in warnings)


def test_a_file_where_no_sheet_has_glossary_columns_fails_with_a_clear_message(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["日期", "修改人", "内容"], ["2024-01-02", "张三", "新增"]]})

    with pytest.raises(KnowledgeFileError, match="缩略语"):
        load(path)


def test_a_password_protected_workbook_fails_with_a_clear_message(tmp_path):
    path = tmp_path / "加密.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)  # an encrypted OLE container

    with pytest.raises(KnowledgeFileError, match="password"):
        load(path)


def test_a_corrupt_workbook_fails_with_a_clear_message(tmp_path, write_workbook):
    good = write_workbook(tmp_path / "good.xlsx", {"S": [HEADER, [1, "AM", "Account Manager", "客户经理"]]})
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(good.read_bytes()[:400])  # cut off in the middle, as by a failed copy

    with pytest.raises(KnowledgeFileError, match="damaged|not a readable"):
        load(path)


def test_a_workbook_that_is_not_a_zip_at_all_fails_with_a_clear_message(tmp_path):
    path = tmp_path / "renamed.xlsx"
    path.write_text("缩略语,英文全称,中文解释\n", encoding="utf-8")

    with pytest.raises(KnowledgeFileError, match="not a valid .xlsx"):
        load(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_csv_glossary_is_read_in_utf8_or_gbk(tmp_path, encoding):
    path = tmp_path / "术语.csv"
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([HEADER, [1, "AM", "Account Manager", "客户经理"], [2, "PO", "Purchase Order", "采购订单"]])

    terms, _ = load(path)

    assert [(t.abbreviation, t.chinese, t.sheet, t.row) for t in terms] == [
        ("AM", "客户经理", "术语", 2), ("PO", "采购订单", "术语", 3),
    ]


def test_an_xls_workbook_is_read(tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls file for this test")
    path = tmp_path / "旧术语表.xls"
    book = xlwt.Workbook()
    sheet = book.add_sheet("术语")
    for row, values in enumerate([["XX公司术语表"], [], HEADER, [1, "AM", "Account Manager", "客户经理"]]):
        for column, value in enumerate(values):
            sheet.write(row, column, value)
    book.save(str(path))

    term = only_term(path)

    assert (term.abbreviation, term.chinese, term.sheet, term.row) == ("AM", "客户经理", "术语", 4)


def test_the_same_term_in_two_files_is_kept_from_both_with_its_source(tmp_path, write_workbook, no_kb_env):
    row = [1, "AM", "Account Manager", "客户经理"]
    write_workbook(tmp_path / "knowledge" / "glossary" / "销售部.xlsx", {"S": [HEADER, row]})
    write_workbook(tmp_path / "knowledge" / "glossary" / "人事部.xlsx", {"S": [HEADER, row]})
    settings = Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")

    ingest(settings)
    terms = KnowledgeBase.load(settings).terms

    assert sorted((t.abbreviation, t.source) for t in terms) == [
        ("AM", "glossary/人事部.xlsx"), ("AM", "glossary/销售部.xlsx"),
    ]


@pytest.mark.skipif(not WAIYUCI_TSV.is_file(), reason="shared/benchmarks is not beside this checkout")
def test_the_public_waiyuci_list_in_another_layout_keeps_every_meaning_and_symbol(tmp_path, write_workbook):
    with open(WAIYUCI_TSV, encoding="utf-8") as handle:
        entries = list(csv.DictReader(handle, delimiter="\t"))
    rows = [["推荐使用外语词中文译名表（第一至六批）"], [],
            ["批次", "中文译名", "外语词缩略语", "外语词全称", "或译为"]]
    rows += [[e["batch"], e["chinese"], e["abbreviation"], e["english"], e["chinese_alt"]] for e in entries]
    path = write_workbook(tmp_path / "外语词.xlsx", {"第一至六批": rows}, merged={"第一至六批": ["A1:E1"]})

    terms, _ = load(path)
    by_abbreviation = {}
    for term in terms:
        by_abbreviation.setdefault(term.abbreviation, []).append(term)

    assert len(terms) == len(entries)
    assert sorted(t.english for t in by_abbreviation["FTA"]) == ["Free Trade Agreement", "Free Trade Area"]
    assert [t.aliases for t in by_abbreviation["M&A"]] == [("并购",)]
    assert [t.chinese for t in by_abbreviation["R&D"]] == ["研究与开发"]
    assert [t.chinese for t in by_abbreviation["PM2.5"]] == ["细颗粒物"]
    assert any(t.english == "United Nations Secretariat" and not t.abbreviations for t in terms)
