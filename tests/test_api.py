"""The HTTP API served by `python app.py` beside the web app: OpenAI-compatible chat with the route and
sources in `kb`, the health check, the knowledge status, and bearer-token access. The API's router runs in
process behind FastAPI's TestClient and is called with the `openai` client; one smoke test starts the real app
in a subprocess to show that app.py serves the same API beside the web page."""
from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.answer.service import KnowledgeService
from agent.settings import Settings
from agent.surfaces.api import ChatMessage, api_router, question_and_history
from tests.app_process import AppProcess
from tests.conftest import clear_assistant_env

TOKEN = "api-test-token-0001"
OTHER_TOKEN = "api-test-token-0002"
LLM_KEY = "sk-api-test-llm-key-0003"
GUARDED = {"KB_API_TOKENS": f"{TOKEN}, {OTHER_TOKEN}", "KB_USERS": "alice:pw-alice-0001",
           "KB_LLM_BASE_URL": "http://127.0.0.1:9/v1", "KB_LLM_MODEL": "Qwen2.5-7B-Instruct", "KB_LLM_API_KEY": LLM_KEY}


class Api:
    """The API's router over a KnowledgeService of its own settings, in process."""

    def __init__(self, knowledge: Path, **env: str):
        with pytest.MonkeyPatch.context() as patch:
            clear_assistant_env(patch)
            for name, value in env.items():
                patch.setenv(name, value)
            settings = Settings.from_env(knowledge_dir=knowledge, index_dir=knowledge.parent / "index")
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(api_router(KnowledgeService(settings)))
        self.http = TestClient(app)

    def client(self, token: str = "no-token") -> openai.OpenAI:
        return openai.OpenAI(base_url="http://testserver/v1", api_key=token, max_retries=0, http_client=self.http)

    def get(self, path: str, token: str | None = None) -> tuple[int, dict]:
        response = self.http.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory, company_knowledge) -> Path:
    """The company's knowledge with a broken workbook the service must skip."""
    copy = tmp_path_factory.mktemp("api") / "knowledge"
    shutil.copytree(company_knowledge, copy)
    (copy / "glossary" / "损坏.xlsx").write_bytes(b"not a workbook")
    return copy


@pytest.fixture(scope="module")
def open_app(knowledge):
    """No sign-in and no tokens: the API is open, like the app on 127.0.0.1."""
    return Api(knowledge)


@pytest.fixture(scope="module")
def guarded_app(knowledge):
    """Two API tokens, sign-in on for the UI, and an OpenAI-compatible LLM configured with a key."""
    return Api(knowledge, **GUARDED)


@pytest.fixture(scope="module")
def closed_app(knowledge):
    """Sign-in on for the UI but no API tokens: nobody may use the API."""
    return Api(knowledge, KB_USERS="alice:pw-alice")


# --- chat completions ------------------------------------------------------------------------------


def test_a_glossary_question_is_answered_with_route_and_sources_in_kb(open_app):
    response = open_app.client().chat.completions.create(
        model="kb-test-model", messages=[{"role": "user", "content": "AM是什么意思？"}])

    kb = response.model_extra["kb"]
    assert "客户经理" in response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "kb-test-model"
    assert kb["route"] == "term" and kb["llm"] == "none"
    assert kb["reason"] and 0 < kb["confidence"] <= 1 and kb["latency_ms"] >= 0
    assert "glossary/公司术语表.xlsx" in [s["source"] for s in kb["sources"]]
    assert {"source", "location", "score", "text"} <= set(kb["sources"][0])


def test_a_faq_question_takes_the_fact_route_with_the_faq_answer(open_app):
    response = open_app.client().chat.completions.create(
        model="kb", messages=[{"role": "user", "content": "几号发工资"}])

    assert "每月10日发放上月工资" in response.choices[0].message.content
    assert response.model_extra["kb"]["route"] == "fact"
    assert response.model_extra["kb"]["sources"][0]["source"] == "faq/员工常见问题.xlsx"


def test_only_the_last_user_message_is_the_question(open_app):
    response = open_app.client().chat.completions.create(model="kb", messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "几号发工资"},
        {"role": "assistant", "content": "每月10日发放上月工资。"},
        {"role": "user", "content": "KPI是什么意思？"},
    ])

    assert response.model_extra["kb"]["route"] == "term"
    assert "关键绩效指标" in response.choices[0].message.content
    assert "工资" not in response.choices[0].message.content


def test_a_streamed_answer_adds_up_to_the_whole_answer_and_ends_with_kb(open_app):
    client = open_app.client()
    messages = [{"role": "user", "content": "AM是什么意思？"}]
    whole = client.chat.completions.create(model="kb-stream", messages=messages)

    chunks = list(client.chat.completions.create(model="kb-stream", messages=messages, stream=True))

    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert all(c.model == "kb-stream" for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert chunks[-1].model_extra["kb"]["route"] == "term"
    assert chunks[-1].model_extra["kb"]["sources"] == whole.model_extra["kb"]["sources"]
    assert all(c.model_extra.get("kb") is None for c in chunks[:-1])


def test_concurrent_requests_are_all_answered(open_app):
    client = open_app.client()
    questions = ["AM是什么意思？", "几号发工资", "KPI是什么意思？", "忘记密码怎么办？"] * 2

    def ask(question: str) -> str:
        return client.chat.completions.create(model="kb", messages=[{"role": "user", "content": question}]) \
            .model_extra["kb"]["route"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        routes = list(pool.map(ask, questions))

    assert routes == ["term", "fact", "term", "fact"] * 2


def test_a_request_without_a_user_message_is_rejected(open_app):
    with pytest.raises(openai.BadRequestError):
        open_app.client().chat.completions.create(model="kb", messages=[{"role": "system", "content": "hi"}])


def test_history_is_the_user_and_assistant_turns_before_the_last_question():
    messages = [ChatMessage(role="system", content="be brief"), ChatMessage(role="user", content="AM?"),
                ChatMessage(role="assistant", content=[{"type": "text", "text": "客户经理"}]),
                ChatMessage(role="user", content=[{"type": "text", "text": "KAM 呢？"}])]

    question, history = question_and_history(messages)

    assert question == "KAM 呢？"
    assert history == [{"role": "user", "content": "AM?"}, {"role": "assistant", "content": "客户经理"}]


# --- health and status -----------------------------------------------------------------------------


def test_healthz_answers_without_a_token(guarded_app):
    assert guarded_app.get("/healthz") == (200, {"status": "ok"})


def test_status_counts_the_knowledge_and_lists_files_with_errors(open_app):
    status, body = open_app.get("/v1/knowledge/status")

    assert status == 200
    assert (body["terms"], body["faq"]) == (11, 4)
    assert body["passages"] > 0 and body["updated"]
    assert [f["path"] for f in body["files_with_errors"]] == ["glossary/损坏.xlsx"]
    assert body["files_with_errors"][0]["error"]
    assert body["llm"] == "none"


def test_status_names_the_llm_backend_without_its_key(guarded_app):
    status, body = guarded_app.get("/v1/knowledge/status", token=TOKEN)

    assert status == 200
    assert body["llm"] == "openai-compatible:Qwen2.5-7B-Instruct@http://127.0.0.1:9/v1"
    assert LLM_KEY not in json.dumps(body)


# --- access ----------------------------------------------------------------------------------------


def test_every_configured_token_is_accepted(guarded_app):
    for token in (TOKEN, OTHER_TOKEN):
        response = guarded_app.client(token).chat.completions.create(
            model="kb", messages=[{"role": "user", "content": "AM是什么意思？"}])
        assert response.model_extra["kb"]["route"] == "term"


def test_a_wrong_token_is_refused_with_401(guarded_app):
    with pytest.raises(openai.AuthenticationError):
        guarded_app.client("not-the-token").chat.completions.create(
            model="kb", messages=[{"role": "user", "content": "AM是什么意思？"}])


def test_status_without_a_token_is_refused_with_401(guarded_app):
    assert guarded_app.get("/v1/knowledge/status")[0] == 401


def test_with_sign_in_on_and_no_tokens_the_api_is_closed(closed_app):
    with pytest.raises(openai.AuthenticationError):
        closed_app.client("anything").chat.completions.create(
            model="kb", messages=[{"role": "user", "content": "AM是什么意思？"}])
    assert closed_app.get("/v1/knowledge/status", token="anything")[0] == 401
    assert closed_app.get("/healthz")[0] == 200


# --- the real app ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_app_serves_the_guarded_api_beside_the_web_page(knowledge, open_app):
    app = AppProcess(knowledge.parent, knowledge, **GUARDED)  # on the index open_app brought up to date
    try:
        reply = app.client(TOKEN).chat.completions.create(model="kb", messages=[{"role": "user", "content": "AM是什么意思？"}])
        with urllib.request.urlopen(f"{app.url}/", timeout=30) as response:
            page = response.read().decode()

        assert reply.model_extra["kb"]["route"] == "term" and "客户经理" in reply.choices[0].message.content
        assert _status(f"{app.url}/healthz") == 200
        assert _status(f"{app.url}/v1/knowledge/status") == 401  # no token
        assert response.status == 200 and "<html" in page.lower()
        # FastAPI's /docs and /redoc consoles would let anyone on the network call every endpoint by hand.
        assert (_status(f"{app.url}/docs"), _status(f"{app.url}/redoc")) == (404, 404)
        assert LLM_KEY not in app.log_text()
    finally:
        app.stop()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# --- the knowledge owners' endpoints ---------------------------------------------------------------

ADMIN_TOKEN = "api-test-admin-token-0004"
OWNERS = {"KB_API_TOKENS": TOKEN, "KB_ADMIN_TOKENS": ADMIN_TOKEN, "KB_USERS": "alice:pw-alice-0001",
          "KB_ADMINS": "alice"}


@pytest.fixture(scope="module")
def owners_app(tmp_path_factory, company_knowledge):
    """Sign-in on, one reader token and one admin token, on a copy of the knowledge the fixes may change."""
    copy = tmp_path_factory.mktemp("owners") / "knowledge"
    shutil.copytree(company_knowledge, copy)
    return Api(copy, **OWNERS)


def _ask(app: Api, question: str, token: str = TOKEN) -> dict:
    return app.client(token).chat.completions.create(
        model="kb", messages=[{"role": "user", "content": question}]).model_extra["kb"]


def _post(app: Api, path: str, body: dict, token: str = ADMIN_TOKEN) -> tuple[int, dict]:
    response = app.http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def test_each_answer_carries_an_answer_id_that_feedback_names(owners_app):
    kb = _ask(owners_app, "KPI是什么意思？")
    assert len(kb["answer_id"]) == 32
    assert _post(owners_app, "/v1/feedback", {"answer_id": kb["answer_id"], "rating": "up"}, TOKEN) == \
        (200, {"answer_id": kb["answer_id"], "rating": "up"})
    status, body = _post(owners_app, "/v1/feedback", {"answer_id": kb["answer_id"], "rating": "meh"}, TOKEN)
    assert status == 400 and "rating" in body["detail"]
    assert _post(owners_app, "/v1/feedback", {"answer_id": "f" * 32, "rating": "down"}, TOKEN)[0] == 400


def test_a_streamed_answer_is_logged_and_its_last_chunk_carries_the_answer_id(owners_app):
    chunks = list(owners_app.client(TOKEN).chat.completions.create(
        model="kb", messages=[{"role": "user", "content": "FOB是什么意思？"}], stream=True))
    answer_id = chunks[-1].model_extra["kb"]["answer_id"]
    assert answer_id and _post(owners_app, "/v1/feedback", {"answer_id": answer_id, "rating": "down",
                                                            "comment": "想要更详细的解释"}, TOKEN)[0] == 200


def test_unanswered_questions_come_back_grouped_and_a_new_entry_answers_them(owners_app):
    for question in ["班车几点发车？", "班车什么时候出发", "班车几点发车？"]:
        assert _ask(owners_app, question)["abstained"]
    status, body = owners_app.get("/v1/questions?status=unanswered", token=ADMIN_TOKEN)
    assert status == 200
    group = next(g for g in body["groups"] if "班车几点发车？" in g["questions"])
    assert group["count"] == 3 and set(group["questions"]) == {"班车几点发车？", "班车什么时候出发"}
    assert group["candidates"]["decision"]["abstained"] and "faq" in group["candidates"]
    status, fix = _post(owners_app, "/v1/knowledge/faq", {
        "question": "班车几点发车？", "answer": "班车每天早上7:30从地铁站发车。", "similar": ["班车什么时候出发"],
        "answer_ids": group["answer_ids"]})
    assert status == 200 and fix["file"] == "faq/补充问答.xlsx" and fix["fixed"] == 3
    assert fix["now"]["route"] == "fact"
    kb = _ask(owners_app, "班车什么时候出发")
    assert kb["route"] == "fact" and not kb["abstained"] and kb["sources"][0]["source"] == "faq/补充问答.xlsx"
    groups = owners_app.get("/v1/questions?status=unanswered", token=ADMIN_TOKEN)[1]["groups"]
    assert not any("班车几点发车？" in g["questions"] for g in groups)


def test_similar_questions_are_added_to_an_entry_named_by_its_question(owners_app):
    status, fix = _post(owners_app, "/v1/knowledge/faq", {"entry": "忘记密码怎么办？", "similar": ["登录口令想不起来了"]})
    assert status == 200 and fix["now"]["route"] == "fact"
    kb = _ask(owners_app, "登录口令想不起来了")
    assert kb["route"] == "fact" and "手机验证码" in kb["sources"][0]["text"]


def test_a_term_added_over_the_api_answers_at_once(owners_app):
    assert _ask(owners_app, "ESS是什么意思？")["abstained"]
    status, fix = _post(owners_app, "/v1/knowledge/terms",
                        {"abbreviation": "ESS", "english": "Employee Self Service", "chinese": "员工自助服务"})
    assert status == 200 and fix["file"] == "glossary/补充术语.xlsx" and fix["fixed"] >= 1
    kb = _ask(owners_app, "ESS是什么意思？")
    assert kb["route"] == "term" and not kb["abstained"]


@pytest.mark.parametrize("path, body, message", [
    ("/v1/knowledge/faq", {"question": "", "answer": "答案"}, "问题不能为空"),
    ("/v1/knowledge/faq", {"question": "新问题？", "answer": " "}, "答案不能为空"),
    ("/v1/knowledge/faq", {"entry": "没有这个问题", "similar": ["x"]}, "没有问题为"),
    ("/v1/knowledge/terms", {"abbreviation": "ESX"}, "只有一个名称"),
])
def test_a_fix_that_cannot_be_written_is_a_400_with_the_reason(owners_app, path, body, message):
    status, answer = _post(owners_app, path, body)
    assert status == 400 and message in answer["detail"]


@pytest.mark.parametrize("method, path", [("get", "/v1/questions?status=unanswered"), ("post", "/v1/knowledge/faq"),
                                          ("post", "/v1/knowledge/terms")])
def test_with_sign_in_on_only_an_admin_token_reaches_the_knowledge_endpoints(owners_app, method, path):
    body = {"question": "非管理员的问题？", "answer": "不应写入。", "abbreviation": "NOPE", "english": "Not Allowed"}
    for token, expected in ((TOKEN, 403), ("wrong-token", 401), (None, 401)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = owners_app.http.request(method.upper(), path, json=body if method == "post" else None,
                                           headers=headers)
        assert response.status_code == expected, (token, response.text)
    assert _ask(owners_app, "非管理员的问题？")["abstained"]


def test_the_admin_token_may_also_ask(owners_app):
    assert _ask(owners_app, "AM是什么意思？", token=ADMIN_TOKEN)["route"] == "term"


def test_a_corrupt_question_log_never_stops_answers_and_the_status_says_so(tmp_path, company_knowledge):
    copy = tmp_path / "knowledge"
    shutil.copytree(company_knowledge, copy)
    data = tmp_path / "data"
    data.mkdir()
    (data / "memory.sqlite").write_bytes(b"not a database" * 200)
    app = Api(copy, KB_DATA_DIR=str(data))
    kb = _ask(app, "AM是什么意思？")
    assert kb["route"] == "term" and kb["answer_id"] == ""
    status, body = app.get("/v1/knowledge/status")
    assert status == 200 and body["question_log"]["enabled"] and body["question_log"]["error"]
    assert _post(app, "/v1/feedback", {"answer_id": "a" * 32, "rating": "up"})[0] == 503


def test_with_logging_off_answers_carry_no_answer_id(tmp_path, company_knowledge):
    copy = tmp_path / "knowledge"
    shutil.copytree(company_knowledge, copy)
    app = Api(copy, KB_LOG_QUESTIONS="off")
    assert _ask(app, "AM是什么意思？")["answer_id"] == ""
    assert app.get("/v1/knowledge/status")[1]["question_log"] == {"enabled": False, "error": None}
