"""Answers that read well without an LLM: sentences split at Chinese and English marks, hard line breaks
of PDF and plain text mended, lists and tables kept, the lead chosen from a real knowledge folder, and
eval's lead_accuracy."""
from __future__ import annotations

import json
import re

import docx
import pytest

from agent.answer.reasons import because
from agent.answer.lead import (choose_lead, lead_text, passage_excerpts, passage_units, readable_passage,
                               split_sentences)
from agent.records import Answer, Passage, SearchHit
from agent.settings import Settings
from agent.surfaces.api import kb_details
from agent.surfaces.evaluation import CaseFileError, evaluate, load_cases
from tests.conftest import _write_workbook, clear_assistant_env

# --- sentences ------------------------------------------------------------------------------------


def test_chinese_sentences_end_at_full_stops_question_and_exclamation_marks_with_their_closing_quotes():
    assert split_sentences("他说：“明天发货。”然后挂了电话！真的吗？还没到") == [
        "他说：“明天发货。”", "然后挂了电话！", "真的吗？", "还没到"]


def test_english_sentences_end_at_a_full_stop_before_a_space_but_not_inside_a_number():
    assert split_sentences("The rate is 3.5 percent. Ask finance first! Done") == [
        "The rate is 3.5 percent.", "Ask finance first!", "Done"]


# --- readable passages ----------------------------------------------------------------------------


def test_a_hard_line_break_inside_a_chinese_sentence_is_removed():
    text = "第七条 客户经理负责在CRM系统中向客户报价。报价的AAP不低于AIP的，AM可直接报\n价。"

    assert readable_passage(text) == "第七条 客户经理负责在CRM系统中向客户报价。报价的AAP不低于AIP的，AM可直接报价。"


def test_a_hard_line_break_inside_an_english_sentence_becomes_a_space():
    text = "Travel costs are refunded within ten working days once the\nmanager has approved the claim."

    assert readable_passage(text) == ("Travel costs are refunded within ten working days once the manager has "
                                      "approved the claim.")


def test_a_short_heading_line_is_not_joined_to_the_sentence_after_it():
    text = "第三章 报价与审批权限\n第七条 客户经理（AM）负责在CRM系统中向客户报价，报价须经系统记录后方可发给客户。"

    assert readable_passage(text).split("\n\n") == ["第三章 报价与审批权限",
                                                    "第七条 客户经理（AM）负责在CRM系统中向客户报价，报价须经系统记录后方可发给客户。"]


def test_lines_of_a_slide_or_word_document_stay_lines_when_the_format_does_not_wrap():
    text = "到HR办理入职手续：签订劳动合同与保密协议（NDA），录入个人信息\n到IT服务台领取笔记本电脑和域账号，完成令牌绑定"

    assert readable_passage(text, wrapped=False).split("\n\n") == text.split("\n")


def test_bullets_become_a_markdown_list_and_numbered_items_stay_on_their_own_lines():
    text = "报销须附以下材料：\n• 发票原件\n• 行程单\n1、审批单\n(2) 付款凭证"

    assert readable_passage(text) == "报销须附以下材料：\n\n- 发票原件\n- 行程单\n- 1、审批单\n- (2) 付款凭证"


def test_table_rows_become_a_markdown_table():
    text = "级别 | 首次响应 | 解决时限\nP1 | 2小时 | 24小时\nP2 | 8小时 | 3个工作日"

    assert readable_passage(text) == ("| 级别 | 首次响应 | 解决时限 |\n|---|---|---|\n| P1 | 2小时 | 24小时 |\n"
                                      "| P2 | 8小时 | 3个工作日 |")


def test_a_markdown_table_stays_one_table_and_its_rule_is_no_row():
    text = "三、住宿标准\n| 城市类别 | 普通员工 |\n| --- | --- |\n| 一线城市 | 600 |\n|其他城市|350|"

    assert readable_passage(text, wrapped=False) == ("**三、住宿标准**\n\n| 城市类别 | 普通员工 |\n|---|---|\n"
                                                     "| 一线城市 | 600 |\n| 其他城市 | 350 |")
    assert [u.text for u in passage_units(text, wrapped=False)] == ["城市类别: 一线城市; 普通员工: 600",
                                                                   "城市类别: 其他城市; 普通员工: 350"]


def test_a_numbered_section_title_is_shown_as_a_heading_not_as_a_list_item():
    assert readable_passage("二、交通标准\n1. 乘坐高铁。", wrapped=False) == "**二、交通标准**\n\n1. 乘坐高铁。"


def test_sheet_rows_with_the_same_headers_become_a_table():
    text = "区域: 华东; 目标: 1200万\n区域: 华南; 目标: 900万"

    assert readable_passage(text) == "| 区域 | 目标 |\n|---|---|\n| 华东 | 1200万 |\n| 华南 | 900万 |"


def test_a_table_row_is_a_unit_read_with_its_header_and_headings_and_questions_are_not_units():
    text = "服务时限\n级别 | 首次响应\nP1 | 2小时\n客户会问什么？答复须在当天发出。"

    units = passage_units(text, wrapped=False)

    assert [u.text for u in units] == ["级别: P1; 首次响应: 2小时", "答复须在当天发出。"]
    assert all(u.context == "服务时限" for u in units)


# --- the lead, from passages alone ----------------------------------------------------------------


def hit(text: str, source: str = "docs/a.txt", location: str = "part 1") -> SearchHit:
    return SearchHit(Passage(text, source, location), 1.0)


def test_without_an_index_the_words_of_the_question_choose_the_lead_and_it_cites_its_passage():
    hits = [hit("公司成立于2001年，总部在深圳。员工食堂营业时间为早上7点到晚上7点。"),
            hit("食堂周末只供应午餐。园区停车场24小时开放。", "docs/b.md", "食堂")]

    units = choose_lead("食堂几点营业？", hits)

    assert units[0].text == "员工食堂营业时间为早上7点到晚上7点。"
    assert lead_text(units).splitlines()[0].endswith("[1]")


# --- the lead on a real knowledge folder (the bundled embedder) -----------------------------------

WRAPPED_POLICY = (  # a plain-text policy wrapped at a fixed width, the way PDFs and old text files are
    "差旅管理办法\n\n"
    "第一条 员工出差乘坐高铁二等座，部门经理及以上可乘坐一等座；乘坐飞机一律为经济舱，须提前七\n"
    "天订票。\n"
    "第二条 一线城市住宿标准为每晚不超过600元，其他城市每晚不超过400元，超出部分由员工自\n"
    "理。\n"
    "第三条 境内出差伙食补贴为每天100元，按实际出差天数计发，不另报销餐费。\n"
)
ONBOARDING = ("# 入职指南\n\n## 入职第一天\n\n- 9:00 到总部一楼前台报到，领取工牌\n"
              "- 到HR办理入职手续，签订劳动合同\n- 到IT服务台领取笔记本电脑\n\n"
              "## 试用期\n\n新员工试用期为3个月，期满经考核合格后转正。\n")


def service_table(path):
    document = docx.Document()
    document.add_heading("售后服务时限", level=1)
    document.add_paragraph("售后工单按级别处理，时限如下表。")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, [("级别", "首次响应", "解决时限"), ("P1", "2小时", "24小时"),
                                       ("P2", "8小时", "3个工作日")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    document.save(path)


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory):
    root = tmp_path_factory.mktemp("lead") / "knowledge"
    _write_workbook(root / "glossary" / "术语.xlsx", {"术语": [["缩略语", "英文全称", "中文解释"],
                                                              ["AM", "Account Manager", "客户经理"]]})
    _write_workbook(root / "faq" / "常见问题.xlsx", {"FAQ": [["问题", "答案"],
                                                             ["工资什么时候发？", "每月10日发放上月工资。"]]})
    (root / "docs").mkdir()
    (root / "docs" / "差旅管理办法.txt").write_text(WRAPPED_POLICY, encoding="utf-8")
    (root / "docs" / "入职指南.md").write_text(ONBOARDING, encoding="utf-8")
    service_table(root / "docs" / "售后服务.docx")
    return root


@pytest.fixture(scope="module")
def service(knowledge):
    from agent.answer.service import KnowledgeService

    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        yield KnowledgeService(Settings.from_env(knowledge_dir=knowledge, index_dir=knowledge.parent / "index"))


@pytest.mark.slow
def test_a_document_answer_leads_with_the_sentence_that_answers_then_quotes_the_passages_mended(service):
    answer = service.ask("一线城市出差住宿每晚最多多少钱？")

    assert answer.route == "doc" and not answer.abstained
    assert "600元" in answer.lead and "高铁" not in answer.lead
    first = answer.text.split("\n\n")[0]
    assert re.fullmatch(r".*600元.*\[\d\]", first)  # the lead comes first and cites its passage
    assert "每晚不超过600元，其他城市每晚不超过400元，超出部分由员工自理。" in answer.text  # the break is gone
    assert "员工自\n理" not in answer.text


@pytest.mark.slow
def test_a_lead_under_a_matching_heading_is_the_list_beneath_it(service):
    answer = service.ask("入职第一天要做什么？")

    assert answer.lead.startswith("- 9:00 到总部一楼前台报到")
    assert "- 到HR办理入职手续" in answer.text


@pytest.mark.slow
def test_a_lead_from_a_table_is_the_row_read_with_its_header(service):
    answer = service.ask("P1级别的售后工单多久首次响应？")

    assert "级别: P1; 首次响应: 2小时" in answer.lead
    assert "| P1 | 2小时 | 24小时 |" in answer.text


@pytest.mark.slow
def test_meaning_chooses_the_lead_when_the_question_shares_no_word_with_the_passages(service):
    hits = [hit("公司总部位于深圳。员工食堂早上7点开门。新员工试用期为3个月，期满考核合格后转正。")]
    question = "How long is the probation period for new staff?"

    by_words = choose_lead(question, hits)
    by_meaning = max(choose_lead(question, hits, service.kb), key=lambda unit: unit.score)

    assert len({unit.score for unit in by_words}) == 1  # words alone: nothing to tell the sentences apart
    assert by_meaning.text == "新员工试用期为3个月，期满考核合格后转正。"


@pytest.mark.slow
def test_term_fact_and_abstained_answers_lead_with_the_answer_itself(service):
    term, fact = service.ask("AM是什么意思"), service.ask("工资什么时候发？")
    unknown = service.ask("火星基地的氧气配额是多少？")

    assert term.route == "term" and term.lead == term.text and "客户经理" in term.lead
    assert fact.route == "fact" and fact.lead == fact.text == "每月10日发放上月工资。"
    assert unknown.abstained and unknown.lead and unknown.text.startswith(unknown.lead)


@pytest.mark.slow
def test_ask_json_and_the_api_carry_the_lead(service, knowledge, capsys):
    from agent.surfaces.cli import main

    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        assert main(["ask", "新员工试用期多久？", "--knowledge", str(knowledge), "--index",
                     str(knowledge.parent / "index"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)

    assert list(printed)[:3] == ["answer", "lead", "route"]
    assert "3个月" in printed["lead"]
    assert kb_details(service.ask("新员工试用期多久？"))["lead"] == printed["lead"]


# --- eval -----------------------------------------------------------------------------------------


def answered_with(lead: str):
    """Test double for `ask`: every question gets a document answer with this lead."""
    return lambda question, history=None: Answer(f"{lead}\n\n[1] …", "doc", "test double", 0.9, lead=lead)


def test_eval_reports_the_share_of_leads_holding_any_expected_text(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"question": "住宿标准？", "expect_lead_any": ["６００元", "六百元"]},  # full width folds as expect_any
        {"question": "伙食补贴？", "expect_lead_any": ["100元"]},
        {"question": "不比较引导句的问题"}]), encoding="utf-8")

    summary = evaluate(answered_with("一线城市每晚不超过600元。"), load_cases(cases))

    assert summary["lead_accuracy"] == 0.5
    assert list(summary)[:6] == ["cases", "route_accuracy", "answer_accuracy", "answered_with_tentative", "tentative_answers", "lead_accuracy"]
    failure, = summary["failures"]
    assert failure["expected"]["lead_any"] == ["100元"] and "lead has none of ['100元']" in failure["got"]["problems"]


def test_eval_lead_accuracy_is_null_when_no_case_carries_expect_lead_any(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"question": "住宿标准？"}, ensure_ascii=False), encoding="utf-8")

    assert evaluate(answered_with("任何句子。"), load_cases(cases))["lead_accuracy"] is None


def test_a_case_whose_expect_lead_any_is_not_a_list_of_texts_is_refused(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"question": "住宿标准？", "expect_lead_any": "600元"}, ensure_ascii=False))

    with pytest.raises(CaseFileError, match="expect_lead_any"):
        load_cases(cases)


# --- python -m bench lead -------------------------------------------------------------------------


def test_bench_lead_scores_the_lead_and_the_first_sentence_baseline_against_the_gold_spans():
    from agent.answer.lead import LeadWeights, SentenceVectors
    from bench.lead import GoldQuestion, Routed, score

    passage = hit("公司成立于2001年，总部在深圳。员工食堂营业时间为早上7点到晚上7点。")
    routed = [Routed(GoldQuestion("食堂几点营业？", ("早上７点到晚上７点",), "a.txt"), [passage], 1.0),
              Routed(GoldQuestion("停车场几点开？", ("24小时",), "b.txt"), [], 1.0)]  # abstained: no passages

    result = score(routed, None, LeadWeights(), SentenceVectors())

    assert result["lead_accuracy"] == 0.5 and result["first_sentence_accuracy"] == 0.0
    assert result["passages_hold_answer"] == 0.5


def test_a_lead_that_ends_in_a_colon_goes_on_to_the_list_it_introduces():
    text = "二、数据分级\n公司数据按敏感程度分为四级：\n• 公开\n• 内部\n• 秘密\n• 机密\n分级由信息安全部认定。"

    lead = lead_text(choose_lead("公司数据分为哪几个密级？", [hit(text, "docs/信息安全规范.md", "数据分级")]))

    assert lead == "公司数据按敏感程度分为四级：\n- 公开\n- 内部\n- 秘密\n- 机密 [1]"


# --- sheets in documents ----------------------------------------------------------------------------


def test_a_title_row_above_a_sheet_table_heads_its_text_instead_of_naming_the_columns(tmp_path):
    from agent.ingest.documents import read_sections

    path = _write_workbook(tmp_path / "目标.xlsx", {"区域目标": [["2026年区域销售目标（单位：万元）"],
                                                                   ["区域", "第一季度", "第三季度"],
                                                                   ["华南", 6500, 8100]]})

    section, = read_sections(path)

    assert section.text == "2026年区域销售目标（单位：万元）\n区域: 华南; 第一季度: 6500; 第三季度: 8100"
    assert passage_units(section.text)[-1].text == "区域: 华南; 第一季度: 6500; 第三季度: 8100"


# --- a section headed by the question's topic against a sentence that names every topic ---------------

TRAVEL_POLICY = """# 差旅管理办法

本办法规定员工因公出差的申请、交通、住宿、补贴和报销标准，由财务部负责解释。

## 一、出差申请

1. 出差前须在OA系统提交“出差申请”，写明目的地、时间和预算，经直属上级批准。
2. 需要预支费用的，可在OA系统提交“借款申请”，单次借款不超过1万元。

## 二、交通标准

| 职级 | 飞机 | 火车/高铁 |
| --- | --- | --- |
| 普通员工 | 经济舱 | 二等座 |
| 经理、总监 | 经济舱 | 一等座 |

1. 单程600公里以内的城市之间，原则上乘坐高铁或动车。
2. 出差地的市内交通（出租车、网约车、地铁）凭票实报实销。

## 三、住宿标准

每人每晚的住宿费上限如下（单位：元）：

| 城市类别 | 普通员工 | 经理、总监 |
| --- | --- | --- |
| 一线城市 | 600 | 800 |
| 其他城市 | 350 | 500 |

超出标准的部分由个人承担。

## 四、出差补贴

1. 境内出差伙食补贴每天100元，按实际出差天数计算，无需发票。
2. 境外出差伙食补贴每天50美元。

## 五、报销

出差结束后30天内，在OA系统提交差旅报销单，附行程单、住宿发票和其他票据。
"""


def test_without_an_index_a_section_headed_by_the_asked_topic_leads_over_a_sentence_listing_every_topic():
    hits = [hit("三、住宿标准\n每人每晚的住宿费上限如下（单位：元）：\n城市类别 | 普通员工\n一线城市 | 600\n其他城市 | 350",
                "docs/差旅.md", "差旅管理办法 > 三、住宿标准"),
            hit("本办法规定员工因公出差的申请、交通、住宿、补贴和报销标准，由财务部负责解释。", "docs/差旅.md", "差旅管理办法")]

    lead = lead_text(choose_lead("出差住宿标准是多少", hits))

    assert "一线城市; 普通员工: 600" in lead and "本办法" not in lead


def policy_service(tmp_path, policy: str):
    """A service over a knowledge folder holding one travel policy, built with no KB_* setting from the shell."""
    from agent.answer.service import KnowledgeService

    knowledge = tmp_path / "knowledge"
    (knowledge / "docs").mkdir(parents=True)
    (knowledge / "docs" / "差旅管理办法.md").write_text(policy, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        return KnowledgeService(Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index"))


@pytest.mark.slow
def test_a_scope_sentence_naming_every_topic_does_not_lead_over_the_section_whose_heading_and_table_answer(
        tmp_path):
    answer = policy_service(tmp_path, TRAVEL_POLICY).ask("出差住宿标准是多少")

    assert answer.route == "doc" and "三、住宿标准" in answer.text
    assert "普通员工: 600" in answer.lead and "本办法规定" not in answer.lead


@pytest.mark.slow
def test_when_retrieval_nearly_ties_the_scope_sentence_and_the_section_the_lead_is_the_same_either_way(tmp_path):
    # CI once ranked the scope sentence a little above the section (another CPU's rounding) and the lead flipped
    import dataclasses

    service = policy_service(tmp_path, TRAVEL_POLICY)
    hits = service.kb.search("出差住宿标准是多少", k=5)
    assert "三、住宿标准" in hits[0].passage.text and "本办法规定" in hits[1].passage.text
    assert hits[0].score - hits[1].score < 0.5 * (hits[1].score - hits[2].score)  # a near tie
    swapped = [dataclasses.replace(hits[1], score=hits[0].score),
               dataclasses.replace(hits[0], score=hits[1].score), *hits[2:]]

    leads = [lead_text(choose_lead("出差住宿标准是多少", found, service.kb)) for found in (hits, swapped)]

    assert all("一线城市; 普通员工: 600" in lead and "本办法规定" not in lead for lead in leads)


LODGING = ("三、住宿标准\n每人每晚的住宿费上限如下（单位：元）：\n| 城市类别 | 普通员工 | 经理 |\n| --- | --- | --- |\n"
           "| 一线城市（北京、上海） | 600 | 800 |\n| 省会城市 | 450 | 600 |\n| 其他城市 | 350 | 500 |")


def test_a_question_about_a_small_table_leads_with_all_its_rows_never_one():
    scope = SearchHit(Passage("本办法规定员工出差的交通、住宿费和补贴标准。", "docs/差旅.md", "差旅"), 2.3)
    table = SearchHit(Passage(LODGING, "docs/差旅.md", "差旅 > 三、住宿标准"), 2.2)

    lead = lead_text(choose_lead("住宿费标准是多少", [scope, table]))

    assert all(city in lead for city in ("一线城市", "省会城市", "其他城市")) and "上限如下" in lead


def test_a_question_naming_a_row_leads_with_that_row():
    scope = SearchHit(Passage("本办法规定员工出差的交通、住宿费和补贴标准。", "docs/差旅.md", "差旅"), 2.3)
    table = SearchHit(Passage(LODGING, "docs/差旅.md", "差旅 > 三、住宿标准"), 2.2)

    lead = lead_text(choose_lead("省会城市住宿费标准是多少", [scope, table]))

    assert "省会城市; 普通员工: 450" in lead and "一线城市" not in lead and "其他城市" not in lead


def test_a_numbered_list_of_four_steps_stays_whole():
    steps = ("报销流程如下：\n1. 在OA系统提交报销单。\n2. 上传电子发票。\n3. 直属上级审批。\n4. 财务部复核后付款。")

    scope = SearchHit(Passage("本制度规定费用报销的流程和标准。", "docs/财务.md", "财务"), 2.3)

    lead = lead_text(choose_lead("报销流程是什么", [scope, SearchHit(Passage(steps, "docs/财务.md", "财务 > 报销"), 2.2)]))

    assert all(step in lead for step in ("提交报销单", "上传电子发票", "直属上级审批", "财务部复核后付款"))


@pytest.mark.slow
def test_the_sample_travel_policys_lodging_question_leads_with_the_whole_table(tmp_path):
    from agent.settings import REPO_ROOT

    sample_policy = (REPO_ROOT / "knowledge" / "docs" / "差旅管理办法.md").read_text(encoding="utf-8")
    lead = policy_service(tmp_path, sample_policy).ask("差旅住宿标准是多少").lead

    assert all(city in lead for city in ("一线城市", "省会城市", "其他城市")), lead


def test_an_answer_without_an_llm_shows_no_passage_of_a_document_its_lead_does_not_use():
    from agent.answer.replies import extractive_answer
    from agent.answer.router import RouteDecision

    used = hit("食堂早上7点到晚上7点营业，周末只供应午餐。", "docs/行政.md", "食堂")
    unrelated = hit("研发项目每两周评审一次进度。", "docs/研发.md", "评审")
    same_document = hit("园区停车场24小时开放。", "docs/行政.md", "停车")
    decision = RouteDecision("doc", (because("searched_documents"),), 0.9, hits=[unrelated, used, same_document])

    answer = extractive_answer(decision, "食堂几点营业？")

    assert [(s.source, s.location) for s in answer.sources] == [("docs/行政.md", "食堂"), ("docs/行政.md", "停车")]
    assert "研发" not in answer.text and "营业，周末只供应午餐。 [1]" in answer.text and "[3]" not in answer.text


# --- excerpts for a small model's prompt -----------------------------------------------------------

CANTEEN = ("公司成立于1998年，总部位于杭州。员工食堂位于园区二号楼一层，面积约两千平方米。食堂早上7点到晚上7点营业，"
           "节假日另行通知。食堂提供早餐、午餐和晚餐三餐。员工凭工卡就餐，每餐补贴十五元。访客需由员工陪同并使用临时餐卡。")


def hits_of(*texts: str) -> list[SearchHit]:
    return [SearchHit(Passage(text, f"doc{n}.md", "beginning"), 1.0 - n / 10) for n, text in enumerate(texts)]


def test_an_excerpt_is_the_sentence_that_answers_and_its_neighbours_within_the_budget():
    [excerpt] = passage_excerpts("食堂几点营业？", hits_of(CANTEEN), 60)

    assert "食堂早上7点到晚上7点营业，节假日另行通知。" in excerpt
    assert len(excerpt) <= 60 + 2
    assert excerpt.startswith("…") and excerpt.endswith("…")  # what was left out is marked
    assert "公司成立于1998年" not in excerpt


def test_a_passage_within_the_budget_is_given_whole():
    short = "员工食堂早上7点营业。"

    assert passage_excerpts("食堂几点营业？", hits_of(CANTEEN, short), 60)[1] == short


def test_a_sentence_longer_than_the_budget_is_cut_to_the_clauses_around_the_one_that_answers():
    long = ("这份通知讲了很多事情，比如园区里种了很多树，比如停车场在东门外面，然后才说到食堂营业时间是早上七点到晚上七点，"
            "最后又讲了班车的时间表和收费标准以及其他与食堂无关的内容。")

    [excerpt] = passage_excerpts("食堂营业时间是几点？", hits_of(long), 40)

    assert "食堂营业时间是早上七点到晚上七点" in excerpt and len(excerpt) <= 40 + 2
