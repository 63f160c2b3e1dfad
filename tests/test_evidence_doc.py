"""The evidence that passages answer a question (agent/answer/evidence.py): how much of the question they say,
each word weighed by how much it says in general; whether the section they stand under is what the question
is about; and English questions judged by a model of their own."""
from __future__ import annotations

import pytest

from agent.answer import evidence
from agent.answer.evidence import heading_named, passage_relevance


def test_a_passage_that_says_the_rare_word_of_a_question_covers_more_of_it_than_one_that_says_common_words():
    question = "采购合同需要准备哪些文件"

    rare = passage_relevance(question, [], "采购合同由法务部统一审核后盖章。")
    common = passage_relevance(question, [], "请提前准备好文件。")

    assert rare > common


def test_a_passage_under_a_heading_the_question_names_stands_under_its_topic():
    assert heading_named("出差补贴怎么算", ["差旅管理办法 > 四、出差补贴"]) == 1.0
    assert heading_named("报价由谁审批", ["销售制度 > 第三章 报价"]) == 1.0  # its number is not a word of it
    assert heading_named("报价由谁审批", ["销售制度 > 3.2 报价"]) == 1.0


def test_a_heading_that_shares_only_a_common_word_with_the_question_counts_little():
    shared_common = heading_named("住房补贴怎么申请", ["差旅管理办法 > 一、出差申请"])
    shared_rare = heading_named("出差要先做什么", ["差旅管理办法 > 一、出差申请"])

    assert 0.0 < shared_common < 0.5 < shared_rare < 1.0


@pytest.mark.parametrize("location", ["p. 3", "slide 2", "sheet 价格", "常见问题 row 14", "beginning", ""])
def test_a_location_without_a_heading_says_nothing_of_the_topic(location):
    assert heading_named("价格怎么定", [location]) == 0.0


def test_english_and_chinese_questions_are_judged_by_document_models_of_their_own(monkeypatch):
    fits = {"doc": {"lexical": {"features": ["relevance"], "weights": [0.0], "bias": -5.0}},
            "doc_english": {"lexical": {"features": ["relevance"], "weights": [0.0], "bias": 5.0}}}
    monkeypatch.setattr(evidence, "_fits", lambda: fits)

    assert evidence.doc_calibration(english=False, embedder_name=None).probability({"relevance": 1}) < 0.01
    assert evidence.doc_calibration(english=True, embedder_name=None).probability({"relevance": 1}) > 0.99
