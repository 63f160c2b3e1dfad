"""A real `python -m agent ingest` killed with SIGKILL at each step of its own sequence (tests/ingest_killed_at.py):
the index on disk always loads and holds the previous knowledge until CURRENT moves and the new after, never a
mix; the next run finishes the work; and no run ever changes a knowledge file. Real workbooks, the real
embedding model, real processes and signals."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.index import store
from agent.index.build import ingest
from agent.index.knowledge_base import KnowledgeBase
from agent.settings import REPO_ROOT, Settings
from tests.ingest_killed_at import STAGES

pytestmark = pytest.mark.usefixtures("no_kb_env")

GLOSSARY_HEADER = ["缩略语", "英文全称", "中文解释"]
OLD_MEANING, NEW_MEANING = "旧版客户经理", "新版客户经理"
NEW_DOCUMENTS = 3
RUN_LIMIT_S = 240
# What the index holds after a kill at each stage: the old knowledge until CURRENT moves, the new after.
HOLDS_AFTER_KILL = {"scanned": "old", "generation-created": "old", "passages-written": "old", "before-publish": "old",
                    "before-pointer-moves": "old", "after-pointer-moves": "new"}


def _document_text(number: int) -> str:
    paragraphs = [f"制度{number}第{part}条：员工出差须提前在系统中提交申请，住宿标准按城市分级执行，编号{number}-{part}。" * 4
                  for part in range(4)]
    return "\n\n".join(paragraphs)


@pytest.fixture(scope="module")
def old_index(tmp_path_factory) -> tuple[Path, dict]:
    """A knowledge folder already indexed (the 'previous' content); the folder is then changed on disk
    (new meaning, new documents) so the next ingest has real work to do. Returns the folder and a
    pristine copy of the old index to start each run from."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("KB_"):
                patch.delenv(name)
        root = tmp_path_factory.mktemp("crash")
        knowledge = root / "knowledge"
        _write_glossary(knowledge, OLD_MEANING)
        (knowledge / "docs").mkdir()
        (knowledge / "docs" / "总则.md").write_text("# 总则\n\n本制度适用于全体员工。\n", encoding="utf-8")
        pristine = root / "pristine-index"
        ingest(Settings.from_env(knowledge_dir=knowledge, index_dir=pristine))
        _write_glossary(knowledge, NEW_MEANING)
        for number in range(NEW_DOCUMENTS):
            (knowledge / "docs" / f"制度{number:02d}.txt").write_text(_document_text(number), encoding="utf-8")
        return knowledge, pristine


def _write_glossary(knowledge: Path, meaning: str) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (GLOSSARY_HEADER, ["AM", "Account Manager", meaning]):
        sheet.append(row)
    (knowledge / "glossary").mkdir(parents=True, exist_ok=True)
    workbook.save(knowledge / "glossary" / "术语.xlsx")


def _knowledge_hashes(knowledge: Path) -> dict[str, str]:
    return {p.relative_to(knowledge).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(knowledge.rglob("*")) if p.is_file()}


def _ingest(knowledge: Path, index: Path, killed_at: str | None = None) -> int:
    """The exit status of `python -m agent ingest`, or of the same run killed at a stage (-9 once it got there)."""
    runner = ["-m", "tests.ingest_killed_at", killed_at] if killed_at else ["-m", "agent"]
    arguments = [] if killed_at else ["ingest"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return subprocess.run([sys.executable, *runner, *arguments, "--knowledge", str(knowledge), "--index", str(index),
                           "--json"], cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=RUN_LIMIT_S).returncode


def _content(index: Path) -> str:
    """'old' or 'new' for an index that loads and holds one version throughout; fails on anything else."""
    kb = KnowledgeBase.load(Settings.from_env(knowledge_dir=index.parent / "unused", index_dir=index))
    meanings = {t.chinese for t in kb.terms}
    sources = {p.source for p in kb.passages}
    new_sources = {f"docs/制度{n:02d}.txt" for n in range(NEW_DOCUMENTS)} | {"docs/总则.md"}
    assert kb.manifest["totals"] == {"terms": len(kb.terms), "faq": len(kb.faq), "chunks": len(kb.passages)}
    assert set(kb.manifest["files"]) == {"glossary/术语.xlsx", *sources}
    assert len(kb.search("员工", k=3)) == min(3, len(kb.passages))  # the lexical index matches the passages
    if meanings == {OLD_MEANING} and sources == {"docs/总则.md"}:
        return "old"
    if meanings == {NEW_MEANING} and sources == new_sources:
        return "new"
    raise AssertionError(f"mixed index: meanings {meanings}, {len(sources)} document sources")


def _fresh_copy(pristine: Path, folder: Path) -> Path:
    index = folder / "index"
    shutil.copytree(pristine, index)
    return index


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_at_each_stage_leaves_an_index_that_loads_with_the_old_or_the_new_content(old_index, tmp_path, stage):
    knowledge, pristine = old_index
    index = _fresh_copy(pristine, tmp_path)
    before = _knowledge_hashes(knowledge)

    status = _ingest(knowledge, index, killed_at=stage)

    assert status == -signal.SIGKILL, f"ingest ended with {status} without reaching the stage {stage}"
    assert _content(index) == HOLDS_AFTER_KILL[stage]
    assert _knowledge_hashes(knowledge) == before


@pytest.mark.slow
def test_the_run_after_a_kill_completes_the_work(old_index, tmp_path):
    knowledge, pristine = old_index
    index = _fresh_copy(pristine, tmp_path)
    assert _ingest(knowledge, index, killed_at="passages-written") == -signal.SIGKILL
    assert _content(index) == "old"

    assert _ingest(knowledge, index) == 0

    assert _content(index) == "new"
    assert [p.name for p in index.glob(f"{store.GENERATION_PREFIX}*")] == [(index / store.POINTER).read_text().strip()]


def test_a_generation_left_by_a_killed_run_is_removed_by_the_next_run_even_with_nothing_to_do(tmp_path, write_workbook):
    knowledge = tmp_path / "knowledge"
    write_workbook(knowledge / "glossary" / "术语.xlsx", {"术语": [GLOSSARY_HEADER, ["AM", "Account Manager", "客户经理"]]})
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index")
    ingest(settings)
    current = (settings.index_dir / store.POINTER).read_text().strip()
    left_behind = settings.index_dir / f"{store.GENERATION_PREFIX}20260101-000000-99999-1"
    left_behind.mkdir()
    (left_behind / "passages.jsonl").write_text('{"text": "half', encoding="utf-8")  # no manifest: never published

    report = ingest(settings)

    assert not report.changed
    assert [p.name for p in settings.index_dir.glob(f"{store.GENERATION_PREFIX}*")] == [current]


def test_ingest_never_modifies_or_deletes_a_knowledge_file(tmp_path, write_workbook):
    knowledge = tmp_path / "knowledge"
    write_workbook(knowledge / "glossary" / "术语.xlsx", {"术语": [GLOSSARY_HEADER, ["AM", "Account Manager", "客户经理"]]})
    write_workbook(knowledge / "faq" / "问答.xlsx", {"FAQ": [["问题", "答案"], ["如何请假？", "在 OA 系统提交。"]]})
    (knowledge / "docs").mkdir()
    (knowledge / "docs" / "制度.md").write_text("# 制度\n\n正文。\n", encoding="utf-8")
    (knowledge / "docs" / "坏文件.pdf").write_bytes(b"not a pdf at all")
    (knowledge / "docs" / "~$锁文件.xlsx").write_bytes(b"lock")
    (knowledge / "docs" / "不支持.exe").write_bytes(b"MZ")
    before = _knowledge_hashes(knowledge)
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index")

    ingest(settings)
    (knowledge / "docs" / "制度.md").unlink()
    before.pop("docs/制度.md")
    ingest(settings)

    assert _knowledge_hashes(knowledge) == before


def test_everything_a_new_pointer_leads_to_is_synced_to_disk_before_the_pointer_moves(tmp_path, monkeypatch):
    """Power loss drops writes still in the page cache. A killed process cannot show that, so this checks
    the order instead: every file and folder of the generation, and the index folder's entry for it, are
    fsynced before CURRENT is replaced."""
    generation = store.new_generation(tmp_path)
    (generation / "lexical").mkdir()
    for relative in ("manifest.json", "passages.jsonl", "lexical/params.index.json"):
        (generation / relative).write_text("{}")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(store.os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                       real_fsync(fd))[-1])
    monkeypatch.setattr(store.os, "replace", lambda a, b: (events.append(("replace", str(b))), real_replace(a, b))[-1])

    store.publish(tmp_path, generation)

    switched = events.index(("replace", str(tmp_path / store.POINTER)))
    synced_before = {path for kind, path in events[:switched] if kind == "fsync"}
    wanted = {str(p) for p in generation.rglob("*")} | {str(generation), str(tmp_path)}
    assert wanted <= synced_before, sorted(wanted - synced_before)
    assert store.current_generation(tmp_path) == generation
