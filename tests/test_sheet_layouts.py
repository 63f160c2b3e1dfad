"""Knowledge sheets as companies really write them: header words recognised by meaning, columns inferred from
their cells when the header says too little, term–definition glossaries, similar questions in one cell or on
the rows below, several sheets per workbook, and csv/xls like xlsx. Every workbook is written by the test."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from agent.answer.replies import term_line
from agent.answer.terms import GlossaryMatcher
from agent.index.build import ingest
from agent.index.knowledge_base import KnowledgeBase
from agent.ingest.columns import SheetLayout
from agent.ingest.errors import KnowledgeFileError
from agent.ingest.faq import load_faq
from agent.ingest.glossary import load_glossary
from agent.settings import Settings

LEAVE = "登录OA系统，进入“请假申请”，填写日期后提交给直属上级审批。"
PAY = "每月10日发放上月工资，遇节假日提前到最近的工作日发放。"
VPN = "先重启VPN客户端；仍连不上时，拨打IT服务台电话8000。"
TOKEN = "星河令牌是公司内部的积分凭证，可在员工商城兑换礼品，每年12月31日清零。"
IN_APP = "在应用内直接购买虚拟商品或服务的行为，款项通过应用商店结算。"
SERVICE_CENTRE = "经公司授权、可提供保修和维修服务的第三方门店。"


def faq(path: Path):
    layouts: list[SheetLayout] = []
    entries, warnings = load_faq(path, f"faq/{path.name}", layouts=layouts)
    return entries, warnings, layouts


def glossary(path: Path):
    layouts: list[SheetLayout] = []
    terms, warnings = load_glossary(path, f"glossary/{path.name}", layouts=layouts)
    return terms, warnings, layouts


# ---- FAQ headers by meaning ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    ["标准问题", "标准答案", "相似问题"],
    ["用户问题", "解答", "其他问法"],
    ["Q", "A", "Similar"],
    ["问法", "回复", "扩展问法"],
    ["问题（必填）", "*答案", "相似问法（选填）"],
    ["1. 问题 Question", "2. 答案 Answer", "3. 相似问题 Similar questions"],
    ["常见提问", "答复内容", "近义问法"],
    ["Frequently asked question", "Reply", "Alternative questions"],
], ids="/".join)
def test_faq_header_words_are_recognised_by_meaning(tmp_path, write_workbook, header):
    path = write_workbook(tmp_path / "faq.xlsx", {"FAQ": [header, ["如何请假？", LEAVE, "怎么请假\n请假流程"]]})

    entries, warnings, _ = faq(path)

    assert [(e.question, e.answer, e.similar) for e in entries] == [("如何请假？", LEAVE, ("怎么请假", "请假流程"))]
    assert warnings == []


def test_a_faq_without_a_header_is_read_from_its_cells_and_the_inference_is_reported(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"Sheet1": [
        [1, "如何请假？", LEAVE], [2, "工资什么时候发？", PAY], [3, "VPN连不上怎么办", VPN],
    ]})

    entries, warnings, layouts = faq(path)

    assert [(e.question, e.row) for e in entries] == [("如何请假？", 1), ("工资什么时候发？", 2), ("VPN连不上怎么办", 3)]
    assert any("按内容推断：B列为问题，C列为答案" in w for w in warnings)
    assert (layouts[0].header_row, layouts[0].columns, layouts[0].inferred) == (
        0, {"question": "B", "answer": "C"}, ("question", "answer"))


def test_an_unfamiliar_header_is_skipped_and_its_columns_inferred(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [
        ["编号", "事项", "处理结果"], [1, "如何请假？", LEAVE], [2, "工资什么时候发？", PAY],
    ]})

    entries, warnings, layouts = faq(path)

    assert [e.question for e in entries] == ["如何请假？", "工资什么时候发？"]
    assert layouts[0].header_row == 1
    assert any("B列为问题，C列为答案" in w for w in warnings)


def test_a_header_naming_only_the_question_gets_its_answer_column_from_the_cells(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [
        ["问题", "处理结果"], ["如何请假？", LEAVE], ["工资什么时候发？", PAY],
    ]})

    entries, warnings, layouts = faq(path)

    assert len(entries) == 2 and layouts[0].inferred == ("answer",)
    assert any("B列为答案" in w for w in warnings)


def test_a_sheet_that_cannot_be_understood_fails_naming_what_it_needs(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [["日期", "人员"], ["2024-01-02", "张三"], ["2024-01-03", "李四"]]})

    with pytest.raises(KnowledgeFileError, match="需要问题列和答案列"):
        faq(path)


# ---- similar questions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("similar_cell", [
    "怎么请假\n请假流程\n请假找谁批", "怎么请假；请假流程；请假找谁批", "怎么请假;请假流程;请假找谁批",
    "怎么请假|请假流程|请假找谁批", "怎么请假／请假流程／请假找谁批", "怎么请假、请假流程、请假找谁批",
])
def test_similar_questions_in_one_cell_are_split_on_every_usual_separator(tmp_path, write_workbook, similar_cell):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [["标准问题", "相似问题", "标准答案"], ["如何请假？", similar_cell, LEAVE]]})

    entries, _, _ = faq(path)

    assert entries[0].similar == ("怎么请假", "请假流程", "请假找谁批")


def test_similar_questions_on_the_rows_below_a_merged_standard_question_join_it(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [
        ["标准问题", "相似问题", "标准答案"],
        ["如何请假？", "怎么请假", LEAVE], [None, "请假流程", None], [None, "请假找谁批", None],
        ["工资什么时候发？", "几号发工资", PAY], [None, "发薪日", None],
    ]}, merged={"S": ["A2:A4", "C2:C4", "A5:A6", "C5:C6"]})

    entries, warnings, _ = faq(path)

    assert [(e.question, e.similar, e.row) for e in entries] == [
        ("如何请假？", ("怎么请假", "请假流程", "请假找谁批"), 2), ("工资什么时候发？", ("几号发工资", "发薪日"), 5)]
    assert warnings == []


def test_every_sheet_of_a_workbook_is_understood_on_its_own(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {
        "人事": [["问题", "答案"], ["如何请假？", LEAVE]],
        "财务": [["财务常见问题"], ["序号", "用户问题", "解答"], [1, "工资什么时候发？", PAY]],
        "IT": [["VPN连不上怎么办？", VPN], ["忘记密码怎么办？", "在统一身份平台通过手机验证码自助重置密码。"]],
        "说明": [["本表由人事部维护"]],
    })

    entries, warnings, layouts = faq(path)

    assert [(e.sheet, e.row) for e in entries] == [("人事", 2), ("财务", 3), ("IT", 1), ("IT", 2)]
    assert [(layout.sheet, layout.header_row, layout.records) for layout in layouts] == [
        ("人事", 1, 1), ("财务", 2, 1), ("IT", 0, 2)]
    assert any("说明" in w for w in warnings)


def test_a_csv_and_an_xls_faq_are_read_like_an_xlsx(tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls file for this test")
    rows = [["标准问题", "标准答案", "相似问题"], ["如何请假？", LEAVE, "怎么请假；请假流程"]]
    csv_path = tmp_path / "faq.csv"
    with open(csv_path, "w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows(rows)
    xls_path = tmp_path / "faq.xls"
    book = xlwt.Workbook()
    sheet = book.add_sheet("FAQ")
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    book.save(str(xls_path))

    for path in (csv_path, xls_path):
        entries, _, _ = faq(path)
        assert [(e.question, e.answer, e.similar) for e in entries] == [("如何请假？", LEAVE, ("怎么请假", "请假流程"))]


# ---- glossaries -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [["术语", "定义"], ["名词", "说明"], ["词条", "释义"], ["Term", "Definition"],
                                    ["术语名称", "名词解释"]], ids="/".join)
def test_a_term_definition_glossary_gives_terms_without_abbreviations(tmp_path, write_workbook, header):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [header, ["星河令牌", TOKEN], ["内购", IN_APP],
                                                      ["授权服务中心", SERVICE_CENTRE]]})

    terms, warnings, _ = glossary(path)

    assert [(t.abbreviations, t.chinese, t.definition) for t in terms] == [
        ((), "星河令牌", TOKEN), ((), "内购", IN_APP), ((), "授权服务中心", SERVICE_CENTRE)]
    assert warnings == []


def test_a_term_column_holds_abbreviations_english_or_chinese_names_alike(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["术语", "定义"], ["SaaS", "软件即服务，按订阅使用的软件。"],
                                                      ["Warranty card", "随产品附带的保修凭证。"], ["内购", IN_APP]]})

    terms, _, _ = glossary(path)

    assert [(t.abbreviations, t.english, t.chinese) for t in terms] == [
        (("SaaS",), "", ""), ((), "Warranty card", ""), ((), "", "内购")]


def test_a_definition_column_beside_the_abbreviation_columns_is_kept(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["缩略语", "英文全称", "中文解释", "定义", "备注"],
                                                      ["AM", "Account Manager", "客户经理", "负责客户关系的销售人员。", "销售部"]]})

    term = glossary(path)[0][0]

    assert (term.abbreviation, term.chinese, term.definition, term.note) == (
        "AM", "客户经理", "负责客户关系的销售人员。", "销售部")


def test_a_meaning_column_of_sentences_is_a_definition_not_a_chinese_name(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["缩写", "释义"], ["SLA", "服务等级协议，约定响应和修复时限的合同条款。"],
                                                      ["RMA", "退货授权，客户退货前须先取得的编号。"]]})

    terms, _, _ = glossary(path)

    assert [(t.abbreviation, t.chinese, bool(t.definition)) for t in terms] == [("SLA", "", True), ("RMA", "", True)]


def test_a_glossary_without_a_header_is_read_from_its_cells(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [
        ["AM", "Account Manager", "客户经理"], ["KPI", "Key Performance Indicator", "关键绩效指标"],
        ["SLA", "Service Level Agreement", "服务等级协议"],
    ]})

    terms, warnings, layouts = glossary(path)

    assert [(t.abbreviation, t.english, t.chinese, t.row) for t in terms][0] == ("AM", "Account Manager", "客户经理", 1)
    assert len(terms) == 3 and layouts[0].inferred == ("abbreviation", "english", "chinese")
    assert any("按内容推断：A列为缩略语，B列为英文全称，C列为中文名称" in w for w in warnings)


def test_a_glossary_that_cannot_be_understood_fails_naming_what_it_needs(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "g.xlsx", {"S": [["日期", "修改人"], ["2024-01-02", "张三"], ["2024-01-03", "张三"]]})

    with pytest.raises(KnowledgeFileError, match="术语"):
        glossary(path)


def test_a_defined_term_is_found_in_a_question_and_answered_with_its_definition_and_source(
        tmp_path, write_workbook, no_kb_env):
    write_workbook(tmp_path / "knowledge" / "glossary" / "公司名词.xlsx", {"名词": [
        ["术语", "定义"], ["星河令牌", TOKEN], ["内购", IN_APP]]})
    settings = Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")

    ingest(settings)
    kb = KnowledgeBase.load(settings)
    mentions = GlossaryMatcher(kb.terms).find("什么是星河令牌？")

    assert [m.text for m in mentions] == ["星河令牌"]
    term = mentions[0].terms[0]
    assert (term.source, term.location) == ("glossary/公司名词.xlsx", "名词 row 2")
    assert term_line(term) == f"星河令牌：{TOKEN}"
    assert kb.file_reports["glossary/公司名词.xlsx"]["sheets"][0]["columns"] == {"term": "A", "definition": "B"}


# ---- a folder of differently laid-out sheets ----------------------------------------------------------------

FOLDER = {
    "faq/标准模板.xlsx": {"FAQ": [["标准问题", "相似问题", "标准答案"], ["如何请假？", "怎么请假；请假流程", LEAVE]]},
    "faq/客服问答.xlsx": {"S": [["客服常见问题汇总"], [], ["用户问题", "解答", "分类"], ["工资什么时候发？", PAY, "人事"]]},
    "faq/英文.xlsx": {"FAQ": [["Q", "A"], ["How do I reset my password?", "Use the self-service portal."]]},
    "faq/无表头.xlsx": {"Sheet1": [["如何请假？", LEAVE], ["工资什么时候发？", PAY]]},
    "faq/合并单元格.xlsx": {"S": [["问题", "相似问法", "答案"], ["VPN连不上怎么办？", "VPN登录失败", VPN],
                                  [None, "VPN断线", None]]},
    "faq/多工作表.xlsx": {"人事": [["问法", "回复"], ["如何请假？", LEAVE]],
                          "IT": [["问题 Question", "答案 Answer"], ["VPN连不上怎么办？", VPN]]},
    "glossary/缩略语.xlsx": {"S": [["XX公司缩略语表"], ["序号", "缩写", "全称", "释义"], [1, "AM", "Account Manager", "客户经理"]]},
    "glossary/名词解释.xlsx": {"S": [["术语", "定义"], ["星河令牌", TOKEN], ["内购", IN_APP]]},
    "glossary/无表头术语.xlsx": {"S": [["AM", "Account Manager", "客户经理"], ["KPI", "Key Performance Indicator", "关键绩效指标"]]},
    "glossary/English.xlsx": {"Glossary": [["Acronym", "Stands for", "Meaning"],
                                           ["SLA", "Service Level Agreement", "服务等级协议"]]},
    "glossary/说明列.xlsx": {"S": [["名词", "说明"], ["授权服务中心", SERVICE_CENTRE]]},
}


def test_a_folder_of_differently_laid_out_sheets_all_load(tmp_path, write_workbook, no_kb_env):
    for relative, sheets in FOLDER.items():
        write_workbook(tmp_path / "knowledge" / relative, sheets)
    with open(tmp_path / "knowledge" / "faq" / "表格.csv", "w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows([["提问", "回答"], ["忘记密码怎么办？", "在统一身份平台自助重置密码。"]])
    settings = Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")

    report = ingest(settings)

    files = {f.path: f for f in report.files}
    assert len(files) >= 12
    assert all(f.status == "ok" and (f.terms or f.faq) for f in files.values()), \
        {p: (f.status, f.error) for p, f in files.items() if f.status != "ok" or not (f.terms or f.faq)}
    assert files["faq/合并单元格.xlsx"].faq == 1 and files["faq/多工作表.xlsx"].faq == 2


# ---- the knowledge tab --------------------------------------------------------------------------------------


def test_the_knowledge_tab_says_how_each_sheet_was_understood_in_the_users_language(tmp_path, write_workbook,
                                                                                   no_kb_env):
    from agent.surfaces.web.labels import LABELS
    from agent.surfaces.web.tables import files_table

    write_workbook(tmp_path / "knowledge" / "faq" / "问答.xlsx", {
        "人事": [["员工常见问题"], ["标准问题", "标准答案", "相似问题"], ["如何请假？", LEAVE, "怎么请假"]],
        "IT": [["VPN连不上怎么办？", VPN], ["忘记密码怎么办？", "在统一身份平台通过手机验证码自助重置密码。"]],
    })
    settings = Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")
    ingest(settings)
    reports = KnowledgeBase.load(settings).file_reports

    zh = files_table(reports, LABELS["zh"]).to_dict("records")[0]
    en = files_table(reports, LABELS["en"]).to_dict("records")[0]

    assert zh["识别结果"].split("\n") == [
        "人事：第2行为表头，A列为问题、B列为答案、C列为相似问题，读取 1 条",
        "IT：无表头，A列为问题、B列为答案，读取 2 条（按内容推断：A列为问题、B列为答案）",
    ]
    assert en["Read as"].startswith("人事: header in row 2, A is the question; B is the answer")
    assert "按内容推断" in zh["提示"] and zh["问答"] == 3
