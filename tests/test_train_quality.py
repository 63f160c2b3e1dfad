"""`python -m train check`: each defect is flagged, --fix removes it, glossary facts stay allowed."""
from __future__ import annotations

import json

import pytest

from train.__main__ import main
from train.quality import (
    CONFLICTING_ANSWERS,
    DOCUMENT_REFERENCE,
    DUPLICATE_INSTRUCTION,
    EMPTY_FIELD,
    INVALID_JSON,
    PAGE_REFERENCE,
    URL,
    check_file,
    check_lines,
)

GOOD = {"instruction": "什么是AM？", "input": "", "output": "AM：Account Manager（客户经理）"}


def line(**fields) -> str:
    return json.dumps({**GOOD, **fields}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("bad_line", "kind"),
    [
        ('{"instruction": "什么是AM？", "output": ', INVALID_JSON),
        ('["什么是AM？", "客户经理"]', INVALID_JSON),
        (line(output="  "), EMPTY_FIELD),
        (line(instruction=""), EMPTY_FIELD),
        (line(output="AM：客户经理，详见 https://wiki.example.com/am"), URL),
        (line(output="AM：客户经理，见 www.example.com/terms"), URL),
        (line(output="AM：客户经理，出自《销售管理手册》"), DOCUMENT_REFERENCE),
        (line(output="AM：客户经理（见手册第12页）"), PAGE_REFERENCE),
        (line(output="AM: Account Manager, see page 12"), PAGE_REFERENCE),
    ],
)
def test_a_defective_row_is_flagged_with_its_kind_and_line(bad_line, kind):
    report = check_lines([line(instruction="什么是KPI？", output="KPI：关键绩效指标"), bad_line])

    assert [(issue.line, issue.kind) for issue in report.issues] == [(2, kind)]
    assert len(report.clean_rows) == 1


def test_a_repeated_question_with_the_same_answer_is_a_duplicate():
    report = check_lines([line(), line(), line(instruction="什么是 AM？")])

    assert [(issue.line, issue.kind) for issue in report.issues] == [(2, DUPLICATE_INSTRUCTION), (3, DUPLICATE_INSTRUCTION)]
    assert report.clean_rows == [GOOD]


def test_one_question_with_different_answers_is_a_conflict_and_all_its_rows_go():
    report = check_lines([line(), line(output="AM：Amplitude Modulation（调幅）"), line(instruction="什么是KPI？", output="KPI")])

    assert [(issue.line, issue.kind) for issue in report.issues] == [(1, CONFLICTING_ANSWERS), (2, CONFLICTING_ANSWERS)]
    assert [row["instruction"] for row in report.clean_rows] == ["什么是KPI？"]


def test_a_change_of_case_is_a_different_question_not_a_duplicate():
    report = check_lines([line(), line(instruction="什么是am？")])

    assert report.ok


def test_references_the_glossary_itself_holds_are_allowed():
    glossary = ["BYOD", "要求见《信息安全规范》", "门户 https://it.example.com 第3页"]
    rows = [
        line(output="BYOD：要求见《信息安全规范》"),
        line(instruction="IT门户在哪？", output="https://it.example.com"),
        line(instruction="在第几页？", output="第3页"),
    ]

    assert check_lines(rows, glossary).ok
    assert not check_lines(rows).ok


def test_blank_lines_are_ignored():
    report = check_lines([line(), "", "   "])

    assert report.ok and report.rows_read == 1


def test_fix_rewrites_the_file_with_only_the_clean_rows(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([line(), "not json", line(instruction="什么是KPI？", output="见《KPI手册》")]) + "\n", encoding="utf-8")

    check_file(path, fix=True)

    assert [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()] == [GOOD]
    assert check_file(path).ok


def test_check_command_exits_non_zero_and_names_each_problem(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([line(), line(output="AM：客户经理，见 https://example.com/x")]) + "\n", encoding="utf-8")
    empty_knowledge = tmp_path / "knowledge"

    code = main(["check", str(path), "--knowledge", str(empty_knowledge)])

    printed = capsys.readouterr().out
    assert code == 1
    assert "line 2: [url]" in printed and "https://example.com/x" in printed
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2  # without --fix the file is untouched


def test_check_command_with_fix_removes_the_rows_and_succeeds(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([line(), line(output="AM（第5页）")]) + "\n", encoding="utf-8")

    code = main(["check", str(path), "--fix", "--knowledge", str(tmp_path / "knowledge")])

    assert code == 0
    assert "removed" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8").splitlines() == [json.dumps(GOOD, ensure_ascii=False)]
