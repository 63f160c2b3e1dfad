"""`python -m bench quality` and `python -m bench speed` run end to end in their small modes, so the
benchmark scripts cannot rot; `python -m bench` alone says what each measures; and writing one docs section
leaves the others alone."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import MEASURES, main
from bench.report import write_docs_section
from bench.quality import CMRC_DEV

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
    assert result["reingest"]["warm_median_s"] > 0
    assert [t["met"] for t in result["targets"]] and all(isinstance(t["met"], bool) for t in result["targets"])
    assert "<!-- speed:start -->" in docs.read_text(encoding="utf-8")


def test_with_no_command_it_lists_what_each_benchmark_measures(capsys):
    assert main([]) == 0

    printed = capsys.readouterr().out
    assert set(MEASURES) == {"quality", "speed"}
    assert all(f"{command}:" in printed and all(item in printed for item in items)
               for command, items in MEASURES.items())
