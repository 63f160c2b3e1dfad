"""The evidence that passages answer a question (agent/answer/evidence.py): whether the question names the
section the passages stand under, counted only when what it asks is no more specific than what they say; and
English questions judged by a document model of their own."""
from __future__ import annotations

import pytest

from agent.answer import evidence
from agent.answer.evidence import heading_named, section_named
from agent.records import Passage
from agent.settings import REPO_ROOT, Settings
from tests.conftest import clear_assistant_env

REIMBURSEMENT = Passage("五、报销\n\n1. 出差结束后30天内提交差旅报销单，附行程单、住宿发票和其他票据。",
                        "docs/差旅管理办法.md", "差旅管理办法 > 五、报销")


def test_a_question_in_general_words_about_a_section_it_names_is_on_that_sections_topic():
    # 材料 and 准备 are unsaid, but both are more common words than 报销, which the passage says.
    assert section_named("报销需要准备哪些材料", [REIMBURSEMENT]) == 1.0


def test_a_question_naming_a_section_but_asking_about_something_more_specific_it_never_says_is_not():
    # 话费 is unsaid and more specific than anything the passage says of the question: a near miss.
    assert section_named("公司给员工报销手机话费吗", [REIMBURSEMENT]) == 0.0


def test_the_section_counts_only_what_the_question_names_of_its_heading():
    assert section_named("差旅费用要附哪些票据", [REIMBURSEMENT]) == 0.0  # 报销 is not named


def test_a_heading_is_named_without_its_number():
    assert heading_named("出差补贴怎么算", ["差旅管理办法 > 四、出差补贴"]) == 1.0
    assert heading_named("报价由谁审批", ["销售制度 > 第三章 报价"]) == 1.0
    assert heading_named("报价由谁审批", ["销售制度 > 3.2 报价"]) == 1.0


def test_a_heading_that_shares_only_a_common_word_with_the_question_counts_little():
    shared_common = heading_named("住房补贴怎么申请", ["差旅管理办法 > 一、出差申请"])
    shared_rare = heading_named("出差要先做什么", ["差旅管理办法 > 一、出差申请"])

    assert 0.0 < shared_common < 0.5 < shared_rare < 1.0


def test_a_heading_that_is_one_word_counts_although_jieba_cuts_it_alone_into_characters():
    assert heading_named("报到要带哪些材料", ["新员工手册 > 一、报到"]) == 1.0


@pytest.mark.parametrize("location", ["p. 3", "slide 2", "sheet 价格", "常见问题 row 14", "beginning", ""])
def test_a_location_without_a_heading_says_nothing_of_the_topic(location):
    assert heading_named("价格怎么定", [location]) == 0.0


def test_english_questions_keep_their_own_document_model_and_chinese_ones_weigh_the_section():
    chinese = evidence.doc_calibration(english=False, embedder_name=None)
    english = evidence.doc_calibration(english=True, embedder_name=None)

    assert "section" in chinese.features and chinese.weights[chinese.features.index("section")] > 0
    assert "section" not in english.features


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from agent.answer.service import KnowledgeService

    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        yield KnowledgeService(Settings.from_env(knowledge_dir=REPO_ROOT / "knowledge",
                                                 index_dir=tmp_path_factory.mktemp("sample") / "index"))


def test_a_question_in_general_words_is_answered_from_the_section_it_names(sample):
    answer = sample.ask("报销需要准备哪些材料")

    assert answer.route == "doc" and not answer.abstained
    assert "行程单" in answer.lead and "住宿发票" in answer.lead
    assert {s.source for s in answer.sources} == {"docs/差旅管理办法.md"}


def test_a_near_miss_that_names_the_same_section_still_abstains(sample):
    answer = sample.ask("公司给员工报销手机话费吗？")

    assert answer.abstained and answer.sources == []
