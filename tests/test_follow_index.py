"""A replica that only reads the index serves a generation another process published, without a restart."""
import time

import openpyxl
import pytest

from agent.settings import Settings
from tests.conftest import clear_assistant_env


def write_faq(path, rows):
    book = openpyxl.Workbook()
    book.active.append(["问题", "答案"])
    for row in rows:
        book.active.append(row)
    book.save(path)


@pytest.fixture
def replicas(tmp_path):
    faq = tmp_path / "knowledge" / "faq" / "问答.xlsx"
    faq.parent.mkdir(parents=True)
    write_faq(faq, [["班车几点发车？", "早上7:30从园区东门发车。"]])
    with pytest.MonkeyPatch.context() as patch:
        clear_assistant_env(patch)
        from agent.answer.service import KnowledgeService

        settings = Settings.from_env(knowledge_dir=tmp_path / "knowledge", index_dir=tmp_path / "index")
        indexer, replica = KnowledgeService(settings), KnowledgeService(settings)
        assert replica.ask("班车几点发车？").route == "fact"
        yield indexer, replica, faq
        replica.stop_watching()


def test_a_replica_switches_to_the_generation_another_process_published(replicas):
    indexer, replica, faq = replicas
    assert replica.switch_if_published() is False  # nothing new yet

    write_faq(faq, [["班车几点发车？", "早上7:30从园区东门发车。"], ["食堂几点开门？", "早上7点到晚上7点。"]])
    indexer.refresh()

    assert replica.switch_if_published() is True
    assert replica.kb.generation == indexer.kb.generation
    assert "晚上7点" in replica.ask("食堂几点开门？").text


def test_following_serves_a_new_generation_within_seconds(replicas):
    indexer, replica, faq = replicas
    replica.follow(every_s=0.2)
    write_faq(faq, [["班车几点发车？", "早上8:00从园区东门发车。"]])
    indexer.refresh()
    published = time.monotonic()

    while replica.kb.generation != indexer.kb.generation and time.monotonic() - published < 10:
        time.sleep(0.1)

    assert replica.kb.generation == indexer.kb.generation, "the replica did not switch within 10 s"
    assert "8:00" in replica.ask("班车几点发车？").text
