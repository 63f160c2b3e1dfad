"""Replicas that only read the index (KB_INDEX_MODE=follow): a replica builds no generation of its own, waits for
the one the indexer publishes, and a re-index asked of it (after a fix) waits until the indexer has published the
knowledge folder as it is now. `python -m agent ingest --watch` is that indexer."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time

import openpyxl
import pytest

from agent.index import store
from agent.index.build import ingest
from agent.settings import REPO_ROOT, Settings
from tests.replica_cluster import wait_for

pytestmark = pytest.mark.usefixtures("no_kb_env")


def write_faq(path, rows):
    book = openpyxl.Workbook()
    book.active.append(["问题", "答案"])
    for row in rows:
        book.active.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _settings(tmp_path) -> Settings:
    settings = Settings.from_env(tmp_path / "knowledge", tmp_path / "index")
    return dataclasses.replace(settings, index_mode="follow")


def _generations(index_dir):
    return sorted(path.name for path in index_dir.glob(f"{store.GENERATION_PREFIX}*"))


def test_a_replica_builds_nothing_and_serves_the_generation_the_indexer_publishes(tmp_path):
    from app import published_index_service

    faq = tmp_path / "knowledge" / "faq" / "问答.xlsx"
    write_faq(faq, [["班车几点发车？", "早上7:30从园区东门发车。"]])
    settings = _settings(tmp_path)
    started: list = []
    replica = threading.Thread(target=lambda: started.append(published_index_service(settings)), daemon=True)
    replica.start()
    time.sleep(1.0)
    assert replica.is_alive() and not _generations(settings.index_dir)  # waiting, not indexing

    ingest(settings)  # the indexer
    replica.join(timeout=30)
    [service] = started
    assert service.kb.generation == store.current_generation(settings.index_dir)
    assert service.ask("班车几点发车？").route == "fact"

    write_faq(faq, [["班车几点发车？", "早上8:00从园区东门发车。"]])
    before = _generations(settings.index_dir)
    service.switch_if_published()
    assert _generations(settings.index_dir) == before  # a changed file is the indexer's to publish
    ingest(settings)
    assert service.switch_if_published() and "8:00" in service.ask("班车几点发车？").text


def test_a_replicas_reindex_waits_for_the_indexer_to_publish_the_folder_as_it_is_now(tmp_path):
    from app import published_index_service

    faq = tmp_path / "knowledge" / "faq" / "问答.xlsx"
    write_faq(faq, [["班车几点发车？", "早上7:30从园区东门发车。"]])
    settings = _settings(tmp_path)
    ingest(settings)
    service = published_index_service(settings)

    write_faq(faq, [["班车几点发车？", "早上7:30从园区东门发车。"], ["食堂几点开门？", "早上7点到晚上7点。"]])
    indexer = threading.Timer(1.0, ingest, args=(settings,))
    indexer.start()
    asked = time.monotonic()
    report = service.refresh()  # as a fix from 待完善 does
    waited = time.monotonic() - asked
    indexer.join()

    assert report.changed and report.totals["faq"] == 2 and waited >= 0.9
    assert "晚上7点" in service.ask("食堂几点开门？").text


def test_the_indexer_publishes_a_new_generation_when_a_knowledge_file_changes(tmp_path):
    faq = tmp_path / "knowledge" / "faq" / "问答.xlsx"
    write_faq(faq, [["班车几点发车？", "早上7:30从园区东门发车。"]])
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")} | {"KB_WATCH_DEBOUNCE_S": "0.3"}
    log = open(tmp_path / "indexer.log", "w")
    indexer = subprocess.Popen([sys.executable, "-m", "agent", "ingest", "--watch", "--knowledge",
                                str(tmp_path / "knowledge"), "--index", str(tmp_path / "index")],
                               cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        first = wait_for(lambda: _current(tmp_path / "index"), 120)
        write_faq(faq, [["班车几点发车？", "早上8:00从园区东门发车。"]])
        second = wait_for(lambda: (g := _current(tmp_path / "index")) != first and g, 60)
        assert second != first
    finally:
        indexer.terminate()
        indexer.wait(timeout=20)
        log.close()


def _current(index_dir):
    try:
        return store.current_generation(index_dir).name
    except store.IndexMissing:
        return None


def test_an_unknown_index_mode_stops_start_up_naming_the_setting(tmp_path, monkeypatch):
    from agent.settings import ConfigError

    monkeypatch.setenv("KB_INDEX_MODE", "replica")
    with pytest.raises(ConfigError, match="KB_INDEX_MODE='replica' is not one of build, follow"):
        Settings.from_env(tmp_path / "knowledge", tmp_path / "index")
    monkeypatch.setenv("KB_INDEX_MODE", "Follow")
    assert Settings.from_env(tmp_path / "knowledge", tmp_path / "index").index_mode == "follow"
