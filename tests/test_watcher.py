"""Live knowledge updates: a real watchdog observer on a real folder re-indexes once per burst of changes,
ignores lock and temporary files, keeps the old index when a re-index fails, and questions asked during a
re-index are answered from the old or the new index, never an error."""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from agent.ingest.watcher import KnowledgeWatcher
from agent.answer.service import KnowledgeService
from agent.settings import Settings

pytestmark = pytest.mark.usefixtures("no_kb_env")

DEBOUNCE_S = 0.5


class RefreshRecorder:
    """A test double for the re-index: records when it was called and the knowledge files it would have seen."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.calls: list[dict[str, int]] = []

    def __call__(self) -> None:
        self.calls.append({p.name: p.stat().st_size for p in self.folder.rglob("*") if p.is_file()})


@pytest.fixture
def watched(tmp_path):
    knowledge = tmp_path / "knowledge"
    (knowledge / "docs").mkdir(parents=True)
    recorder = RefreshRecorder(knowledge)
    watcher = KnowledgeWatcher(knowledge, recorder, debounce_s=DEBOUNCE_S).start()
    yield knowledge, recorder
    watcher.stop()


def _wait_for(condition, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_burst_of_copied_files_brings_one_reindex(watched):
    knowledge, recorder = watched
    for number in range(8):
        (knowledge / "docs" / f"制度{number}.md").write_text(f"# 制度{number}\n\n正文。\n", encoding="utf-8")
        time.sleep(0.05)

    assert _wait_for(lambda: recorder.calls)
    time.sleep(DEBOUNCE_S * 3)
    assert len(recorder.calls) == 1
    assert len(recorder.calls[0]) == 8


def test_lock_files_temporary_files_and_an_index_kept_inside_bring_no_reindex(watched):
    knowledge, recorder = watched
    (knowledge / "index").mkdir()
    (knowledge / "index" / "ingest.lock").write_bytes(b"")  # an index folder kept inside the knowledge folder
    (knowledge / "docs" / "~$术语.xlsx").write_bytes(b"lock")
    (knowledge / "docs" / ".~lock.术语.xlsx#").write_bytes(b"lock")
    (knowledge / "docs" / "下载中.tmp").write_bytes(b"partial")

    time.sleep(DEBOUNCE_S * 4)
    assert recorder.calls == []


def test_a_file_written_in_pieces_is_reindexed_once_at_its_full_size(watched):
    knowledge, recorder = watched
    with open(knowledge / "docs" / "大文件.txt", "wb") as handle:
        for _ in range(6):
            handle.write(b"x" * 100_000)
            handle.flush()
            time.sleep(DEBOUNCE_S * 0.4)

    assert _wait_for(lambda: recorder.calls)
    time.sleep(DEBOUNCE_S * 3)
    assert recorder.calls == [{"大文件.txt": 600_000}]


def test_a_removed_file_brings_a_reindex(watched):
    knowledge, recorder = watched
    document = knowledge / "docs" / "旧制度.md"
    document.write_text("# 旧\n", encoding="utf-8")
    assert _wait_for(lambda: len(recorder.calls) == 1)

    document.unlink()

    assert _wait_for(lambda: len(recorder.calls) == 2)
    assert recorder.calls[1] == {}


def test_a_failing_reindex_does_not_stop_the_watcher(tmp_path):
    knowledge = tmp_path / "knowledge"
    calls = []

    def failing_refresh():  # a test double that fails the first time
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("disk full")
    watcher = KnowledgeWatcher(knowledge, failing_refresh, debounce_s=DEBOUNCE_S).start()
    try:
        (knowledge / "docs").mkdir()
        (knowledge / "docs" / "一.md").write_text("一", encoding="utf-8")
        assert _wait_for(lambda: len(calls) == 1)
        (knowledge / "docs" / "二.md").write_text("二", encoding="utf-8")
        assert _wait_for(lambda: len(calls) == 2)
    finally:
        watcher.stop()


# ---- with the real service ---------------------------------------------------------------------


def _glossary(write_workbook, knowledge: Path, meaning: str, name: str = "术语.xlsx") -> None:
    write_workbook(knowledge / "glossary" / name, {"术语": [["缩略语", "英文全称", "中文解释"],
                                                            ["AM", "Account Manager", meaning]]})


@pytest.fixture
def service(tmp_path, write_workbook):
    knowledge = tmp_path / "knowledge"
    _glossary(write_workbook, knowledge, "旧版客户经理")
    running = KnowledgeService(Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index"))
    yield running
    running.stop_watching()


def test_the_service_watching_its_folder_answers_from_a_dropped_changed_and_removed_glossary(service, write_workbook):
    knowledge = service.settings.knowledge_dir
    service.watch(debounce_s=DEBOUNCE_S)

    _glossary(write_workbook, knowledge, "大客户经理", name="新术语.xlsx")
    assert _wait_for(lambda: len(service.kb.terms) == 2)
    _glossary(write_workbook, knowledge, "新版客户经理")
    assert _wait_for(lambda: {t.chinese for t in service.kb.terms} == {"新版客户经理", "大客户经理"})
    (knowledge / "glossary" / "新术语.xlsx").unlink()
    assert _wait_for(lambda: {t.chinese for t in service.kb.terms} == {"新版客户经理"})
    assert "新版客户经理" in service.ask("AM是什么意思？").text


def test_a_failed_reindex_keeps_the_old_index_and_records_why(service, write_workbook):
    knowledge = service.settings.knowledge_dir
    service.settings = dataclasses.replace(service.settings, embedder="sentence_transformers",
                                           embedding_model=str(knowledge / "no-such-model"))
    service.watch(debounce_s=DEBOUNCE_S)

    _glossary(write_workbook, knowledge, "新版客户经理")
    (knowledge / "docs").mkdir()
    (knowledge / "docs" / "制度.md").write_text("# 制度\n\n新制度正文。\n", encoding="utf-8")  # needs the embedding model

    assert _wait_for(lambda: service.last_refresh_error is not None)
    assert "KB_EMBEDDING_MODEL" in service.last_refresh_error
    assert "旧版客户经理" in service.ask("AM是什么意思？").text


def test_questions_asked_during_a_reindex_are_answered_from_the_old_or_the_new_index(service, write_workbook):
    knowledge = service.settings.knowledge_dir
    answers: list[str] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def ask_in_a_loop():
        while not done.is_set():
            try:
                answers.append(service.ask("AM是什么意思？").text)
                time.sleep(0.001)  # leave the re-index some of the interpreter
            except BaseException as exc:  # any error at all fails the test
                errors.append(exc)

    asker = threading.Thread(target=ask_in_a_loop)
    asker.start()
    try:
        _glossary(write_workbook, knowledge, "新版客户经理")
        (knowledge / "docs").mkdir()
        (knowledge / "docs" / "制度.md").write_text("# 制度\n\n客户经理负责售后工单。\n", encoding="utf-8")
        service.refresh()
        time.sleep(0.3)
    finally:
        done.set()
        asker.join()

    assert errors == []
    assert all(("旧版客户经理" in a) != ("新版客户经理" in a) for a in answers)
    assert "旧版客户经理" in answers[0] and "新版客户经理" in answers[-1]
    print(f"{len(answers)} answers during the re-index, 0 errors")  # counted in docs/reliability.md
