"""`python -m agent ask` and `python -m agent eval`: one JSON object on stdout in the documented shape,
clear errors for bad case files, and no API key in anything printed. Real subprocesses over the company
knowledge of conftest.py (indexed once by the `company_service` fixture, so the commands find it current)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from agent.surfaces.cli import main
from agent.records import Answer, Source
from agent.surfaces.evaluation import Case, evaluate, judged
from agent.settings import REPO_ROOT

ASK_KEYS = {"answer", "lead", "route", "reason", "reasons", "confidence", "abstained", "tentative", "suggestions", "sources",
            "latency_ms", "llm"}
EVAL_KEYS = ["cases", "route_accuracy", "answer_accuracy", "answered_with_tentative", "tentative_answers", "lead_accuracy", "abstention", "hit_at_1", "hit_at_5", "mrr", "latency_ms", "by_route",
             "failures"]
ROUTE_KEYS = {"cases", "route_accuracy", "answer_accuracy", "answered_with_tentative", "tentative_answers", "latency_ms"}
WRONG_EXPECTATION = "KPI是什么意思"
EVAL_CASES = [
    # Expectations written in another case, width and spacing than the answer: they still match.
    {"question": "AM是什么意思", "expect_route": "term", "expect_contains": ["account  manager", "ＡＭ"],
     "expect_source": "公司术语表.XLSX"},
    {"question": "ＦＴＡ是什么意思", "expect_route": "term", "expect_contains": ["自由贸易协定", "自由贸易区"]},
    {"question": "食堂几点营业？", "expect_route": "doc", "expect_any": ["早上 7 点"], "expect_source": "docs/食堂通知.md"},
    {"question": "公司班车有哪些线路？", "expect_route": "doc", "expect_any": ["没有找到"]},
    # A wrong expectation, so the report has a failure to show.
    {"question": WRONG_EXPECTATION, "expect_route": "term", "expect_contains": ["自由贸易区"]},
]  # no fact case: the fact metrics have nothing to measure


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KB_", "DASHSCOPE_")) and k != "OPENAI_API_KEY"}
    return {**env, **extra}


def run_agent(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=REPO_ROOT, env=env or clean_env(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def folders(company_service) -> list[str]:
    """--knowledge and --index options for the company knowledge, already indexed."""
    settings = company_service.settings
    return ["--knowledge", str(settings.knowledge_dir), "--index", str(settings.index_dir)]


@pytest.fixture(scope="module")
def ask_run(folders) -> subprocess.CompletedProcess:
    return run_agent("ask", "AM是什么意思", *folders, "--json")


@pytest.fixture(scope="module")
def eval_run(folders, tmp_path_factory) -> subprocess.CompletedProcess:
    cases = tmp_path_factory.mktemp("cases") / "cases.jsonl"
    cases.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in EVAL_CASES), encoding="utf-8")
    return run_agent("eval", str(cases), *folders, "--json")


def only_json_object(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one JSON line on stdout, got {len(lines)}: {stdout[:500]}"
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


# --- ask ---------------------------------------------------------------------------------------------


def test_ask_json_prints_exactly_one_object_with_the_documented_keys(ask_run):
    assert ask_run.returncode == 0, ask_run.stderr
    result = only_json_object(ask_run.stdout)

    assert set(result) == ASK_KEYS
    assert result["sources"] and all(set(s) == {"source", "location", "score"} for s in result["sources"])


def test_ask_json_answers_a_term_question_from_the_glossary_without_an_llm(ask_run):
    result = only_json_object(ask_run.stdout)

    assert result["route"] == "term"
    assert "Account Manager" in result["answer"] and "客户经理" in result["answer"]
    assert result["sources"][0] == {"source": "glossary/公司术语表.xlsx", "location": "术语 row 3", "score": 1.0}
    assert result["llm"] == "none"
    assert result["reason"] and 0 <= result["confidence"] <= 1 and result["latency_ms"] >= 0


# --- eval --------------------------------------------------------------------------------------------


def test_eval_json_prints_exactly_one_object_with_the_documented_keys(eval_run):
    assert eval_run.returncode == 0, eval_run.stderr
    summary = only_json_object(eval_run.stdout)

    assert list(summary) == EVAL_KEYS
    assert set(summary["latency_ms"]) == {"p50", "p95"}
    assert set(summary["by_route"]) == {"term", "fact", "doc", "tool"}
    for part in summary["by_route"].values():
        assert set(part) == ROUTE_KEYS
        assert set(part["latency_ms"]) == {"p50", "p95"}


def test_eval_scores_routes_answers_and_retrieval(eval_run):
    summary = only_json_object(eval_run.stdout)

    assert summary["cases"] == 5
    assert summary["route_accuracy"] == 1.0
    assert summary["answer_accuracy"] == 0.8  # the one wrong expectation
    assert (summary["hit_at_1"], summary["hit_at_5"], summary["mrr"]) == (1.0, 1.0, 1.0)
    assert summary["by_route"]["term"]["cases"] == 3
    assert summary["by_route"]["doc"]["cases"] == 2


def test_eval_metric_without_cases_is_null(eval_run):
    fact = only_json_object(eval_run.stdout)["by_route"]["fact"]

    assert fact == {"cases": 0, "route_accuracy": None, "answer_accuracy": None, "answered_with_tentative": None,
                    "tentative_answers": 0, "latency_ms": {"p50": None, "p95": None}}


def test_eval_matching_ignores_case_width_and_white_space(eval_run):
    failures = only_json_object(eval_run.stdout)["failures"]

    assert [f["question"] for f in failures] == [WRONG_EXPECTATION]


def test_eval_failure_says_what_was_expected_and_what_came(eval_run):
    [failure] = only_json_object(eval_run.stdout)["failures"]

    assert failure["expected"]["contains"] == ["自由贸易区"]
    assert failure["got"]["route"] == "term"
    assert "关键绩效指标" in failure["got"]["answer"]
    assert any("自由贸易区" in problem for problem in failure["got"]["problems"])


def test_retrieval_metrics_are_null_without_document_cases_that_name_a_source(company_service):
    summary = evaluate(company_service.ask, [Case("AM是什么意思", "term", ("客户经理",))])

    assert (summary["hit_at_1"], summary["hit_at_5"], summary["mrr"]) == (None, None, None)
    assert summary["by_route"]["doc"]["route_accuracy"] is None


def test_judged_separates_a_right_answer_by_another_route_from_a_wrong_one():
    case = Case("工资几号到账", "fact", expect_any=("每月10日",), expect_source="员工常见问题.xlsx")
    quoted = [Source("faq/员工常见问题.xlsx", "row 5", 0.9, "每月10日发放上月工资。")]

    by_passages = Answer("每月10日发放上月工资。 [1]", "doc", "searched", 0.5, sources=quoted)
    stored = Answer("每月10日发放上月工资。", "fact", "matched", 0.9, sources=quoted)
    wrong = Answer("婚假为3天。", "fact", "matched", 0.9, sources=quoted)
    abstained_case = Case("公司股票代码是多少", expect_abstain=True)

    assert judged(case, by_passages) == (True, False)
    assert judged(case, stored) == (True, True)
    assert judged(case, wrong) == (False, False)
    assert judged(abstained_case, stored) == (False, False)


def test_malformed_case_file_is_a_clear_error_with_non_zero_exit(folders, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"question": "AM是什么意思"}\n{"question": "年假如何申请？", \n', encoding="utf-8")

    run = run_agent("eval", str(cases), *folders, "--json")

    assert run.returncode != 0
    assert run.stdout.strip() == ""
    assert f"{cases}:2" in run.stderr and "error" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("line, complaint", [
    ('{"expect_route": "term"}', "question"),
    ('["AM是什么意思"]', "question"),
    ('{"question": "AM是什么意思", "expect_route": "glossary"}', "expect_route"),
])
def test_case_without_a_question_or_with_an_unknown_route_is_refused(folders, tmp_path, capsys, line, complaint):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(line + "\n", encoding="utf-8")

    code = main(["eval", str(cases), *folders, "--json"])

    captured = capsys.readouterr()
    assert code != 0
    assert captured.out == ""
    assert f"{cases}:1" in captured.err and complaint in captured.err


# --- keys stay secret --------------------------------------------------------------------------------

FAKE_LLM_KEY = "sk-test-secret-LLM-7f3a9c"
FAKE_DASHSCOPE_KEY = "sk-test-secret-DASHSCOPE-2b8e4d"


def closed_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ask_with_api_keys_set_prints_no_key_and_answers_a_term_question_without_the_llm(folders):
    env = clean_env(KB_LLM_BASE_URL=f"http://127.0.0.1:{closed_local_port()}/v1", KB_LLM_API_KEY=FAKE_LLM_KEY,
                    DASHSCOPE_API_KEY=FAKE_DASHSCOPE_KEY)

    run = run_agent("ask", "AM是什么意思", *folders, "--json", env=env)

    assert run.returncode == 0, run.stderr
    result = only_json_object(run.stdout)
    assert result["route"] == "term" and result["llm"] == "none"
    for secret in (FAKE_LLM_KEY, FAKE_DASHSCOPE_KEY):
        assert secret not in run.stdout and secret not in run.stderr


# --- explain -----------------------------------------------------------------------------------------


def test_explain_shows_each_stage_and_decides_as_ask_does(folders, capsys, company_service):
    code = main(["explain", "KAM和QPS分别是什么？", *folders, "--json"])

    found = only_json_object(capsys.readouterr().out)
    assert code == 0
    assert set(found) == {"question", "understanding", "candidates", "decision", "answer"}
    assert found["understanding"]["unknown_abbreviations"] == ["QPS"]
    assert {"term": "KAM", "found_by": "name", "score": 1.0} in found["candidates"]["terms"]
    asked = company_service.ask("KAM和QPS分别是什么？")
    assert (found["decision"]["route"], found["decision"]["confidence"]) == (asked.route, asked.confidence)
    assert found["answer"]["text"] == asked.text


def test_explain_without_json_numbers_the_stages(folders, capsys):
    assert main(["explain", "年假怎么申请？", *folders]) == 0

    text = capsys.readouterr().out
    assert all(stage in text for stage in ("1. understood", "2. candidates", "3. decided", "4. answered"))
