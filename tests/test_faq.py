"""Loading FAQ sheets: question, answer, the other ways people ask it, and a category, in Chinese or English."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from agent.ingest.errors import KnowledgeFileError
from agent.ingest.faq import load_faq

ANSWER = "登录 OA 系统，进入“请假申请”，填写日期后提交给直属上级审批。"


def load(path: Path):
    return load_faq(path, f"faq/{path.name}")


def test_chinese_headers_give_question_answer_similar_questions_and_category(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "员工常见问题.xlsx", {"人事": [
        ["员工常见问题（人事部维护）"], [], ["分类", "问题", "答案", "相似问题"],
        ["请假", "如何请假？", ANSWER, "怎么请假\n请假流程是什么"],
    ]})

    entries, warnings = load(path)

    assert len(entries) == 1 and warnings == []
    entry = entries[0]
    assert (entry.question, entry.answer, entry.similar, entry.category) == (
        "如何请假？", ANSWER, ("怎么请假", "请假流程是什么"), "请假")
    assert (entry.source, entry.sheet, entry.row, entry.location) == ("faq/员工常见问题.xlsx", "人事", 4, "人事 row 4")


@pytest.mark.parametrize("similar_cell", [
    "怎么请假\n请假流程是什么\n请假找谁批",
    "怎么请假|请假流程是什么|请假找谁批",
    "怎么请假 | 请假流程是什么｜请假找谁批",
    "怎么请假\r\n\r\n请假流程是什么\n|请假找谁批\n",
])
def test_similar_questions_are_split_on_line_breaks_and_bars(tmp_path, write_workbook, similar_cell):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [["问题", "答案", "相似问题"], ["如何请假？", ANSWER, similar_cell]]})

    entries, _ = load(path)

    assert entries[0].similar == ("怎么请假", "请假流程是什么", "请假找谁批")


def test_english_headers_are_understood(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"FAQ": [
        ["Category", "Question", "Answer", "Similar questions"],
        ["IT", "How do I reset my password?", "Use the self-service portal.", "forgot password|password reset"],
    ]})

    entries, _ = load(path)

    assert [(e.category, e.question, e.answer, e.similar) for e in entries] == [
        ("IT", "How do I reset my password?", "Use the self-service portal.", ("forgot password", "password reset")),
    ]


def test_a_line_break_inside_an_answer_is_kept(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [["问题", "答案"], ["报销需要什么材料？", "1. 发票原件\n2. 审批单"]]})

    entries, _ = load(path)

    assert entries[0].answer == "1. 发票原件\n2. 审批单"


def test_a_question_with_an_empty_answer_is_skipped_with_a_warning(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [
        ["问题", "答案"], ["如何请假？", ANSWER], ["年假有几天？", ""], ["如何报销？", "   "],
    ]})

    entries, warnings = load(path)

    assert [e.question for e in entries] == ["如何请假？"]
    assert [w for w in warnings if "row 3" in w] and [w for w in warnings if "row 4" in w]


def test_blank_rows_between_entries_are_skipped_silently(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [["问题", "答案"], ["如何请假？", ANSWER], [], ["如何报销？", "走费控系统。"]]})

    entries, warnings = load(path)

    assert [(e.question, e.row) for e in entries] == [("如何请假？", 2), ("如何报销？", 4)]
    assert warnings == []


def test_entries_come_from_every_sheet_with_faq_columns(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {
        "人事": [["问题", "答案"], ["如何请假？", ANSWER]],
        "说明": [["本表由人事部维护"]],
        "IT": [["标准问题", "回答"], ["VPN 连不上怎么办？", "重启客户端后重试。"]],
    })

    entries, warnings = load(path)

    assert [(e.sheet, e.question) for e in entries] == [("人事", "如何请假？"), ("IT", "VPN 连不上怎么办？")]
    assert any("说明" in w for w in warnings)


def test_a_file_without_question_and_answer_columns_fails_with_a_clear_message(tmp_path, write_workbook):
    path = write_workbook(tmp_path / "faq.xlsx", {"S": [["缩略语", "英文全称", "中文解释"], ["AM", "Account Manager", "客户经理"]]})

    with pytest.raises(KnowledgeFileError, match="问题"):
        load(path)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_csv_faq_is_read_in_utf8_or_gbk(tmp_path, encoding):
    path = tmp_path / "常见问题.csv"
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows([["问题", "答案", "相似问题"], ["如何请假？", ANSWER, "怎么请假|请假流程"]])

    entries, _ = load(path)

    assert [(e.question, e.answer, e.similar) for e in entries] == [("如何请假？", ANSWER, ("怎么请假", "请假流程"))]
