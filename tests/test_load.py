"""Load: 16 concurrent chat sessions through the real app's HTTP API on 127.0.0.1 while knowledge files
change and are re-indexed by the watcher. Every answer must be complete and consistent with either the
old or the new knowledge. The request count is bounded; the p95 latency is printed (pytest -s)."""
from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import _write_workbook
from tests.app_process import AppProcess

SESSIONS = 16
QUESTIONS_PER_SESSION = 12
pytestmark = pytest.mark.slow  # a real app process, sixteen sessions and two re-indexes
NEW_TERM = ["序号", "缩略语", "英文全称", "中文解释"], [1, "QPS", "Queries Per Second", "每秒查询数"]


def _consistent(question: str, route: str, text: str) -> bool:
    """What a correct answer looks like under the old knowledge or the new one."""
    if question.startswith("AM"):
        return route == "term" and "客户经理" in text
    if question.startswith("几号"):
        return route == "fact" and "每月10日" in text
    if question.startswith("QPS"):  # before the new glossary: "no entry"; after: its meaning
        return route == "term" and ("每秒查询数" in text or "术语表中没有“QPS”的条目" in text)
    return route == "doc" and "[1]" in text  # the document question: quoted passages with citations


@pytest.fixture(scope="module")
def watched_app(tmp_path_factory, company_knowledge):
    folder = tmp_path_factory.mktemp("load-app")
    shutil.copytree(company_knowledge, folder / "knowledge")  # the test changes the files
    running = AppProcess(folder, folder / "knowledge", KB_WATCH_DEBOUNCE_S="0.5")
    yield running
    running.stop()


def test_sixteen_sessions_get_complete_consistent_answers_while_files_are_re_indexed(watched_app):
    questions = ["AM是什么意思？", "几号发工资", "在售后流程里，客户经理负责哪些事情？", "QPS是什么意思？"]
    results, errors = [], []
    lock = threading.Lock()

    def session(number: int) -> None:
        client = watched_app.client()
        history = []
        for turn in range(QUESTIONS_PER_SESSION):
            question = questions[(number + turn) % len(questions)]
            started = time.perf_counter()
            try:
                reply = client.chat.completions.create(
                    model="kb", messages=[*history, {"role": "user", "content": question}])
            except Exception as error:  # recorded, then asserted: none may happen
                with lock:
                    errors.append(f"{question}: {type(error).__name__}: {error}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            text, kb = reply.choices[0].message.content, reply.model_extra["kb"]
            with lock:
                results.append((question, kb["route"], text, elapsed, reply.choices[0].finish_reason))
            history = [{"role": "user", "content": question}, {"role": "assistant", "content": text}]

    def change_knowledge() -> None:
        time.sleep(1.0)
        _write_workbook(watched_app.knowledge / "glossary" / "新术语.xlsx", {"术语": list(NEW_TERM)})
        time.sleep(2.0)
        (watched_app.knowledge / "docs" / "新通知.md").write_text("# 通知\n\n食堂周五供应饺子。\n", encoding="utf-8")

    with ThreadPoolExecutor(max_workers=SESSIONS + 1) as pool:
        changer = pool.submit(change_knowledge)
        for future in [pool.submit(session, n) for n in range(SESSIONS)]:
            future.result(timeout=600)
        changer.result()

    assert not errors
    assert len(results) == SESSIONS * QUESTIONS_PER_SESSION
    inconsistent = [(q, r, t[:80]) for q, r, t, _, _ in results if not _consistent(q, r, t)]
    assert not inconsistent
    assert all(finish == "stop" and text.strip() for _, _, text, _, finish in results)
    latencies = np.array([elapsed for *_, elapsed, _ in results])
    print(f"\nload: {len(results)} answers from {SESSIONS} sessions, 0 errors, "
          f"p50 {np.percentile(latencies, 50):.0f} ms, p95 {np.percentile(latencies, 95):.0f} ms")

    deadline = time.monotonic() + 60  # the watcher's re-index lands: the new term answers
    while time.monotonic() < deadline:
        reply = watched_app.client().chat.completions.create(
            model="kb", messages=[{"role": "user", "content": "QPS是什么意思？"}])
        if reply.model_extra["kb"]["route"] == "term":
            break
        time.sleep(1)
    assert "每秒查询数" in reply.choices[0].message.content
