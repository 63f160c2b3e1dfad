"""Bringing an index up to date with a knowledge folder: counts, incremental re-runs, bad files, failed runs,
separate indexes for separate folders, and the `python -m agent ingest` command line. Real workbooks, the
real embedding model, real FAISS and BM25 indexes on disk."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.surfaces.cli import main
from agent.index import store
from agent.index.embedders import Embedder
from agent.index.build import ingest
from agent.ingest.folder import scan_knowledge
from agent.index.knowledge_base import KnowledgeBase
from agent.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.usefixtures("no_kb_env")

GLOSSARY_HEADER = ["序号", "缩略语", "英文全称", "中文解释"]
TRAVEL_POLICY = (
    "# 差旅管理办法\n\n"
    "## 报销时限\n\n差旅费用须在出差结束后十个工作日内提交报销，逾期需部门负责人书面说明。\n\n"
    "## 住宿标准\n\n一线城市住宿每晚不超过六百元，其他城市每晚不超过四百元。\n"
)
SECURITY_RULES = "信息安全规范\n\n办公电脑须设置锁屏密码，离开座位时锁定屏幕。\n\n禁止将客户资料拷贝到个人移动存储设备。\n"
CONTRACT_KEYS = {"path", "kind", "status", "terms", "faq", "chunks", "warnings", "error"}


@pytest.fixture
def knowledge(tmp_path, write_workbook) -> Path:
    """A small knowledge folder: one glossary, one FAQ sheet, two documents."""
    root = tmp_path / "knowledge"
    write_workbook(root / "glossary" / "公司术语.xlsx", {"术语": [
        ["公司术语表"], GLOSSARY_HEADER,
        [1, "AM", "Account Manager", "客户经理"],
        [2, "FTA", "Free Trade Agreement", "自由贸易协定"],
    ]})
    write_workbook(root / "faq" / "常见问题.xlsx", {"FAQ": [
        ["问题", "答案"], ["如何请假？", "在 OA 系统提交请假申请。"], ["如何报销？", "在费控系统提交报销单。"],
    ]})
    (root / "docs").mkdir()
    (root / "docs" / "差旅管理办法.md").write_text(TRAVEL_POLICY, encoding="utf-8")
    (root / "docs" / "信息安全规范.txt").write_text(SECURITY_RULES, encoding="utf-8")
    return root


def settings_for(knowledge: Path) -> Settings:
    return Settings.from_env(knowledge_dir=knowledge, index_dir=knowledge.parent / "index")


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob(f"{store.GENERATION_PREFIX}*"))


def by_path(report) -> dict:
    return {f.path: f for f in report.files}


@pytest.fixture
def parse_spy(monkeypatch) -> list[str]:
    """A spy around the real loaders: records the name of every file handed to one, then calls it."""
    import agent.ingest.documents
    import agent.index.build

    parsed: list[str] = []

    def spying(module, name):
        real = getattr(module, name)

        def spy(path, *args, **kwargs):
            parsed.append(Path(path).name)
            return real(path, *args, **kwargs)
        monkeypatch.setattr(module, name, spy)

    spying(agent.index.build, "load_glossary")
    spying(agent.index.build, "load_faq")
    spying(agent.ingest.documents, "read_sections")
    return parsed


@pytest.fixture
def embed_spy(monkeypatch) -> list[str]:
    """A spy around the real embedder: records every text it is asked to embed, then embeds it."""
    embedded: list[str] = []
    real_encode = Embedder._encode

    def spy(self, texts, *args, **kwargs):
        embedded.extend(texts)
        return real_encode(self, texts, *args, **kwargs)
    monkeypatch.setattr(Embedder, "_encode", spy)
    return embedded


def test_first_run_indexes_every_file_and_counts_terms_faq_and_passages(knowledge):
    settings = settings_for(knowledge)

    report = ingest(settings)

    files = by_path(report)
    assert report.changed
    assert {path: (f.kind, f.status) for path, f in files.items()} == {
        "glossary/公司术语.xlsx": ("glossary", "ok"), "faq/常见问题.xlsx": ("faq", "ok"),
        "docs/差旅管理办法.md": ("doc", "ok"), "docs/信息安全规范.txt": ("doc", "ok"),
    }
    assert (files["glossary/公司术语.xlsx"].terms, files["faq/常见问题.xlsx"].faq) == (2, 2)
    kb = KnowledgeBase.load(settings)
    assert report.totals == {"terms": len(kb.terms), "faq": len(kb.faq), "chunks": len(kb.passages)}
    assert report.totals["terms"] == 2 and report.totals["faq"] == 2
    assert {p.source for p in kb.passages} == {"docs/差旅管理办法.md", "docs/信息安全规范.txt", "faq/常见问题.xlsx"}
    assert files["faq/常见问题.xlsx"].chunks == 2  # each FAQ entry is also a searchable passage
    assert files["docs/差旅管理办法.md"].chunks == sum(p.source == "docs/差旅管理办法.md" for p in kb.passages)


def test_a_rerun_with_nothing_changed_parses_nothing_and_writes_no_new_generation(knowledge, parse_spy, embed_spy):
    settings = settings_for(knowledge)
    first = ingest(settings)
    before = (generations(settings.index_dir), (settings.index_dir / store.POINTER).read_text())
    parse_spy.clear()
    embed_spy.clear()

    again = ingest(settings)

    assert not again.changed
    assert again.totals == first.totals
    assert (generations(settings.index_dir), (settings.index_dir / store.POINTER).read_text()) == before
    assert parse_spy == [] and embed_spy == []


def test_an_added_document_is_the_only_file_parsed_and_embedded(knowledge, parse_spy, embed_spy):
    settings = settings_for(knowledge)
    first = ingest(settings)
    (knowledge / "docs" / "会议室.md").write_text("会议室须提前一天在 OA 系统预订。\n", encoding="utf-8")
    parse_spy.clear()
    embed_spy.clear()

    report = ingest(settings)

    assert parse_spy == ["会议室.md"]
    assert embed_spy == ["会议室须提前一天在 OA 系统预订。"]
    assert report.changes["passages_added"] == 1 and report.changes["passages_removed"] == 0
    assert report.totals["chunks"] == first.totals["chunks"] + 1
    kb = KnowledgeBase.load(settings)
    assert kb.search("会议室预订", k=1)[0].passage.source == "docs/会议室.md"


def test_a_changed_glossary_is_parsed_again_and_its_old_terms_leave(knowledge, write_workbook, parse_spy, embed_spy):
    settings = settings_for(knowledge)
    ingest(settings)
    write_workbook(knowledge / "glossary" / "公司术语.xlsx", {"术语": [
        GLOSSARY_HEADER, [1, "AM", "Account Manager", "客户经理"], [2, "PO", "Purchase Order", "采购订单"],
    ]})
    parse_spy.clear()
    embed_spy.clear()

    report = ingest(settings)

    assert parse_spy == ["公司术语.xlsx"]
    assert embed_spy == ["PO Purchase Order 采购订单"]  # only the new term: every other vector was cached
    assert report.changes["terms_added"] == ["PO / Purchase Order / 采购订单"]
    assert report.changes["terms_removed"] == ["FTA / Free Trade Agreement / 自由贸易协定"]
    assert sorted(t.abbreviation for t in KnowledgeBase.load(settings).terms) == ["AM", "PO"]


def test_a_changed_document_is_embedded_again_while_unchanged_passages_keep_their_vectors(knowledge, embed_spy):
    settings = settings_for(knowledge)
    ingest(settings)
    (knowledge / "docs" / "信息安全规范.txt").write_text("信息安全规范\n\n访客须在前台登记后由员工陪同进入办公区。\n",
                                                        encoding="utf-8")
    embed_spy.clear()

    report = ingest(settings)

    kb = KnowledgeBase.load(settings)
    changed = [p.text for p in kb.passages if p.source == "docs/信息安全规范.txt"]
    assert sorted(embed_spy) == sorted(changed)
    assert all("差旅" not in text and "住宿" not in text for text in embed_spy)
    assert not any("锁屏" in p.text for p in kb.passages)
    assert report.changes["passages_removed"] >= 1
    assert kb.search("访客登记", k=1)[0].passage.source == "docs/信息安全规范.txt"


def test_a_deleted_file_leaves_the_index(knowledge):
    settings = settings_for(knowledge)
    ingest(settings)
    (knowledge / "faq" / "常见问题.xlsx").unlink()

    report = ingest(settings)

    assert report.changed
    assert "faq/常见问题.xlsx" not in by_path(report)
    assert report.totals["faq"] == 0
    assert sorted(report.changes["faq_removed"]) == ["如何报销？", "如何请假？"]
    assert KnowledgeBase.load(settings).faq == []


def test_a_corrupt_file_beside_good_ones_is_reported_and_the_rest_indexed(knowledge):
    (knowledge / "glossary" / "损坏.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    settings = settings_for(knowledge)

    report = ingest(settings)

    broken = by_path(report)["glossary/损坏.xlsx"]
    assert broken.status == "error" and "xlsx" in broken.error
    assert [f.status for f in report.files if f.path != "glossary/损坏.xlsx"] == ["ok"] * 4
    kb = KnowledgeBase.load(settings)
    assert (len(kb.terms), len(kb.faq)) == (2, 2) and kb.passages


def test_a_file_that_breaks_later_keeps_its_last_good_version_in_the_index(knowledge):
    settings = settings_for(knowledge)
    ingest(settings)
    (knowledge / "glossary" / "公司术语.xlsx").write_bytes(b"saved half way")

    report = ingest(settings)

    broken = by_path(report)["glossary/公司术语.xlsx"]
    assert broken.status == "error" and broken.terms == 2
    assert sorted(t.abbreviation for t in KnowledgeBase.load(settings).terms) == ["AM", "FTA"]


def test_a_failed_ingest_leaves_the_previous_index_loadable_with_its_old_content(knowledge, write_workbook,
                                                                                 monkeypatch):
    settings = settings_for(knowledge)
    ingest(settings)
    current = generations(settings.index_dir)
    write_workbook(knowledge / "glossary" / "公司术语.xlsx", {"术语": [GLOSSARY_HEADER, [1, "PO", "Purchase Order", "采购订单"]]})
    real_write_records = store.write_records

    def fault_injection(path, records):
        """Writes the first record files, then fails half way through the new generation, like a full disk."""
        real_write_records(path, records)
        if path.name == "faq.jsonl":
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(store, "write_records", fault_injection)

    with pytest.raises(OSError, match="No space left"):
        ingest(settings)

    kb = KnowledgeBase.load(settings)
    assert sorted(t.abbreviation for t in kb.terms) == ["AM", "FTA"]
    assert kb.search("差旅报销时限", k=1)[0].passage.source == "docs/差旅管理办法.md"
    assert generations(settings.index_dir) == current  # the half-written generation was cleared away


def test_office_lock_files_and_hidden_files_are_not_knowledge(knowledge):
    (knowledge / "glossary" / "~$公司术语.xlsx").write_bytes(b"\x0bowner name lock")
    (knowledge / "docs" / ".~lock.差旅管理办法.md#").write_text("lock", encoding="utf-8")
    (knowledge / "docs" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")

    found = scan_knowledge(knowledge)
    report = ingest(settings_for(knowledge))

    assert sorted(found) == sorted(by_path(report)) == [
        "docs/信息安全规范.txt", "docs/差旅管理办法.md", "faq/常见问题.xlsx", "glossary/公司术语.xlsx",
    ]
    assert all(f.status == "ok" for f in report.files)


def test_a_gbk_text_document_is_indexed_and_searchable(tmp_path):
    knowledge = tmp_path / "knowledge"
    (knowledge / "docs").mkdir(parents=True)
    guide = "办公楼行政服务指南\n\n会议室须提前一天在前台登记预订，每次最长使用四小时。\n\n快递统一由一楼收发室代收。\n"
    (knowledge / "docs" / "行政指南.txt").write_bytes(guide.encode("gbk"))
    settings = settings_for(knowledge)

    report = ingest(settings)

    assert by_path(report)["docs/行政指南.txt"].status == "ok"
    hit = KnowledgeBase.load(settings).search("会议室怎么预订", k=1)[0]
    assert hit.passage.source == "docs/行政指南.txt" and "提前一天" in hit.passage.text


def test_another_knowledge_folder_gets_its_own_index_beside_it(tmp_path):
    settings = Settings.from_env(knowledge_dir=tmp_path / "部门知识")

    assert settings.index_dir == (tmp_path / ".部门知识-index").resolve()
    assert settings.index_dir != (REPO_ROOT / ".index").resolve()


def _default_index_state() -> list[tuple[str, float]]:
    default = REPO_ROOT / ".index"
    return sorted((str(p), p.stat().st_mtime) for p in default.rglob("*")) if default.exists() else []


def test_ingest_of_another_knowledge_folder_never_touches_the_default_index(tmp_path, write_workbook):
    knowledge = tmp_path / "elsewhere"
    write_workbook(knowledge / "glossary" / "g.xlsx", {"S": [GLOSSARY_HEADER, [1, "AM", "Account Manager", "客户经理"]]})
    default_before = _default_index_state()

    exit_code = main(["ingest", "--knowledge", str(knowledge), "--json"])

    assert exit_code == 0
    assert _default_index_state() == default_before
    assert (tmp_path / ".elsewhere-index" / store.POINTER).is_file()


def test_ingest_json_prints_one_object_in_the_contract_shape_and_exits_zero_despite_a_broken_file(knowledge, capfd):
    (knowledge / "faq" / "坏表.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    (knowledge / "glossary" / "~$公司术语.xlsx").write_bytes(b"lock")

    exit_code = main(["ingest", "--knowledge", str(knowledge), "--index", str(knowledge.parent / "index"), "--json"])

    out = capfd.readouterr().out
    result = json.loads(out)  # the whole of stdout is one JSON document
    assert exit_code == 0
    assert {"files", "totals"} <= result.keys()
    assert set(result["totals"]) == {"terms", "faq", "chunks"}
    assert all(set(f) == CONTRACT_KEYS for f in result["files"])
    files = {f["path"]: f for f in result["files"]}
    assert set(files) == {"glossary/公司术语.xlsx", "faq/常见问题.xlsx", "faq/坏表.xlsx",
                          "docs/差旅管理办法.md", "docs/信息安全规范.txt"}
    assert files["faq/坏表.xlsx"]["status"] == "error" and "password" in files["faq/坏表.xlsx"]["error"]
    assert result["totals"]["terms"] == 2 and result["totals"]["faq"] == 2 and result["totals"]["chunks"] >= 2


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=REPO_ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_ingest_command_prints_only_json_on_stdout(tmp_path, write_workbook):
    knowledge = tmp_path / "knowledge"
    write_workbook(knowledge / "glossary" / "g.xlsx", {"S": [GLOSSARY_HEADER, [1, "AM", "Account Manager", "客户经理"]]})
    (knowledge / "glossary" / "broken.xlsx").write_bytes(b"not a workbook")

    result = run_cli("ingest", "--knowledge", str(knowledge), "--index", str(tmp_path / "index"), "--json", env={})

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(f["path"], f["status"]) for f in report["files"]] == [("glossary/broken.xlsx", "error"),
                                                                  ("glossary/g.xlsx", "ok")]


def test_a_missing_embedding_model_is_one_clear_error_naming_the_variable(knowledge):
    index = knowledge.parent / "index"

    result = run_cli("ingest", "--knowledge", str(knowledge), "--index", str(index), "--json",
                     env={"KB_EMBEDDING_MODEL": "/nope"})

    assert result.returncode != 0
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "KB_EMBEDDING_MODEL" in errors[0] and "/nope" in errors[0]
    assert "Traceback" not in result.stderr
    assert not (index / store.POINTER).exists() and generations(index) == []


def test_a_file_that_failed_for_a_passing_reason_is_read_again_on_the_next_run(tmp_path, write_workbook, no_kb_env,
                                                                                monkeypatch):
    import agent.index.build as ingest_module

    knowledge = tmp_path / "knowledge"
    write_workbook(knowledge / "glossary" / "g.xlsx", {"术语": [["缩略语", "英文全称", "中文解释"],
                                                              ["AM", "Account Manager", "客户经理"]]})
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index")
    real_loader = ingest_module.load_glossary

    def failing_once(*args, **kwargs):  # fault injection: the first read fails, as a half-deployed bug would
        monkeypatch.setattr(ingest_module, "load_glossary", real_loader)
        raise OSError("temporarily unreadable")

    monkeypatch.setattr(ingest_module, "load_glossary", failing_once)
    first = ingest(settings)
    second = ingest(settings)

    assert first.files[0].status == "error"
    assert second.files[0].status == "ok" and second.totals["terms"] == 1
    assert [t.abbreviation for t in KnowledgeBase.load(settings).terms] == ["AM"]
