"""Passages in Milvus (Milvus Lite, a real local database file): ingest the company knowledge, publish its
passages with their vectors, and search them with Milvus's BM25 full-text search and cosine vectors."""
from __future__ import annotations

import os
import shutil

import pytest

pytest.importorskip("milvus_lite", reason="Milvus Lite is not installed (pip install milvus-lite)")
pytestmark = pytest.mark.slow  # each test starts a Milvus Lite server (seconds apiece here)

from agent.index.embedders import create_embedder  # noqa: E402
from agent.index.build import ingest  # noqa: E402
from agent.index.knowledge_base import KnowledgeBase  # noqa: E402
from agent.index.milvus_store import MilvusPassageStore, alias_for  # noqa: E402
from agent.settings import Settings  # noqa: E402


@pytest.fixture
def knowledge(tmp_path, company_knowledge, no_kb_env):
    folder = tmp_path / "knowledge"
    shutil.copytree(company_knowledge, folder)
    return folder


@pytest.fixture(scope="module")
def company(tmp_path_factory, company_knowledge):
    """The company knowledge ingested once for the module: (folder, passages, vectors, tokens)."""
    folder = tmp_path_factory.mktemp("milvus-company") / "knowledge"
    shutil.copytree(company_knowledge, folder)
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("KB_")]:
            patch.delenv(name)
        return (folder, *ingested(folder))


def ingested(knowledge):
    """Run the real ingest; the passages it indexed, their vectors from the real embedding model and
    their words from the index's Tokenizer."""
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=knowledge.parent / "index")
    ingest(settings)
    kb = KnowledgeBase.load(settings)
    vectors = create_embedder(settings).encode_passages([p.text for p in kb.passages])
    return kb.passages, vectors, [kb.tokenizer.tokens(p.text) for p in kb.passages]


def words(text):
    """A question's words as KnowledgeBase.search hands them to Milvus."""
    from agent.index.lexical import Tokenizer

    return Tokenizer().question_tokens(text)


def test_published_passages_are_found_by_milvus_full_text_search(tmp_path, company):
    knowledge, passages, vectors, tokens = company
    store = MilvusPassageStore(str(tmp_path / "milvus.db"), knowledge)

    changes = store.publish(passages, vectors, tokens)
    hits = store.search(words("退货运费由谁承担"), None, k=3)

    assert changes == {"added": len(passages), "removed": 0}
    assert hits[0].passage.source == "docs/售后服务流程.md"
    assert "退货运费由公司承担" in hits[0].passage.text
    assert hits[0].lexical_score > 0 and hits[0].dense_score == 0


def test_the_dense_leg_finds_a_passage_by_its_own_vector(tmp_path, company):
    knowledge, passages, vectors, tokens = company
    store = MilvusPassageStore(str(tmp_path / "milvus.db"), knowledge)
    store.publish(passages, vectors, tokens)
    target = next(i for i, p in enumerate(passages) if p.source == "docs/差旅规定.txt")

    [hit] = store.search([], vectors[target], k=1, dense_weight=1.0, lexical_weight=0.0)

    assert hit.passage == passages[target]
    assert hit.dense_score == pytest.approx(1.0, abs=1e-4)


def test_publishing_the_same_passages_again_writes_nothing(tmp_path, company):
    knowledge, passages, vectors, tokens = company
    store = MilvusPassageStore(str(tmp_path / "milvus.db"), knowledge)
    store.publish(passages, vectors, tokens)
    before = store.current_collection()

    changes = store.publish(passages, vectors, tokens)

    assert changes == {"added": 0, "removed": 0}
    assert store.current_collection() == before


def test_a_deleted_document_disappears_after_the_switch_to_a_new_generation(tmp_path, knowledge):
    store = MilvusPassageStore(str(tmp_path / "milvus.db"), knowledge)
    store.publish(*ingested(knowledge))
    first = store.current_collection()
    (knowledge / "docs" / "差旅规定.txt").unlink()

    passages, vectors, tokens = ingested(knowledge)
    changes = store.publish(passages, vectors, tokens)

    assert changes["removed"] > 0 and changes["added"] == 0
    assert store.current_collection() != first
    assert store.client.list_collections() == [store.current_collection()]  # the old generation is dropped
    assert "docs/差旅规定.txt" not in {h.passage.source for h in store.search(words("出差住宿标准 高铁"), None, k=10)}
    assert len(store.passage_ids()) == len(passages)


def test_each_knowledge_folder_has_its_own_alias_in_one_database(tmp_path, company, no_kb_env):
    knowledge, passages, vectors, tokens = company
    other = tmp_path / "other-knowledge"
    (other / "docs").mkdir(parents=True)
    (other / "docs" / "停车.md").write_text("# 停车\n\n访客车辆停在B2层访客车位。\n", encoding="utf-8")
    database = str(tmp_path / "milvus.db")
    store = MilvusPassageStore(database, knowledge)
    store.publish(passages, vectors, tokens)
    other_store = MilvusPassageStore(database, other)
    other_store.publish(*ingested(other))

    assert alias_for(knowledge) != alias_for(other)
    assert {h.passage.source for h in other_store.search(words("访客 停车"), None, k=5)} == {"docs/停车.md"}
    assert store.search(words("访客 停车"), None, k=1)[0].passage.source != "docs/停车.md"


def test_search_before_any_publish_finds_nothing(tmp_path):
    assert MilvusPassageStore(str(tmp_path / "milvus.db"), tmp_path / "knowledge").search(words("退货"), None) == []


def test_with_kb_vector_store_milvus_ingest_and_ask_run_against_milvus(knowledge, monkeypatch, tmp_path):
    from agent.answer.service import KnowledgeService

    monkeypatch.setenv("KB_VECTOR_STORE", "milvus")
    monkeypatch.setenv("KB_MILVUS_URI", str(tmp_path / "flow.db"))
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=tmp_path / "index")
    service = KnowledgeService(settings)
    store = MilvusPassageStore(settings.milvus_uri, knowledge)
    assert len(store.passage_ids()) == len(service.kb.passages) > 0

    answer = service.ask("在产品售后流程里，AM负责哪些事情？")
    assert answer.route == "doc" and answer.sources
    assert answer.sources[0].source.startswith("docs/")

    removed = next((knowledge / "docs").iterdir())
    removed.unlink()
    service.refresh()
    assert all(p.source != f"docs/{removed.name}" for p in service.kb.passages)
    assert len(store.passage_ids()) == len(service.kb.passages)


def test_an_unknown_vector_store_is_a_clear_configuration_error(monkeypatch, tmp_path):
    from agent.settings import ConfigError

    monkeypatch.setenv("KB_VECTOR_STORE", "elastic")
    with pytest.raises(ConfigError, match="KB_VECTOR_STORE"):
        Settings.from_env(knowledge_dir=tmp_path, index_dir=tmp_path / "index")


def test_milvus_and_faiss_stores_rank_the_same_passages_first(knowledge, monkeypatch, tmp_path, caplog):
    """Both lexical legs score the same Tokenizer words with BM25 at the same k1 and b, so a question
    finds the same passages whichever store holds them (the benchmark shows it on CMRC2018)."""
    questions = ["退货运费由谁承担", "出差住宿标准是多少", "在产品售后流程里，AM负责哪些事情？", "年假怎么申请", "报销需要哪些单据"]
    faiss_kb = KnowledgeBase.load(_ingested_settings(knowledge, tmp_path / "faiss-index"))
    monkeypatch.setenv("KB_VECTOR_STORE", "milvus")
    monkeypatch.setenv("KB_MILVUS_URI", str(tmp_path / "same.db"))
    milvus_kb = KnowledgeBase.load(_ingested_settings(knowledge, tmp_path / "milvus-index"))

    for question in questions:
        faiss_hits, milvus_hits = faiss_kb.search(question, k=3), milvus_kb.search(question, k=3)
        assert [h.passage for h in milvus_hits] == [h.passage for h in faiss_hits], question
        assert [h.lexical_score for h in milvus_hits] == pytest.approx([h.lexical_score for h in faiss_hits], rel=1e-3)
    assert "Method not implemented" not in caplog.text  # Milvus Lite's missing AllocTimestamp, filtered


def _ingested_settings(knowledge, index_dir):
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=index_dir)
    ingest(settings)
    return settings


def test_a_released_collection_is_loaded_again_and_searched(tmp_path, company, caplog):
    """Milvus Lite re-opens indexed collections released, and an operator may release one on a server:
    a search then loads it instead of failing the question (seen mid-way through a benchmark run)."""
    knowledge, passages, vectors, tokens = company
    store = MilvusPassageStore(str(tmp_path / "milvus.db"), knowledge)
    store.publish(passages, vectors, tokens)
    store.client.release_collection(store.current_collection())

    hits = store.search(words("退货运费由谁承担"), None, k=3)

    assert hits[0].passage.source == "docs/售后服务流程.md"
    assert "was not loaded" in caplog.text
