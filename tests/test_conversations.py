"""Conversations in a real database, an SQLite file and PostgreSQL alike (tests/storage_backends.py): kept per
owner, in order, across a new process's connection; a forged or foreign id is not found; two writers never lose
a turn; old ones are forgotten; 0 days stores none."""
from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from agent.memory.conversations import (MAX_TITLE_CHARS, MAX_TURNS, ConversationFull, ConversationNotFound,
                                        Conversations)
from agent.memory.database import MemoryDatabase
from agent.records import Answer, Source
from agent.settings import Settings
from tests.storage_backends import database_url  # noqa: F401  (the fixture: each test on SQLite and PostgreSQL)

pytestmark = pytest.mark.usefixtures("no_kb_env")

ALICE, BOB = "user:alice", "user:bob"


def _settings(tmp_path, **changes) -> Settings:
    return dataclasses.replace(Settings.from_env(tmp_path / "knowledge", tmp_path / "index"), **changes)


@pytest.fixture
def conversations(tmp_path, database_url) -> Conversations:  # noqa: F811
    return Conversations(MemoryDatabase(tmp_path / "data", database_url), _settings(tmp_path))


def _answer(text: str = "AM：Account Manager，客户经理", **fields) -> Answer:
    return Answer(text, "term", "asks what the glossary term AM means", 0.97,
                  [Source("glossary/术语.xlsx", "缩略语 row 3", 1.0, "AM | Account Manager | 客户经理")], 3.2, **fields)


def test_a_conversation_is_titled_by_its_first_question_and_keeps_its_turns_in_order(conversations):
    conversation = conversations.start(ALICE, "AM是什么意思？")
    conversations.add_turn(ALICE, conversation, "AM是什么意思？", _answer())
    conversations.add_turn(ALICE, conversation, "那KAM呢？", _answer("KAM：Key Account Manager"))

    assert [c.title for c in conversations.summaries(ALICE)] == ["AM是什么意思？"]
    turns = conversations.turns(ALICE, conversation)
    assert [t.question for t in turns] == ["AM是什么意思？", "那KAM呢？"]
    assert turns[0].answer == _answer()  # sources, reason and confidence come back as they were


def test_conversations_survive_a_new_database_connection(tmp_path, database_url):  # noqa: F811
    first = Conversations(MemoryDatabase(tmp_path / "data", database_url), _settings(tmp_path))
    conversation = first.start(ALICE, "年假怎么申请")
    first.add_turn(ALICE, conversation, "年假怎么申请", _answer(answer_id="a1"))

    again = Conversations(MemoryDatabase(tmp_path / "data", database_url), _settings(tmp_path))  # as after a restart
    assert again.turns(ALICE, conversation)[0].answer.answer_id == "a1"


def test_the_database_lives_in_the_data_folder_beside_the_index_not_in_the_repository(tmp_path):
    settings = _settings(tmp_path)
    Conversations(MemoryDatabase(settings.data_dir), settings).start(ALICE, "q")
    assert (tmp_path / "index-data" / "memory.sqlite").is_file()


def test_each_owner_sees_only_their_own_conversations(conversations):
    mine = conversations.start(ALICE, "我的问题")
    conversations.start(BOB, "他的问题")
    assert [c.id for c in conversations.summaries(ALICE)] == [mine]


@pytest.mark.parametrize("action", ["turns", "add_turn", "rename", "delete"])
def test_someone_elses_conversation_is_not_found_for_any_action(conversations, action):
    theirs = conversations.start(BOB, "他的问题")
    arguments = {"turns": (), "add_turn": ("q", _answer()), "rename": ("新标题",), "delete": ()}[action]
    with pytest.raises(ConversationNotFound):
        getattr(conversations, action)(ALICE, theirs, *arguments)
    assert conversations.summaries(BOB)[0].title == "他的问题"


@pytest.mark.parametrize("forged", ["", "0" * 32, "x' OR '1'='1", "../../etc/passwd", "会话" * 1000])
def test_a_forged_conversation_id_is_not_found(conversations, forged):
    conversations.start(ALICE, "q")
    with pytest.raises(ConversationNotFound):
        conversations.turns(ALICE, forged)


def test_rename_keeps_a_title_on_one_line_and_refuses_an_empty_one(conversations):
    conversation = conversations.start(ALICE, "q")
    assert conversations.rename(ALICE, conversation, "  差旅\n报销  ") == "差旅 报销"
    with pytest.raises(ValueError):
        conversations.rename(ALICE, conversation, "   ")
    assert conversations.summaries(ALICE)[0].title == "差旅 报销"


def test_a_long_first_question_gives_a_short_title(conversations):
    conversations.start(ALICE, "长" * 10_000)
    assert len(conversations.summaries(ALICE)[0].title) == MAX_TITLE_CHARS


def test_a_turn_of_ten_thousand_characters_is_kept_whole(conversations):
    conversation = conversations.start(ALICE, "长问题")
    conversations.add_turn(ALICE, conversation, "问" * 10_000, _answer("答" * 10_000))
    turn = conversations.turns(ALICE, conversation)[0]
    assert len(turn.question) == 10_000 and len(turn.answer.text) == 10_000


def test_deleting_a_conversation_deletes_its_turns(conversations):
    conversation = conversations.start(ALICE, "q")
    conversations.add_turn(ALICE, conversation, "q", _answer())
    conversations.delete(ALICE, conversation)
    assert conversations.summaries(ALICE) == []
    assert conversations.database.read("SELECT COUNT(*) AS n FROM conversation_turns")[0]["n"] == 0


def test_the_most_recently_used_conversation_is_listed_first(conversations):
    older = conversations.start(ALICE, "旧的")
    newer = conversations.start(ALICE, "新的")
    time.sleep(0.01)
    conversations.add_turn(ALICE, older, "再问一句", _answer())
    assert [c.id for c in conversations.summaries(ALICE)] == [older, newer]


def test_two_tabs_writing_to_one_conversation_lose_no_turn(tmp_path, database_url):  # noqa: F811
    database = MemoryDatabase(tmp_path / "data", database_url)  # a connection per thread, as the app's workers have
    conversations = Conversations(database, _settings(tmp_path))
    conversation = conversations.start(ALICE, "q")

    def tab(name: str) -> None:
        for number in range(25):
            conversations.add_turn(ALICE, conversation, f"{name} {number}", _answer())

    threads = [threading.Thread(target=tab, args=(name,)) for name in ("tab1", "tab2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    questions = [t.question for t in conversations.turns(ALICE, conversation)]
    assert len(questions) == 50
    for name in ("tab1", "tab2"):  # each tab's turns in the order it asked them
        assert [q for q in questions if q.startswith(name)] == [f"{name} {n}" for n in range(25)]


def test_a_conversation_of_two_hundred_turns_is_kept_and_a_full_one_is_refused(conversations, monkeypatch):
    conversation = conversations.start(ALICE, "q")
    for number in range(200):
        conversations.add_turn(ALICE, conversation, f"问题 {number}", _answer())
    assert len(conversations.turns(ALICE, conversation)) == 200

    monkeypatch.setattr("agent.memory.conversations.MAX_TURNS", 200)
    with pytest.raises(ConversationFull):
        conversations.add_turn(ALICE, conversation, "第201个", _answer())
    assert len(conversations.turns(ALICE, conversation)) == 200
    assert MAX_TURNS >= 200


def test_conversations_older_than_the_retention_are_forgotten(tmp_path, database_url):  # noqa: F811
    conversations = Conversations(MemoryDatabase(tmp_path / "data", database_url), _settings(tmp_path, history_days=30))
    old = conversations.start(ALICE, "旧的")
    conversations.add_turn(ALICE, old, "旧的", _answer())
    recent = conversations.start(ALICE, "新的")
    with conversations.database.transaction() as db:
        db.execute("UPDATE conversations SET updated = :when WHERE id = :id", {"when": time.time() - 31 * 86400, "id": old})
    assert [c.id for c in conversations.summaries(ALICE)] == [recent]
    assert conversations.database.read("SELECT COUNT(*) AS n FROM conversation_turns")[0]["n"] == 0


def test_zero_history_days_stores_nothing(tmp_path):
    conversations = Conversations(MemoryDatabase(tmp_path / "data"), _settings(tmp_path, history_days=0))
    assert not conversations.enabled
    assert not (tmp_path / "data").exists()


def test_an_answer_stored_by_a_newer_version_still_loads(conversations):
    conversation = conversations.start(ALICE, "q")
    conversations.add_turn(ALICE, conversation, "q", _answer())
    newer = {"sqlite": "json_set(answer, '$.future_field', 1, '$.sources[0].future', 2)",
             "postgresql": "jsonb_set(answer::jsonb || '{\"future_field\": 1}', '{sources,0,future}', '2')::text"}
    with conversations.database.transaction() as db:
        db.execute(f"UPDATE conversation_turns SET answer = {newer[conversations.database.dialect]}")
        assert "future" in db.execute("SELECT answer FROM conversation_turns").scalar_one()
    assert conversations.turns(ALICE, conversation)[0].answer == _answer()
