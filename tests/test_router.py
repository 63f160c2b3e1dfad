"""Routing without an LLM: `term` for what a glossary term means, `fact` for a stored FAQ question,
`doc` for everything else, abstaining when no passage is relevant. Real workbooks and documents written
by the test session (see `company_knowledge` in conftest.py), the real index, the real router."""
from __future__ import annotations

import pytest

from agent.records import Term
from agent.answer.evidence import passage_relevance
from agent.answer.terms import GlossaryMatcher
from tests.conftest import COMPANY_FAQ_ROWS

ANNUAL_LEAVE_ANSWER = COMPANY_FAQ_ROWS[1][2]
SALARY_ANSWER = COMPANY_FAQ_ROWS[2][2]


@pytest.fixture(scope="module")
def service(company_service):
    return company_service


@pytest.mark.parametrize("question", [
    "AM是什么意思",
    "AM是啥",
    "请问AM指的是什么",
    "What does AM stand for?",
    "客户经理的英文缩写是什么？",
    "AM？",
])
def test_asking_what_a_term_means_routes_to_the_glossary(service, question):
    decision = service.router.route(question)
    answer = service.ask(question)

    assert decision.route == "term"
    assert [(t.abbreviation, t.english) for t in decision.terms] == [("AM", "Account Manager")]
    assert answer.route == "term"
    assert "Account Manager" in answer.text and "客户经理" in answer.text
    assert [(s.source, s.location) for s in answer.sources] == [("glossary/公司术语表.xlsx", "术语 row 3")]


def test_ambiguous_abbreviation_answer_lists_every_meaning_with_its_file_and_row(service):
    answer = service.ask("FTA是什么意思")

    assert answer.route == "term"
    assert "2 种含义" in answer.text
    lines = answer.text.splitlines()
    agreement = next(line for line in lines if "自由贸易协定" in line)
    area = next(line for line in lines if "自由贸易区" in line)
    assert "glossary/公司术语表.xlsx" in agreement and "row 5" in agreement
    assert "glossary/外贸术语.xlsx" in area and "row 2" in area
    assert [(s.source, s.location) for s in answer.sources] == [
        ("glossary/公司术语表.xlsx", "术语 row 5"), ("glossary/外贸术语.xlsx", "外贸 row 2")]


def test_ambiguous_abbreviation_is_answered_with_less_confidence_than_a_plain_one(service):
    assert service.ask("FTA是什么意思").confidence < service.ask("AM是什么意思").confidence


def test_stored_faq_question_gets_the_stored_answer_verbatim(service):
    answer = service.ask("年假如何申请？")

    assert answer.route == "fact"
    assert answer.text == ANNUAL_LEAVE_ANSWER
    assert [(s.source, s.location) for s in answer.sources] == [("faq/员工常见问题.xlsx", "FAQ row 2")]


def test_paraphrase_of_a_faq_question_gets_the_stored_answer(service):
    answer = service.ask("每个月几号发工资？")

    assert answer.route == "fact"
    assert answer.text == SALARY_ANSWER


def test_question_about_what_a_term_does_goes_to_the_documents(service):
    answer = service.ask("在产品售后流程里，AM负责哪些事情？")

    assert answer.route == "doc"
    assert "第一接口人" in answer.text
    assert answer.sources[0].source == "docs/售后服务流程.md"


def test_abbreviation_only_question_finds_a_passage_that_uses_only_the_full_name(service):
    decision = service.router.route("AM负责哪些事情？")

    best = decision.hits[0].passage
    assert decision.route == "doc"
    assert best.source == "docs/售后服务流程.md"
    assert "AM" not in best.text and "客户经理" in best.text
    assert "客户经理" in service.ask("AM负责哪些事情？").text


def test_a_question_merely_mentioning_a_word_like_ai_is_a_document_question(service):
    answer = service.ask("AI会取代人类的工作吗？")

    assert answer.route == "doc"
    assert "没有找到" in answer.text


@pytest.mark.parametrize("question, refusal", [
    ("公司班车有哪些线路？", "没有找到"),
    ("Will the company open a new office next year?", "nothing in the knowledge base"),
])
def test_unrelated_question_abstains_instead_of_inventing_an_answer(service, question, refusal):
    answer = service.ask(question)

    assert answer.route == "doc" and answer.abstained
    assert refusal in answer.text
    assert "nothing in the knowledge answers it" in answer.reason
    assert answer.sources == []  # nothing unrelated is offered as a source


@pytest.mark.parametrize("question, route", [
    ("AM是什么意思", "term"),
    ("年假如何申请？", "fact"),
    ("食堂几点营业？", "doc"),
    ("公司班车有哪些线路？", "doc"),
])
def test_every_answer_says_its_route_reason_and_confidence(service, question, route):
    answer = service.ask(question)

    assert answer.route == route
    assert isinstance(answer.reason, str) and len(answer.reason) > 10
    assert 0.0 <= answer.confidence <= 1.0
    assert answer.latency_ms >= 0.0


def test_a_short_abbreviation_inside_an_english_word_does_not_make_a_passage_relevant():
    emergency = Term(("ED",), "Emergency Department", "急诊科")
    question = "急诊科在哪"
    mentions = GlossaryMatcher([emergency]).find(question)

    unrelated = passage_relevance(question, mentions, "A Code Blue is called for a patient in cardiac arrest.")
    naming = passage_relevance(question, mentions, "The ED is on the ground floor of building 2.")

    assert unrelated < naming
    assert naming == 1.0
