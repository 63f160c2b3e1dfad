"""The question log on a real database, an SQLite file and PostgreSQL alike (tests/storage_backends.py): what a
row holds, feedback, retention, no user names on request, no secret ever written, and a database that fails never
stopping an answer."""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from agent.memory.database import MemoryDatabase, MemoryUnavailable
from agent.memory.question_log import ANONYMOUS, QuestionLog
from agent.records import Answer, Source
from agent.settings import Settings
from tests.storage_backends import database_url  # noqa: F401  (the fixture: each test on SQLite and PostgreSQL)

TOKEN = "tok-question-log-0001"
LLM_KEY = "sk-question-log-llm-key-0002"


def _settings(tmp_path: Path, **changes) -> Settings:
    base = Settings(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index", embedding_model="",
                    dense_weight="auto", max_file_mb=50, chunk_size=300, chunk_overlap=60, data_dir=tmp_path / "data",
                    api_tokens=(TOKEN,), llm_api_key=LLM_KEY, users=(("alice", "pw-alice-secret"),))
    return replace(base, **changes)


def _answer(**changes) -> Answer:
    answer = Answer("每月10日发放上月工资。", "fact", "matches the FAQ question “工资什么时候发？”", 0.91,
                    [Source("faq/员工常见问题.xlsx", "FAQ row 3", 0.91, "每月10日发放")], latency_ms=12.5,
                    llm="none", rewritten="工资什么时候发？")
    for name, value in changes.items():
        setattr(answer, name, value)
    return answer


@pytest.fixture
def question_log(tmp_path, database_url) -> QuestionLog:  # noqa: F811
    settings = _settings(tmp_path)
    return QuestionLog(MemoryDatabase(settings.data_dir, database_url), settings)


def test_a_logged_answer_keeps_how_it_was_answered(question_log):
    answer = _answer()
    answer_id = question_log.record("几号发工资", answer, user="alice", conversation_id="c1")
    assert answer_id and answer.answer_id == answer_id
    [row] = question_log.rows()
    assert (row.user, row.question, row.rewritten, row.route, row.confidence, row.abstained, row.llm) == \
        ("alice", "几号发工资", "工资什么时候发？", "fact", 0.91, False, "none")
    assert row.sources == [{"source": "faq/员工常见问题.xlsx", "location": "FAQ row 3", "score": 0.91}]
    assert row.latency_ms == 12.5 and row.conversation_id == "c1" and row.rating is None


def test_the_sqlite_file_lives_in_the_data_folder(tmp_path):
    settings = _settings(tmp_path)
    QuestionLog(MemoryDatabase(settings.data_dir), settings).record("几号发工资", _answer())
    assert (settings.data_dir / "memory.sqlite").is_file()


def test_feedback_is_stored_and_a_later_rating_replaces_the_earlier(question_log):
    answer_id = question_log.record("几号发工资", _answer(), user="alice")
    question_log.feedback(answer_id, "up")
    question_log.feedback(answer_id, "down", "金额不对")
    [row] = question_log.rows()
    assert (row.rating, row.comment) == ("down", "金额不对")


def test_feedback_refuses_a_bad_rating_or_an_unknown_answer(question_log):
    answer_id = question_log.record("几号发工资", _answer())
    with pytest.raises(ValueError, match="rating"):
        question_log.feedback(answer_id, "meh")
    with pytest.raises(ValueError, match="no logged answer"):
        question_log.feedback("0" * 8, "up")


def test_without_user_names_everyone_is_anonymous(tmp_path, database_url):  # noqa: F811
    settings = _settings(tmp_path, log_user_names=False)
    log = QuestionLog(MemoryDatabase(settings.data_dir, database_url), settings)
    log.record("几号发工资", _answer(), user="alice")
    assert log.rows()[0].user == ANONYMOUS


def test_logging_off_writes_nothing(tmp_path):
    settings = _settings(tmp_path, log_questions=False)
    log = QuestionLog(MemoryDatabase(settings.data_dir), settings)
    answer = _answer()
    assert log.record("几号发工资", answer) == "" and answer.answer_id == ""
    assert not (settings.data_dir / "memory.sqlite").exists()


def test_no_key_token_or_password_reaches_the_database(question_log):
    question = f"我的令牌 {TOKEN} 和密钥 {LLM_KEY} 以及 sk-abcdefghijklmnopqrstuv 还有 pw-alice-secret 能用吗"
    answer_id = question_log.record(question, _answer(reason=f"reason mentions {LLM_KEY}"), user="alice")
    question_log.feedback(answer_id, "down", f"token {TOKEN}")
    database = question_log.database
    if database.path is not None:  # the file's bytes, journal included
        raw = Path(database.path).read_bytes() + b"".join(
            p.read_bytes() for p in database.path.parent.glob("memory.sqlite-*"))
    else:  # every value of every row the server holds
        raw = repr(database.read("SELECT * FROM questions")).encode()
    for secret in (TOKEN, LLM_KEY, "sk-abcdefghijklmnopqrstuv", "pw-alice-secret"):
        assert secret.encode() not in raw
    assert "***" in question_log.rows()[0].question


def test_rows_older_than_the_retention_are_deleted(tmp_path, database_url):  # noqa: F811
    settings = _settings(tmp_path, log_days=30)
    log = QuestionLog(MemoryDatabase(settings.data_dir, database_url), settings)
    old, new = log.record("去年的问题", _answer()), log.record("今天的问题", _answer())
    with log.database.transaction() as connection:
        connection.execute("UPDATE questions SET asked_at = :when WHERE id = :id",
                           {"when": time.time() - 31 * 86400, "id": old})
    assert log.purge() == 1
    assert [row.id for row in log.rows()] == [new]


def test_a_locked_database_never_stops_an_answer(tmp_path):
    settings = _settings(tmp_path)
    database = MemoryDatabase(settings.data_dir)
    log = QuestionLog(database, settings)
    log.record("先建表", _answer())
    blocker = sqlite3.connect(database.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        import agent.memory.database as module

        original, module.BUSY_TIMEOUT_S = module.BUSY_TIMEOUT_S, 0.2
        try:
            other = QuestionLog(MemoryDatabase(settings.data_dir), settings)
            answer = _answer()
            assert other.record("锁住时的问题", answer) == "" and answer.answer_id == ""
            assert other.error and "locked" in other.error
        finally:
            module.BUSY_TIMEOUT_S = original
    finally:
        blocker.rollback()
        blocker.close()
    assert other.record("解锁后的问题", _answer()) and other.error is None


def test_a_corrupt_database_never_stops_an_answer(tmp_path):
    settings = _settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "memory.sqlite").write_bytes(b"this is not a database" * 100)
    log = QuestionLog(MemoryDatabase(settings.data_dir), settings)
    assert log.record("问题", _answer()) == ""
    assert log.error
    with pytest.raises(MemoryUnavailable):
        log.rows()


def test_threads_logging_at_once_lose_no_row(question_log):
    def ask(n: int) -> None:
        for i in range(10):
            assert question_log.record(f"问题 {n}-{i}", _answer())

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(question_log.rows()) == 40


def test_fixes_are_kept_in_order_and_filtered_by_kind_and_date(question_log):
    question_log.record_fix("faq", "faq/补充问答.xlsx", 2, {"question": "班车几点发车？"}, user="alice")
    question_log.record_fix("term", "glossary/补充术语.xlsx", 2, {"abbreviation": "BU"}, user="bob")
    since = question_log.fixes()[1]["fixed_at"]

    assert [(f["kind"], f["user"], f["row"]) for f in question_log.fixes()] == [("faq", "alice", 2), ("term", "bob", 2)]
    assert [f["content"] for f in question_log.fixes("term")] == [{"abbreviation": "BU"}]
    assert [f["kind"] for f in question_log.fixes(since=since)] == ["term"]


def test_marking_questions_fixed_takes_them_off_the_open_list(question_log):
    ids = [question_log.record(f"问题 {n}", _answer(abstained=True)) for n in range(3)]

    assert question_log.mark_fixed(ids[:2], "faq: faq/补充问答.xlsx row 2") == 2
    assert [row.id for row in question_log.open_rows(0.5, 10)] == [ids[2]]
    assert [row.fix for row in question_log.rows(ids=ids[:1])] == ["faq: faq/补充问答.xlsx row 2"]
