"""`python -m bench quality`, `speed` and `startup` run end to end in their small modes, so the benchmark
scripts cannot rot; `python -m bench` alone says what each measures; writing one docs section leaves the others
alone. Also the index changes made for speed: the BM25 matrix computed over whole arrays scores as bm25s's own
build does, re-indexing one changed file tokenises only that file and ranks as a fresh index, and a synthetic
benchmark index is answered from as it is."""
from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.index import build, store
from agent.index.build import ingest
from agent.index.lexical import LexicalIndex, Tokenizer
from bench.__main__ import MEASURES, main
from bench.corpus import synthetic_terms, write_generation
from bench.report import write_docs_section
from bench.quality import CMRC_DEV, offline_settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run_bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench", *args, "--json"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_writing_a_section_replaces_only_that_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nintro\n\n<!-- quality:start -->\nold quality\n<!-- quality:end -->\n\n"
                    "<!-- scale:start -->\nscale figures\n<!-- scale:end -->\n", encoding="utf-8")

    write_docs_section(docs, "quality", "new quality")
    write_docs_section(docs, "speed", "speed figures")

    text = docs.read_text(encoding="utf-8")
    assert "old quality" not in text and "<!-- quality:start -->\nnew quality\n<!-- quality:end -->" in text
    assert "<!-- scale:start -->\nscale figures\n<!-- scale:end -->" in text
    assert text.rstrip().endswith("<!-- speed:start -->\nspeed figures\n<!-- speed:end -->")
    assert text.startswith("# Benchmarks\n\nintro")


@pytest.fixture(scope="module")
def quality_on_five_articles(tmp_path_factory) -> tuple[Path, dict]:
    docs = tmp_path_factory.mktemp("quality") / "benchmarks.md"
    return docs, _run_bench("quality", "--limit", "5", "--no-end-to-end", "--write-docs", "--docs", str(docs))


@pytest.mark.slow
@pytest.mark.skipif(not CMRC_DEV.is_file(), reason="CMRC2018 is not beside the checkout")
def test_quality_on_a_few_articles_scores_every_system_and_writes_its_section(quality_on_five_articles):
    docs, result = quality_on_five_articles

    systems = [row["system"] for row in result["retrieval"]]
    assert any(s.startswith("this project, default") for s in systems)
    assert any(s.startswith("Qwen-Agent keyword_search") for s in systems)
    assert any(s.startswith("LangChain recipe") for s in systems)
    assert result["dataset"]["articles"] == 5
    for row in result["retrieval"]:
        assert 0 <= row["hit_at_1"] <= row["hit_at_5"] <= 1 and row["questions"] == result["dataset"]["questions"]
    assert result["qwen_keyword_search_check"]["identical_rankings"] == result["qwen_keyword_search_check"]["questions"]
    assert {r["cases_file"] for r in result["routing"]} >= {"bench/cases/sample.jsonl"}
    text = docs.read_text(encoding="utf-8")
    assert "<!-- quality:start -->" in text and "| this project, default |" in text


@pytest.mark.slow
@pytest.mark.skipif(not CMRC_DEV.is_file(), reason="CMRC2018 is not beside the checkout")
def test_quality_with_passages_in_milvus_lite_ranks_as_the_faiss_store_does(quality_on_five_articles, tmp_path):
    pytest.importorskip("milvus_lite", reason="Milvus Lite is not installed")
    docs = tmp_path / "benchmarks.md"

    result = _run_bench("quality", "--limit", "5", "--no-end-to-end", "--store", "milvus", "--write-docs",
                        "--docs", str(docs))

    faiss = {row["system"]: row for row in quality_on_five_articles[1]["retrieval"]}
    for system in ("this project, default", "this project, lexical leg alone"):
        [row] = [r for r in result["retrieval"] if r["system"] == system]
        assert (row["hit_at_1"], row["hit_at_5"], row["mrr"]) == (
            faiss[system]["hit_at_1"], faiss[system]["hit_at_5"], faiss[system]["mrr"])
    assert result["store"] == "milvus" and result["routing"][0]["route_accuracy"] > 0.9
    assert "<!-- quality-milvus:start -->" in docs.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(not CMRC_DEV.is_file(), reason="CMRC2018 is not beside the checkout")
def test_quick_speed_run_measures_every_part_and_writes_its_section(tmp_path):
    docs = tmp_path / "benchmarks.md"

    result = _run_bench("speed", "--quick", "--write-docs", "--docs", str(docs))

    assert {r["route"] for r in result["routes"]} == {"term", "fact"}
    for row in result["routes"]:
        assert row["latency_ms"]["p95"] > 0 and row["correct"] > 0.5
    for row in result["documents"]:
        assert row["default_ms"]["p95"] > 0 and row["faiss_flat_ms"]["p95"] > 0 and row["dense_floor_ms"] > 0
        assert row["index_mb"] > 0 and row["load_s"] > 0
    assert result["throughput"]["concurrent_per_s"] > 0
    assert result["cold_start"]["route"] == "term"
    assert result["reingest"]["warm_median_s"] >= result["reingest"]["searchable_median_s"] > 0
    assert {r["route"] for r in result["full_path"]} == {"term", "fact", "doc"}
    for row in result["full_path"]:
        assert row["ask_ms"]["p95"] >= row["ask_ms"]["p50"] > 0 and row["query_embedding_ms"]["p50"] > 0
    assert [t["met"] for t in result["targets"]] and all(isinstance(t["met"], bool) for t in result["targets"])
    assert "<!-- speed:start -->" in docs.read_text(encoding="utf-8")


def test_with_no_command_it_lists_what_each_benchmark_measures(capsys):
    assert main([]) == 0

    printed = capsys.readouterr().out
    assert set(MEASURES) >= {"quality", "speed", "startup"}
    assert all(f"{command}:" in printed and all(item in printed for item in items)
               for command, items in MEASURES.items())


def _bm25s_own_build(documents: list[list[str]]):
    """The index as bm25s.BM25.index builds it, which LexicalIndex used before: the reference."""
    import bm25s
    from bm25s.tokenization import Tokenized

    vocabulary: dict[str, int] = {}
    ids = [[vocabulary.setdefault(token, len(vocabulary)) for token in doc] for doc in documents]
    vocabulary.setdefault("", len(vocabulary))
    retriever = bm25s.BM25()
    retriever.index(Tokenized(ids=ids, vocab=vocabulary), show_progress=False)
    return retriever, vocabulary


def test_bm25_over_whole_arrays_scores_every_word_exactly_as_bm25s_builds_it():
    rng = np.random.default_rng(3)
    words = [f"词{n}" for n in range(60)] + ["am", "客户经理", "年假"]
    documents = [list(rng.choice(words, size=int(rng.integers(1, 40)))) for _ in range(300)]
    reference, vocabulary = _bm25s_own_build(documents)

    index = LexicalIndex.build(documents)

    assert index.vocabulary == vocabulary
    for word in words:
        expected = np.asarray(reference.get_scores([vocabulary[word]]), dtype=np.float32)
        assert np.array_equal(index.scores([word]), expected), word
    query = ["年假", "词7", "am", "词7"]
    expected = np.asarray(reference.get_scores([vocabulary[w] for w in query]), dtype=np.float32)
    assert np.array_equal(index.scores(query), expected)


def _write_articles(docs: Path, changed: str = "") -> None:
    docs.mkdir(parents=True, exist_ok=True)
    topics = ["年假申请需要提前三天在系统中提交。", "差旅报销在出差结束后十个工作日内完成。", "门禁卡丢失请到行政部补办。",
              "客户经理负责售后问题的跟进与回访。"]
    for number, topic in enumerate(topics):
        text = (topic * 12) + (changed if number == 0 else "")
        (docs / f"article-{number}.txt").write_text(text, encoding="utf-8")
    if changed:
        (docs / "article-3.txt").unlink()  # a file removed as well: its words leave the vocabulary


@pytest.mark.slow  # three ingests with jieba and the document readers loaded: 5-10 s here
def test_reindexing_one_changed_file_tokenises_only_its_passages_and_ranks_as_a_fresh_index(tmp_path, monkeypatch):
    docs = tmp_path / "knowledge" / "docs"
    _write_articles(docs)
    settings = offline_settings(tmp_path / "knowledge", tmp_path / "index")
    ingest(settings, wait_for_vectors=False)
    _write_articles(docs, changed="新增：病假需要提供医院证明。")
    tokenised = []
    original = Tokenizer.tokens
    monkeypatch.setattr(Tokenizer, "tokens", lambda self, text: tokenised.append(text) or original(self, text))

    ingest(settings, wait_for_vectors=False)

    assert tokenised and all("年假" in text for text in tokenised)  # article-0's passages alone
    fresh = offline_settings(tmp_path / "knowledge", tmp_path / "fresh-index")
    ingest(fresh, wait_for_vectors=False)
    again, scratch = (LexicalIndex.load(store.current_generation(s.index_dir) / "lexical") for s in (settings, fresh))
    assert set(again.vocabulary) == set(scratch.vocabulary) and "回访" not in again.vocabulary
    for query in (["病假", "证明"], ["年假", "申请"], ["报销", "工作日"], ["行政部"]):
        assert np.array_equal(again.scores(query), scratch.scores(query)), query


@pytest.mark.slow  # two ingests with jieba and the document readers loaded
def test_an_index_cut_by_an_older_tokenizer_is_cut_again_when_the_parse_version_rises(tmp_path, monkeypatch):
    """Unchanged files would reuse every passage's stored tokens: a new way of cutting must not meet them."""
    docs = tmp_path / "knowledge" / "docs"
    _write_articles(docs)
    settings = offline_settings(tmp_path / "knowledge", tmp_path / "index")
    monkeypatch.setattr(Tokenizer, "__init__", functools.partialmethod(Tokenizer.__init__, function_words=frozenset()))
    ingest(settings, wait_for_vectors=False)
    assert "在" in _stored_vocabulary(settings)
    monkeypatch.undo()
    monkeypatch.setattr(build, "PARSE_VERSION", build.PARSE_VERSION + 1)

    ingest(settings, wait_for_vectors=False)

    assert "在" not in _stored_vocabulary(settings) and "申请" in _stored_vocabulary(settings)


def _stored_vocabulary(settings) -> dict:
    return LexicalIndex.load(store.current_generation(settings.index_dir) / "lexical").vocabulary


def test_a_synthetic_benchmark_index_is_answered_from_as_it_is(tmp_path):
    from agent.answer.service import KnowledgeService
    from agent.index.embedders import create_embedder

    settings = offline_settings(tmp_path / "knowledge", tmp_path / "index")
    embedder = create_embedder(settings)
    terms = synthetic_terms(50)
    write_generation(settings.index_dir, terms=terms, term_vectors=np.eye(50, embedder.dimension, dtype=np.float32),
                     embedder_name=embedder.name, settings=settings)

    service = KnowledgeService(settings)
    answer = service.ask(f"{terms[7].abbreviation}是什么意思")

    assert not service.last_report.changed and len(service.kb.terms) == 50
    assert answer.route == "term" and terms[7].english in answer.text


@pytest.mark.slow
def test_startup_run_times_a_fresh_start_its_vectors_and_a_restart(tmp_path):
    knowledge = tmp_path / "knowledge"
    (knowledge / "docs").mkdir(parents=True)
    (knowledge / "docs" / "guide.txt").write_text("年假申请需要提前三天在系统中提交。", encoding="utf-8")
    docs = tmp_path / "benchmarks.md"

    result = _run_bench("startup", "--knowledge", str(knowledge), "--work", str(tmp_path / "work"),
                        "--write-docs", "--docs", str(docs))

    fresh, restart = result["fresh"], result["restart"]
    assert 0 < fresh["serving_s"] <= fresh["vectors_s"] and restart["serving_s"] > 0
    assert fresh["vectors"]["done"] == fresh["vectors"]["total"] > 0
    assert [t["target"] for t in result["targets"]] == ["serving", "vectors", "restart"]
    assert "<!-- startup:start -->" in docs.read_text(encoding="utf-8")


def test_vectors_are_embedded_at_a_lower_cpu_priority_which_the_thread_gets_back_after():
    import os
    import threading

    from agent.index.build import BACKGROUND_NICENESS, _lower_priority

    seen = {}

    def embed_in_a_thread():  # a thread of its own, so pytest's thread keeps its priority whatever happens
        thread = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, thread)
        with _lower_priority():
            seen["during"] = os.getpriority(os.PRIO_PROCESS, thread)
        seen["after"] = os.getpriority(os.PRIO_PROCESS, thread)

    worker = threading.Thread(target=embed_in_a_thread)
    worker.start()
    worker.join()

    assert seen["during"] == min(19, seen["before"] + BACKGROUND_NICENESS)
    if os.geteuid() == 0:  # raising a priority back needs the privilege
        assert seen["after"] == seen["before"]
