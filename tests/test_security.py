"""Secure by default (issue 27, part 1): each hole is tried with the bad input on the real app, API router, CLI,
SQLite log and knowledge files, and shown closed: the start is refused with one line naming the setting, or the
request is refused before any work is done, and nothing is written or leaks."""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.answer.replies import fenced_passages
from agent.answer.service import KnowledgeService
from agent.memory.database import MemoryDatabase
from agent.memory.question_log import QuestionLog
from agent.memory.review import Review
from agent.records import Answer
from agent.settings import REPO_ROOT, ConfigError, Settings
from agent.surfaces.api import MAX_BODY_BYTES, MAX_MESSAGES, MAX_SIMILAR, MAX_TEXT_CHARS, api_router
from agent.surfaces.exposure import check_exposure
from agent.surfaces.web.access import password_check
from tests.conftest import PLANTED_INSTRUCTION, clear_assistant_env

ASK_TOKEN = "ask-only-token-0000000001"
RATE_TOKEN = "ask-and-feedback-token-0002"
ADMIN_TOKEN = "admin-token-000000000000003"
GOOD_PASSWORD = "correct-horse-battery-staple"
SUPPLEMENTS = ("faq/补充问答.xlsx", "glossary/补充术语.xlsx")
NEW_ENTRY = {"question": "班车几点发车？", "answer": "班车每天早上7:30从地铁站发车。", "similar": ["班车什么时候出发"]}


def _run(args: list[str], stdin: str = "", timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """A program of this repository with only `env` for its settings (no KB_* or key from the shell)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "DASHSCOPE_")) and k != "OPENAI_API_KEY"}
    return subprocess.run([sys.executable, *args], env={**clean, **env}, input=stdin, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT)


def _run_app(knowledge: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """app.py on `knowledge`; every case here must be refused before it listens (today's code would serve, and
    the run would time out)."""
    return _run([str(REPO_ROOT / "app.py"), "--knowledge", str(knowledge), "--index", str(knowledge.parent / "ix"),
                 *args], timeout=30, **env)


def _settings(monkeypatch, tmp_path: Path, **env: str) -> Settings:
    clear_assistant_env(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")


def _hash(password: str) -> str:
    made = _run(["-m", "agent", "hash-password"], stdin=password + "\n")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


# --- listening off this machine -------------------------------------------------------------------------------

def test_the_app_refuses_to_listen_off_this_machine_without_sign_in(tmp_path):
    run = _run_app(tmp_path, "--host", "0.0.0.0")

    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: listening on 0.0.0.0 without sign-in") and "--insecure-open" in line


def test_insecure_open_allows_it_and_is_warned_about_at_start(tmp_path):
    # The knowledge folder is missing, so the start ends right after the checks that would refuse the address.
    run = _run_app(tmp_path / "missing", "--host", "0.0.0.0", "--insecure-open")

    assert "warning: --insecure-open: listening on 0.0.0.0 without sign-in" in run.stderr
    assert "does not exist" in run.stderr and "without sign-in is refused" not in run.stderr


def test_plain_text_passwords_are_refused_off_this_machine(tmp_path):
    run = _run_app(tmp_path, "--host", "0.0.0.0", KB_USERS=f"alice:{GOOD_PASSWORD}")

    assert run.returncode == 2 and "KB_USERS" in run.stderr and "plain-text" in run.stderr
    assert GOOD_PASSWORD not in run.stderr


def test_plain_text_passwords_are_accepted_on_this_machine(monkeypatch, tmp_path):
    settings = _settings(monkeypatch, tmp_path, KB_USERS=f"alice:{GOOD_PASSWORD}")

    assert check_exposure(settings, "127.0.0.1") == []
    assert password_check(settings)("alice", GOOD_PASSWORD)


# --- placeholder secrets ---------------------------------------------------------------------------------------

PLACEHOLDERS = [
    ({"KB_USERS": "alice:change-me,bob:change-me-too"}, "KB_USERS"),  # deploy/env/common.env before issue 27
    ({"KB_USERS": "alice:change-me-before-going-live"}, "KB_USERS"),  # long enough, still a placeholder
    ({"KB_USERS": "alice:pw1,bob:pw2"}, "KB_USERS"),  # the README's example; under 12 characters
    ({"KB_API_TOKENS": "replace-with-a-long-random-token"}, "KB_API_TOKENS"),
    ({"KB_API_TOKENS": "tok1,tok2"}, "KB_API_TOKENS"),
    ({"KB_ADMIN_TOKENS": "admin1"}, "KB_ADMIN_TOKENS"),
    ({"DASHSCOPE_API_KEY": "sk-replace-with-your-dashscope-key"}, "DASHSCOPE_API_KEY"),  # deploy/env/dashscope.env
]


@pytest.mark.parametrize("env, setting", PLACEHOLDERS, ids=[setting + ":" + list(env.values())[0]
                                                             for env, setting in PLACEHOLDERS])
def test_a_placeholder_secret_is_refused_at_start_with_one_line_naming_the_setting(tmp_path, env, setting):
    run = _run_app(tmp_path, **env)

    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: ") and setting in line
    secret = list(env.values())[0].split(":")[-1].split(",")[0]
    assert secret not in line


def test_the_shipped_deploy_files_do_not_start_an_open_or_placeholder_app(tmp_path):
    env = {}
    for line in (REPO_ROOT / "deploy" / "env" / "common.env").read_text(encoding="utf-8").splitlines():
        name, equals, value = line.partition("=")
        if equals and not line.lstrip().startswith("#"):
            env[name.strip()] = value.strip()
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    compose = (REPO_ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8")

    run = _run_app(tmp_path, "--host", "0.0.0.0", **{**env, "KB_KNOWLEDGE_DIR": str(tmp_path)})

    assert run.returncode == 2 and "without sign-in is refused" in run.stderr
    assert "--insecure-open" not in dockerfile + compose


# --- hashed passwords ------------------------------------------------------------------------------------------

def test_hash_password_makes_salted_hashes_that_sign_in_off_this_machine(monkeypatch, tmp_path):
    first, second = _hash(GOOD_PASSWORD), _hash(GOOD_PASSWORD)
    assert first.startswith("$argon2id$") and first != second and GOOD_PASSWORD not in first

    # The hash's own commas (m=65536,t=3,p=4) do not split KB_USERS.
    settings = _settings(monkeypatch, tmp_path, KB_USERS=f"alice:{first},bob:{_hash('bob-' + GOOD_PASSWORD)}",
                         KB_ADMINS="alice")
    check = password_check(settings)

    assert check_exposure(settings, "0.0.0.0") == []
    assert check("alice", GOOD_PASSWORD) and check("bob", "bob-" + GOOD_PASSWORD)
    assert not check("alice", "bob-" + GOOD_PASSWORD) and not check("carol", GOOD_PASSWORD)
    assert not check("alice", first)  # the hash itself is no password


def test_hash_password_refuses_a_short_or_placeholder_password():
    for weak in ("pw1", "change-me-please-later"):
        made = _run(["-m", "agent", "hash-password"], stdin=weak + "\n")
        assert made.returncode == 2 and made.stdout == "" and "12 characters" in made.stderr


def test_a_damaged_hash_is_refused_at_start_naming_the_user(monkeypatch, tmp_path):
    settings = _settings(monkeypatch, tmp_path, KB_USERS="alice:$argon2id$v=19$m=65536,t=3,p=4$not-a-hash")

    with pytest.raises(ConfigError, match="KB_USERS: the password hash of alice"):
        check_exposure(settings, "0.0.0.0")


# --- the API: scopes, network writes, limits -------------------------------------------------------------------

@pytest.fixture(scope="module")
def knowledge(tmp_path_factory, company_knowledge) -> Path:
    """A copy of the company knowledge (with its index, when built) that writes may change."""
    folder = tmp_path_factory.mktemp("secured")
    shutil.copytree(company_knowledge, folder / "knowledge")
    if (company_knowledge.parent / "index").is_dir():
        shutil.copytree(company_knowledge.parent / "index", folder / "index")
    return folder / "knowledge"


class Api:
    """The API router over a service of its own settings, with its own SQLite question log, in process."""

    def __init__(self, knowledge: Path, data: Path, insecure_open: bool = False, **env: str):
        with pytest.MonkeyPatch.context() as patch:
            clear_assistant_env(patch)
            for name, value in env.items():
                patch.setenv(name, value)
            self.settings = Settings.from_env(knowledge_dir=knowledge, index_dir=knowledge.parent / "index")
        self.service = KnowledgeService(self.settings)
        self.log = QuestionLog(MemoryDatabase(data), self.settings)
        self.app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        self.app.include_router(api_router(self.service, self.log.database, insecure_open=insecure_open))

    def client(self, host: str = "testclient", **headers: str) -> TestClient:
        return TestClient(self.app, client=(host, 50000), headers=headers)

    def post(self, path: str, body, token: str | None = None, host: str = "testclient", **headers: str):
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client(host, **headers).post(path, json=body)


def _supplements(knowledge: Path) -> dict[str, bytes | None]:
    """The owners' supplement files as they stand: what a knowledge write would change."""
    return {name: (knowledge / name).read_bytes() if (knowledge / name).is_file() else None for name in SUPPLEMENTS}


@pytest.fixture(scope="module")
def scoped(knowledge, tmp_path_factory):
    """No sign-in for the web app; one token that may only ask, one that may also rate, and an admin token."""
    return Api(knowledge, tmp_path_factory.mktemp("scoped-data"),
               KB_API_TOKENS=f"{ASK_TOKEN}:ask,{RATE_TOKEN}:ask+feedback", KB_ADMIN_TOKENS=ADMIN_TOKEN)


@pytest.fixture(scope="module")
def open_api(knowledge, tmp_path_factory):
    """Neither sign-in nor tokens: the API as `python app.py` serves it on 127.0.0.1."""
    return Api(knowledge, tmp_path_factory.mktemp("open-data"))


def _ask(api: Api, token: str) -> dict:
    response = api.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "KPI是什么意思？"}]}, token)
    assert response.status_code == 200, response.text
    return response.json()["kb"]


def test_a_token_may_do_only_what_its_scopes_allow(scoped, knowledge):
    before = _supplements(knowledge)
    answer_id = _ask(scoped, ASK_TOKEN)["answer_id"]
    rating = {"answer_id": answer_id, "rating": "down", "comment": "不对"}

    refused = scoped.post("/v1/feedback", rating, ASK_TOKEN)
    assert refused.status_code == 403 and "feedback scope" in refused.json()["detail"]
    assert [row.rating for row in scoped.log.rows(ids=[answer_id])] == [None]
    assert scoped.post("/v1/feedback", rating, RATE_TOKEN).status_code == 200
    assert [row.rating for row in scoped.log.rows(ids=[answer_id])] == ["down"]

    for token in (ASK_TOKEN, RATE_TOKEN):
        for path, body in (("/v1/knowledge/faq", NEW_ENTRY), ("/v1/knowledge/terms", {
                "abbreviation": "ESS", "english": "Employee Self Service", "chinese": "员工自助服务"})):
            refused = scoped.post(path, body, token)
            assert refused.status_code == 403 and "admin scope" in refused.json()["detail"]
        assert scoped.client(Authorization=f"Bearer {token}").get("/v1/questions").status_code == 403
    assert _supplements(knowledge) == before


def test_an_admin_token_may_change_the_knowledge(scoped, knowledge):
    response = scoped.post("/v1/knowledge/terms", {"abbreviation": "ESS", "english": "Employee Self Service",
                                                   "chinese": "员工自助服务"}, ADMIN_TOKEN)

    assert response.status_code == 200 and response.json()["file"] == "glossary/补充术语.xlsx"


def test_an_unknown_scope_is_refused_at_start_without_showing_the_token(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="KB_API_TOKENS entry 1") as refused:
        _settings(monkeypatch, tmp_path, KB_API_TOKENS=f"{ASK_TOKEN}:ask+write")
    assert ASK_TOKEN not in str(refused.value)


def test_without_sign_in_knowledge_writes_come_only_from_this_machine(open_api, knowledge):
    before = _supplements(knowledge)
    refused = [open_api.post("/v1/knowledge/faq", NEW_ENTRY),  # another machine
               open_api.post("/v1/knowledge/faq", NEW_ENTRY, host="127.0.0.1", **{"X-Forwarded-For": "10.0.0.7"}),
               open_api.post("/v1/knowledge/terms", {"abbreviation": "OKR", "english": "Objectives and Key Results"},
                             host="192.168.1.20")]

    assert [r.status_code for r in refused] == [403, 403, 403]
    assert "--insecure-open" in refused[0].json()["detail"]
    assert _supplements(knowledge) == before
    assert open_api.client().get("/v1/questions").status_code == 403  # other people's questions stay unread
    assert open_api.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "AM是什么意思"}]}
                         ).status_code == 200  # asking stays open, as the page is


def test_without_sign_in_this_machine_or_insecure_open_may_change_the_knowledge(knowledge, tmp_path):
    local = Api(knowledge, tmp_path / "local")
    assert local.post("/v1/knowledge/faq", {"entry": "忘记密码怎么办？", "similar": ["登录口令想不起来了"]},
                      host="127.0.0.1").status_code == 200
    trusted = Api(knowledge, tmp_path / "trusted", insecure_open=True)
    assert trusted.post("/v1/knowledge/faq", {"entry": "忘记密码怎么办？", "similar": ["账号密码记不得了"]},
                        host="10.0.0.7").status_code == 200


def _logged(api: Api) -> int:
    return len(api.log.rows())


def test_a_body_over_the_limit_is_refused_before_it_is_read_or_answered(open_api):
    before = _logged(open_api)
    question = "AM是什么意思" * (MAX_BODY_BYTES // 10)
    whole = open_api.post("/v1/chat/completions", {"messages": [{"role": "user", "content": question}]})

    def trickle():  # no Content-Length: the body is counted as it arrives
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"A" * 4096
        yield b'"}]}'

    streamed = open_api.client().post("/v1/chat/completions", content=trickle(),
                                      headers={"Content-Type": "application/json"})

    for response in (whole, streamed):
        assert response.status_code == 413 and f"{MAX_BODY_BYTES} bytes" in response.json()["detail"]
    assert _logged(open_api) == before


def test_too_many_messages_are_refused_before_any_answer(open_api):
    before = _logged(open_api)
    messages = [{"role": "user", "content": "AM是什么意思"}] * (MAX_MESSAGES + 1)

    response = open_api.post("/v1/chat/completions", {"messages": messages})

    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "messages"
    assert _logged(open_api) == before


@pytest.mark.parametrize("content", ["长" * 20_001, [{"type": "text", "text": "长" * 20_001}]],
                         ids=["text", "parts"])
def test_an_over_long_message_is_refused_before_any_answer(open_api, content):
    before = _logged(open_api)

    response = open_api.post("/v1/chat/completions", {"messages": [{"role": "user", "content": content}]})

    assert response.status_code == 422 and "20000 characters" in response.text
    assert _logged(open_api) == before


@pytest.mark.parametrize("path, body, field", [
    ("/v1/knowledge/faq", {"entry": "忘记密码怎么办？", "similar": ["再问一次"] * (MAX_SIMILAR + 1)}, "similar"),
    ("/v1/knowledge/faq", {"entry": "忘记密码怎么办？", "similar": ["长" * (MAX_TEXT_CHARS + 1)]}, "similar"),
    ("/v1/knowledge/faq", {"question": "长" * (MAX_TEXT_CHARS + 1), "answer": "答案"}, "question"),
    ("/v1/knowledge/terms", {"abbreviation": "A" * 201, "english": "Too Long"}, "abbreviation"),
    ("/v1/feedback", {"answer_id": "f" * 32, "rating": "down", "comment": "长" * (MAX_TEXT_CHARS + 1)}, "comment"),
])
def test_an_over_long_field_is_refused_with_422_naming_it_and_nothing_is_written(scoped, knowledge, path, body,
                                                                                   field):
    before = _supplements(knowledge)

    response = scoped.post(path, body, ADMIN_TOKEN)

    assert response.status_code == 422 and field in response.json()["detail"][0]["loc"]
    assert _supplements(knowledge) == before


def test_a_caller_without_a_token_learns_nothing_from_the_limits(scoped):
    response = scoped.post("/v1/knowledge/faq", {"entry": "x", "similar": ["y"] * (MAX_SIMILAR + 1)})
    assert response.status_code == 401


# --- passages reach the LLM fenced on the tool path too -------------------------------------------------------

def test_doc_search_gives_the_model_passages_fenced_like_the_direct_path(company_service):
    service = company_service
    assert service.tools.tools  # registers the knowledge tools
    import json

    result = json.loads(service.assistant.function_map["doc_search"].call({"query": "访客 前台 登记"}))
    hits, _, _ = service.router.passages(service.router.understand("访客 前台 登记"), k=5)

    assert result["found"] is True
    assert result["passages"] == fenced_passages(hits)
    assert PLANTED_INSTRUCTION in result["passages"]
    fenced = result["passages"]
    start = fenced.index(PLANTED_INSTRUCTION)
    # The planted ">>>" before the instruction cannot close the fence: the text is still inside one.
    assert fenced.rfind("<<<", 0, start) > fenced.rfind(">>>", 0, start)
    assert not any(PLANTED_INSTRUCTION in json.dumps(value, ensure_ascii=False)
                   for key, value in result.items() if key != "passages")


# --- the CSV export --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("question", ["\t=HYPERLINK(\"http://x.example\")", "\r=1+1", "=1+1", "@SUM(A1)"],
                         ids=["tab", "carriage-return", "equals", "at"])
def test_the_csv_export_keeps_a_cell_that_could_start_a_formula_as_text(tmp_path, question):
    settings = Settings(knowledge_dir=tmp_path / "k", index_dir=tmp_path / "i", embedding_model="",
                        dense_weight="auto", max_file_mb=50, chunk_size=300, chunk_overlap=60,
                        data_dir=tmp_path / "data")
    log = QuestionLog(MemoryDatabase(settings.data_dir), settings)
    log.record(question, Answer("没有找到相关内容。", "doc", "no passage", 0.1, [], abstained=True), user="alice")

    [header, row] = list(csv.reader(io.StringIO(Review(None, log).csv())))

    cell = row[header.index("question")]
    assert cell == "'" + question
