"""`python -m bench speed`: latency per route as the glossary, the FAQ and the document pile grow, throughput
with concurrent askers, memory, cold start and ingest speed, each figure beside its bound or the best
alternative measured in the same run, and the targets met or missed.

Every size of every route runs in its own subprocess (`python -m bench.speed --worker KIND SIZE ...`), so
its peak RSS is its own. Glossaries and FAQ sheets are synthetic (seeded); document passages are runs of
real CMRC2018 sentences with their real jieba tokens, and random unit vectors stand in for embeddings
(a flat FAISS search costs the same whatever the vectors say). Index generations for them are written
with the index's own classes (LexicalIndex, DenseIndex, store) and searched through KnowledgeBase.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from agent.index import store
from agent.index.dense import DenseIndex
from agent.index.build import faq_passage, ingest
from agent.index.knowledge_base import CANDIDATES, KnowledgeBase
from agent.index.lexical import LexicalIndex, Tokenizer
from agent.records import FaqEntry, Passage, Term
from agent.settings import REPO_ROOT
from bench import report
from bench.quality import CASES_DIR, CMRC_DEV, SAMPLE_KNOWLEDGE, offline_settings

log = logging.getLogger(__name__)

DIMENSION = 384  # all-MiniLM-L6-v2
PASSAGE_CHARS = 300  # the default KB_CHUNK_SIZE
TARGETS_MS = {"term": 5.0, "fact": 30.0, "doc": 100.0}  # p95 at the largest size
REINGEST_TARGET_S = 3.0
THROUGHPUT_ROUNDS = 3
CACHE_SIZED_BYTES = 64 * 2**20
RANK_BM25_MAX_SIZE = 10_000  # rank_bm25 scores every passage in Python; beyond this it only costs time
_SENTENCE_END = re.compile(r"(?<=[。！？])")


@dataclass(frozen=True)
class Plan:
    glossary_sizes: tuple[int, ...]
    faq_sizes: tuple[int, ...]
    passage_sizes: tuple[int, ...]
    queries: int  # timed questions per size of the term and fact routes
    doc_queries: int  # questions that embed (hybrid search, embedding alone) per passage count, 0: none;
    # the other document measurements use `queries`
    asks: int  # questions through KnowledgeService.ask, per concurrency level
    cold_starts: int
    embedding_sample: int
    lexical_sample: int
    reingest_files: int  # synthetic articles of about 3,000 characters: about 12 passages each
    reingest_repeats: int
    bandwidth_mb: int
    cli_reingest: bool = True  # also time a fresh `python -m agent ingest` process (imports torch: slow)


FULL = Plan(glossary_sizes=(100, 5_000, 50_000), faq_sizes=(100, 2_000, 20_000),
            passage_sizes=(1_000, 10_000, 100_000), queries=300, doc_queries=100, asks=400, cold_starts=3,
            embedding_sample=256, lexical_sample=2_000, reingest_files=840, reingest_repeats=3, bandwidth_mb=1024)
QUICK = Plan(glossary_sizes=(100, 500), faq_sizes=(200,), passage_sizes=(500,), queries=20, doc_queries=0, asks=24,
             cold_starts=1, embedding_sample=4, lexical_sample=50, reingest_files=3, reingest_repeats=1,
             bandwidth_mb=64, cli_reingest=False)


# ---- synthetic knowledge -------------------------------------------------------------------------

ENGLISH_WORDS = """account asset audit balance brand budget business capital cash channel client cloud compliance
contract control cost credit customer data delivery demand design development digital direct enterprise equity
finance forecast growth human incident index industry information infrastructure innovation insurance integrated
internal inventory investment key knowledge labor lead legal level logistics management manufacturing market
master material media model network object operation order partner payment performance planning platform policy
portfolio price process procurement product production program project quality quarterly regional research
resource retail revenue risk sales security service settlement share software solution standard strategic supply
support system target tax team technical trade training transfer value vendor""".split()
CHINESE_WORDS = """客户 经理 项目 管理 平台 系统 数据 中心 服务 运营 财务 预算 合同 采购 供应 渠道 市场 销售 产品 研发
测试 质量 安全 风险 合规 审计 人力 资源 培训 绩效 薪酬 招聘 行政 资产 设备 网络 信息 技术 架构 运维 营销 品牌 战略
规划 投资 融资 结算 发票 税务 法务 客服 物流 仓储 库存 生产 制造 工艺 标准 流程 委员会 事业部 办公室 小组 指标 报告
会议 方案 计划 政策""".split()
TERM_QUESTIONS = ("{abbr}是什么意思", "{abbr}是啥", "请问{abbr}指的是什么", "{abbr}的中文全称是什么",
                  "{chinese}的英文全称是什么", "{english}是什么意思", "What does {abbr} stand for?")

FAQ_SUBJECTS = """年假 病假 婚假 产假 调休 加班费 差旅补贴 住宿标准 餐补 工资条 社保 公积金 体检 门禁卡 工牌 停车位 会议室
打印机 VPN账号 企业邮箱 笔记本电脑 显示器 办公用品 快递 访客登记 培训课程 绩效考核 转正 离职手续 入职材料 劳动合同
增值税发票 合同盖章 采购申请 出差审批 团建费用 年终奖 内推奖金 工作居住证 商业保险""".split()
FAQ_ACTIONS = """申请 办理 查询 修改 取消 延期 补办 续签 审批 提交 领取 报销 预约 变更 退回 撤销 转移 确认 开具 核对
登记 注销 激活 升级 归还""".split()
FAQ_ASPECTS = """流程 条件 材料 时间 期限 标准 费用 负责人 入口 系统 额度 次数 审批人 截止日期 注意事项 所需天数 联系方式
适用范围 常见问题 处理进度""".split()
FAQ_PARAPHRASES = ("请问{s}要怎么{a}，{p}是怎样的", "想了解一下{s}{a}的{p}", "关于{s}{a}，{p}怎么规定的",
                   "{s}{a}的话{p}是啥")
DEPARTMENTS = ("人力资源部", "财务部", "行政部", "信息技术部", "法务部")


def synthetic_terms(size: int, seed: int = 11) -> list[Term]:
    """Unique random abbreviations with English and Chinese names made of business words."""
    rng = random.Random(seed)
    seen: set[str] = set()
    terms = []
    while len(terms) < size:
        abbr = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(2, 5)))
        if rng.random() < 0.1:
            abbr += str(rng.randint(1, 9))
        if abbr in seen:
            continue
        seen.add(abbr)
        english = " ".join(w.capitalize() for w in rng.sample(ENGLISH_WORDS, rng.randint(2, 4)))
        chinese = "".join(rng.sample(CHINESE_WORDS, rng.randint(2, 3)))
        terms.append(Term((abbr,), english, chinese, source="glossary/synthetic.xlsx", sheet="术语", row=len(terms) + 2))
    return terms


def term_questions(terms: list[Term], count: int, seed: int = 12) -> list[tuple[str, Term]]:
    rng = random.Random(seed)
    asked = []
    for _ in range(count):
        term = rng.choice(terms)
        template = rng.choice(TERM_QUESTIONS)
        asked.append((template.format(abbr=term.abbreviation, english=term.english, chinese=term.chinese), term))
    return asked


def synthetic_faq(size: int, seed: int = 21) -> list[FaqEntry]:
    """Questions "{subject}{action}的{aspect}是什么？": up to 41 x 25 x 20 = 20,500 distinct entries, many
    sharing all but one word with others, which makes matching harder, not easier."""
    rng = random.Random(seed)
    combos = [(s, a, p) for s in FAQ_SUBJECTS for a in FAQ_ACTIONS for p in FAQ_ASPECTS]
    if size > len(combos):
        raise ValueError(f"at most {len(combos)} synthetic FAQ entries")
    rng.shuffle(combos)
    entries = []
    for number, (s, a, p) in enumerate(combos[:size]):
        answer = (f"{s}{a}的{p}：按公司制度执行，由{rng.choice(DEPARTMENTS)}负责，"
                  f"一般在{rng.randint(1, 15)}个工作日内完成。")
        entries.append(FaqEntry(f"{s}{a}的{p}是什么？", answer, (f"怎么{a}{s}？{p}是怎样的？",),
                                source="faq/synthetic.xlsx", sheet="FAQ", row=number + 2))
    return entries


def faq_questions(entries: list[FaqEntry], count: int, seed: int = 22) -> list[tuple[str, FaqEntry]]:
    """Paraphrases worded unlike the stored question and its similar question."""
    rng = random.Random(seed)
    pattern = re.compile(rf"^({'|'.join(FAQ_SUBJECTS)})({'|'.join(FAQ_ACTIONS)})的(.+)是什么？$")
    asked = []
    for _ in range(count):
        entry = rng.choice(entries)
        s, a, p = pattern.match(entry.question).groups()
        asked.append((rng.choice(FAQ_PARAPHRASES).format(s=s, a=a, p=p), entry))
    return asked


@dataclass
class Corpus:
    sentences: list[str]
    tokens: list[list[str]]
    questions: list[str]


def prepare_corpus(work: Path) -> Path:
    """CMRC2018 dev sentences with their jieba tokens and its questions, cached as JSON for the workers."""
    path = work / "speed" / "cmrc-sentences.json"
    if path.is_file():
        return path
    if not CMRC_DEV.is_file():
        raise FileNotFoundError(f"CMRC2018 dev set not found at {CMRC_DEV}")
    data = json.loads(CMRC_DEV.read_text(encoding="utf-8"))["data"]
    sentences = [s.strip() for a in data for p in a["paragraphs"] for s in _SENTENCE_END.split(p["context"])
                 if s.strip()]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    tokenizer = Tokenizer(())
    tokens = [tokenizer.tokens(s) for s in tqdm(sentences, desc="tokenising CMRC2018 sentences", file=sys.stderr)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sentences": sentences, "tokens": tokens, "questions": questions}, ensure_ascii=False))
    return path


def load_corpus(path: Path) -> Corpus:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Corpus(data["sentences"], data["tokens"], data["questions"])


def synthetic_passages(corpus: Corpus, size: int, seed: int = 31) -> tuple[list[Passage], list[list[str]]]:
    """Passages of about PASSAGE_CHARS characters, each a random draw of real sentences (so no two repeat),
    with the jieba tokens of those sentences."""
    rng = random.Random(seed)
    passages, tokens = [], []
    for number in range(size):
        text, words = "", []
        while len(text) < PASSAGE_CHARS * 0.8:
            pick = rng.randrange(len(corpus.sentences))
            text += corpus.sentences[pick]
            words += corpus.tokens[pick]
        passages.append(Passage(text[:PASSAGE_CHARS], f"docs/synthetic-{number // 12:05d}.txt",
                                f"part {number % 12 + 1}"))
        tokens.append(words)
    return passages, tokens


def random_unit_vectors(count: int, seed: int = 41) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def write_generation(index_dir: Path, embedding_model: str, terms=(), faq=(), passages=(), lexical=None,
                     dense=None) -> None:
    """A complete index generation from records and built indexes, published the way ingest publishes."""
    generation = store.new_generation(index_dir)
    records = {"terms": list(terms), "faq": list(faq), "passages": list(passages)}
    for name, (file, _) in store.RECORD_FILES.items():
        store.write_records(generation / file, records[name])
    if lexical is not None:
        lexical.save(generation / "lexical")
    if dense is not None:
        dense.save(generation / "dense.faiss")
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "embedding_model": embedding_model,
                "synthetic": True, "totals": {k: len(v) for k, v in records.items()}}
    (generation / "manifest.json").write_text(json.dumps(manifest))
    store.publish(index_dir, generation)


# ---- measuring -----------------------------------------------------------------------------------

def _timed(function, items, desc: str) -> tuple[list[float], list]:
    """Milliseconds per call, and the results."""
    times, results = [], []
    for item in tqdm(items, desc=desc, unit="q", file=sys.stderr, leave=False):
        started = time.perf_counter()
        results.append(function(item))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def peak_rss_mb() -> float:
    """The process's high-water RSS. VmHWM, not getrusage: Linux carries the parent's RSS at spawn time
    into a child's ru_maxrss, which would hide a small worker's own peak."""
    return _proc_status_mb("VmHWM") or round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    return _proc_status_mb("VmRSS") or peak_rss_mb()


def _proc_status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def term_worker(size: int, queries: int, work: Path) -> dict:
    from agent.answer.router import Router

    baseline = current_rss_mb()
    terms = synthetic_terms(size)
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        write_generation(settings.index_dir, settings.embedding_model, terms=terms)
        started = time.perf_counter()
        router = Router(KnowledgeBase.load(settings))
        build_s = time.perf_counter() - started
        asked = term_questions(terms, queries)
        router.route(asked[0][0])
        times, decisions = _timed(lambda pair: router.route(pair[0]), asked, f"term route, {size} terms")
    correct = sum(d.route == "term" and term in d.terms for d, (_, term) in zip(decisions, asked))
    return {"route": "term", "size": size, "unit": "terms", "build_s": round(build_s, 3),
            "latency_ms": report.percentiles(times), "correct": round(correct / len(asked), 4),
            "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def fact_worker(size: int, queries: int, work: Path) -> dict:
    from agent.answer.faq_match import FaqMatcher
    from agent.answer.router import Router

    baseline = current_rss_mb()
    entries = synthetic_faq(size)
    passages = [faq_passage(e) for e in entries]
    tokenizer = Tokenizer(())
    lexical = LexicalIndex.build([tokenizer.tokens(p.text) for p in passages])
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        write_generation(settings.index_dir, settings.embedding_model, faq=entries, passages=passages, lexical=lexical)
        del lexical
        router = Router(KnowledgeBase.load(settings))
        started = time.perf_counter()
        router.faq.match("预热")  # builds the matcher
        build_s = time.perf_counter() - started
        asked = faq_questions(entries, queries)
        router.route(asked[0][0])
        times, decisions = _timed(lambda pair: router.route(pair[0]), asked, f"fact route, {size} FAQ entries")
        match_times, matches = _timed(lambda pair: router.faq.match(pair[0]), asked, f"FaqMatcher, {size}")
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
    questions = [rng.choice(corpus.questions) for _ in range(queries)]
    passages, tokens = synthetic_passages(corpus, size)
    vectors = random_unit_vectors(size)
    del corpus
    started = time.perf_counter()
    lexical = LexicalIndex.build(tokens)
    lexical_build_s = time.perf_counter() - started
    dense = DenseIndex.build(vectors)
    tokenizer = Tokenizer(())
    query_tokens = [tokenizer.tokens(q) for q in questions]
    query_vectors = random_unit_vectors(queries, seed=42)
    result = {"size": size, "faiss_threads": faiss.omp_get_max_threads()}
    result["bm25s_ms"] = report.percentiles(_timed(lambda t: lexical.search(t, CANDIDATES), query_tokens, "bm25s")[0])
    result["faiss_flat_ms"] = report.percentiles(
        _timed(lambda v: dense.search(v, CANDIDATES), query_vectors, "FAISS")[0])
    result["numpy_flat_ms"] = report.percentiles(
        _timed(lambda v: _numpy_top_k(vectors, v, CANDIDATES), query_vectors, "numpy brute force")[0])
    result["vector_read_floor_ms"] = round(_fastest_read_s(vectors) * 1000, 3)
    faiss.omp_set_num_threads(1)
    result["faiss_flat_one_thread_ms"] = report.percentiles(
        _timed(lambda v: dense.search(v, CANDIDATES), query_vectors, "FAISS, one thread")[0])
    faiss.omp_set_num_threads(result["faiss_threads"])
    if size <= RANK_BM25_MAX_SIZE:
        from rank_bm25 import BM25Okapi

        bm25 = BM25Okapi(tokens)
        result["rank_bm25_ms"] = report.percentiles(_timed(
            lambda t: np.argpartition(-bm25.get_scores(t), CANDIDATES)[:CANDIDATES], query_tokens, "rank_bm25")[0])
        del bm25
    with tempfile.TemporaryDirectory(dir=work) as folder:
        settings = offline_settings(Path(folder) / "knowledge", Path(folder) / "index")
        write_generation(settings.index_dir, settings.embedding_model, passages=passages, lexical=lexical,
                         dense=dense)
        build_peak = peak_rss_mb()
        del lexical, dense, vectors, passages, tokens
        gc.collect()
        started = time.perf_counter()
        kb = KnowledgeBase.load(settings)
        load_s = time.perf_counter() - started
        kb.search(questions[0])
        result["default_ms"] = report.percentiles(_timed(lambda q: kb.search(q, k=5), questions, f"search, {size}")[0])
        if embedded_queries:
            result.update(_embedding_latencies(kb, questions[:embedded_queries], size))
        result["serving_rss_mb"] = current_rss_mb()
    result.update({"lexical_build_s": round(lexical_build_s, 2), "load_s": round(load_s, 2),
                   "dense_bytes_per_query": size * DIMENSION * 4, "build_peak_rss_mb": build_peak,
                   "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()})
    return result


def _embedding_latencies(kb: KnowledgeBase, embedded: list[str], size: int) -> dict:
    """Hybrid search and the question's embedding alone, with torch's default threads and with one."""
    import torch

    from agent.index.embedding import load_embedder

    kb.search(embedded[0], dense_weight=1.0)  # loads the embedding model
    embedder = load_embedder(kb.settings.embedding_model)
    result = {"embedded_queries": len(embedded), "torch_threads": torch.get_num_threads()}
    result["hybrid_ms"] = report.percentiles(
        _timed(lambda q: kb.search(q, k=5, dense_weight=1.0), embedded, f"hybrid search, {size}")[0])
    result["query_embedding_ms"] = report.percentiles(_timed(lambda q: embedder.encode([q]), embedded, "embed")[0])
    torch.set_num_threads(1)  # the alternative: one intra-op thread, which shared cores favour
    result["query_embedding_one_thread_ms"] = report.percentiles(
        _timed(lambda q: embedder.encode([q]), embedded, "embed, one thread")[0])
    result["hybrid_one_thread_ms"] = report.percentiles(
        _timed(lambda q: kb.search(q, k=5, dense_weight=1.0), embedded, f"hybrid search, one thread, {size}")[0])
    return result


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

def memory_bandwidth_gb_s(megabytes: int) -> float:
    """The fastest rate numpy reads a large float32 array here (see _fastest_read_s)."""
    array = np.ones((megabytes * 2**20 // (4 * DIMENSION), DIMENSION), dtype=np.float32)
    return round(array.nbytes / _fastest_read_s(array) / 1e9, 2)


def _fastest_read_s(matrix: np.ndarray) -> float:
    """Seconds for the fastest full read of `matrix`: a numpy sum (one thread) or a matrix-vector product
    (BLAS, every core), the best of five each. A flat dense search cannot read its vectors faster."""
    vector = np.ones(matrix.shape[1], dtype=np.float32)
    best = float("inf")
    for read in (matrix.sum, lambda: matrix @ vector):
        for _ in range(5):
            started = time.perf_counter()
            read()
            best = min(best, time.perf_counter() - started)
    return best


def matmul_gflops(n: int = 2048) -> float:
    """The fastest float32 matrix product here, numpy's or torch's (which the embedding model runs on)."""
    import torch

    a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(2).standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    best = float("inf")
    for multiply in (lambda: a @ b, lambda: ta @ tb):
        for _ in range(5):
            started = time.perf_counter()
            multiply()
            best = min(best, time.perf_counter() - started)
    return round(2 * n**3 / best / 1e9, 1)


# ---- ingest, throughput, cold start ---------------------------------------------------------------

def ingest_rates(corpus: Corpus, plan: Plan, embedding_model: str, gflops: float) -> dict:
    from rank_bm25 import BM25Okapi

    from agent.index.embedding import load_embedder

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
    embedder = load_embedder(embedding_model)
    embedder.encode(texts[:2])
    gflops = max(gflops, matmul_gflops())  # again now: other work on the machine comes and goes
    sample = texts[:plan.embedding_sample]
    started = time.perf_counter()
    embedder.encode(sample)
    embed_s = time.perf_counter() - started
    flops = _flops_per_passage(embedding_model, sample)
    count = len(tokenised)
    return {
        "lexical_passages": count,
        "tokenise_per_s": round(count / tokenise_s, 1), "bm25s_build_per_s": round(count / build_s, 1),
        "lexical_per_s": round(count / (tokenise_s + build_s), 1),
        "rank_bm25_build_per_s": round(count / rank_bm25_s, 1),
        "embedding_passages": len(sample), "embedding_per_s": round(len(sample) / embed_s, 1),
        "embedding_gflop_per_passage": round(flops / 1e9, 2),
        "embedding_floor_per_s": round(gflops * 1e9 / flops, 1), "matmul_gflops": gflops,
    }


def _flops_per_passage(model_path: str, texts: list[str]) -> float:
    """2 x (weights outside the embedding tables) x tokens, plus attention, at the model's length limit."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    folder = Path(model_path)
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
    """Time `ingest` after one file of a ~10k-passage knowledge folder changes, in a process that has the
    embedding model loaded (as the app and the file watcher have), and as a fresh `python -m agent ingest`."""
    import torch

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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the setup is not what is measured; one thread is kinder to a shared machine
    started = time.perf_counter()
    try:
        setup = ingest(settings, show_progress=True)
    finally:
        torch.set_num_threads(threads)
    setup_s = time.perf_counter() - started
    failed = [f"{f.path}: {f.error}" for f in setup.files if f.status == "error"]
    if failed:  # the figures would describe an index without those files
        raise RuntimeError(f"{len(failed)} knowledge files failed to ingest, e.g. {failed[0]}")
    passages = len(KnowledgeBase.load(settings).passages)
    changed = docs / "article-0000.txt"
    original = changed.read_text(encoding="utf-8")
    times = []
    cli_s = None
    try:
        for repeat in range(plan.reingest_repeats):
            for text in (original + f"\n\n第{repeat + 1}次修订：本段为新增内容。", original):
                changed.write_text(text, encoding="utf-8")
                started = time.perf_counter()
                result = ingest(settings)
                times.append(time.perf_counter() - started)
                assert result.changed, "the edit was not noticed"
        if plan.cli_reingest:
            changed.write_text(original + "\n\n命令行修订。", encoding="utf-8")
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "agent", "ingest", "--json", "--knowledge",
                            str(settings.knowledge_dir), "--index", str(settings.index_dir)],
                           cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, env=_env_without_llm())
            cli_s = round(time.perf_counter() - started, 2)
    finally:
        changed.write_text(original, encoding="utf-8")
    ingest(settings)
    return {"files": plan.reingest_files, "passages": passages, "setup_ingest_s": round(setup_s, 1),
            "warm_s": [round(t, 3) for t in times], "warm_median_s": round(statistics.median(times), 3),
            "warm_max_s": round(max(times), 3), "cli_s": cli_s}


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
    load_before = _load_average()
    bandwidth = phase("bandwidth", memory_bandwidth_gb_s, plan.bandwidth_mb)
    gflops = phase("matmul", matmul_gflops)
    routes = phase("term", lambda: [run_worker("term", n, plan.queries, work) for n in plan.glossary_sizes])
    routes += phase("fact", lambda: [run_worker("fact", n, plan.queries, work) for n in plan.faq_sizes])
    documents = phase("doc", lambda: [run_worker("doc", n, plan.queries, work, corpus_path, plan.doc_queries)
                                      for n in plan.passage_sizes])
    result = {
        "environment": report.environment(),
        "load_average": {"before": load_before},
        "bounds": {"memory_read_gb_s": bandwidth, "matmul_gflops": gflops},
        "routes": routes,
        "documents": documents,
        "ingest": phase("ingest rates", ingest_rates, corpus, plan, settings.embedding_model, gflops),
        "reingest": phase("re-ingest", reingest, work, corpus, plan),
        "throughput": phase("throughput", throughput, work, plan),
        "cold_start": phase("cold start", cold_start, work, plan),
    }
    result["load_average"]["after"] = _load_average()
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


def _load_average() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def targets(result: dict) -> list[dict]:
    largest = {route: max((r for r in result["routes"] if r["route"] == route), key=lambda r: r["size"])
               for route in ("term", "fact")}
    doc = max(result["documents"], key=lambda r: r["size"])
    rows = [
        {"target": f"term p95 < {TARGETS_MS['term']:g} ms", "at": f"{largest['term']['size']:,} terms",
         "measured": largest["term"]["latency_ms"]["p95"], "limit": TARGETS_MS["term"]},
        {"target": f"fact p95 < {TARGETS_MS['fact']:g} ms", "at": f"{largest['fact']['size']:,} FAQ entries",
         "measured": largest["fact"]["latency_ms"]["p95"], "limit": TARGETS_MS["fact"]},
        {"target": f"doc retrieval p95 < {TARGETS_MS['doc']:g} ms", "at": f"{doc['size']:,} passages, default",
         "measured": doc["default_ms"]["p95"], "limit": TARGETS_MS["doc"]},
        {"target": f"re-ingest one changed file < {REINGEST_TARGET_S:g} s",
         "at": f"{result['reingest']['passages']:,} passages, warm process",
         "measured": result["reingest"]["warm_median_s"], "limit": REINGEST_TARGET_S},
    ]
    for row in rows:
        row["met"] = row["measured"] is not None and row["measured"] < row["limit"]
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
        "**Targets**",
        "",
        report.markdown_table(["target", "at", "measured", "met"],
                              [[t["target"], t["at"], t["measured"], "yes" if t["met"] else "**no**"]
                               for t in result["targets"]]),
        "",
        "**Term and fact routes** (`Router.route`, in process, one size per fresh subprocess; synthetic glossaries "
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
                  "'default' is what a Chinese question gets: the lexical leg alone, see `KB_DENSE_WEIGHT`; "
                  "'hybrid' forces dense weight 1 and includes embedding the question; legs alone take 50 "
                  "candidates). The dense floor: the bytes a flat search must read (passages x 384 x 4) over the "
                  "memory bandwidth, or the fastest numpy read of those same vectors, whichever is less.", ""]
    rows = []
    for r in result["documents"]:
        def pair(key):
            value = r.get(key)
            return f"{value['p50']} / {value['p95']}" if value else "—"

        rows.append([f"{r['size']:,}", pair("default_ms"), pair("hybrid_ms"), pair("hybrid_one_thread_ms"),
                     pair("query_embedding_ms"), pair("query_embedding_one_thread_ms"), pair("bm25s_ms"),
                     pair("rank_bm25_ms"), pair("faiss_flat_ms"), pair("faiss_flat_one_thread_ms"),
                     pair("numpy_flat_ms"), f"{r['dense_floor_ms']:.2f}",
                     f"{r['baseline_rss_mb']:.0f} / {r['serving_rss_mb']:.0f} / {r['peak_rss_mb']:.0f}"])
    threads = next((r["torch_threads"] for r in result["documents"] if "torch_threads" in r), "default")
    lines.append(report.markdown_table(
        ["passages", "default p50/p95 ms", f"hybrid ({threads} torch threads)", "hybrid (1 torch thread)",
         f"question embedding ({threads} threads)", "question embedding (1 thread)", "BM25 leg (bm25s)",
         "BM25 (rank_bm25)", "FAISS flat leg", "FAISS flat, 1 thread", "numpy brute force", "dense floor ms",
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
        f"{i['embedding_passages']} passages of ~{PASSAGE_CHARS} characters; at {i['embedding_gflop_per_passage']} "
        f"GFLOP per passage the matrix-product rate allows at most {i['embedding_floor_per_s']}/s.",
        "",
        f"**Re-ingest after one file changes** in a {r['passages']:,}-passage index ({r['files']} files), in a "
        f"process with the embedding model loaded (the app, the file watcher): median {r['warm_median_s']} s, "
        f"worst {r['warm_max_s']} s over {len(r['warm_s'])} edits"
        + (f"; a fresh `python -m agent ingest` process takes {r['cli_s']} s" if r["cli_s"] is not None else "")
        + f". Setting up that index took {r['setup_ingest_s']} s (kept in bench/.work between runs, so usually "
        "only a check that nothing changed). Only the changed file is parsed and embedded, but the rest grows with "
        "the index: every passage's tokens are read back, the vocabulary and the bm25s index are rebuilt from all "
        "passages (bm25s cannot add to an index), and passages, tokens and vectors are rewritten in full.",
    ]
    return "\n".join(lines)


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
    else:
        parser.error(f"unknown worker kind {kind}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker_main(sys.argv[1:]))
