"""One decision per question on every path: the CLI, the API, the web chat and the assistant run on its own all
reach KnowledgeService.decide, which decides the question once (Router.route counted), a question a tool
answers without a model included; the tools an LLM calls read the router's parts and never decide again."""
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.answer.router import Router
from agent.answer.service import KnowledgeService
from agent.memory.database import MemoryDatabase
from agent.memory.question_log import QuestionLog
from agent.settings import Settings
from agent.surfaces.api import api_router
from agent.surfaces.cli import main
from agent.surfaces.web.chat import ChatMemory, ChatView, chat_turn
from agent.surfaces.web.labels import labels_for
from tests.conftest import clear_assistant_env

QUESTIONS = ["AM是什么意思？", "年假怎么申请？", "公司的股票代码是多少？", "在产品售后流程里，AM负责哪些事情？", "今天几号？"]


@pytest.fixture
def decisions(monkeypatch) -> list[str]:
    """Every question Router.route decides, in order (the real method is called)."""
    decided: list[str] = []
    route = Router.route

    def counted(self, question, *args, **kwargs):
        decided.append(question)
        return route(self, question, *args, **kwargs)

    monkeypatch.setattr(Router, "route", counted)
    return decided


@pytest.fixture(scope="module")
def service(company_knowledge, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        patch.setenv("KB_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield KnowledgeService(Settings.from_env(knowledge_dir=company_knowledge,
                                                 index_dir=company_knowledge.parent / "index"))


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_cli_decides_once(service, decisions, question, capsys):
    settings = service.settings
    assert main(["ask", question, "--knowledge", str(settings.knowledge_dir), "--index", str(settings.index_dir),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answer"]
    assert decisions == [question]


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_api_decides_once(service, decisions, question):
    app = FastAPI()
    app.include_router(api_router(service))
    response = TestClient(app).post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]})
    assert response.status_code == 200
    assert decisions == [question]


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_web_chat_decides_once(service, decisions, question, tmp_path):
    memory = ChatMemory(None, QuestionLog(MemoryDatabase(tmp_path), service.settings))
    *_, (chat, _) = chat_turn(service, memory, labels_for("zh"), question, [], ChatView(), None, None)
    assert chat[-1]["role"] == "assistant"
    assert decisions == [question]


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_assistant_run_on_its_own_decides_once_as_the_service_does(service, decisions, question):
    *_, last = service.assistant.run([{"role": "user", "content": question}])
    answer = last[-1]["extra"]["answer"]
    assert decisions == [question]
    decisions.clear()
    asked = service.ask(question)
    assert (answer["route"], answer["text"]) == (asked.route, asked.text)


@pytest.mark.parametrize("tool, arguments", [("faq_lookup", {"question": "年假怎么申请？"}),
                                             ("doc_search", {"query": "AM在售后流程里负责什么"}),
                                             ("abbreviation_lookup", {"term": "AM"})])
def test_a_tool_the_llm_calls_does_not_decide_again(service, decisions, tool, arguments):
    from qwen_agent.tools.base import TOOL_REGISTRY

    from agent.answer.tooling import SERVICE

    assert tool in service.tools.tools
    result = json.loads(TOOL_REGISTRY[tool]({SERVICE: service}).call(arguments))

    assert result.get("found") is True
    assert decisions == []
