"""Training rows from the glossary: every form, only glossary facts, an honest train/eval split."""
from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook

from agent.text.normalize import fold_compact
from agent.records import Term
from train.__main__ import main
from train.dataset import build_dataset, group_terms, read_split, write_dataset
from train.forms import EVAL, FORMS, TRAIN, VALID

AM = Term(("AM",), "Account Manager", "客户经理")
AM_RADIO = Term(("AM",), "Amplitude Modulation", "调幅")
KPI = Term(("KPI",), "Key Performance Indicator", "关键绩效指标")


def many_terms(count: int) -> list[Term]:
    return [Term((f"T{number}X",), f"Test Term {number}", f"测试术语{number}") for number in range(count)]


def questions(rows) -> set[str]:
    return {row.instruction for row in rows}


def test_every_term_is_asked_the_five_company_questions_in_training():
    dataset = build_dataset([AM, KPI], eval_terms_fraction=0.0)

    asked = questions(dataset.split(TRAIN))

    assert {"什么是KPI？", "KPI代表什么？", "KPI的英文全称是什么？", "KPI的中文含义是什么？",
            "Key Performance Indicator的缩略语是什么？"} <= asked


def test_training_also_has_english_questions_sentences_and_other_spellings():
    asked = questions(build_dataset([KPI], eval_terms_fraction=0.0).split(TRAIN))

    assert "What does KPI stand for?" in asked
    assert "我在邮件里看到KPI，这是指什么？" in asked
    assert "kpi是什么意思？" in asked
    assert "什么是ＫＰＩ？" in asked


def test_answer_is_composed_from_the_glossary_fields_only():
    rows = build_dataset([KPI], eval_terms_fraction=0.0).rows

    assert {row.output for row in rows if row.form == "what_is"} == {"KPI：Key Performance Indicator（关键绩效指标）"}


def test_ambiguous_abbreviation_is_answered_with_every_meaning():
    rows = build_dataset([AM, AM_RADIO, KPI], eval_terms_fraction=0.0).rows
    answer = next(row for row in rows if row.instruction == "什么是AM？")

    assert answer.output == "AM 有 2 个含义：1. Account Manager（客户经理）；2. Amplitude Modulation（调幅）"
    assert answer.expect == ("Account Manager", "Amplitude Modulation")


def test_reverse_question_names_only_the_matching_meaning():
    rows = build_dataset([AM, AM_RADIO], eval_terms_fraction=0.0).rows
    answer = next(row for row in rows if row.instruction == "调幅的英文缩写是什么？")

    assert answer.output == "AM：Amplitude Modulation（调幅）"
    assert answer.expect == ("AM",)


def test_same_meaning_in_two_glossaries_counts_once_and_keeps_the_fuller_row():
    groups, _ = group_terms([Term(("KPI",), "Key Performance Indicator", ""), Term(("kpi",), "Key Performance Indicator", "关键绩效指标")])

    assert len(groups) == 1
    assert [meaning.describe() for meaning in groups[0].meanings] == ["Key Performance Indicator（关键绩效指标）"]


def test_rows_without_an_abbreviation_are_skipped_and_counted():
    dataset = build_dataset([KPI, Term((), "Channel Partner", "渠道合作伙伴")], eval_terms_fraction=0.0)

    assert dataset.skipped_terms == 1
    assert all("Channel Partner" not in row.output for row in dataset.rows)


def test_train_valid_and_eval_use_disjoint_phrasings():
    rows = build_dataset([AM, AM_RADIO, KPI, *many_terms(20)], eval_terms_fraction=0.2).rows
    forms_by_split = {split: {row.form for row in rows if row.split == split and not row.heldout} for split in (TRAIN, VALID, EVAL)}
    texts_by_split = {split: {form.text for form in FORMS if form.form_id in forms_by_split[split]} for split in forms_by_split}

    assert not texts_by_split[TRAIN] & texts_by_split[VALID]
    assert not texts_by_split[TRAIN] & texts_by_split[EVAL]
    assert not texts_by_split[VALID] & texts_by_split[EVAL]


def test_no_eval_question_was_asked_in_training_even_respelled():
    rows = build_dataset([AM, AM_RADIO, KPI, *many_terms(20)], eval_terms_fraction=0.2).rows
    trained = {fold_compact(row.question) for row in rows if row.split == TRAIN}

    assert all(fold_compact(row.question) not in trained for row in rows if row.split != TRAIN)


def test_heldout_terms_never_occur_in_training_or_validation():
    dataset = build_dataset([AM, KPI, *many_terms(30)], eval_terms_fraction=0.3, seed=1)
    heldout = set(dataset.heldout_terms)
    seen = dataset.split(TRAIN) + dataset.split(VALID)

    assert heldout
    assert all(not heldout & set(row.terms) for row in seen)
    assert all(row.split == EVAL for row in dataset.rows if row.heldout)
    assert {key for row in dataset.rows if row.heldout for key in row.terms} == heldout


def test_heldout_terms_stay_heldout_when_the_glossary_grows():
    before = build_dataset(many_terms(30), eval_terms_fraction=0.3, seed=2).heldout_terms
    after = build_dataset(many_terms(60), eval_terms_fraction=0.3, seed=2).heldout_terms

    assert set(before) <= set(after)
    assert set(after) - set(before) <= {fold_compact(f"T{number}X") for number in range(30, 60)}


def test_written_rows_carry_form_split_heldout_and_expected_answer(tmp_path):
    dataset = build_dataset([AM, KPI, *many_terms(10)], eval_terms_fraction=0.3)

    info = write_dataset(dataset, tmp_path, {"seed": 0})

    record = json.loads((tmp_path / "eval.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert {"instruction", "input", "output", "form", "split", "heldout", "terms", "expect"} <= set(record)
    assert info["rows"] == {split: len(read_split(tmp_path, split)) for split in (TRAIN, VALID, EVAL)}
    assert len(info["hash"]) == 64


def write_glossary_workbook(path: Path, rows: list[tuple[str, str, str]]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "缩略语"
    sheet.append(["序号", "缩略语", "英文全称", "中文解释"])
    for number, row in enumerate(rows, 1):
        sheet.append([number, *row])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def test_dataset_command_reads_every_glossary_workbook(tmp_path, capsys):
    knowledge = tmp_path / "knowledge"
    write_glossary_workbook(knowledge / "glossary" / "sales.xlsx", [("AM", "Account Manager", "客户经理"), ("AAP", "Actual Achieved Price", "实际成交价")])
    write_glossary_workbook(knowledge / "glossary" / "it" / "network.xlsx", [("AP", "Access Point", "无线接入点")])

    code = main(["dataset", "--knowledge", str(knowledge), "--out", str(tmp_path / "data"), "--eval-terms-fraction", "0"])

    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["terms"] == 3
    trained = questions(read_split(tmp_path / "data", TRAIN))
    assert {"什么是AAP？", "什么是AP？", "Account Manager的缩略语是什么？"} <= trained


def test_dataset_command_fails_when_there_is_no_glossary(tmp_path, capsys):
    (tmp_path / "knowledge" / "glossary").mkdir(parents=True)

    code = main(["dataset", "--knowledge", str(tmp_path / "knowledge"), "--out", str(tmp_path / "data")])

    assert code == 1
    assert "no glossary terms" in capsys.readouterr().err
