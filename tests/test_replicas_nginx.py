"""Two app replicas behind nginx, both on PostgreSQL, with one indexer (tests/replica_cluster.py): 32 chats at once
while a knowledge file changes and owners add FAQ entries through both replicas. Nothing fails, every rating and
every fix is recorded once, both replicas show the same question log, and both answer from the new generation
within 10 s of its publication."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openpyxl
import pytest

from agent.ingest import supplements
from agent.memory.database import MemoryDatabase
from agent.memory.question_log import QuestionLog
from agent.settings import Settings
from tests.replica_cluster import ADMIN_TOKEN, ReplicaCluster, call, chat, wait_for
from tests.storage_backends import postgres_server

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_kb_env")]

CHATS, ROUNDS = 32, 3
FAQ_FILE = "faq/员工问答.xlsx"
QUESTIONS = ["班车几点发车？", "食堂几点开门？", "年假怎么申请？", "火星基地的门禁几点关闭？"]  # the last one abstains
FIXES = [("打印机卡纸怎么办？", "打开前盖取出卡住的纸，再按继续键。"),  # added through replica 1
         ("访客怎么登记？", "访客在前台出示身份证登记，领取访客卡。")]  # added through replica 2
PUBLISHED_WITHIN_S = 10.0


def write_faq(path, bus_time: str) -> None:
    book = openpyxl.Workbook()
    book.active.append(["问题", "答案"])
    book.active.append(["班车几点发车？", f"早上{bus_time}从园区东门发车。"])
    book.active.append(["食堂几点开门？", "早上7点到晚上7点。"])
    book.active.append(["年假怎么申请？", "在OA系统提交年假申请，由直属上级审批。"])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


@pytest.fixture
def cluster(tmp_path):
    server = postgres_server()
    url, schema = server.new_schema_url()
    knowledge = tmp_path / "knowledge"
    write_faq(knowledge / FAQ_FILE, "7:30")
    running = ReplicaCluster(tmp_path, knowledge, url, replicas=2)
    yield running, url
    running.stop()
    server.drop_schema(schema)


def test_two_replicas_behind_nginx_lose_nothing_and_serve_the_new_generation_within_seconds(cluster, tmp_path):
    cluster, database_url = cluster
    first, second = cluster.replicas
    errors: list[str] = []
    rated: dict[str, str] = {}
    fixes: list[dict] = []
    lock = threading.Lock()

    def one_chat(number: int) -> None:
        for round_number in range(ROUNDS):
            question = QUESTIONS[(number + round_number) % len(QUESTIONS)]
            status, reply = chat(cluster.url, question)
            if status != 200 or not reply["choices"][0]["message"]["content"]:
                with lock:
                    errors.append(f"chat {status}: {reply}")
                continue
            answer_id, rating = reply["kb"]["answer_id"], "up" if number % 2 else "down"
            status, body = call(cluster.url, "/v1/feedback", {"answer_id": answer_id, "rating": rating})
            with lock:
                if status != 200 or not answer_id:
                    errors.append(f"feedback {status}: {body}")
                else:
                    rated[answer_id] = rating

    def add_fix(replica, question: str, answer: str) -> None:
        status, body = call(replica.url, "/v1/knowledge/faq", {"question": question, "answer": answer},
                            token=ADMIN_TOKEN)
        with lock:
            if status != 200 or body.get("refresh_error") or body.get("history_error"):
                errors.append(f"fix {status}: {body}")
            fixes.append(body)

    with ThreadPoolExecutor(CHATS + 4) as pool:
        chats = [pool.submit(one_chat, number) for number in range(CHATS)]
        time.sleep(0.5)  # the chats are under way
        write_faq(cluster.knowledge / FAQ_FILE, "8:00")  # an owner saves the workbook
        changed = (cluster.knowledge / FAQ_FILE).stat()
        owners = [pool.submit(add_fix, replica, *fix) for replica, fix in zip((first, second), FIXES)]
        # Published: the first generation whose record of the workbook is the file as saved now.
        wait_for(lambda: cluster.published_file(FAQ_FILE).get("modified") == changed.st_mtime, 120,
                 cluster.indexer_text)
        published, generation = time.monotonic(), cluster.published_manifest()["created"]
        served_after = {}

        def serving(replica) -> None:  # the generation a replica answers from, as its status says
            wait_for(lambda: call(replica.url, "/v1/knowledge/status")[1]["updated"] >= generation, 60)
            served_after[replica.url] = round(time.monotonic() - published, 2)

        watchers = [pool.submit(serving, replica) for replica in (first, second)]
        for future in [*chats, *owners, *watchers]:
            future.result()

    assert errors == []
    print(f"served the new generation after {served_after} s")
    assert all(seconds <= PUBLISHED_WITHIN_S for seconds in served_after.values()), served_after
    for replica in (first, second):
        assert "8:00" in chat(replica.url, "班车几点发车？")[1]["choices"][0]["message"]["content"]

    settings = Settings.from_env(tmp_path / "knowledge", tmp_path / "index")
    log = QuestionLog(MemoryDatabase(url=database_url), settings)
    rows = {row.id: row for row in log.rows()}
    assert len(rated) == CHATS * ROUNDS
    assert {answer_id: rows[answer_id].rating for answer_id in rated} == rated  # each rating, on its own answer
    recorded = [(fix["content"]["question"], fix["kind"]) for fix in log.fixes()]
    assert sorted(recorded) == sorted((question, "faq") for question, _ in FIXES)  # each fix once
    book = openpyxl.load_workbook(cluster.knowledge / supplements.FAQ_FILE)
    written = [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert sorted(written) == sorted(question for question, _ in FIXES)

    # The same log whichever replica answers: the unanswered questions each one lists are the same groups.
    listed = [call(replica.url, "/v1/questions?limit=200", token=ADMIN_TOKEN)[1]["groups"] for replica in (first,
                                                                                                        second)]
    assert [(g["id"], g["count"]) for g in listed[0]] == [(g["id"], g["count"]) for g in listed[1]]
    assert any(g["question"] == QUESTIONS[-1] for g in listed[0])
    for question, answer in FIXES:  # and both answer each owner's fix
        for replica in (first, second):
            assert answer in chat(replica.url, question)[1]["choices"][0]["message"]["content"]
