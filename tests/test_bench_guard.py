"""The measuring code of bench.guard and bench.tool_calls, on hand-made answers and model messages (the real model
runs only in the benchmarks themselves and in tests/test_real_llm.py)."""
from __future__ import annotations

from qwen_agent.llm.schema import ASSISTANT, FunctionCall, Message

from agent.answer.reasons import because
from agent.answer.grounding import check_grounding
from bench.guard import _kind, summary
from bench.tool_calls import CASES, ToolCase, judge

TERM_SCHEMA = {"type": "object", "properties": {"term": {"type": "string"}}, "required": ["term"]}


def test_the_reason_codes_name_why_the_passages_were_quoted():
    def reasons(text: str) -> list:
        return [because("searched_documents"), check_grounding(text, ['年假在OA系统中申请。']).reason_clause()]

    assert _kind(reasons("年假在OA系统中申请。")) == "no citation"
    assert _kind(reasons("年假<|im_end|>[1]")) == "template tokens"
    assert _kind(reasons("年假需要总经理批准并去财务部领取[1]。")) == "unsupported"
    assert _kind([because("searched_documents"), because("generated_timeout", seconds=60)]) == "time limit"
    assert _kind([because("searched_documents")]) == ""
    assert _kind([because("searched_documents"), because("llm_failed")]) == "llm failed"


def test_the_summary_counts_kept_answers_against_the_lead_on_the_same_questions():
    rows = [
        {"outcome": "kept", "kept_holds": True, "lead_holds": False, "first_token_ms": 1000, "seconds": 5, "hang": False},
        {"outcome": "kept", "kept_holds": False, "lead_holds": True, "first_token_ms": 3000, "seconds": 7, "hang": False},
        {"outcome": "quoted", "rejected_for": "loop", "lead_holds": True, "first_token_ms": 2000, "seconds": 6,
         "hang": False},
        {"outcome": "not generated", "first_token_ms": None, "seconds": 1, "hang": False},
        {"outcome": "crash", "first_token_ms": None, "seconds": 1, "hang": True},
    ]

    s = summary(rows)

    assert (s["generated"], s["kept"], s["kept_share"]) == (3, 2, 0.667)
    assert s["rejected_for"] == {"loop": 1}
    assert (s["kept_holds_gold"], s["lead_holds_gold_on_kept"], s["lead_holds_gold_on_generated"]) == (1, 1, 2)
    assert s["first_token_ms"]["p50"] == 2000
    assert (s["crashes"], s["hangs"], s["not_generated"]) == (1, 1, 1)


def call(name: str, arguments: str) -> list[Message]:
    return [Message(ASSISTANT, "", function_call=FunctionCall(name=name, arguments=arguments))]


def test_a_tool_call_is_right_only_with_the_expected_tool_and_valid_arguments_holding_the_text():
    case = ToolCase("AM是什么意思？", "abbreviation_lookup", "term", ("am",))
    schemas = {"abbreviation_lookup": TERM_SCHEMA, "doc_search": {"type": "object"}}

    assert judge(case, call("abbreviation_lookup", '{"term": "AM"}'), schemas)["right"]
    assert not judge(case, call("abbreviation_lookup", '{"term": "KPI"}'), schemas)["right"]
    assert not judge(case, call("doc_search", '{"query": "AM"}'), schemas)["right"]
    broken = judge(case, call("abbreviation_lookup", '{"term": "AM"'), schemas)
    assert not broken["valid_arguments"] and not broken["right"]
    missing = judge(case, call("abbreviation_lookup", '{"name": "AM"}'), schemas)
    assert not missing["valid_arguments"]
    assert judge(case, call("no_such_tool", "{}"), schemas)["valid_arguments"] is False
    answered = judge(case, [Message(ASSISTANT, "AM是客户经理。")], schemas)
    assert (answered["called"], answered["right"], answered["text"]) == ("", False, "AM是客户经理。")


def test_the_tool_questions_cover_every_built_in_tool():
    assert {case.tool for case in CASES} == {"abbreviation_lookup", "faq_lookup", "doc_search", "current_date"}
    assert len(CASES) >= 10
