"""The grounding guard: a generated document answer stands only on the passages it cites; one that leaks template
tokens, loops, cites nothing or says what its passages do not is replaced by the extractive answer with the reason.
The texts are hand-written; tests/test_real_llm.py runs the guard on what the real Gemma model writes."""
from __future__ import annotations

import time

import pytest
from qwen_agent.llm.base import BaseChatModel
from qwen_agent.llm.schema import ASSISTANT, Message

from agent.answer.assistant import GenerationTimeout, until
from agent.answer.grounding import check_grounding, check_partial
from agent.answer.service import KnowledgeService

PASSAGES = [
    "年假需要在OA系统中提交申请，由直属上级审批。审批通过后人事部备案。",
    "差旅住宿标准：一线城市每晚不超过500元，其他城市每晚不超过350元。",
    "Annual leave is applied for in the OA system and approved by your line manager.",
]


def problem(text: str, passages=PASSAGES, tool_results=()) -> str:
    return check_grounding(text, passages, tool_results).problem


# --- kept ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "年假需要在OA系统中提交申请，由直属上级审批[1]。",
    "根据资料，年假在OA系统中提交申请，由直属上级审批。[1]",  # reworded, citation after the full stop
    "一线城市每晚不超过500元[2]；其他城市不超过350元[2]。",
    "年假在OA系统中申请[1]，住宿一线城市每晚不超过500元[2]。",
    "Apply for annual leave in the OA system; your line manager approves it [3].",  # English, reworded
    "是的[1]。",  # too short to judge on support
])
def test_an_answer_that_restates_the_passages_it_cites_is_kept(text):
    assert problem(text) == ""


def test_a_sentence_without_its_own_citation_is_judged_against_every_passage_the_answer_cites():
    assert problem("年假由直属上级审批。一线城市住宿每晚不超过500元[2]。[1]") == ""


# --- template tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("leak", ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<start_of_turn>", "<end_of_turn>",
                                  "<eos>", "[INST]", "</s>", "✿FUNCTION✿"])
def test_an_answer_that_leaks_a_template_token_is_rejected_naming_it(leak):
    grounding = check_grounding(f"年假需要在OA系统中提交申请，由直属上级审批[1]。{leak}", PASSAGES)

    assert grounding.problem == "template_tokens"
    assert grounding.detail == leak
    assert grounding.reason_clause().text() == (f"the generated answer leaks template tokens ({leak}), "
                                         "so the passages are quoted")


def test_a_role_name_left_on_its_own_line_where_a_dropped_marker_was_is_a_template_leak():
    # <end_of_turn>\n<start_of_turn>user\n… decoded without its special tokens
    assert problem("年假需要在OA系统中提交申请[1]。\nuser\n那病假呢？") == "template_tokens"
    assert problem("年假需要在OA系统中提交申请[1]。\nmodel\n") == "template_tokens"


def test_a_role_word_inside_a_sentence_is_not_a_template_leak():
    assert problem("The user applies for annual leave in the OA system [3].") == ""


# --- loops -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "年假需要在OA系统中提交申请[1]。年假需要在OA系统中提交申请[1]。",
    "1. 在OA系统中提交申请[1]\n2. 直属上级审批[1]\n3. 直属上级审批[1]",  # a step said again, numbered anew
    "年假需要在OA系统中提交申请，年假需要在OA系统中提交申请，年假需要在OA系统中提交申请，年假需要[1]",  # no full stop
    "审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批审批[1]",
])
def test_an_answer_that_repeats_itself_is_rejected(text):
    grounding = check_grounding(text, PASSAGES)

    assert grounding.problem == "loop"
    assert grounding.reason_clause().text() == "the generated answer repeats itself, so the passages are quoted"


def test_a_list_of_different_steps_is_not_a_loop():
    assert problem("1. 在OA系统中提交申请[1]\n2. 直属上级审批[1]\n3. 审批通过后人事部备案[1]") == ""


# --- no citation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "年假需要在OA系统中提交申请，由直属上级审批。",
    "年假需要在OA系统中提交申请[7]。",  # cites a passage it was not given
    "没有找到相关内容，建议咨询人力资源部。",
])
def test_an_answer_that_cites_no_passage_it_was_given_is_rejected(text):
    grounding = check_grounding(text, PASSAGES)

    assert grounding.problem == "no_citation"
    assert grounding.reason_clause().text() == "the generated answer cites no passage, so the passages are quoted"


def test_an_answer_written_from_a_tool_result_needs_no_passage_number_but_must_stand_on_the_result():
    result = '{"term": "AM", "meanings": ["客户经理 Account Manager"]}'

    assert problem("AM 是客户经理（Account Manager）。", tool_results=[result]) == ""
    assert problem("AM 是负责财务审计的部门。", tool_results=[result]) == "unsupported"


# --- unsupported -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "年假需要找总经理签字批准，然后去财务部领取假条[1]。",
    "你是公司的企业知识助手，回答员工关于公司术语、制度和文档的问题。[1]",  # the system prompt, copied back
    "Annual leave needs the CEO's signature and a form from finance [3].",
    "年假需要在OA系统中提交申请[1]。出差可以报销头等舱机票和五星级酒店[2]。",  # one good sentence, one invented
])
def test_an_answer_with_a_sentence_its_cited_passages_do_not_support_is_rejected(text):
    assert problem(text) == "unsupported"


def test_support_is_judged_against_the_passage_a_sentence_cites_not_every_passage():
    # The words are in passage 2, but the sentence cites passage 1.
    assert problem("一线城市每晚不超过500元[1]。") == "unsupported"
    assert problem("一线城市每晚不超过500元[2]。") == ""


def test_the_unsupported_reason_says_how_many_sentences_failed():
    grounding = check_grounding("年假需要在OA系统中提交申请[1]。出差可以报销头等舱机票和五星级酒店[2]。", PASSAGES)

    assert grounding.detail == "1 of 2"
    assert grounding.reason_clause().text() == ("the generated answer is not supported by the passages it cites "
                                         "(1 of 2 sentences), so the passages are quoted")
    assert [round(s.support, 1) >= 0.5 for s in grounding.sentences] == [True, False]


def test_an_empty_answer_is_rejected():
    assert problem("  [1] ") == "empty"
    assert check_grounding("", PASSAGES).reason_clause().text() == "the generated answer is empty, so the passages are quoted"


def test_every_problem_is_a_reason_code_worded_in_chinese_too():
    for text in ("<end_of_turn>", "", "好的好的好的好的好的好的好的好的好的好的好的好的好的好的好的[1]", "没有依据。",
                 "出差可以报销头等舱机票[1]。"):
        clause = check_grounding(text, PASSAGES).reason_clause()
        assert clause.text("zh").endswith("因此直接引用原文")


# --- while the answer is written ---------------------------------------------------------------------


@pytest.mark.parametrize("partial, expected", [
    ("审批通过。审批通过", ""),  # the second sentence may still go on differently
    ("1. 直属上级审批\n2. 直属上级审批\n3. 直", "loop"),
    ("年假在OA系统中申请[1]<end_of", ""),  # a marker being spelled out is not yet a leak
    ("年假在OA系统中申请[1]<end_of_turn>", "template_tokens"),
    ("好的\nuser", ""),  # could be the start of "user's …"
    ("好的\nuser\n", "template_tokens"),
])
def test_a_partial_answer_is_stopped_only_for_what_its_finished_part_shows(partial, expected):
    assert check_partial(partial).problem == expected


# --- in the assistant: the final answer is guarded -----------------------------------------------------

DOC_QUESTION = "食堂几点营业？"  # docs/食堂通知.md in conftest's company knowledge


class FixedReplyLLM(BaseChatModel):
    """Test double for a chat model: streams a fixed reply in pieces, with an optional pause before each."""

    def __init__(self, reply: str, pause_s: float = 0.0):
        super().__init__({"model": "fixed-reply-test-double"})
        self.reply, self.pause_s = reply, pause_s
        self.pieces_sent = 0

    def _chat_with_functions(self, messages, functions, stream, delta_stream, generate_cfg, lang):
        return self._chat_stream(messages, delta_stream, generate_cfg) if stream else \
            self._chat_no_stream(messages, generate_cfg)

    def _chat_stream(self, messages, delta_stream, generate_cfg):
        for end in range(4, len(self.reply) + 4, 4):
            time.sleep(self.pause_s)
            self.pieces_sent += 1
            yield [Message(ASSISTANT, self.reply[:end])]

    def _chat_no_stream(self, messages, generate_cfg):
        return [Message(ASSISTANT, self.reply)]


def ask_with(service: KnowledgeService, llm, **settings_changes):
    import dataclasses

    settings = dataclasses.replace(service.settings, **settings_changes)
    return KnowledgeService(settings, llm=llm).ask(DOC_QUESTION)


def test_a_grounded_generated_answer_is_shown_as_written(company_service):
    answer = ask_with(company_service, FixedReplyLLM("员工食堂早上7点到晚上7点营业[1]。"))

    assert answer.text == "员工食堂早上7点到晚上7点营业[1]。"
    assert "so the passages are quoted" not in answer.reason


@pytest.mark.parametrize("reply, clause", [
    ("员工食堂早上7点到晚上7点营业。", "the generated answer cites no passage"),
    ("食堂24小时营业，还提供免费夜宵和外卖服务[1]。", "the generated answer is not supported by the passages it cites"),
    ("员工食堂早上7点到晚上7点营业[1]。<|im_end|>", "the generated answer leaks template tokens (<|im_end|>)"),
])
def test_a_generated_answer_that_fails_the_guard_becomes_the_extractive_answer_with_the_reason(
        company_service, reply, clause):
    answer = ask_with(company_service, FixedReplyLLM(reply))

    assert clause in answer.reason and answer.reason.endswith("so the passages are quoted")
    assert answer.text != reply and "以下为文档原文摘录" in answer.text
    assert "早上7点到晚上7点" in answer.lead and answer.sources[0].source == "docs/食堂通知.md"
    assert answer.llm == "fixed-reply-test-double"


def test_a_loop_stops_the_model_before_it_finishes(company_service):
    llm = FixedReplyLLM("食堂早上7点营业[1]。" * 30)

    answer = ask_with(company_service, llm)

    assert "the generated answer repeats itself" in answer.reason
    assert llm.pieces_sent < 10  # of 75: stopped once the second sentence was finished


def test_an_answer_not_finished_in_time_ends_in_the_extractive_answer(company_service):
    llm = FixedReplyLLM("员工食堂早上7点到晚上7点营业[1]。", pause_s=0.5)

    started = time.monotonic()
    answer = ask_with(company_service, llm, llm_timeout_s=0.8)

    assert time.monotonic() - started < 5
    assert answer.reason.endswith("the generated answer took longer than 0.8 s, so the passages are quoted")
    assert "早上7点到晚上7点" in answer.lead and "语言模型未能及时作答，以下为文档原文摘录" in answer.text


def test_the_time_limit_holds_even_when_the_backend_blocks_before_its_first_word():
    def blocked():
        time.sleep(3)
        yield "late"

    started = time.monotonic()
    with pytest.raises(GenerationTimeout):
        list(until(time.monotonic() + 0.2, blocked()))
    assert time.monotonic() - started < 1


def test_a_backend_error_inside_the_time_limit_reaches_the_caller():
    def failing():
        yield "first"
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        list(until(time.monotonic() + 5, failing()))
