"""`python -m train dataset --since DATE`: rows for the glossary terms added since then (terms added from the
app dated by the fix history in the memory database, other glossary files by their modification time), plus
replayed rows of the other terms for `train lora --from-adapter`."""
from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from agent.ingest import supplements
from agent.memory.database import MemoryDatabase
from agent.memory.question_log import QuestionLog
from agent.settings import Settings
from train.__main__ import main

OLD = time.time() - 10 * 86400


@pytest.fixture
def glossary(tmp_path, write_workbook, no_kb_env):
    """An old glossary file, one edited today, and two terms added from the app: one today, one ten days ago."""
    knowledge = tmp_path / "knowledge"
    old_file = write_workbook(knowledge / "glossary" / "公司术语表.xlsx", {"术语": [
        ["缩略语", "英文全称", "中文解释"], ["AM", "Account Manager", "客户经理"],
        ["KPI", "Key Performance Indicator", "关键绩效指标"], ["SO", "Sales Order", "销售订单"],
        ["DO", "Delivery Order", "送货单"]]})
    os.utime(old_file, (OLD, OLD))
    write_workbook(knowledge / "glossary" / "IT术语.xlsx", {"IT": [
        ["缩略语", "英文全称", "中文解释"], ["QPS", "Queries Per Second", "每秒查询数"]]})
    data = tmp_path / "data"
    settings = replace(Settings.from_env(knowledge), data_dir=data)
    question_log = QuestionLog(MemoryDatabase(data), settings)
    for abbreviation, english, chinese in (("CRM", "Customer Relationship Management", "客户关系管理"),
                                           ("ESS", "Employee Self Service", "员工自助服务")):
        written = supplements.add_term(knowledge, abbreviation, english, chinese)
        question_log.record_fix("term", written.path, written.row, {"abbreviation": abbreviation, "english": english,
                                                                   "chinese": chinese}, "alice")
    with question_log.database.transaction() as connection:  # CRM was added ten days ago
        connection.execute("UPDATE knowledge_fixes SET fixed_at = :when WHERE content LIKE '%CRM%'", {"when": OLD})
    return knowledge, data


def _build(knowledge, out, *extra) -> dict:
    since = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert main(["dataset", "--knowledge", str(knowledge), "--out", str(out), "--since", since, *extra]) == 0
    return json.loads((out / "dataset.json").read_text(encoding="utf-8"))


def _rows(out) -> list[dict]:
    return [json.loads(line) for name in ("train.jsonl", "valid.jsonl", "eval.jsonl")
            for line in (out / name).read_text(encoding="utf-8").splitlines()]


def test_only_terms_added_since_the_date_are_new(glossary, tmp_path):
    knowledge, data = glossary
    info = _build(knowledge, tmp_path / "out", "--data-dir", str(data))
    assert info["new_terms"] == ["ess", "qps"]  # CRM's fix is older; the old file was not touched
    assert info["found_by"]["ess"].startswith("app fix on") and "IT术语.xlsx modified" in info["found_by"]["qps"]
    rows = _rows(tmp_path / "out")
    new = [row for row in rows if set(row["terms"]) & {"ess", "qps"}]
    replayed = [row for row in rows if not set(row["terms"]) & {"ess", "qps"}]
    assert new and len(replayed) <= len(new)
    assert {t for row in replayed for t in row["terms"]} <= {"am", "kpi", "so", "do", "crm"}


def test_without_a_fix_history_the_supplement_file_counts_by_its_date(glossary, tmp_path):
    knowledge, _ = glossary
    info = _build(knowledge, tmp_path / "out", "--data-dir", str(tmp_path / "no-such-data"))
    assert info["new_terms"] == ["crm", "ess", "qps"]


def test_no_replay_when_the_ratio_is_zero(glossary, tmp_path):
    knowledge, data = glossary
    _build(knowledge, tmp_path / "out", "--data-dir", str(data), "--replay-ratio", "0")
    assert all(set(row["terms"]) & {"ess", "qps"} for row in _rows(tmp_path / "out"))


def test_nothing_added_since_the_date_is_an_error(glossary, tmp_path, capsys):
    knowledge, data = glossary
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert main(["dataset", "--knowledge", str(knowledge), "--out", str(tmp_path / "out"), "--since", tomorrow,
                 "--data-dir", str(data)]) == 1
    assert "no glossary term was added since" in capsys.readouterr().err


def test_a_malformed_date_is_refused(glossary, tmp_path, capsys):
    knowledge, data = glossary
    assert main(["dataset", "--knowledge", str(knowledge), "--out", str(tmp_path / "out"), "--since", "last week",
                 "--data-dir", str(data)]) == 1
    assert "is not a date" in capsys.readouterr().err
