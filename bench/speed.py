"""`python -m bench speed`: latency per route as the glossary, the FAQ and the document pile grow, throughput
with concurrent askers, memory, index size, cold start and ingest speed, each figure beside its bound or the
best alternative measured in the same run, and the targets met or missed.

Every size of every route runs in its own subprocess (`python -m bench.speed --worker KIND SIZE ...`), so
its peak RSS is its own. What is measured on comes from bench/corpus.py; how much, from bench/plan.py.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from agent.index.build import faq_passage, ingest
from agent.index.dense import DenseIndex
from agent.index.embedders import Embedder, create_embedder
from agent.index.fusion import CANDIDATES
from agent.index.knowledge_base import AUTO_DENSE_WEIGHT, KnowledgeBase
from agent.index.lexical import LexicalIndex, Tokenizer
from agent.index.vector_cache import VectorCache
from agent.settings import REPO_ROOT, Settings
from bench import report
from bench.corpus import (DIMENSION, PASSAGE_CHARS, TERM_CONTEXT_QUESTIONS, Corpus, faq_questions, load_corpus,
                          prepare_corpus, random_unit_vectors, synthetic_faq, synthetic_passages, synthetic_terms,
                          term_questions, write_generation)
from bench.measure import (current_rss_mb, fastest_read_s, folder_mb, load_average, matmul_gflops,
                           memory_bandwidth_gb_s, peak_rss_mb, timed)
from bench.plan import FULL, QUICK, Plan
from bench.quality import CASES_DIR, SAMPLE_KNOWLEDGE, offline_settings

log = logging.getLogger(__name__)

TARGETS_MS = {"term": 5.0, "fact": 60.0, "doc": 150.0}  # issue 13: p95 of KnowledgeService.ask (no LLM, the
# question embedded) at the largest size
REINGEST_TARGET_S = 3.0
THROUGHPUT_ROUNDS = 3
CACHE_SIZED_BYTES = 64 * 2**20
RANK_BM25_MAX_SIZE = 10_000  # rank_bm25 scores every passage in Python; beyond this it only costs time


def term_worker(size: int, queries: int, work: Path) -> dict:
    from agent.answer.router import Router

    baseline = current_rss_mb()
    terms = synthetic_terms(size)
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        write_generation(settings.index_dir, terms=terms)
        started = time.perf_counter()
        router = Router(KnowledgeBase.load(settings))
        build_s = time.perf_counter() - started
        asked = term_questions(terms, queries)
        router.route(asked[0][0])
        times, decisions = timed(lambda pair: router.route(pair[0]), asked, f"term route, {size} terms")
    correct = sum(d.route == "term" and term in d.terms for d, (_, term) in zip(decisions, asked))
    return {"route": "term", "size": size, "unit": "terms", "build_s": round(build_s, 3),
            "latency_ms": report.percentiles(times), "correct": round(correct / len(asked), 4),
            "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def fact_worker(size: int, queries: int, work: Path) -> dict:
    from agent.answer.router import Router

    baseline = current_rss_mb()
    entries = synthetic_faq(size)
    passages = [faq_passage(e) for e in entries]
    tokenizer = Tokenizer(())
    lexical = LexicalIndex.build([tokenizer.tokens(p.text) for p in passages])
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        write_generation(settings.index_dir, faq=entries, passages=passages, lexical=lexical)
        del lexical
        router = Router(KnowledgeBase.load(settings))
        started = time.perf_counter()
        router.faq.match("预热")  # builds the matcher
        build_s = time.perf_counter() - started
        asked = faq_questions(entries, queries)
        router.route(asked[0][0])
        times, decisions = timed(lambda pair: router.route(pair[0]), asked, f"fact route, {size} FAQ entries")
        match_times, matches = timed(lambda pair: router.faq.match(pair[0]), asked, f"FaqMatcher, {size}")
    routed = sum(d.route == "fact" and d.faq is not None and d.faq.entry == entry
                 for d, (_, entry) in zip(decisions, asked))
    matched = sum(bool(m) and m[0].entry == entry for m, (_, entry) in zip(matches, asked))
    return {"route": "fact", "size": size, "unit": "FAQ entries", "build_s": round(build_s, 3),
            "latency_ms": report.percentiles(times), "match_latency_ms": report.percentiles(match_times),
            "correct": round(routed / len(asked), 4), "matcher_top1": round(matched / len(asked), 4),
            "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def doc_worker(size: int, queries: int, work: Path, corpus_path: Path, embedded_queries: int) -> dict:
    """Retrieval without generation: the legs alone on the built indexes, the alternatives on the same
    data, then the whole KnowledgeBase.search on the loaded generation."""
    import faiss

    baseline = current_rss_mb()
    corpus = load_corpus(corpus_path)
    rng = random.Random(51)
    # Distinct questions, and others for each embedded measurement: a question asked twice would take its
    # vector from the knowledge base's cache of recent questions.
    pool = rng.sample(corpus.questions, min(len(corpus.questions), queries + 2 * embedded_queries))
    questions, embedded = pool[:queries], pool[queries:]
    passages, tokens = synthetic_passages(corpus, size)
    # Hybrid search uses stored vectors only as the configured embedder's: they get its name and dimension.
    embedder = create_embedder(offline_settings(work / "knowledge", work / "index")) if embedded_queries else None
    dimension = embedder.dimension if embedder else DIMENSION
    vectors = random_unit_vectors(size, dimension=dimension)
    del corpus
    started = time.perf_counter()
    lexical = LexicalIndex.build(tokens)
    lexical_build_s = time.perf_counter() - started
    dense = DenseIndex.build(vectors)
    tokenizer = Tokenizer(())
    query_tokens = [tokenizer.tokens(q) for q in questions]
    query_vectors = random_unit_vectors(queries, seed=42, dimension=dimension)
    result = {"size": size, "faiss_threads": faiss.omp_get_max_threads()}
    result["bm25s_ms"] = report.percentiles(timed(lambda t: lexical.search(t, CANDIDATES), query_tokens, "bm25s")[0])
    result["faiss_flat_ms"] = report.percentiles(
        timed(lambda v: dense.search(v, CANDIDATES), query_vectors, "FAISS")[0])
    result["numpy_flat_ms"] = report.percentiles(
        timed(lambda v: _numpy_top_k(vectors, v, CANDIDATES), query_vectors, "numpy brute force")[0])
    result["vector_read_floor_ms"] = round(fastest_read_s(vectors) * 1000, 3)
    faiss.omp_set_num_threads(1)
    result["faiss_flat_one_thread_ms"] = report.percentiles(
        timed(lambda v: dense.search(v, CANDIDATES), query_vectors, "FAISS, one thread")[0])
    faiss.omp_set_num_threads(result["faiss_threads"])
    if size <= RANK_BM25_MAX_SIZE:
        from rank_bm25 import BM25Okapi

        bm25 = BM25Okapi(tokens)
        result["rank_bm25_ms"] = report.percentiles(timed(
            lambda t: np.argpartition(-bm25.get_scores(t), CANDIDATES)[:CANDIDATES], query_tokens, "rank_bm25")[0])
        del bm25
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        write_generation(settings.index_dir, passages=passages, lexical=lexical, dense=dense,
                         embedder_name=embedder.name if embedder else None)
        build_peak = peak_rss_mb()
        result["index_mb"] = folder_mb(settings.index_dir)
        lexical = dense = vectors = passages = tokens = None  # only the loaded index stays in memory
        gc.collect()
        started = time.perf_counter()
        kb = KnowledgeBase.load(settings)
        load_s = time.perf_counter() - started
        kb.search(questions[0])
        result["default_ms"] = report.percentiles(timed(lambda q: kb.search(q, k=5), questions, f"search, {size}")[0])
        if embedded_queries:
            result.update(_embedding_latencies(kb, embedder, embedded[:embedded_queries], embedded[embedded_queries:],
                                               size))
        result["serving_rss_mb"] = current_rss_mb()
    result.update({"lexical_build_s": round(lexical_build_s, 2), "load_s": round(load_s, 2),
                   "dense_bytes_per_query": size * dimension * 4, "build_peak_rss_mb": build_peak,
                   "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()})
    return result


def _embedding_latencies(kb: KnowledgeBase, embedder: Embedder, embedded: list[str], others: list[str],
                         size: int) -> dict:
    """Hybrid search and the question's embedding alone, with torch's default threads and with one (on
    `others`, so no vector comes from the cache)."""
    import torch

    kb.search("预热的问题", dense_weight=1.0)  # loads the index's own embedder
    result = {"embedded_queries": len(embedded), "torch_threads": torch.get_num_threads()}
    result["hybrid_ms"] = report.percentiles(
        timed(lambda q: kb.search(q, k=5, dense_weight=1.0), embedded, f"hybrid search, {size}")[0])
    result["query_embedding_ms"] = report.percentiles(timed(lambda q: embedder.encode_queries([q]), embedded, "embed")[0])
    torch.set_num_threads(1)  # the alternative: one intra-op thread, which shared cores favour
    result["query_embedding_one_thread_ms"] = report.percentiles(
        timed(lambda q: embedder.encode_queries([q]), embedded, "embed, one thread")[0])
    result["hybrid_one_thread_ms"] = report.percentiles(
        timed(lambda q: kb.search(q, k=5, dense_weight=1.0), others, f"hybrid search, one thread, {size}")[0])
    return result


def full_path_worker(kind: str, size: int, queries: int, work: Path, corpus_path: Path | None = None,
                     profile: bool = False) -> dict:
    """What a user waits for, with the real embedder embedding every question: `Router.route` (glossary,
    term-intent classifier, FAQ by words and by meaning, passages by words and vectors, the calibrated
    decision) and `KnowledgeService.ask` with no LLM (the decision and the answer's words). The index holds
    `size` synthetic terms, FAQ entries or passages with synthetic random unit vectors standing in for the
    embedder's, so the time is real and the decisions on meaning are not: 'correct' is reported, not judged."""
    from agent.answer.router import Router
    from agent.answer.service import KnowledgeService

    baseline = current_rss_mb()
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        embedder = create_embedder(settings)
        asked, generation = _full_path_knowledge(kind, size, queries, embedder, corpus_path)
        write_generation(settings.index_dir, embedder_name=embedder.name, settings=settings, **generation)
        del generation
        gc.collect()
        questions = list(dict.fromkeys(q for q, _ in asked))  # distinct: no answer comes from the vector cache
        result = {"route": kind, "size": size, "unit": {"term": "terms", "fact": "FAQ entries", "doc": "passages"}[kind],
                  "questions": len(questions), "load_before": load_average()}
        router = Router(KnowledgeBase.load(settings))
        router.route("这是用来预热的问题，AM是什么意思，年假怎么申请？")  # jieba, the embedder, the classifier, the matcher
        times, decisions = timed(router.route, questions, f"Router.route, {kind} {size}")
        result["route_ms"] = report.percentiles(times)
        result["routes"] = {r: sum(d.route == r and not d.abstained for d in decisions) for r in ("term", "fact", "doc")}
        result["routes"]["abstained"] = sum(d.abstained for d in decisions)
        expected = dict(asked)
        result["correct"] = round(sum(_decided_right(kind, d, expected[q]) for q, d in zip(questions, decisions))
                                  / len(questions), 4)
        if kind == "term":
            plain = {q for q, _ in asked[:queries // 2]}  # TERM_QUESTIONS; the rest need the classifier
            result["route_plain_ms"] = report.percentiles([t for q, t in zip(questions, times) if q in plain])
            result["route_classified_ms"] = report.percentiles([t for q, t in zip(questions, times) if q not in plain])
        del router, decisions
        gc.collect()
        service = KnowledgeService(settings)
        if service.last_report.changed:
            raise RuntimeError("the synthetic generation was re-indexed instead of answered from")
        service.ask("这是用来预热的问题，AM是什么意思，年假怎么申请？")
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        times, answers = timed(service.ask, questions, f"KnowledgeService.ask, {kind} {size}")
        if profiler is not None:  # where the asks' time went, on stderr
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        result["ask_ms"] = report.percentiles(times)
        if kind == "term":
            result["ask_plain_ms"] = report.percentiles([t for q, t in zip(questions, times) if q in plain])
            result["ask_classified_ms"] = report.percentiles([t for q, t in zip(questions, times) if q not in plain])
        result["ask_max_ms"] = round(max(times), 3)
        result["query_embedding_ms"] = report.percentiles(
            timed(lambda q: embedder.encode_queries([q]), questions, "question embedding alone")[0])
        result["load_after"] = load_average()
        result["serving_rss_mb"] = current_rss_mb()
    result.update({"baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(),
                   "vectors": "synthetic random unit vectors labelled as the embedder's", "embedder": embedder.name})
    return result


def _full_path_knowledge(kind: str, size: int, queries: int, embedder: Embedder, corpus_path: Path | None
                         ) -> tuple[list[tuple[str, object]], dict]:
    """(question, what it should find) pairs, and the records, indexes and synthetic vectors of the index."""
    dimension = embedder.dimension
    if kind == "term":
        terms = synthetic_terms(size)
        asked = term_questions(terms, queries // 2) + term_questions(terms, queries - queries // 2, seed=13,
                                                                     templates=TERM_CONTEXT_QUESTIONS)
        return asked, {"terms": terms, "term_vectors": random_unit_vectors(size, dimension=dimension)}
    if kind == "fact":
        entries = synthetic_faq(size)
        passages = [faq_passage(e) for e in entries]
        asked = faq_questions(entries, queries)
        rows = sum(1 + len(e.similar) for e in entries)
    else:
        corpus = load_corpus(corpus_path)
        rng = random.Random(52)
        asked = [(q, None) for q in rng.sample(corpus.questions, min(queries, len(corpus.questions)))]
        entries, (passages, tokens) = [], synthetic_passages(corpus, size)
        rows = 0
    if kind == "fact":
        tokenizer = Tokenizer(())
        tokens = [tokenizer.tokens(p.text) for p in passages]
    return asked, {"faq": entries, "passages": passages, "lexical": LexicalIndex.build(tokens),
                   "dense": DenseIndex.build(random_unit_vectors(len(passages), dimension=dimension)),
                   "faq_vectors": random_unit_vectors(rows, seed=43, dimension=dimension) if rows else None}


def _decided_right(kind: str, decision, expected) -> bool:
    if kind == "term":
        return decision.route == "term" and expected in decision.terms
    if kind == "fact":
        return decision.route == "fact" and decision.faq is not None and decision.faq.entry == expected
    return decision.route == "doc" and not decision.abstained


def _numpy_top_k(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ query
    best = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return best[np.argsort(-scores[best])]


def run_worker(kind: str, size: int, queries: int, work: Path, corpus_path: Path | None = None,
               embedded_queries: int = 0) -> dict:
    """One size of one route in a fresh interpreter, so its peak RSS is its own."""
    command = [sys.executable, "-m", "bench.speed", "--worker", kind, str(size), "--queries", str(queries),
               "--work", str(work)]
    if corpus_path is not None:
        command += ["--corpus", str(corpus_path), "--embedded-queries", str(embedded_queries)]
    log.info("measuring %s at %d", kind, size)
    done = subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout)


# ---- machine bounds ------------------------------------------------------------------------------


# ---- ingest, throughput, cold start ---------------------------------------------------------------

def ingest_rates(corpus: Corpus, plan: Plan, settings: Settings, gflops: float) -> dict:
    from rank_bm25 import BM25Okapi

    passages, tokens = synthetic_passages(corpus, max(plan.embedding_sample, plan.lexical_sample), seed=61)
    texts = [p.text for p in passages]
    tokenizer = Tokenizer(())
    tokenizer.tokens("预热")
    started = time.perf_counter()
    tokenised = [tokenizer.tokens(t) for t in texts[:plan.lexical_sample]]
    tokenise_s = time.perf_counter() - started
    started = time.perf_counter()
    LexicalIndex.build(tokenised)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    BM25Okapi(tokenised)
    rank_bm25_s = time.perf_counter() - started
    embedder = create_embedder(settings)
    embedder.encode_passages(texts[:2])
    gflops = max(gflops, matmul_gflops())  # again now: other work on the machine comes and goes
    sample = texts[:plan.embedding_sample]
    started = time.perf_counter()
    embedder.encode_passages(sample)
    embed_s = time.perf_counter() - started
    flops = _flops_per_passage(settings, sample)
    count = len(tokenised)
    return {
        "lexical_passages": count,
        "tokenise_per_s": round(count / tokenise_s, 1), "bm25s_build_per_s": round(count / build_s, 1),
        "lexical_per_s": round(count / (tokenise_s + build_s), 1),
        "rank_bm25_build_per_s": round(count / rank_bm25_s, 1),
        "embedding_passages": len(sample), "embedding_per_s": round(len(sample) / embed_s, 1),
        "embedder": embedder.name, "matmul_gflops": gflops,
        "embedding_gflop_per_passage": round(flops / 1e9, 2) if flops else None,
        "embedding_floor_per_s": round(gflops * 1e9 / flops, 1) if flops else None,
    }


def _flops_per_passage(settings: Settings, texts: list[str]) -> float | None:
    """2 x (weights outside the embedding tables) x tokens, plus attention, at the model's length limit; read
    from a sentence-transformers folder, None for the other embedders."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    folder = Path(settings.embedding_model)
    if settings.embedder != "sentence_transformers" or not (folder / "sentence_bert_config.json").is_file():
        return None
    limit = json.loads((folder / "sentence_bert_config.json").read_text()).get("max_seq_length", 512)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    lengths = [min(len(ids), limit) for ids in tokenizer(texts)["input_ids"]]
    weights, width, layers = 0, DIMENSION, 0
    with safe_open(str(folder / "model.safetensors"), "np") as tensors:
        for name in tensors.keys():
            if "embeddings" not in name:
                weights += int(np.prod(tensors.get_slice(name).get_shape()))
            layers = max(layers, int(m.group(1)) + 1) if (m := re.search(r"layer\.(\d+)\.", name)) else layers
    tokens = float(np.mean(lengths))
    return 2 * weights * tokens + 4 * layers * tokens**2 * width


def reingest(work: Path, corpus: Corpus, plan: Plan) -> dict:
    """Time re-indexing after one file of a ~10k-passage knowledge folder changes, in a process that has the
    embedding model loaded (as the app and the file watcher have): until the change is searchable (the app's
    way: the lexical index published, vectors after) and until its vectors are in too; then as a fresh
    `python -m agent ingest`. The unchanged files' vectors are synthetic (random unit vectors put in the
    vector cache at set-up: the bundled embedder takes about half a second a passage here); the changed
    file's passages are embedded for real."""
    folder = work / "speed" / f"reingest-{plan.reingest_files}"
    docs = folder / "knowledge" / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(71)
    for number in range(plan.reingest_files):
        path = docs / f"article-{number:04d}.txt"
        text = "".join(rng.choice(corpus.sentences) for _ in range(60))[:3000]
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    settings = offline_settings(folder / "knowledge", folder / "index")
    embedder = create_embedder(settings)
    started = time.perf_counter()
    setup = ingest(settings, show_progress=True, embedder=embedder, wait_for_vectors=False)
    if setup.pending is not None:
        _cache_synthetic_vectors(settings, setup.pending)
        setup.pending.run()
    setup_s = time.perf_counter() - started
    failed = [f"{f.path}: {f.error}" for f in setup.files if f.status == "error"]
    if failed:  # the figures would describe an index without those files
        raise RuntimeError(f"{len(failed)} knowledge files failed to ingest, e.g. {failed[0]}")
    passages = len(KnowledgeBase.load(settings).passages)
    Tokenizer(()).tokens("预热")  # jieba's dictionary, which a running app has loaded long before
    changed = docs / "article-0000.txt"
    original = changed.read_text(encoding="utf-8")
    searchable, complete, embedded = [], [], []
    cli_s = None
    try:
        for repeat in range(plan.reingest_repeats):
            # A revision never seen before (the time in it), so its passage is embedded, not taken from the cache
            revision = f"\n\n第{repeat + 1}次修订（{time.strftime('%Y-%m-%d %H:%M:%S')}）：本段为新增内容。"
            for text in (original + revision, original):
                changed.write_text(text, encoding="utf-8")
                started = time.perf_counter()
                result = ingest(settings, embedder=embedder, wait_for_vectors=False)
                searchable.append(time.perf_counter() - started)
                assert result.changed, "the edit was not noticed"
                missing = result.pending.plan.missing(VectorCache(settings.index_dir)) if result.pending else []
                embedded.append(len(missing))
                started = time.perf_counter()
                if result.pending is not None:
                    result.pending.run()
                complete.append(searchable[-1] + time.perf_counter() - started)
        if plan.cli_reingest:
            changed.write_text(original + "\n\n命令行修订。", encoding="utf-8")
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "agent", "ingest", "--json", "--knowledge",
                            str(settings.knowledge_dir), "--index", str(settings.index_dir)],
                           cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, env=_env_without_llm())
            cli_s = round(time.perf_counter() - started, 2)
    finally:
        changed.write_text(original, encoding="utf-8")
    ingest(settings, embedder=embedder)
    return {"files": plan.reingest_files, "passages": passages, "setup_ingest_s": round(setup_s, 1),
            "searchable_s": [round(t, 3) for t in searchable], "warm_s": [round(t, 3) for t in complete],
            "texts_embedded": embedded, "searchable_median_s": round(statistics.median(searchable), 3),
            "warm_median_s": round(statistics.median(complete), 3), "warm_max_s": round(max(complete), 3),
            "cli_s": cli_s, "load_average": load_average()}


def _cache_synthetic_vectors(settings: Settings, pending) -> None:
    """Random unit vectors in the vector cache for every text the index still lacks one for."""
    cache = VectorCache(settings.index_dir)
    missing = pending.plan.missing(cache)
    cache.add([key for key, _, _ in missing], random_unit_vectors(len(missing), seed=72,
                                                                  dimension=pending.embedder.dimension))


def throughput(work: Path, plan: Plan, threads: int = 8) -> dict:
    from agent.surfaces.evaluation import load_cases
    from agent.answer.service import KnowledgeService

    service = KnowledgeService(offline_settings(SAMPLE_KNOWLEDGE, work / "sample-index"))
    distinct = [c.question for path in sorted(CASES_DIR.glob("*.jsonl")) for c in load_cases(path)]
    for question in distinct:  # every lazy part loaded, as in a server that has been up a while
        service.ask(question)
    random.Random(81).shuffle(distinct)  # the route mix of the cases even in a short run
    questions = [distinct[i % len(distinct)] for i in range(plan.asks)]

    def timed_ask(question: str) -> float:
        started = time.perf_counter()
        service.ask(question)
        return (time.perf_counter() - started) * 1000

    def one_asker() -> list[float]:
        return [timed_ask(q) for q in questions]

    def many_askers() -> list[float]:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(timed_ask, questions))

    rounds = {"sequential": [], "concurrent": []}
    for _ in range(THROUGHPUT_ROUNDS):  # alternating, so a burst of other work on the machine hits both
        for name, run_round in (("sequential", one_asker), ("concurrent", many_askers)):
            started = time.perf_counter()
            latencies = run_round()
            rounds[name].append((len(questions) / (time.perf_counter() - started), latencies))
    result = {"questions": len(questions), "distinct": len(distinct), "threads": threads, "rounds": THROUGHPUT_ROUNDS}
    for name, measured in rounds.items():
        per_s, latencies = sorted(measured, key=lambda item: item[0])[len(measured) // 2]  # the median round
        result[f"{name}_per_s"] = round(per_s, 1)
        result[f"{name}_ms"] = report.percentiles(latencies)
    return result


def cold_start(work: Path, plan: Plan) -> dict:
    """Wall time of `python -m agent ask "AM是什么意思" --json` with the index built, beside a bare
    interpreter start."""
    index = work / "sample-index"
    command = [sys.executable, "-m", "agent", "ask", "AM是什么意思", "--json", "--knowledge", str(SAMPLE_KNOWLEDGE),
               "--index", str(index)]
    walls, answer = [], {}
    for _ in range(plan.cold_starts):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=True, env=_env_without_llm())
        walls.append(time.perf_counter() - started)
        answer = json.loads(done.stdout)
    bare = []
    for _ in range(plan.cold_starts):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
    return {"runs": len(walls), "wall_s": round(statistics.median(walls), 2), "wall_min_s": round(min(walls), 2),
            "python_start_s": round(statistics.median(bare), 3), "route": answer.get("route"),
            "answer_latency_ms": answer.get("latency_ms")}


def _env_without_llm() -> dict:
    import os

    return {k: v for k, v in os.environ.items()
            if k not in {"DASHSCOPE_API_KEY", "KB_LLM_BASE_URL", "KB_LLM_LOCAL_PATH", "KB_TERM_ADAPTER"}}


# ---- the run and its report -----------------------------------------------------------------------

def run(plan: Plan, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}

    def phase(name: str, function, *args):
        started = time.perf_counter()
        value = function(*args)
        phases[name] = round(time.perf_counter() - started, 1)
        log.info("%s took %.1f s", name, phases[name])
        return value

    corpus_path = phase("corpus", prepare_corpus, work)
    corpus = load_corpus(corpus_path)
    settings = offline_settings(SAMPLE_KNOWLEDGE, work / "sample-index")
    load_before = load_average()
    bandwidth = phase("bandwidth", memory_bandwidth_gb_s, plan.bandwidth_mb)
    gflops = phase("matmul", matmul_gflops)
    routes = phase("term", lambda: [run_worker("term", n, plan.queries, work) for n in plan.glossary_sizes])
    routes += phase("fact", lambda: [run_worker("fact", n, plan.queries, work) for n in plan.faq_sizes])
    documents = phase("doc", lambda: [run_worker("doc", n, plan.queries, work, corpus_path, plan.doc_queries)
                                      for n in plan.passage_sizes])
    full_path = phase("full path", lambda: [
        run_worker(f"full-{kind}", max(sizes), plan.full_path_queries, work, corpus_path)
        for kind, sizes in (("term", plan.glossary_sizes), ("fact", plan.faq_sizes), ("doc", plan.passage_sizes))])
    result = {
        "environment": report.environment(),
        "load_average": {"before": load_before},
        "bounds": {"memory_read_gb_s": bandwidth, "matmul_gflops": gflops},
        "routes": routes,
        "documents": documents,
        "full_path": full_path,
        "ingest": phase("ingest rates", ingest_rates, corpus, plan, settings, gflops),
        "reingest": phase("re-ingest", reingest, work, corpus, plan),
        "throughput": phase("throughput", throughput, work, plan),
        "cold_start": phase("cold start", cold_start, work, plan),
    }
    result["load_average"]["after"] = load_average()
    # The bounds are the best the machine showed: measured at the start, at the end and inside the steps.
    # Vectors smaller than CACHE_SIZED_BYTES may be read from cache, faster than memory: their own fastest
    # read is their floor, and they say nothing about the memory's bandwidth.
    bandwidth = max(bandwidth, memory_bandwidth_gb_s(plan.bandwidth_mb),
                    *(r["dense_bytes_per_query"] / (r["vector_read_floor_ms"] / 1000) / 1e9
                      for r in documents if r["dense_bytes_per_query"] >= CACHE_SIZED_BYTES))
    result["bounds"] = {"memory_read_gb_s": round(bandwidth, 2),
                        "matmul_gflops": max(gflops, matmul_gflops(), result["ingest"]["matmul_gflops"])}
    for row in documents:
        by_bandwidth = row["dense_bytes_per_query"] / (bandwidth * 1e9) * 1000
        row["dense_floor_ms"] = round(min(by_bandwidth, row["vector_read_floor_ms"]), 3)
    result["targets"] = targets(result)
    result["phase_seconds"] = phases
    return result


def targets(result: dict) -> list[dict]:
    """Issue 13's targets, each on what a user waits for: KnowledgeService.ask with the question embedded."""
    full = {row["route"]: row for row in result["full_path"]}
    term, fact, doc = full["term"], full["fact"], full["doc"]
    reindex = result["reingest"]
    rows = [
        {"target": f"term p95 ≤ {TARGETS_MS['term']:g} ms", "at": f"{term['size']:,} terms, every wording",
         "measured": term["ask_ms"]["p95"], "limit": TARGETS_MS["term"]},
        {"target": f"term p95 ≤ {TARGETS_MS['term']:g} ms", "at": f"{term['size']:,} terms, common wordings only",
         "measured": term["ask_plain_ms"]["p95"], "limit": TARGETS_MS["term"]},
        {"target": f"fact p95 ≤ {TARGETS_MS['fact']:g} ms", "at": f"{fact['size']:,} FAQ entries",
         "measured": fact["ask_ms"]["p95"], "limit": TARGETS_MS["fact"]},
        {"target": f"doc p95 ≤ {TARGETS_MS['doc']:g} ms", "at": f"{doc['size']:,} passages",
         "measured": doc["ask_ms"]["p95"], "limit": TARGETS_MS["doc"]},
        {"target": f"re-index one changed file ≤ {REINGEST_TARGET_S:g} s",
         "at": f"{reindex['passages']:,} passages, warm process, until searchable",
         "measured": reindex["searchable_median_s"], "limit": REINGEST_TARGET_S},
        {"target": f"re-index one changed file ≤ {REINGEST_TARGET_S:g} s",
         "at": f"{reindex['passages']:,} passages, warm process, vectors too",
         "measured": reindex["warm_median_s"], "limit": REINGEST_TARGET_S},
    ]
    for row in rows:
        row["met"] = row["measured"] is not None and row["measured"] <= row["limit"]
    return rows


def markdown(result: dict) -> str:
    bounds = result["bounds"]
    load = result["load_average"]
    lines = [
        "## Speed and scale (`python -m bench speed`)",
        "",
        report.environment_markdown(result["environment"]),
        f"Load average (1, 5, 15 min) before: {load['before']}, after: {load['after']} — other work shared the "
        f"cores. The fastest read of a large float32 array here ran at {bounds['memory_read_gb_s']} GB/s (numpy sum or "
        f"BLAS matrix-vector product) and the fastest float32 matrix product at {bounds['matmul_gflops']} GFLOP/s "
        "(numpy or torch); the floors below come from these.",
        "",
        *([f"The rows behind the targets (what a user waits for, re-indexing) were measured again from "
           f"{result['rerun']['started']}, at a load average of {result['rerun']['load_before']} before and "
           f"{result['rerun']['load_after']} after, since the load of the first run inflated them; the other rows "
           "are the first run's.", ""] if result.get("rerun") else []),  # set by whoever reran those rows
        "**Targets** (issue 13; milliseconds are p95 of `KnowledgeService.ask` with no LLM, the question embedded "
        "by the real embedder, in process; seconds are medians)",
        "",
        report.markdown_table(["target", "at", "measured", "met"],
                              [[t["target"], t["at"], t["measured"], "yes" if t["met"] else "**no**"]
                               for t in result["targets"]]),
        "",
        *full_path_markdown(result["full_path"]),
        "",
        "**Term and fact routes on an index without stored vectors** (`Router.route`; nothing is compared by "
        "meaning, but a question is still embedded where the route asks for its vector: every FAQ question, and "
        "a term question the classifier decides; in process, one size per fresh subprocess; synthetic glossaries "
        "of random abbreviations with English and Chinese names, synthetic Chinese FAQ sheets asked in paraphrase; "
        "'correct': routed to the right term / FAQ entry):",
        "",
    ]
    rows = []
    for r in result["routes"]:
        extra = f"FaqMatcher.match alone p50 {r['match_latency_ms']['p50']} / p95 {r['match_latency_ms']['p95']} ms; " \
                f"its top-1 {r['matcher_top1']:.1%}" if r["route"] == "fact" else ""
        rows.append([r["route"], f"{r['size']:,} {r['unit']}", r["latency_ms"]["p50"], r["latency_ms"]["p95"],
                     f"{r['correct']:.1%}", f"{r['build_s']:.2f}",
                     f"{r['baseline_rss_mb']:.0f} / {r['peak_rss_mb']:.0f}",
                     extra])
    lines.append(report.markdown_table(["route", "size", "p50 ms", "p95 ms", "correct", "build s",
                                        "RSS MB after imports / peak", "notes"], rows))
    lines += ["", "**Document retrieval without generation** (`KnowledgeBase.search`, k=5, CMRC2018 questions; "
                  f"'default' is the search as configured (`KB_DENSE_WEIGHT`, auto: words and vectors, dense weight "
                  f"{AUTO_DENSE_WEIGHT:g}), "
                  "which embeds the question when the index has vectors; 'hybrid' forces dense weight 1; every "
                  "timed question is distinct, so none takes its vector from the cache; legs alone take 50 "
                  "candidates). The dense floor: the bytes a flat search must read (passages x 384 x 4) over the "
                  "memory bandwidth, or the fastest numpy read of those same vectors, whichever is less.", ""]
    rows = []
    for r in result["documents"]:
        rows.append([f"{r['size']:,}", *(_p50_p95(r, key) for key in (
                         "default_ms", "hybrid_ms", "hybrid_one_thread_ms", "query_embedding_ms",
                         "query_embedding_one_thread_ms", "bm25s_ms", "rank_bm25_ms", "faiss_flat_ms",
                         "faiss_flat_one_thread_ms", "numpy_flat_ms")),
                     f"{r['dense_floor_ms']:.2f}", r.get("index_mb", "—"), r["load_s"],
                     f"{r['baseline_rss_mb']:.0f} / {r['serving_rss_mb']:.0f} / {r['peak_rss_mb']:.0f}"])
    threads = next((r["torch_threads"] for r in result["documents"] if "torch_threads" in r), "default")
    lines.append(report.markdown_table(
        ["passages", "default p50/p95 ms", f"hybrid ({threads} torch threads)", "hybrid (1 torch thread)",
         f"question embedding ({threads} threads)", "question embedding (1 thread)", "BM25 leg (bm25s)",
         "BM25 (rank_bm25)", "FAISS flat leg", "FAISS flat, 1 thread", "numpy brute force", "dense floor ms",
         "index MB on disk", "load s",
         "RSS MB after imports / serving / peak"], rows))
    lines += ["", *(f"- {note}" for note in document_notes(result["documents"]))]
    t = result["throughput"]
    c = result["cold_start"]
    i = result["ingest"]
    r = result["reingest"]
    lines += [
        "",
        f"**Throughput** (`KnowledgeService.ask` on the sample knowledge, no LLM, {t['questions']} questions cycled "
        f"from the {t['distinct']} cases in bench/cases, median of {t['rounds']} rounds): one asker "
        f"{t['sequential_per_s']} questions/s "
        f"(p50 {t['sequential_ms']['p50']} ms, p95 {t['sequential_ms']['p95']} ms); {t['threads']} concurrent askers "
        f"(threads) {t['concurrent_per_s']} questions/s (p50 {t['concurrent_ms']['p50']} ms, p95 "
        f"{t['concurrent_ms']['p95']} ms). Threads share one interpreter lock, so the gain is bounded by the "
        "parts that release it (numpy, FAISS, bm25s, torch).",
        "",
        f"**Cold start** of `python -m agent ask \"AM是什么意思\" --json` with the index built: {c['wall_s']} s "
        f"(median of {c['runs']}, best {c['wall_min_s']} s; route `{c['route']}`, answered in "
        f"{c['answer_latency_ms']} ms once loaded), against {c['python_start_s']} s for a bare `python -c pass`.",
        "",
        f"**Ingestion**: lexical indexing {i['lexical_per_s']} passages/s over {i['lexical_passages']} passages "
        f"(jieba {i['tokenise_per_s']}/s, bm25s index {i['bm25s_build_per_s']}/s; rank_bm25's BM25Okapi builds at "
        f"{i['rank_bm25_build_per_s']}/s on the same tokens). Embedding {i['embedding_per_s']} passages/s over "
        f"{i['embedding_passages']} passages of ~{PASSAGE_CHARS} characters ({i['embedder']})"
        + (f"; at {i['embedding_gflop_per_passage']} GFLOP per passage the matrix-product rate allows at most "
           f"{i['embedding_floor_per_s']}/s." if i["embedding_floor_per_s"] else "."),
        "",
        f"**Re-index after one file changes** in a {r['passages']:,}-passage index ({r['files']} files), in a "
        f"process with the embedding model loaded (the app, the file watcher), over {len(r['warm_s'])} edits: "
        f"searchable again (the lexical index published, as the app does before the vectors) after a median "
        f"{r['searchable_median_s']} s; with the changed passages' vectors ({', '.join(map(str, r['texts_embedded']))} "
        f"texts embedded per edit) a median {r['warm_median_s']} s, worst {r['warm_max_s']} s"
        + (f"; a fresh `python -m agent ingest` process takes {r['cli_s']} s" if r["cli_s"] is not None else "")
        + f". Load average at the end: {r['load_average']}. Setting up that index took {r['setup_ingest_s']} s "
        "(kept in bench/.work between runs; the unchanged files' vectors there are synthetic, put in the vector "
        "cache, since the bundled embedder takes about half a second a passage here). Only the changed file is "
        "parsed, tokenised and embedded; the other passages' token ids are read back from the previous generation "
        "and the BM25 matrix is computed from all of them over whole arrays (agent/index/lexical.py), with the "
        "numbers bm25s computes.",
    ]
    return "\n".join(lines)


def full_path_markdown(rows: list[dict]) -> list[str]:
    header = ("**What a user waits for** (`python -m bench.speed --worker full-ROUTE SIZE --queries N --work bench/.work "
              "[--corpus bench/.work/speed/cmrc-sentences.json]`): `Router.route` (glossary, term-intent classifier, "
              "FAQ by words and by meaning, passages by words and vectors, the calibrated decision) and "
              "`KnowledgeService.ask` with no LLM, each question distinct and embedded by the real embedder "
              f"({rows[0]['embedder'] if rows else '—'}). The index's vectors are synthetic random unit vectors "
              "labelled as that embedder's, so the times are real but the decisions by meaning are not: with random "
              "vectors most FAQ and document questions end in an abstention, which searches the FAQ and the "
              "passages both, the longest path. Term questions are half in common wordings (`AM是什么意思`), "
              "answered without the classifier, half in wordings the classifier decides on the question's vector.")
    table = []
    for r in rows:
        extra = ""
        if r["route"] == "term":
            extra = (f"common wordings p95 {r['ask_plain_ms']['p95']} ms; classifier wordings p95 "
                     f"{r['ask_classified_ms']['p95']} ms")
        table.append([r["route"], f"{r['size']:,} {r['unit']}", r["questions"], _p50_p95(r, "route_ms"),
                      _p50_p95(r, "ask_ms"), r["ask_max_ms"], _p50_p95(r, "query_embedding_ms"),
                      ", ".join(f"{k} {v}" for k, v in r["routes"].items() if v), f"{r['correct']:.0%}",
                      f"{r['load_before']} → {r['load_after']}", f"{r['serving_rss_mb']:.0f}", extra])
    return [header, "", report.markdown_table(
        ["route", "size", "questions", "Router.route p50/p95 ms", "ask p50/p95 ms", "ask max ms",
         "question embedding alone p50/p95 ms", "decided", "correct", "load average before → after",
         "RSS MB", "notes"], table)]


def _p50_p95(row: dict, key: str) -> str:
    value = row.get(key)
    return f"{value['p50']} / {value['p95']}" if value else "—"


def document_notes(documents: list[dict]) -> list[str]:
    """What the document retrieval rows say beyond the figures, worked out from them."""
    notes = []
    largest = max(documents, key=lambda r: r["size"], default=None)
    if largest is None:
        return notes
    ranked = [r for r in documents if "rank_bm25_ms" in r]
    if ranked:
        r = max(ranked, key=lambda row: row["size"])
        notes.append(f"BM25 at {r['size']:,} passages: bm25s answers in {r['bm25s_ms']['p50']} ms (p50), rank_bm25 "
                     f"(what Qwen-Agent's keyword search uses) in {r['rank_bm25_ms']['p50']} ms, "
                     f"{r['rank_bm25_ms']['p50'] / max(r['bm25s_ms']['p50'], 1e-9):.0f}x slower.")
    faiss_ms, numpy_ms = largest["faiss_flat_ms"]["p50"], largest["numpy_flat_ms"]["p50"]
    notes.append(f"Flat dense search at {largest['size']:,} passages: FAISS IndexFlatIP {faiss_ms} ms (p50), a numpy "
                 f"matrix-vector product over the same vectors {numpy_ms} ms, against a floor of "
                 f"{largest['dense_floor_ms']} ms; for one question at a time "
                 + ("numpy's BLAS product is the faster scan." if numpy_ms < faiss_ms else "FAISS is the faster scan."))
    slowed = [r for r in documents if "hybrid_ms" in r
              and r["hybrid_ms"]["p95"] > 2 * r["hybrid_one_thread_ms"]["p95"]]
    for r in slowed:
        notes.append(f"At {r['size']:,} passages, hybrid search with torch's {r['torch_threads']} intra-op threads "
                     "took "
                     f"p95 {r['hybrid_ms']['p95']} ms against {r['hybrid_one_thread_ms']['p95']} ms with one: when "
                     "other work holds a core, torch's threads wait for each other and one question's embedding "
                     "slows many times over.")
    return notes


def main(args) -> int:
    result = run(QUICK if args.quick else FULL, Path(args.work))
    if args.write_docs:
        report.write_docs_section(Path(args.docs), "speed", markdown(result))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(markdown(result))
    return 0


def _worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.speed", description="one size of one route (internal)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SIZE"), required=True)
    parser.add_argument("--queries", type=int, required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--corpus")
    parser.add_argument("--embedded-queries", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="full-ROUTE: cProfile of the asks, on stderr")
    args = parser.parse_args(argv)
    report.configure_logging(logging.WARNING)
    kind, size = args.worker[0], int(args.worker[1])
    work = Path(args.work)
    if kind == "term":
        result = term_worker(size, args.queries, work)
    elif kind == "fact":
        result = fact_worker(size, args.queries, work)
    elif kind == "doc":
        result = doc_worker(size, args.queries, work, Path(args.corpus), args.embedded_queries)
    elif kind.startswith("full-"):
        result = full_path_worker(kind.removeprefix("full-"), size, args.queries, work,
                                  Path(args.corpus) if args.corpus else None, args.profile)
    else:
        parser.error(f"unknown worker kind {kind}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker_main(sys.argv[1:]))
