"""Term understanding: which glossary terms a question names, by abbreviation (any spelling), English full
name or Chinese name, longest match first, without mistaking ordinary English words for abbreviations."""
from __future__ import annotations

import pytest

from agent.records import Term
from agent.answer.terms import GlossaryMatcher

AM = Term(("AM",), "Account Manager", "客户经理", source="glossary/公司术语表.xlsx", sheet="术语", row=3)
KAM = Term(("KAM",), "Key Account Manager", "大客户经理", source="glossary/公司术语表.xlsx", sheet="术语", row=4)
FTA_AGREEMENT = Term(("FTA",), "Free Trade Agreement", "自由贸易协定", source="glossary/公司术语表.xlsx", row=5)
FTA_AREA = Term(("FTA",), "Free Trade Area", "自由贸易区", source="glossary/外贸术语.xlsx", row=2)
IT = Term(("IT",), "Information Technology", "信息技术", row=6)
APP = Term(("APP", "App", "app"), "Application", "应用程序", row=7)
SO = Term(("SO",), "Sales Order", "销售订单", row=8)
DO = Term(("DO",), "Delivery Order", "送货单", row=9)
KPI = Term(("KPI",), "Key Performance Indicator", "关键绩效指标", row=10)
GLOSSARY = [AM, KAM, FTA_AGREEMENT, FTA_AREA, IT, APP, SO, DO, KPI]


@pytest.fixture(scope="module")
def matcher() -> GlossaryMatcher:
    return GlossaryMatcher(GLOSSARY)


def found_terms(matcher: GlossaryMatcher, question: str) -> list[Term]:
    return [term for mention in matcher.find(question) for term in mention.terms]


@pytest.mark.parametrize("question", ["APP是什么意思", "App是什么意思", "app是什么意思", "What is an app?"])
def test_each_spelling_the_glossary_lists_is_found(matcher, question):
    assert found_terms(matcher, question) == [APP]


@pytest.mark.parametrize("question", ["AM是什么意思", "Am是什么意思", "am是什么意思", "ＡＭ是什么意思", "ａｍ是什么意思"])
def test_abbreviation_is_found_in_any_case_and_width_next_to_chinese(matcher, question):
    assert found_terms(matcher, question) == [AM]


@pytest.mark.parametrize("question", ["kpi怎么算", "How is the kpi measured?", "Kpi target"])
def test_lower_case_abbreviation_that_is_no_english_word_is_found(matcher, question):
    assert found_terms(matcher, question) == [KPI]


def test_full_width_mention_keeps_the_characters_the_user_typed(matcher):
    question = "请问ＡＭ是什么意思"

    [mention] = matcher.find(question)

    assert mention.text == "ＡＭ"
    assert question[mention.start:mention.end] == "ＡＭ"
    assert mention.kind == "abbreviation"


@pytest.mark.parametrize("question", ["What does account manager mean?", "ACCOUNT MANAGER", "Account  Manager的缩写"])
def test_english_full_name_is_found_in_any_case_and_spacing(matcher, question):
    [mention] = matcher.find(question)

    assert mention.terms == (AM,)
    assert mention.kind == "english"


def test_multi_word_english_name_picks_the_term_with_that_name_only(matcher):
    [mention] = matcher.find("Free Trade Agreement的缩写")

    assert mention.text == "Free Trade Agreement"
    assert mention.terms == (FTA_AGREEMENT,)


def test_chinese_name_inside_a_longer_question_is_found(matcher):
    [mention] = matcher.find("客户经理是做什么的")

    assert mention.text == "客户经理"
    assert mention.terms == (AM,)
    assert mention.kind == "chinese"


@pytest.mark.parametrize("question", ["大客户经理是做什么的", "What does a Key Account Manager do?", "KAM是什么意思"])
def test_longest_name_wins_over_a_shorter_one_inside_it(matcher, question):
    assert found_terms(matcher, question) == [KAM]


def test_ambiguous_abbreviation_carries_every_meaning(matcher):
    [mention] = matcher.find("FTA是什么意思")

    assert set(mention.terms) == {FTA_AGREEMENT, FTA_AREA}


def test_several_terms_in_one_question_are_found_in_order(matcher):
    mentions = matcher.find("AM和KAM有什么区别？")

    assert [m.text for m in mentions] == ["AM", "KAM"]
    assert [m.terms for m in mentions] == [(AM,), (KAM,)]


@pytest.mark.parametrize("question", [
    "What is it?",
    "Is it OK to use my phone?",
    "am I allowed to work from home?",
    "so who do I contact?",
    "What do I do now?",
    "I am so tired, do you know why?",
])
def test_ordinary_english_words_are_not_taken_for_abbreviations(matcher, question):
    assert matcher.find(question) == []


@pytest.mark.parametrize("question, term", [
    ("Who runs IT support?", IT),
    ("I AM the new hire", AM),
    ("Where is the SO for this customer?", SO),
    ("Print the DO please", DO),
])
def test_the_same_words_in_capitals_are_abbreviations(matcher, question, term):
    assert found_terms(matcher, question) == [term]


@pytest.mark.parametrize("question", ["AMOUNT是多少", "SOP是什么", "DOA是什么意思", "CAMERA"])
def test_an_abbreviation_inside_a_longer_latin_word_does_not_fire(matcher, question):
    assert matcher.find(question) == []
